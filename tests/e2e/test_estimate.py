"""The series budget against a real federation, for a second profile shape (see also
test_federation.py::test_the_series_estimate_bounds_what_the_agent_federates): canonical labels,
no workload scope, sizes per service version, chosen latency buckets, a precomputed quantile, a
service with its own rate window (recorded apart) and an experiment.

A real Prometheus loads the rendered rules and scrapes a synthetic mesh matching the profile; the
series its ``/federate`` serves for the rendered ``match[]`` are what the agent would ingest.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from istiogen.pipeline import Rendered
from tests.conftest import materialize, render_text, tool
from tests.e2e.conftest import source_config
from tests.e2e.mesh import Mesh, MeshServer
from tests.e2e.prom import Prometheus
from tests.e2e.servers import RENDER, Servers, server
from tests.e2e.test_federation import ESTIMATE_FACTOR, parse_exposition

pytestmark = pytest.mark.e2e

PROFILE = """
name: e2e-estimate
istio: {version: "1.22"}
prometheus: {flavour: samples-1.22, scrape_interval: 1s}
rules:
  window: 20s
  interval: 1s
  version_labels: canonical
  scopes: [service, service_version]
  size_scopes: [service_version]
  latency_buckets: [10, 50, 100, 500, 1000, 2500]
  quantiles: [0.99]
sysdig: {mode: promscrape-v1}
services:
  - {name: svc-0, namespace: shop, versions: [v1, v2]}
  - {name: svc-1, namespace: shop, versions: [v1, v2]}
  - {name: svc-2, namespace: shop, versions: [v1, v2], window: 30s}
experiments:
  - {name: svc-1-canary, service: svc-1, namespace: shop, baseline: v1, candidate: v2}
"""


@server("federated")
def _federated(work: Path) -> Iterator[tuple[Rendered, dict[str, int]]]:
    with RENDER:
        rendered = render_text(work, PROFILE)
    tree = materialize(rendered, work / "tree")
    match = rendered.model.match_selectors()
    with MeshServer(Mesh()) as server:
        source = Prometheus(tool("prometheus"), source_config(tree, server.port), work, "source")
        try:
            source.start()
            source.wait_ready()
            yield rendered, wait_settled(source, match)
        finally:
            source.stop()


@pytest.fixture(scope="module")
def federated(servers: Servers) -> Iterator[tuple[Rendered, dict[str, int]]]:
    """(the rendered profile, series per record that /federate serves for the rendered match[])."""
    yield servers.get("federated")
    servers.stop("federated")


def wait_settled(source: Prometheus, match: list[str], timeout: float = 90.0) -> dict[str, int]:
    """Per-record series counts of /federate, once every rule has evaluated on full windows (two equal
    reads a few seconds apart, after the longest window)."""
    deadline = time.monotonic() + timeout
    start = time.monotonic()
    last: dict[str, int] = {}
    while time.monotonic() < deadline:
        body = source.get("/federate", [("match[]", m) for m in match]).decode()
        counts: dict[str, int] = {}
        for name, _ in parse_exposition(body):
            counts[name] = counts.get(name, 0) + 1
        if counts and counts == last and time.monotonic() - start > 35.0:
            return counts
        last = counts
        time.sleep(3.0)
    raise AssertionError(f"federation did not settle: {last}")


def test_the_estimate_bounds_a_second_profile_shape(federated: tuple[Rendered, dict[str, int]]) -> None:
    rendered, counts = federated
    est = rendered.estimate
    assert est is not None and not est.unbounded
    bounds = dict(est.records)
    assert set(counts) <= set(bounds)
    # the service with its own window is recorded apart, and counted in its own records only
    assert any(rec.startswith("destination:") and rec.endswith(":rate30s") for rec in counts)
    over = {rec: (n, bounds[rec]) for rec, n in counts.items() if n > bounds[rec]}
    assert not over, f"records above their bound (actual, bound): {over}"
    ingested = sum(counts.values())
    assert ingested <= est.series <= ESTIMATE_FACTOR * ingested, (est.series, ingested)
    print(f"estimate {est.series} vs federated {ingested} ({est.series / ingested:.3f}x)")
