"""alerts.alertmanager: the Prometheus ``alerting:`` section (fragment, live ConfigMap) or the operator's
``spec.alerting.alertmanagers``.  That a real Prometheus sends to it is tests/e2e/test_alert_destinations.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from istiogen.errors import ProfileError
from tests.conftest import REPO, materialize, render_text, run

ADDONS = REPO / "tests" / "fixtures" / "addons"


def test_urls_become_static_alertmanagers_grouped_by_scheme_and_prefix(tmp_path: Path) -> None:
    r = render_text(tmp_path, """
        name: am
        istio: {version: "1.22"}
        alerts:
          alertmanager:
            urls: ["http://am-0.monitoring:9093", "http://am-1.monitoring:9093", "https://am.example.com/alertmanager"]
        """)
    frag = yaml.safe_load(r.files["prometheus/prometheus-config-fragment.yaml"])
    assert frag["alerting"] == {"alertmanagers": [
        {"scheme": "http", "api_version": "v2",
         "static_configs": [{"targets": ["am-0.monitoring:9093", "am-1.monitoring:9093"]}]},
        {"scheme": "https", "path_prefix": "/alertmanager", "api_version": "v2",
         "static_configs": [{"targets": ["am.example.com"]}]},
    ]}


def test_without_an_alertmanager_the_config_has_no_alerting_section(tmp_path: Path) -> None:
    r = render_text(tmp_path, 'name: plain\nistio: {version: "1.5"}\n')  # mount delivery: a fragment is needed
    assert "alerting" not in yaml.safe_load(r.files["prometheus/prometheus-config-fragment.yaml"])
    r = render_text(tmp_path, 'name: plain\nistio: {version: "1.22"}\n')  # projected: prometheus.yml needs no edit
    assert "prometheus/prometheus-config-fragment.yaml" not in r.files


def test_live_config_gets_the_alerting_section_and_passes_promtool(tmp_path: Path, promtool: str) -> None:
    (tmp_path / "live.yaml").write_text((ADDONS / "istioctl-1.5-configmap.yaml").read_text())
    r = render_text(tmp_path, """
        name: live
        istio: {version: "1.5"}
        prometheus: {flavour: istioctl-1.5, live_config: live.yaml}
        alerts: {alertmanager: {urls: ["http://alertmanager.monitoring:9093"]}}
        """)
    tree = materialize(r, tmp_path / "tree")
    cm = yaml.safe_load((tree / "prometheus/prometheus-configmap.yaml").read_text())
    cfg = yaml.safe_load(cm["data"]["prometheus.yml"])
    assert cfg["alerting"] == {"alertmanagers": [{"scheme": "http", "api_version": "v2", "static_configs": [
        {"targets": ["alertmanager.monitoring:9093"]}]}]}
    assert re.search(r"^\+\s+alerting:$", r.files["prometheus/prometheus-configmap.diff"].decode(), re.M)
    for job in cfg.get("scrape_configs") or []:  # Debian's promtool has no Kubernetes discovery
        if job.pop("kubernetes_sd_configs", None) is not None:
            job["static_configs"] = [{"targets": []}]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(cfg))
    out = run([promtool, "check", "config", "--syntax-only", str(tmp_path / "prometheus.yml")])
    assert "SUCCESS" in out.stdout + out.stderr


def test_operator_references_alertmanager_services(tmp_path: Path) -> None:
    r = render_text(tmp_path, """
        name: op
        istio: {version: "1.22"}
        prometheus: {delivery: operator}
        alerts:
          alertmanager:
            services: [{namespace: monitoring, name: alertmanager-main}]
        """)
    patch = json.loads(r.files["operator/prometheus-patch.merge.json"])
    assert patch["spec"]["alerting"] == {"alertmanagers": [
        {"namespace": "monitoring", "name": "alertmanager-main", "port": "web", "apiVersion": "v2"}]}


@pytest.mark.parametrize(("delivery", "am", "field"), [
    ("operator", "{urls: ['http://am:9093']}", "alerts.alertmanager.urls"),
    ("mount", "{services: [{namespace: m, name: am}]}", "alerts.alertmanager.services"),
    ("mount", "{}", "alerts.alertmanager"),
    ("mount", "{urls: ['ftp://am']}", "alerts.alertmanager.urls"),
    ("mount", "{urls: ['http://u:p@am:9093']}", "alerts.alertmanager.urls"),
])
def test_bad_alertmanager_settings_are_errors(tmp_path: Path, delivery: str, am: str, field: str) -> None:
    with pytest.raises(ProfileError) as e:
        render_text(tmp_path, f"""
            name: bad
            istio: {{version: "1.22"}}
            prometheus: {{delivery: {delivery}}}
            alerts: {{alertmanager: {am}}}
            """)
    assert [p.path for p in e.value.problems if p.level == "error"] == [field]
