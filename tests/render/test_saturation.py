"""The saturation rule set (rules.sets: saturation), against truths istiogen did not produce: a promtool test
written by hand over hand-made cAdvisor and Istio series (the expected values follow from the input's
definition, in the comments), the generated unit tests under promtool for every Telemetry v2 flavour, kubectl
patch --local for the proxy stats patch, and Envoy stat names written out by hand for the inclusion regex."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from istiogen.catalog import saturation as satcat
from tests.conftest import REPO, materialize, render_text, run, write_profile

PROFILE = """
name: hand
istio: {version: "1.22"}
prometheus: {flavour: samples-1.22}
rules:
  sets: [requests, latency, saturation]
alerts:
  services: {for: 1m}
services:
  - {name: checkout, namespace: shop, versions: [v1, v2]}
experiments:
  - {name: canary, service: checkout, namespace: shop, baseline: v1, candidate: v2, expected_split: 0.2, for: 1m}
"""

# Written by hand: two v1 pods at 10 req/s each using 0.25 CPU s/s each (0.5 / 20 = 0.025 CPU s per request),
# one v2 pod at 5 req/s using 0.375 (0.075 per request: three times the baseline's).
HAND_TEST = REPO / "tests" / "fixtures" / "saturation" / "hand.test.yaml"


def test_the_saturation_rules_give_the_values_worked_out_by_hand(tmp_path: Path, promtool: str) -> None:
    tree = materialize(render_text(tmp_path, PROFILE), tmp_path / "tree")
    (tree / "prometheus" / "hand.test.yaml").write_text(HAND_TEST.read_text())
    out = run([promtool, "test", "rules", "hand.test.yaml"], cwd=tree / "prometheus", check=False)
    assert out.returncode == 0, out.stdout + out.stderr


FLAVOUR_PROFILE = """
name: sat
istio: {{version: "{version}"}}
prometheus: {{flavour: {flavour}}}
rules:
  sets: [requests, latency, gateway, control_plane, saturation]
saturation: {{envoy_overflow: true}}
alerts:
  services: {{proxy_cpu_cores: 0.5, cpu_cores: 4}}
services:
  - {{name: checkout, namespace: shop, versions: [v1, v2]}}
  - {{name: cart, namespace: shop, alerts: {{cpu_cores: 1.5, memory_bytes: 1073741824, proxy_memory_bytes: 268435456}}}}
  - {{name: quiet, namespace: shop, alerts: {{disabled: true}}}}
experiments:
  - {{name: checkout-canary, service: checkout, namespace: shop, baseline: v1, candidate: v2}}
"""
SATURATION_RECORDS = (
    "destination:container_cpu_usage_seconds:max_rate1m", "destination:container_memory_working_set_bytes:max",
    "destination:proxy_cpu_usage_seconds:max_rate1m", "destination:proxy_memory_working_set_bytes:max",
    "ingress_gateway:proxy_cpu_usage_seconds:max_rate1m", "destination:istio_requests_overflow:rate1m",
    "destination_service:envoy_overflow:rate1m", "experiment:cpu_seconds_per_request:rate1m",
)
SATURATION_ALERTS = ("IstioServiceHighCpu", "IstioServiceHighMemory", "IstioServiceProxyHighCpu",
                     "IstioServiceProxyHighMemory", "IstioServiceCircuitBreakerOverflow",
                     "IstioExperimentCpuPerRequestWorse")


@pytest.mark.parametrize(("version", "flavour"), [("1.5", "istioctl-1.5"), ("1.9", "samples-1.7"),
                                                  ("1.22", "samples-1.22"),
                                                  ("1.22", "samples-1.22, delivery: operator")])
def test_the_generated_unit_tests_hold_for_each_flavour(tmp_path: Path, promtool: str, version: str,
                                                         flavour: str) -> None:
    """Each flavour names a pod differently on Istio's series (pod_name, kubernetes_pod_name, pod), and the
    operator's kubelet job serves cAdvisor beside other endpoints; the rules join cAdvisor's pod to it.
    promtool runs the generated tests: every saturation record asserted with samples, every saturation alert
    firing in the degraded mesh and silent in the healthy one."""
    r = render_text(tmp_path, FLAVOUR_PROFILE.format(version=version, flavour=flavour))
    tree = materialize(r, tmp_path / "tree")
    out = run([promtool, "test", "rules", "rules.test.yaml"], cwd=tree / "prometheus", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    tests = yaml.safe_load((tree / "prometheus" / "rules.test.yaml").read_text())["tests"]
    asserted = {e["expr"].removeprefix("round(").split(",")[0]: e["exp_samples"] for e in tests[0]["promql_expr_test"]}
    for record in SATURATION_RECORDS:
        assert asserted.get(record), record
    healthy = {a["alertname"]: a["exp_alerts"] for a in tests[0]["alert_rule_test"]}
    degraded = {a["alertname"]: a["exp_alerts"] for a in tests[1]["alert_rule_test"]}
    for alert in SATURATION_ALERTS:
        assert healthy[alert] == [] and degraded[alert], alert
    # the disabled service never alerts
    assert not [a for alerts in degraded.values() for a in alerts if a["exp_labels"].get("service") == "quiet"]


def test_the_mixer_flavour_records_overflow_only_and_says_so(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    text = FLAVOUR_PROFILE.format(version="1.4", flavour="helm-1.4")
    r = render_text(tmp_path, text)
    records = {x.record for x in r.model.rules}
    assert "destination:istio_requests_overflow:rate1m" in records
    assert not [x for x in records if "container_" in x or ":proxy_" in x]
    p = write_profile(tmp_path, text)
    res = cli("validate", p.name, cwd=tmp_path)
    assert res.code == 0 and "[saturation-source]" in res.out and "[proxy-stats-series]" in res.out


def test_saturation_is_opt_in(default_rendered) -> None:  # type: ignore[no-untyped-def]
    assert "saturation" not in default_rendered.resolved.profile.rules.sets
    rules = default_rendered.files["prometheus/rules.yaml"].decode()
    assert "container_" not in rules and "UO" not in rules
    assert not [x for x in default_rendered.files if x.startswith("istio/proxy-stats")]


def test_envoy_overflow_without_the_rule_set_is_an_error(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    p = write_profile(tmp_path, 'name: m\nistio: {version: "1.22"}\nsaturation: {envoy_overflow: true}\n')
    res = cli("validate", p.name, cwd=tmp_path)
    assert res.code == 2 and "[proxy-stats-series]" in res.out + res.err


# Envoy's stat names (cluster.<cluster name>.<counter>), as Envoy's admin /stats lists them
STATS = {
    "cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_pending_overflow": True,
    "cluster.outbound|9080|v2|reviews.default.svc.cluster.local.upstream_cx_overflow": True,
    "cluster.inbound|9080||.upstream_rq_retry_overflow": True,
    "cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_total": False,
    "cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_pending_active": False,
    "listener.0.0.0.0_15006.downstream_cx_overflow": False,
}


@pytest.mark.parametrize(("version", "key"), [("1.22", "proxy.istio.io/config"),
                                              ("1.7", "sidecar.istio.io/statsInclusionRegexps")])
def test_the_proxy_stats_patch_applies_with_kubectl(tmp_path: Path, kubectl: str, version: str, key: str) -> None:
    r = render_text(tmp_path, f'name: m\nistio: {{version: "{version}"}}\nrules: {{sets: [requests, saturation]}}\n'
                              "saturation: {envoy_overflow: true}\n")
    tree = materialize(r, tmp_path / "tree")
    deployment = tmp_path / "reviews.yaml"
    deployment.write_text(yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "reviews-v1", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "reviews"}}, "template": {
            "metadata": {"labels": {"app": "reviews"}, "annotations": {"kept": "yes"}},
            "spec": {"containers": [{"name": "reviews", "image": "reviews:1"}]}}},
    }))
    out = run([kubectl, "patch", "--local", "-f", str(deployment), "--type", "strategic", "--patch-file",
               str(tree / "istio/proxy-stats-patch.yaml"), "-o", "json"])
    ann = json.loads(out.stdout)["spec"]["template"]["metadata"]["annotations"]
    assert ann["kept"] == "yes"
    if key == "proxy.istio.io/config":
        regexes = yaml.safe_load(ann[key])["proxyStatsMatcher"]["inclusionRegexps"]
        mesh = yaml.safe_load((tree / "istio/proxy-stats-meshconfig.yaml").read_text())
        assert mesh["spec"]["meshConfig"]["defaultConfig"]["proxyStatsMatcher"]["inclusionRegexps"] == regexes
    else:
        regexes = [ann[key]]
        assert "istio/proxy-stats-meshconfig.yaml" not in r.files
    assert len(regexes) == 1
    for stat, included in STATS.items():
        assert (re.fullmatch(regexes[0], stat) is not None) == included, stat


def test_the_outbound_cluster_names_its_service() -> None:
    m = re.fullmatch(satcat.OUTBOUND_CLUSTER_REGEX, "outbound|9080|v2|reviews.default.svc.cluster.local")
    assert m and m.groups() == ("reviews", "default")
    assert re.fullmatch(satcat.OUTBOUND_CLUSTER_REGEX, "inbound|9080||") is None
