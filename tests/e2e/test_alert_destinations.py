"""Where the alerts go, with real Prometheus servers on 127.0.0.1.

* The Sysdig form runs over the federated series: every series each Sysdig alert selects, asked
  of the Prometheus that federates the Istio one with the rendered match[] (conftest.py), is
  there, with the same label sets as in the Istio Prometheus, and every query evaluates.
* The rendered ``alerting:`` section makes a real Prometheus send its alerts to an Alertmanager
  stand-in (an HTTP server in the test recording POSTs to /api/v2/alerts).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from tests.conftest import materialize, render_text, run, tool
from tests.e2e.conftest import (
    PROFILE,
    Federation,
    federating_config,
    federation_job,
    source_config,
    wait_for_federation,
)
from tests.e2e.mesh import Mesh, MeshServer
from tests.e2e.prom import Prometheus
from tests.e2e.servers import RENDER, Servers, server
from tests.recorder import Recorder, Request

pytestmark = pytest.mark.e2e


def selectors(expr: str) -> list[Any]:
    found: list[Any] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


FIRING = PROFILE + """
alerts:
  services: {error_ratio_5xx: 0.01, error_ratio_4xx: 0.05, latency_p99_ms: 50}
  gateway: {error_ratio_5xx: 0.01}
experiments:
  - name: svc-1-canary
    service: svc-1
    namespace: shop
    baseline: v1
    candidate: v2
    expected_split: 0.1
    thresholds: {error_ratio_delta: 0.001, error_ratio_factor: 1.1}
"""


@server("firing")
def _firing(work: Path) -> Iterator[Federation]:
    binary = tool("prometheus")
    with RENDER:
        rendered = render_text(work, FIRING)
    tree = materialize(rendered, work / "tree")
    job = federation_job(tree)
    mesh = Mesh(saturation=True)  # the shared PROFILE records saturation
    with MeshServer(mesh) as server:
        source = Prometheus(binary, source_config(tree, server.port), work, "source")
        federated = Prometheus(binary, federating_config(job, source.port), work, "federated")
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


@pytest.fixture(scope="module")
def firing(servers: Servers) -> Iterator[Federation]:
    """As conftest's federation, with thresholds the synthetic mesh crosses and an experiment, so that
    most alert expressions return series (the shared fixture's thresholds keep them empty)."""
    yield servers.get("firing")
    servers.stop("firing")


def scraped_away(labels: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The federating scrape adds its job and instance (recorded series have neither)."""
    return tuple((k, v) for k, v in labels if k not in ("job", "instance"))


def test_sysdig_alerts_select_only_series_the_federation_delivers(firing: Federation) -> None:
    federation = firing
    bodies = json.loads(federation.rendered.files["sysdig/alerts.json"])
    assert {b["alert"]["labels"]["alert"] for b in bodies} >= {
        "IstioServiceHighErrorRatio5xx", "IstioServiceHighLatencyP99", "IstioIngressGatewayHighErrorRatio5xx",
        "IstiodDown", "IstiodPushErrors", "IstioExperimentErrorRatioWorse", "IstioExperimentTrafficSplitOff"}
    at = time.time() - 3.0
    checked = 0
    for b in bodies:
        query = b["alert"]["config"]["query"]
        for sel in selectors(query):
            text = str(sel)
            family = federation.federated.vector(f'{sel.name}{{sysdig="true"}}', at)
            assert family, f"{b['alert']['name']}: {sel.name} is not federated"
            got = {scraped_away(k) for k in federation.federated.vector(text, at)}
            want = set(federation.source.vector(text, at))
            assert got == want, f"{b['alert']['name']}: {text} selects other series once federated"
            checked += 1
        federation.federated.query(query, at)  # evaluates (no many-to-many match, no parse error)
    assert checked


def test_sysdig_alerts_answer_as_the_prometheus_alerts(firing: Federation) -> None:
    """Each Sysdig query over the federated series returns what the alert's expression returns in the
    Istio Prometheus, at one instant: the same series (the federating scrape's job and instance aside)
    and values within 5%."""
    prom = {a["alert"]: a["expr"] for g in yaml.safe_load(firing.rendered.files["prometheus/alerts.yaml"])["groups"]
            for a in g["rules"]}
    at = time.time() - 3.0
    answered = set()
    for b in json.loads(firing.rendered.files["sysdig/alerts.json"]):
        name = b["alert"]["labels"]["alert"]
        got = {scraped_away(k): v for k, v in firing.federated.vector(b["alert"]["config"]["query"], at).items()}
        want = firing.source.vector(prom[name], at)
        assert set(got) == set(want), name
        for labels, w in want.items():
            assert math.isclose(got[labels], w, rel_tol=0.05, abs_tol=1e-9), (name, dict(labels), got[labels], w)
        if want:
            answered.add(name)
    # the thresholds of this profile make these fire, so the comparison is not between empty answers
    assert answered >= {"IstioServiceHighErrorRatio5xx", "IstioServiceHighErrorRatio4xx", "IstioServiceHighLatencyP99",
                        "IstioIngressGatewayHighErrorRatio5xx", "IstioExperimentErrorRatioWorse",
                        "IstioExperimentTrafficSplitOff"}, answered


AM_PROFILE = """
name: am
istio: {{version: "1.22"}}
prometheus: {{flavour: samples-1.22}}
alerts:
  alertmanager:
    urls: ["{url}"]
"""

# Pending for 10 s first: an alert that fires before the notifier has discovered the Alertmanager
# (its discovery updates every 5 s) is dropped, and only resent a minute later.
ALWAYS = {"groups": [{"name": "always", "interval": "1s",
                      "rules": [{"alert": "AlwaysFiring", "expr": "vector(1)", "for": "10s",
                                 "labels": {"severity": "info"}}]}]}


@dataclass
class Notified:
    port: int  # the Alertmanager stand-in's
    alerting: dict[str, Any]  # the rendered fragment's alerting section
    config_check: str  # promtool check config, on the Prometheus configured with it
    posts: list[Request]  # what the Prometheus POSTed to the stand-in


@server("notified")
def _notified(work: Path) -> Iterator[Notified]:
    promtool = tool("promtool")
    with Recorder() as am:
        with RENDER:
            r = render_text(work, AM_PROFILE.format(url=am.url + "/am/"))
        frag = yaml.safe_load(r.files["prometheus/prometheus-config-fragment.yaml"])
        rules = work / "always.yaml"
        rules.write_text(yaml.safe_dump(ALWAYS))
        cfg = {"global": {"evaluation_interval": "1s", "scrape_interval": "1s"}, "rule_files": [str(rules)],
               "alerting": frag["alerting"]}
        prom = Prometheus(tool("prometheus"), yaml.safe_dump(cfg), work, "am-prom")
        out = run([promtool, "check", "config", str(prom.dir / "prometheus.yml")])
        try:
            prom.start()
            prom.wait_ready()
            posts = am.wait_for("/am/api/v2/alerts", timeout=60)
        finally:
            prom.stop()
    yield Notified(am.port, frag["alerting"], out.stdout + out.stderr, posts)


@pytest.fixture(scope="module")
def notified(servers: Servers) -> Iterator[Notified]:
    yield servers.get("notified")
    servers.stop("notified")


def test_the_alerting_config_sends_alerts_to_the_alertmanager(notified: Notified) -> None:
    assert notified.alerting == {"alertmanagers": [{
        "scheme": "http", "path_prefix": "/am", "api_version": "v2",
        "static_configs": [{"targets": [f"127.0.0.1:{notified.port}"]}]}]}
    assert "SUCCESS" in notified.config_check
    sent = json.loads(notified.posts[0].body)
    assert [a["labels"]["alertname"] for a in sent] == ["AlwaysFiring"]
    assert sent[0]["labels"]["severity"] == "info"
