"""Session fixtures: one synthetic mesh, an Istio Prometheus loading the rendered rules, and a
second Prometheus federating it with the rendered match[] (as the Sysdig agent would).

The servers start once per test run and are stopped by pid at the end.  Every e2e fixture's servers
start together, when the first e2e test runs (``servers`` below; see servers.py), so that the waits for
scrapes and rule windows overlap.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from istiogen.pipeline import Rendered
from tests.conftest import materialize, render_text, tool
from tests.e2e.mesh import Mesh, MeshServer
from tests.e2e.prom import Prometheus
from tests.e2e.servers import BODIES, RENDER, Servers, server

PROFILE = """
name: e2e
istio: {version: "1.22"}
prometheus:
  flavour: samples-1.22
  scrape_interval: 1s
rules:
  window: 20s
  interval: 1s
  sets: [requests, latency, request_size, response_size, tcp, gateway, control_plane, saturation]
saturation: {cadvisor_job: mesh, envoy_overflow: true}  # cAdvisor's series come with the mesh's
sysdig: {mode: promscrape-v2}
services:  # the synthetic mesh's (Mesh(): three services, two versions, in shop)
  - {name: svc-0, namespace: shop, versions: [v1, v2]}
  - {name: svc-1, namespace: shop, versions: [v1, v2]}
  - {name: svc-2, namespace: shop, versions: [v1, v2]}
"""


WINDOW_SECONDS = 20.0


@dataclass
class Federation:
    rendered: Rendered
    mesh: Mesh
    source: Prometheus  # the Istio Prometheus (raw series + recorded rules)
    federated: Prometheus  # scrapes source's /federate with the rendered match[]
    match: list[str]


# Prometheus 3 stores ``le`` and ``quantile`` in float form (Envoy's ``le="100"`` becomes ``"100.0"``;
# prometheus/prometheus docs/migration.md).  Debian's Prometheus is 2.x: these relabellings make it store
# what a Prometheus 3 would, so the same rules are evaluated over the same values in both forms.
PROM3_FLOAT_FORM = [
    {"source_labels": [label], "regex": "([0-9]+)", "target_label": label, "replacement": "${1}.0"}
    for label in ("le", "quantile")
]


def source_config(tree: Path, mesh_port: int, *, float_form: bool = False,
                  dropped: list[dict] | None = None) -> str:  # type: ignore[type-arg]
    """``dropped``: the rendered metric_relabel_configs of prometheus.drop_unused, after the float form (the
    relabelling sees ``le`` as the Prometheus it runs in stores it)."""
    entries = [*(PROM3_FLOAT_FORM if float_form else []), *(dropped or [])]
    relabel = {"metric_relabel_configs": entries} if entries else {}
    return yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tree / "prometheus/rules.yaml"), str(tree / "prometheus/alerts.yaml")],
        "scrape_configs": [
            {"job_name": "mesh", "metrics_path": "/mesh",
             "static_configs": [{"targets": [f"127.0.0.1:{mesh_port}"]}], **relabel},
            {"job_name": "istiod", "metrics_path": "/istiod",
             "static_configs": [{"targets": [f"127.0.0.1:{mesh_port}"], "labels": {"app": "istiod"}}]},
        ],
    })


def federation_job(tree: Path) -> dict:  # type: ignore[type-arg]
    """The federation job (metrics_path /federate) of the agent's Prometheus config in a rendered tree's patch."""
    patch = yaml.safe_load((tree / "sysdig/sysdig-agent-patch.yaml").read_text())
    return next(j for j in yaml.safe_load(patch["data"]["prometheus.yaml"])["scrape_configs"]
                if j["metrics_path"] == "/federate")


def federating_config(job: dict, source_port: int) -> str:  # type: ignore[type-arg]
    """The rendered federation job, with its Kubernetes discovery swapped for the test's static target."""
    fed = {k: v for k, v in job.items() if k not in ("kubernetes_sd_configs", "relabel_configs", "sysdig_sd_configs")}
    fed["static_configs"] = [{"targets": [f"127.0.0.1:{source_port}"]}]
    fed["scrape_interval"] = "1s"
    return yaml.safe_dump({"global": {"scrape_interval": "1s"}, "scrape_configs": [fed]})


@pytest.fixture(scope="package", autouse=True)
def servers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """Starts, at the first e2e test, the servers of every e2e fixture the selected tests use (each in a
    thread of its own, so that their waits overlap); stops whatever is still running after the last one."""
    wanted = set()
    for item in request.session.items:
        names = list(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)  # a fixture named by a parameter (request.getfixturevalue)
        names += [v for v in (callspec.params.values() if callspec else ()) if isinstance(v, str)]
        wanted |= {name for name in names if name in BODIES}
    started = Servers({name: tmp_path_factory.mktemp(name) for name in wanted})
    try:
        yield started
    finally:
        started.stop_all()


def dropped_relabelling(tree: Path) -> list[dict]:  # type: ignore[type-arg]
    """The metric_relabel_configs prometheus.drop_unused renders for the Istio job (the config fragment's)."""
    fragment = yaml.safe_load((tree / "prometheus/prometheus-config-fragment.yaml").read_text())
    (job,) = fragment["scrape_configs"]
    assert job["job_name"] == "kubernetes-pods"  # samples-1.22: the sidecars are annotated pods
    return job["metric_relabel_configs"]  # type: ignore[no-any-return]


def _federation(work: Path, *, float_form: bool) -> Iterator[Federation]:
    binary = tool("prometheus")
    # the Prometheus-3 variant also drops, with prometheus.drop_unused, what nothing generated reads
    drop = "  scrape_interval: 1s\n  drop_unused: true\n"
    with RENDER:
        rendered = render_text(work, PROFILE.replace("  scrape_interval: 1s\n", drop) if float_form else PROFILE)
    assert rendered.resolved.profile.prometheus.drop_unused == float_form
    tree = materialize(rendered, work / "tree")
    dropped = dropped_relabelling(tree) if float_form else None
    job = federation_job(tree)
    mesh = Mesh(saturation=True)
    with MeshServer(mesh) as mesh_server:
        source = Prometheus(binary, source_config(tree, mesh_server.port, float_form=float_form, dropped=dropped),
                            work, "source")
        federated = Prometheus(binary, "", work, "federated")
        (federated.dir / "prometheus.yml").write_text(federating_config(job, source.port))
        try:
            source.start()
            federated.start()
            source.wait_ready()
            federated.wait_ready()
            wait_for_federation(source, federated)
            yield Federation(rendered, mesh, source, federated, job["params"]["match[]"])
        finally:
            federated.stop()
            source.stop()


@server("federation")
def _federation_servers(work: Path) -> Iterator[Federation]:
    yield from _federation(work, float_form=False)


@server("federation_prom3_le")
def _federation_prom3_le_servers(work: Path) -> Iterator[Federation]:
    yield from _federation(work, float_form=True)


@pytest.fixture(scope="package")
def federation(servers: Servers) -> Federation:
    return servers.get("federation")  # type: ignore[no-any-return]


@pytest.fixture(scope="package")
def federation_prom3_le(servers: Servers) -> Federation:
    """The same mesh, rules and federation, with ``le`` and ``quantile`` stored as Prometheus 3 stores them, and
    the raw series no rule reads dropped at ingestion (prometheus.drop_unused)."""
    return servers.get("federation_prom3_le")  # type: ignore[no-any-return]


def wait_for_federation(source: Prometheus, federated: Prometheus, timeout: float = 90.0) -> None:
    """Until every recorded series the source has is federated, and rates have settled: a rate
    window is only exact once it holds a full window of samples (Prometheus extrapolates less
    before that), so wait one more window after the first federated series."""
    deadline = time.monotonic() + timeout
    names: set[str] = set()
    while time.monotonic() < deadline:
        names = {s["metric"]["__name__"] for s in source.query('count by (__name__) ({sysdig="true"})')}
        got = {s["metric"]["__name__"] for s in federated.query('count by (__name__) ({sysdig="true"})')}
        if names and names <= got and len(names) >= 15:
            time.sleep(WINDOW_SECONDS + 3.0)
            return
        time.sleep(0.5)
    raise AssertionError(f"federation incomplete after {timeout}s: source has {sorted(names)}")
