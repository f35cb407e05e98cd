"""Operator mode with two Prometheus replicas: the agent's federation job takes one of them.

Two real Prometheus servers play the replicas of the Operator's ``Prometheus`` resource: each
scrapes the same synthetic mesh, loads the rendered rules and carries the external labels the
Operator gives a replica (``prometheus``, ``prometheus_replica``).  A third Prometheus runs the
rendered federation job with its Kubernetes discovery swapped for two static targets labelled
as pod discovery labels those two pods (``prometheus-k8s-0`` and ``-1``), so the rendered
relabelling picks the targets.  A second job, the same but without the rule keeping one pod,
shows what federating every replica does: every sum doubles.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import materialize, render_text, tool
from tests.e2e.conftest import WINDOW_SECONDS, federation_job
from tests.e2e.mesh import CODES, Mesh, MeshServer
from tests.e2e.prom import Prometheus
from tests.e2e.servers import RENDER, Servers, server

pytestmark = pytest.mark.e2e

PROFILE = """
name: e2e-ha
istio: {version: "1.22"}
prometheus:
  delivery: operator
  operator: {namespace: monitoring, prometheus: k8s, scrape_interval: 1s}
rules:
  window: 20s
  interval: 1s
sysdig: {mode: promscrape-v2}
"""
RECORD = "destination:istio_requests:rate20s"
ONE_POD = "__meta_kubernetes_pod_name"


@dataclass
class Replicas:
    mesh: Mesh
    replicas: list[Prometheus]
    agent: Prometheus  # runs the rendered federation job (and the every-replica variant)
    job: dict[str, Any]


def replica_config(tree: Any, mesh_port: int, i: int) -> str:
    return yaml.safe_dump({
        # what the Operator sets on each replica of Prometheus monitoring/k8s
        "global": {"scrape_interval": "1s", "external_labels": {
            "prometheus": "monitoring/k8s", "prometheus_replica": f"prometheus-k8s-{i}"}},
        "rule_files": [str(tree / "prometheus/rules.yaml"), str(tree / "prometheus/alerts.yaml")],
        "scrape_configs": [
            {"job_name": "mesh", "metrics_path": "/mesh",
             "static_configs": [{"targets": [f"127.0.0.1:{mesh_port}"]}]},
            {"job_name": "istiod", "metrics_path": "/istiod",
             "static_configs": [{"targets": [f"127.0.0.1:{mesh_port}"], "labels": {"app": "istiod"}}]},
        ],
    })


def pod_target(replica: Prometheus, i: int, extra: dict[str, str]) -> dict[str, Any]:
    """A static target carrying the labels Kubernetes pod discovery gives container port 9090 of
    pod ``prometheus-k8s-<i>`` (the Operator's StatefulSet), on this node."""
    return {"targets": [f"127.0.0.1:{replica.port}"], "labels": {
        "__meta_kubernetes_namespace": "monitoring",
        "__meta_kubernetes_pod_name": f"prometheus-k8s-{i}",
        "__meta_kubernetes_pod_uid": f"00000000-0000-0000-0000-00000000000{i}",
        "__meta_kubernetes_pod_host_ip": "127.0.0.1",
        "__meta_kubernetes_pod_label_app_kubernetes_io_name": "prometheus",
        "__meta_kubernetes_pod_label_prometheus": "k8s",
        "__meta_kubernetes_pod_label_statefulset_kubernetes_io_pod_name": f"prometheus-k8s-{i}",
        "__meta_kubernetes_pod_container_name": "prometheus",
        "__meta_kubernetes_pod_container_port_number": "9090",
        **extra,
    }}


def agent_config(job: dict[str, Any], replicas: list[Prometheus]) -> str:
    """The rendered job as it is (its relabelling included), the pods given statically, and
    ``__HOSTIPS__`` replaced as the agent does (with this node's address)."""
    def adapt(j: dict[str, Any], name: str, extra: dict[str, str]) -> dict[str, Any]:
        out = {k: v for k, v in j.items() if k != "kubernetes_sd_configs"}
        out["job_name"] = name
        out["scrape_interval"] = "1s"
        out["relabel_configs"] = [
            {**x, "regex": "127\\.0\\.0\\.1"} if x.get("regex") == "__HOSTIPS__" else x for x in j["relabel_configs"]]
        out["static_configs"] = [pod_target(p, i, extra) for i, p in enumerate(replicas)]
        return out

    every = {**job, "relabel_configs": [x for x in job["relabel_configs"] if x["source_labels"] != [ONE_POD]]}
    return yaml.safe_dump({"global": {"scrape_interval": "1s"}, "scrape_configs": [
        adapt(job, "rendered", {}), adapt(every, "every-replica", {"variant": "every-replica"})]})


@server("replicas")
def _replicas(work: Path) -> Iterator[Replicas]:
    binary = tool("prometheus")
    with RENDER:
        rendered = render_text(work, PROFILE)
    tree = materialize(rendered, work / "tree")
    job = federation_job(tree)
    mesh = Mesh()
    with MeshServer(mesh) as server:
        reps = [Prometheus(binary, replica_config(tree, server.port, i), work, f"replica-{i}") for i in range(2)]
        agent = Prometheus(binary, "", work, "agent")
        (agent.dir / "prometheus.yml").write_text(agent_config(job, reps))
        started: list[Prometheus] = []
        try:
            for p in (*reps, agent):
                p.start()
                started.append(p)
            for p in started:
                p.wait_ready()
            deadline = time.monotonic() + 90
            while not agent.vector(f'count({RECORD}{{variant=""}})') or not agent.vector(
                    f'count({RECORD}{{variant="every-replica"}})'):
                assert time.monotonic() < deadline, "nothing federated after 90 s"
                time.sleep(0.5)
            time.sleep(WINDOW_SECONDS + 3.0)  # rates exact once the federated series span a window
            yield Replicas(mesh, reps, agent, job)
        finally:
            for p in reversed(started):
                p.stop()


@pytest.fixture(scope="module")
def replicas(servers: Servers) -> Iterator[Replicas]:
    yield servers.get("replicas")
    servers.stop("replicas")


def total_request_rate(mesh: Mesh) -> float:
    """Requests per second the destination sidecars report, from the mesh's definition."""
    return sum(mesh.request_rate(s, v, code) for s, v, _ in mesh.pods_of() for _ in range(mesh.callers)
               for code, _ in CODES)


def one(v: dict[Any, float]) -> float:
    (x,) = v.values()
    return x


def test_the_rendered_job_federates_one_replica_of_two(replicas: Replicas) -> None:
    targets = json.loads(replicas.agent.get("/api/v1/targets"))["data"]
    active = [t["labels"] for t in targets["activeTargets"] if t["labels"]["job"] == "rendered"]
    assert len(active) == 1 and active[0]["sysdig_k8s_pod_uid"].endswith("0"), active
    # both replicas evaluate the rules; /federate adds each one's replica label
    for i, rep in enumerate(replicas.replicas):
        body = rep.get("/federate", [("match[]", RECORD)]).decode()
        assert f'prometheus_replica="prometheus-k8s-{i}"' in body
        assert body.count("\n") == body.count(f'prometheus_replica="prometheus-k8s-{i}"') + body.count("# TYPE")
    # promscrape v1 with the default annotation rules scrapes the other pod too, without match[]: empty
    assert replicas.replicas[1].get("/federate") == b""
    fed = replicas.agent.query(f'{RECORD}{{variant=""}}')
    assert {s["metric"]["prometheus_replica"] for s in fed} == {"prometheus-k8s-0"}


def test_sums_over_two_replicas_equal_the_single_replica_value(replicas: Replicas) -> None:
    """Rates here carry scrape-timing jitter (a loaded machine, 1 s scrapes), so the bound is 10%:
    still far from the factor of 2 federating both replicas gives."""
    expected = total_request_rate(replicas.mesh)
    single = one(replicas.replicas[0].vector(f"sum({RECORD})"))
    assert single == pytest.approx(expected, rel=0.1)
    rendered = one(replicas.agent.vector(f'sum({RECORD}{{variant=""}})'))
    assert rendered == pytest.approx(expected, rel=0.1)
    assert rendered == pytest.approx(single, rel=0.1)
    # what federating every replica gives: each replica's copy, so every sum doubles
    every = one(replicas.agent.vector(f'sum({RECORD}{{variant="every-replica"}})'))
    assert every == pytest.approx(2 * expected, rel=0.1)
