"""Where the alerts go, with real Prometheus servers on 127.0.0.1.

* The Sysdig form runs over the federated series: every series each Sysdig alert selects, asked
  of the Prometheus that federates the Istio one with the rendered match[] (conftest.py), is
  there, with the same label sets as in the Istio Prometheus, and every query evaluates.
* The rendered ``alerting:`` section makes a real Prometheus send its alerts to an Alertmanager
  stand-in (an HTTP server in the test recording POSTs to /api/v2/alerts).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from tests.conftest import render_text, run, tool
from tests.e2e.conftest import Federation
from tests.e2e.prom import Prometheus
from tests.recorder import Recorder

pytestmark = pytest.mark.e2e


def selectors(expr: str) -> list[Any]:
    found: list[Any] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def scraped_away(labels: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The federating scrape adds its job and instance (recorded series have neither)."""
    return tuple((k, v) for k, v in labels if k not in ("job", "instance"))


def test_sysdig_alerts_select_only_series_the_federation_delivers(federation: Federation) -> None:
    bodies = json.loads(federation.rendered.files["sysdig/alerts.json"])
    assert {b["alert"]["labels"]["alert"] for b in bodies} >= {
        "IstioServiceHighErrorRatio5xx", "IstioServiceHighLatencyP99", "IstioIngressGatewayHighErrorRatio5xx",
        "IstiodDown", "IstiodPushErrors"}
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


def test_the_alerting_config_sends_alerts_to_the_alertmanager(tmp_path: Path) -> None:
    promtool = tool("promtool")
    with Recorder() as am:
        r = render_text(tmp_path, AM_PROFILE.format(url=am.url + "/am/"))
        frag = yaml.safe_load(r.files["prometheus/prometheus-config-fragment.yaml"])
        assert frag["alerting"] == {"alertmanagers": [{
            "scheme": "http", "path_prefix": "/am", "api_version": "v2",
            "static_configs": [{"targets": [f"127.0.0.1:{am.port}"]}]}]}
        rules = tmp_path / "always.yaml"
        rules.write_text(yaml.safe_dump(ALWAYS))
        cfg = {"global": {"evaluation_interval": "1s", "scrape_interval": "1s"}, "rule_files": [str(rules)],
               "alerting": frag["alerting"]}
        prom = Prometheus(tool("prometheus"), yaml.safe_dump(cfg), tmp_path, "am-prom")
        out = run([promtool, "check", "config", str(prom.dir / "prometheus.yml")])
        assert "SUCCESS" in out.stdout + out.stderr
        try:
            prom.start()
            prom.wait_ready()
            posts = am.wait_for("/am/api/v2/alerts", timeout=60)
        finally:
            prom.stop()
    sent = json.loads(posts[0].body)
    assert [a["labels"]["alertname"] for a in sent] == ["AlwaysFiring"]
    assert sent[0]["labels"]["severity"] == "info"
