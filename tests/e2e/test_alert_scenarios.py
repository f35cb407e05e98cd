"""The rendered alerts in a real Prometheus, over scripted traffic: each scenario fires exactly the alerts that
follow from the traffic it injects, and nothing fires while the mesh is healthy.

Each scenario lives in a namespace of its own of one synthetic mesh (tests/e2e/scenario_mesh.py), so the
data-plane scenarios run side by side in one Prometheus; the control-plane ones (push errors, istiod down,
istiod gone) run one after the other.  The timeline:

* phase ``healthy``: every namespace healthy, istiod healthy;
* phase ``degraded``: every data-plane scenario switches to its degraded traffic, istiod fails pushes;
* phase ``istiod-down``: istiod's endpoint answers 503 (its target is scraped, ``up`` is 0);
* phase ``istiod-gone``: istiod's target disappears (no ``up`` series at all).

The expected alerts are written by hand below from each scenario's traffic and the profile's thresholds
(the arithmetic is in the comments); none is computed by istiogen.  An alert is identified by its name and
all its labels but ``severity`` and ``signal``.
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
from tests.e2e.prom import Prometheus
from tests.e2e.scenario_mesh import GATEWAY, SLOW, Flow, Istiod, ScenarioMesh
from tests.e2e.servers import RENDER, Servers, server

pytestmark = pytest.mark.e2e

WINDOW = 6.0  # rules.window below, in seconds
FOR = 2.0  # every alert's `for` below

PROFILE = """
name: scenarios
istio: {version: "1.22"}
prometheus: {flavour: samples-1.22, scrape_interval: 1s}
rules:
  window: 6s
  interval: 1s
  sets: [requests, latency, gateway, control_plane]
  patches:
    - {name: IstiodDown, for: 2s}
alerts:
  services: {error_ratio_5xx: 0.05, latency_p99_ms: 1000, min_request_rate: 0.5, for: 2s}
  gateway: {error_ratio_5xx: 0.05, min_request_rate: 0.5, for: 2s}
  control_plane: {convergence_p99_seconds: 1, for: 2s}
services:
  - {name: legacy, namespace: errors, alerts: {error_ratio_5xx: 0.3}}
  - {name: report, namespace: latency, alerts: {latency_p99_ms: 5000}}
  - {name: checkout, namespace: canary, versions: [v1, v2]}
  - {name: pricing, namespace: split, versions: [v1, v2]}
  - {name: ledger, namespace: dark, versions: [v1, v2]}
experiments:
  - {name: checkout-canary, service: checkout, namespace: canary, baseline: v1, candidate: v2,
     expected_split: 0.2, for: 2s}
  - {name: pricing-ab, service: pricing, namespace: split, baseline: v1, candidate: v2, expected_split: 0.5,
     for: 2s}
  - {name: ledger-canary, service: ledger, namespace: dark, baseline: v1, candidate: v2, expected_split: 0.3,
     for: 2s}
"""
# Experiment thresholds are the defaults: error_ratio_delta 0.01, error_ratio_factor 2 (over the floor 0.001),
# latency_p99_factor 1.5, split_tolerance 0.1, min_request_rate 0.1.

Alert = tuple[str, frozenset[tuple[str, str]]]


def svc(alert: str, ns: str, name: str) -> Alert:
    return (alert, frozenset({"namespace": ns, "service": name, "destination_service_namespace": ns,
                              "destination_service_name": name}.items()))


def exp(alert: str, experiment: str, ns: str, name: str) -> Alert:
    return (alert, frozenset({"experiment": experiment, "namespace": ns, "service": name}.items()))


def cp(alert: str) -> Alert:
    return (alert, frozenset({"namespace": "istio-system", "service": "istiod"}.items()))


@dataclass(frozen=True)
class Scenario:
    name: str
    namespace: str
    healthy: list[Flow]
    degraded: list[Flow]
    expected: set[Alert]  # firing in the degraded phase (none in the healthy one)


SCENARIOS = [
    Scenario(
        "healthy", "healthy",
        [Flow("healthy", "web", "v1", {"200": 10, "404": 0.2}), Flow("healthy", "api", "v1", {"200": 5})],
        [Flow("healthy", "web", "v1", {"200": 10, "404": 0.2}), Flow("healthy", "api", "v1", {"200": 5})],
        set(),
    ),
    Scenario(
        # cart: 2 of 10 req/s are 503, 0.2 > 0.05; the callers see the same 503s (0.2).
        # legacy: the same 0.2, below its own threshold 0.3.
        "5xx-ratio", "errors",
        [Flow("errors", "cart", "v1", {"200": 10}), Flow("errors", "legacy", "v1", {"200": 10})],
        [Flow("errors", "cart", "v1", {"200": 8, "503": 2}), Flow("errors", "legacy", "v1", {"200": 8, "503": 2})],
        {svc("IstioServiceHighErrorRatio5xx", "errors", "cart"),
         svc("IstioServiceHighClientErrorRatio5xx", "errors", "cart")},
    ),
    Scenario(
        # search: v2 (half of the requests) turns slow (all between 500 ms and 2.5 s): the service's p99 falls
        # in (1000, 2500]: 1000 + (0.99 - 0.6) / 0.4 * 1500 = 2462.5 ms > 1000.
        # report: always slow, p99 = 1000 + (0.99 - 0.2) / 0.8 * 1500 = 2481 ms, below its own 5000.
        "version-p99", "latency",
        [Flow("latency", "search", "v1", {"200": 5}), Flow("latency", "search", "v2", {"200": 5}),
         Flow("latency", "report", "v1", {"200": 5}, SLOW)],
        [Flow("latency", "search", "v1", {"200": 5}), Flow("latency", "search", "v2", {"200": 5}, SLOW),
         Flow("latency", "report", "v1", {"200": 5}, SLOW)],
        {svc("IstioServiceHighLatencyP99", "latency", "search")},
    ),
    Scenario(
        # the candidate v2 keeps its 0.2 share (2 of 10 req/s) but answers 0.4 req/s with 503: its ratio 0.2
        # exceeds the clean baseline's by 0.2 > 0.01, and max(0.2, 0.001) / max(0, 0.001) = 200 > 2.
        # The service as a whole: 0.4 / 10 = 0.04, below 0.05 (destination and callers alike).
        "canary-worse", "canary",
        [Flow("canary", "checkout", "v1", {"200": 8}), Flow("canary", "checkout", "v2", {"200": 2})],
        [Flow("canary", "checkout", "v1", {"200": 8}), Flow("canary", "checkout", "v2", {"200": 1.6, "503": 0.4})],
        {exp("IstioExperimentErrorRatioWorse", "checkout-canary", "canary", "checkout")},
    ),
    Scenario(
        # the candidate gets 1 of 10 req/s: |0.1 - 0.5| = 0.4 > 0.1.
        "split-off", "split",
        [Flow("split", "pricing", "v1", {"200": 5}), Flow("split", "pricing", "v2", {"200": 5})],
        [Flow("split", "pricing", "v1", {"200": 9}), Flow("split", "pricing", "v2", {"200": 1})],
        {exp("IstioExperimentTrafficSplitOff", "pricing-ab", "split", "pricing")},
    ),
    Scenario(
        # the candidate gets no request at all any more (its series vanish): its share is 0, |0 - 0.3| = 0.3 > 0.1,
        # with 10 req/s for the service.
        "candidate-gets-nothing", "dark",
        [Flow("dark", "ledger", "v1", {"200": 7}), Flow("dark", "ledger", "v2", {"200": 3})],
        [Flow("dark", "ledger", "v1", {"200": 10})],
        {exp("IstioExperimentTrafficSplitOff", "ledger-canary", "dark", "ledger")},
    ),
    Scenario(
        # the ingress gateway answers 3 of its 10 req/s to front with 503 itself (upstream failure, never
        # reaching front): 0.3 > 0.05 at the gateway; front and its mesh callers see no error.
        "gateway-5xx", "edge",
        [Flow("edge", "front", "v1", {"200": 5}), Flow("edge", "front", "v1", {"200": 10}, caller=GATEWAY)],
        [Flow("edge", "front", "v1", {"200": 5}), Flow("edge", "front", "v1", {"200": 7}, caller=GATEWAY),
         Flow("edge", "front", "v1", {"503": 3}, caller=GATEWAY, reporters=("source",), flags="UF")],
        {svc("IstioIngressGatewayHighErrorRatio5xx", "edge", "front")},
    ),
    Scenario(
        # inventory's pods are all gone: its callers' sidecars answer every request with 503 (no healthy
        # upstream), only reporter="source" series remain; the destination-reported ones vanish.  The callers'
        # 5xx ratio is 1 > 0.05; nothing reports as the destination, so no destination-side alert.
        "pods-gone", "gone",
        [Flow("gone", "inventory", "v1", {"200": 4})],
        [Flow("gone", "inventory", "v1", {"503": 4}, reporters=("source",), flags="UH")],
        {svc("IstioServiceHighClientErrorRatio5xx", "gone", "inventory")},
    ),
]

# control plane, by phase: healthy; eds pushes failing (0.5/s > 0); istiod's endpoint failing (up == 0);
# istiod's target gone (no up series)
ISTIOD = {"healthy": Istiod(), "degraded": Istiod(push_errors=0.5), "istiod-down": Istiod(mode="down"),
          "istiod-gone": Istiod(mode="down")}
CONTROL_PLANE_EXPECTED = {"healthy": set(), "degraded": {cp("IstiodPushErrors")}, "istiod-down": {cp("IstiodDown")},
                          "istiod-gone": {cp("IstiodDown")}}
PHASES = ("healthy", "degraded", "istiod-down", "istiod-gone")


def expected_in(phase: str) -> set[Alert]:
    data_plane = set() if phase == "healthy" else {a for s in SCENARIOS for a in s.expected}
    return data_plane | CONTROL_PLANE_EXPECTED[phase]


@dataclass
class Observed:
    firing: dict[str, set[Alert]]  # by phase
    raw: dict[str, list[dict[str, Any]]]  # /api/v1/alerts, by phase
    up_sum: dict[str, list[dict[str, Any]]]  # istiod:up:sum at the end of each phase


def firing(prom: Prometheus) -> tuple[set[Alert], list[dict[str, Any]]]:
    alerts = json.loads(prom.get("/api/v1/alerts"))["data"]["alerts"]
    out = set()
    for a in alerts:
        if a["state"] != "firing":
            continue
        labels = {k: v for k, v in a["labels"].items() if k not in ("alertname", "severity", "signal")}
        out.add((a["labels"]["alertname"], frozenset(labels.items())))
    return out, alerts


def config(tree: Path, mesh_port: int, sd_file: Path) -> str:
    return yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tree / "prometheus/rules.yaml"), str(tree / "prometheus/alerts.yaml")],
        "scrape_configs": [
            {"job_name": "mesh", "metrics_path": "/mesh", "static_configs": [{"targets": [f"127.0.0.1:{mesh_port}"]}]},
            {"job_name": "istiod", "metrics_path": "/istiod",
             "file_sd_configs": [{"files": [str(sd_file)], "refresh_interval": "1s"}]},
        ],
    })


def flows(phase: str) -> list[Flow]:
    return [f for s in SCENARIOS for f in (s.healthy if phase == "healthy" else s.degraded)]


@server("observed")
def _observed(work: Path) -> Iterator[Observed]:
    binary = tool("prometheus")
    with RENDER:
        rendered = render_text(work, PROFILE)
    tree = materialize(rendered, work / "tree")
    sd_file = work / "istiod.json"
    with ScenarioMesh(flows("healthy"), ISTIOD["healthy"]) as mesh:
        sd_file.write_text(json.dumps([{"targets": [f"127.0.0.1:{mesh.port}"], "labels": {"app": "istiod"}}]))
        prom = Prometheus(binary, config(tree, mesh.port, sd_file), work, "prometheus")
        try:
            prom.start()
            prom.wait_ready()
            obs = Observed({}, {}, {})
            for phase in PHASES:
                mesh.switch(flows(phase), ISTIOD[phase])
                if phase == "istiod-gone":
                    sd_file.write_text("[]")
                settle(prom, phase)
                obs.firing[phase], obs.raw[phase] = firing(prom)
                obs.up_sum[phase] = prom.query("istiod:up:sum")
            yield obs
        finally:
            prom.stop()


@pytest.fixture(scope="module")
def observed(servers: Servers) -> Iterator[Observed]:
    yield servers.get("observed")
    servers.stop("observed")


def settle(prom: Prometheus, phase: str, timeout: float = 30.0) -> None:
    """Wait until the rates hold only the new phase's samples (one window, the alerts' `for`, the lag of a
    scrape and two evaluations), then until the firing set is the expected one (or the timeout), and that it
    still is two seconds later (so a set passing through the expected one on its way elsewhere is not taken)."""
    time.sleep(WINDOW + FOR + 2.0)
    deadline = time.monotonic() + timeout
    want = expected_in(phase)
    while time.monotonic() < deadline:
        if firing(prom)[0] == want:
            time.sleep(2.0)
            if firing(prom)[0] == want:
                return
        time.sleep(1.0)


def in_namespace(alerts: set[Alert], ns: str) -> set[Alert]:
    return {a for a in alerts if dict(a[1]).get("namespace") == ns}


def test_nothing_fires_while_the_whole_mesh_is_healthy(observed: Observed) -> None:
    assert observed.firing["healthy"] == set()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_a_scenario_fires_exactly_the_alerts_its_traffic_implies(observed: Observed, scenario: Scenario) -> None:
    assert in_namespace(observed.firing["healthy"], scenario.namespace) == set()
    for phase in ("degraded", "istiod-down", "istiod-gone"):  # the data plane stays degraded from then on
        assert in_namespace(observed.firing[phase], scenario.namespace) == scenario.expected, phase


@pytest.mark.parametrize("phase", PHASES)
def test_nothing_else_fires_anywhere(observed: Observed, phase: str) -> None:
    assert observed.firing[phase] == expected_in(phase)


def test_istiod_going_from_down_to_gone_is_one_alert(observed: Observed) -> None:
    """IstiodDown's two branches (``up`` is 0; no ``up`` at all) fire the same alert: its labels and the time
    it became active do not change when istiod's target disappears mid-incident."""
    # both branches were exercised: istiod:up:sum is 0 while down, absent once the target is gone
    assert [float(s["value"][1]) for s in observed.up_sum["istiod-down"]] == [0.0]
    assert observed.up_sum["istiod-gone"] == []

    def istiod_down(phase: str) -> list[dict[str, Any]]:
        return [a for a in observed.raw[phase] if a["labels"]["alertname"] == "IstiodDown"]

    down, gone = istiod_down("istiod-down"), istiod_down("istiod-gone")
    assert len(down) == 1 and len(gone) == 1, (down, gone)
    assert down[0]["labels"] == gone[0]["labels"]
    assert down[0]["activeAt"] == gone[0]["activeAt"]

