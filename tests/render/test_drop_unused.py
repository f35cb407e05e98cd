"""``prometheus.drop_unused``: the relabelling lands in the Istio scrape job of each delivery, and the real tools
accept it (promtool check config, kubectl patch --local, the Prometheus Operator's CRD schema).

That it drops exactly the series nothing reads, and that every catalog query answers the same, is shown with
real Prometheus servers in tests/e2e/test_federation.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from istiogen.pipeline import Rendered
from istiogen.verify.kubevalidate import validate as kube_validate
from tests.conftest import REPO, render_text, run

ADDONS = REPO / "tests" / "fixtures" / "addons"
FRAGMENT = "prometheus/prometheus-config-fragment.yaml"
MARK = "__tmp_istiogen_keep"


def _offline(cfg: dict[str, Any]) -> dict[str, Any]:
    """Debian's promtool has no Kubernetes discovery: static targets instead."""
    for job in cfg.get("scrape_configs") or []:
        if job.pop("kubernetes_sd_configs", None) is not None:
            job["static_configs"] = [{"targets": []}]
    return cfg


def _promtool_ok(promtool: str, cfg: dict[str, Any], folder: Path) -> None:
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(_offline(cfg)))
    out = run([promtool, "check", "config", "--syntax-only", str(path)])
    assert "SUCCESS" in out.stdout + out.stderr


def _live_cfg(name: str) -> dict[str, Any]:
    cm = yaml.safe_load((ADDONS / name).read_text())
    return yaml.safe_load(cm["data"]["prometheus.yml"])  # type: ignore[no-any-return]


def _check_shape(entries: list[dict[str, Any]]) -> None:
    """Mark what is kept, drop the istio_* series left unmarked, remove the mark."""
    assert all(e.get("target_label", e.get("targetLabel")) == MARK for e in entries[:-2])
    assert entries[-2]["action"] == "drop" and entries[-2]["regex"] == "istio_.*;"
    assert entries[-1] == {"regex": MARK, "action": "labeldrop"}


def test_the_fragment_names_the_istio_job_and_its_relabelling_passes_promtool(tmp_path: Path, promtool: str) -> None:
    r = render_text(tmp_path, 'name: d\nistio: {version: "1.22"}\nprometheus: {drop_unused: true}\n')
    fragment = yaml.safe_load(r.files[FRAGMENT])
    assert set(fragment) == {"scrape_configs"}  # projected: the stock config loads the rules already
    (job,) = fragment["scrape_configs"]
    assert job["job_name"] == "kubernetes-pods"  # the job of the samples addon that scrapes the sidecars
    _check_shape(job["metric_relabel_configs"])
    cfg = _live_cfg("samples-1.22-configmap.yaml")
    (pods,) = [j for j in cfg["scrape_configs"] if j["job_name"] == "kubernetes-pods"]
    pods.setdefault("metric_relabel_configs", []).extend(job["metric_relabel_configs"])  # what the user does
    _promtool_ok(promtool, cfg, tmp_path)
    assert "drop_unused" in r.files["apply.sh"].decode()
    # off, nothing changes: no fragment at all for this flavour
    assert FRAGMENT not in render_text(tmp_path, 'name: d\nistio: {version: "1.22"}\n').files


@pytest.mark.parametrize(("fixture", "flavour", "version", "jobs"), [
    ("samples-1.22-configmap.yaml", "samples-1.22", "1.22", {"kubernetes-pods"}),
    ("istioctl-1.5-configmap.yaml", "istioctl-1.5", "1.5", {"istio-mesh", "envoy-stats"}),
])
def test_the_live_config_job_gets_the_relabelling(tmp_path: Path, kubectl: str, promtool: str, fixture: str,
                                                  flavour: str, version: str, jobs: set[str]) -> None:
    src = (ADDONS / fixture).read_text()
    (tmp_path / "live.yaml").write_text(src)
    r = render_text(tmp_path, f"""
        name: live
        istio: {{version: "{version}"}}
        prometheus: {{flavour: {flavour}, live_config: live.yaml, drop_unused: true}}
        """)
    before = {j["job_name"]: j for j in _live_cfg(fixture)["scrape_configs"]}
    body = yaml.safe_load(r.files["prometheus/prometheus-configmap.yaml"])["data"]["prometheus.yml"]
    after = {j["job_name"]: j for j in yaml.safe_load(body)["scrape_configs"]}
    assert set(after) == set(before)
    for name, job in after.items():
        own = before[name].get("metric_relabel_configs", [])
        if name in jobs:
            added = job["metric_relabel_configs"][len(own):]
            assert job["metric_relabel_configs"][:len(own)] == own  # the job's own entries stay first
            _check_shape(added)
        else:
            assert job == before[name]
    # the RFC 6902 patch applied by kubectl to the export gives the same data, and promtool accepts it
    export = tmp_path / "export.yaml"
    export.write_text(src)
    ops = json.loads(r.files["prometheus/prometheus-configmap.json6902.json"])
    out = run([kubectl, "patch", "--local", "-f", str(export), "--type", "json", "-p", json.dumps(ops), "-o", "json"])
    assert json.loads(out.stdout)["data"]["prometheus.yml"] == body
    _promtool_ok(promtool, yaml.safe_load(body), tmp_path)
    assert not [w for w in r.warnings if w.rule == "drop-unused" and "nothing is dropped" in w.message]


def _operator(tmp_path: Path, drop: bool) -> Rendered:
    return render_text(tmp_path, f"""
        name: op
        istio: {{version: "1.22"}}
        prometheus: {{delivery: operator, drop_unused: {str(drop).lower()}}}
        """)


def test_the_operator_podmonitor_carries_metric_relabelings_the_crd_schema_accepts(tmp_path: Path) -> None:
    r = _operator(tmp_path, True)
    pm = yaml.safe_load(r.files["operator/podmonitor-envoy.yaml"])
    (endpoint,) = pm["spec"]["podMetricsEndpoints"]
    entries = endpoint["metricRelabelings"]
    _check_shape(entries)
    assert all("source_labels" not in e and "target_label" not in e for e in entries)  # the CRD's spelling
    assert kube_validate(r) == []
    # the schema does check these entries: a misspelt action is refused
    bad = json.loads(json.dumps(pm))
    bad["spec"]["podMetricsEndpoints"][0]["metricRelabelings"][-2]["action"] = "dropp"
    r.files = {**r.files, "operator/podmonitor-envoy.yaml": yaml.safe_dump(bad).encode()}
    (problem,) = kube_validate(r)
    assert problem.file == "operator/podmonitor-envoy.yaml" and "metricRelabelings" in problem.path
    assert "metricRelabelings" not in _operator(tmp_path, False).files["operator/podmonitor-envoy.yaml"].decode()


def _kept(r: Rendered) -> str:
    (job,) = yaml.safe_load(r.files[FRAGMENT])["scrape_configs"]
    return " ".join(e["regex"] for e in job["metric_relabel_configs"][:-2])


def test_what_is_kept_follows_the_rule_sets(tmp_path: Path) -> None:
    """By the profile's definition: a family is kept when a rule set that reads it is on."""
    every = _kept(render_text(tmp_path, 'name: a\nistio: {version: "1.22"}\nprometheus: {drop_unused: true}\n'))
    few = _kept(render_text(tmp_path, 'name: b\nistio: {version: "1.22"}\nprometheus: {drop_unused: true}\n'
                                      "rules: {sets: [requests, latency]}\n"))
    for family in ("istio_requests_total", "istio_request_duration_milliseconds_bucket",
                   "istio_response_bytes_bucket", "istio_request_bytes_bucket", "istio_tcp_sent_bytes_total"):
        assert family in every
    assert "istio_requests_total" in few and "istio_request_duration_milliseconds_bucket" in few
    assert "istio_response_bytes_bucket" not in few and "istio_tcp_sent_bytes_total" not in few
    assert "_sum" not in every and "_count" not in every


def test_the_warning_names_what_istios_dashboards_and_kiali_lose(tmp_path: Path) -> None:
    r = render_text(tmp_path, 'name: w\nistio: {version: "1.22"}\nprometheus: {drop_unused: true}\n'
                              "rules: {sets: [requests, latency, gateway, control_plane]}\n")
    (w,) = [w for w in r.warnings if w.rule == "drop-unused"]
    assert w.level == "warning" and w.path == "prometheus.drop_unused"
    for lost in ("istio_request_duration_milliseconds_sum", "istio_response_bytes_bucket (rule set response_size "
                 "off)", "istio_tcp_* (rule set tcp off)", "Kiali", "Grafana dashboards"):
        assert lost in w.message, lost
    assert not [w for w in render_text(tmp_path, 'name: w\nistio: {version: "1.22"}\n').warnings
                if w.rule == "drop-unused"]


def test_where_nothing_can_be_dropped_a_warning_says_so(tmp_path: Path) -> None:
    helm = render_text(tmp_path, 'name: h\nistio: {version: "1.22"}\n'
                                 "prometheus: {delivery: helm-values, drop_unused: true}\n")
    (w,) = [w for w in helm.warnings if w.rule == "drop-unused"]
    assert "no effect with delivery helm-values" in w.message
    live = yaml.safe_load((ADDONS / "samples-1.22-configmap.yaml").read_text())
    cfg = yaml.safe_load(live["data"]["prometheus.yml"])
    cfg["scrape_configs"] = [j for j in cfg["scrape_configs"] if j["job_name"] != "kubernetes-pods"]
    live["data"]["prometheus.yml"] = yaml.safe_dump(cfg)
    (tmp_path / "live.yaml").write_text(yaml.safe_dump(live))
    r = render_text(tmp_path, 'name: l\nistio: {version: "1.22"}\n'
                              "prometheus: {live_config: live.yaml, drop_unused: true}\n")
    (w,) = [w for w in r.warnings if w.rule == "drop-unused"]
    assert "has no job kubernetes-pods" in w.message and "nothing is dropped" in w.message


def test_a_custom_rule_keeps_what_it_reads(tmp_path: Path) -> None:
    """The profile's own rules are walked too: a family only they read is kept, whole (no ``le`` matcher)."""
    r = render_text(tmp_path, """
        name: c
        istio: {version: "1.22"}
        prometheus: {drop_unused: true}
        rules:
          custom:
            - record: mesh:istio_request_duration_milliseconds:mean1m
              expr: >-
                sum(rate(istio_request_duration_milliseconds_sum[1m]))
                / sum(rate(istio_request_duration_milliseconds_count[1m]))
        """)
    kept = _kept(r)
    assert "istio_request_duration_milliseconds_sum" in kept and "istio_request_duration_milliseconds_count" in kept
    assert "istio_request_bytes_sum" not in kept
