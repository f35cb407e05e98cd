"""The cluster label reaches both ways out of the Istio Prometheus, checked with real servers: a
Prometheus configured from the rendered fragment (external_labels, remote_write) remote-writes to a
second one (a remote-write receiver, standing in for Sysdig's endpoint) and is federated by a third
with the rendered agent job.  Every series either receives carries the cluster label."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import materialize, render_text, tool
from tests.e2e.conftest import federating_config, federation_job
from tests.e2e.mesh import Mesh, MeshServer
from tests.e2e.prom import Prometheus
from tests.e2e.servers import RENDER, Servers, server

PROFILE = """
name: cl
istio: {version: "1.22"}
prometheus: {flavour: samples-1.22, delivery: mount, scrape_interval: 1s}
rules: {window: 20s, interval: 1s}
cluster: {name: eu-west-1}
remote_write:
  url: https://us2.app.sysdig.com/prometheus/remote/write
  secret: {name: sysdig-remote-write, key: token}
sysdig: {mode: promscrape-v2}
"""


@dataclass
class Delivered:
    frag: dict[str, Any]  # the rendered config fragment
    receiver: Prometheus  # the remote-write receiver
    source: Prometheus  # configured from the fragment
    written: list[dict[str, Any]]  # the recorded series the receiver has
    federated: list[dict[str, Any]]  # the recorded series a Prometheus running the rendered agent job has


@server("delivered")
def _delivered(work: Path) -> Iterator[Delivered]:
    binary = tool("prometheus")
    with RENDER:
        r = render_text(work, PROFILE)
    tree = materialize(r, work / "tree")
    frag = yaml.safe_load((tree / "prometheus/prometheus-config-fragment.yaml").read_text())
    job = federation_job(tree)
    token = work / "token"
    token.write_text("not-a-real-token\n")
    receiver = Prometheus(binary, yaml.safe_dump({"global": {"scrape_interval": "1m"}}), work, "receiver",
                          ("--web.enable-remote-write-receiver",))
    (rw,) = copy.deepcopy(frag["remote_write"])
    rw["url"] = f"{receiver.url}/api/v1/write"  # the rendered entry, pointed at the local receiver
    rw["authorization"]["credentials_file"] = str(token)
    with MeshServer(Mesh()) as mesh:
        source_cfg = {
            "global": {**frag["global"], "scrape_interval": "1s"},
            "rule_files": [str(tree / "prometheus" / Path(f).name) for f in frag["rule_files"]],
            "remote_write": [rw],
            "scrape_configs": [
                {"job_name": "mesh", "metrics_path": "/mesh",
                 "static_configs": [{"targets": [f"127.0.0.1:{mesh.port}"]}]},
            ],
        }
        source = Prometheus(binary, yaml.safe_dump(source_cfg), work, "source")
        federated = Prometheus(binary, "", work, "federated")
        (federated.dir / "prometheus.yml").write_text(federating_config(job, source.port))
        try:
            for p in (receiver, source, federated):
                p.start()
            for p in (receiver, source, federated):
                p.wait_ready()
            deadline = time.monotonic() + 60
            written: list[dict[str, Any]] = []
            federated_series: list[dict[str, Any]] = []
            while time.monotonic() < deadline:
                written = receiver.query('{sysdig="true"}')
                federated_series = federated.query('{sysdig="true"}')
                if written and federated_series:
                    break
                time.sleep(0.5)
            yield Delivered(frag, receiver, source, written, federated_series)
        finally:
            federated.stop()
            source.stop()
            receiver.stop()


@pytest.fixture(scope="module")
def delivered(servers: Servers) -> Iterator[Delivered]:
    yield servers.get("delivered")
    servers.stop("delivered")


def test_remote_written_and_federated_series_carry_the_cluster_label(delivered: Delivered) -> None:
    assert delivered.frag["global"]["external_labels"] == {"cluster": "eu-west-1"}
    written, federated_series = delivered.written, delivered.federated
    assert written and federated_series, "nothing remote-written or federated within 60 s"
    for s in written + federated_series:
        assert s["metric"].get("cluster") == "eu-west-1", s["metric"]
    # an external label: Prometheus adds it on the way out, the source's own series lack it
    local = delivered.source.query('{sysdig="true"}')
    assert local and all("cluster" not in s["metric"] for s in local)
    assert not delivered.receiver.query('{sysdig="true", cluster=""}')
