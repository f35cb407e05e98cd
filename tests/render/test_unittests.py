"""The shipped promtool unit tests: they pass, they cover every rule and alert, and they can fail."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from istiogen.pipeline import Rendered
from tests.conftest import materialize, render_text, run


def record_of(expr: str) -> str:
    """The record an expression test reads (tests compare ``round(record, 2^-20)``)."""
    m = re.fullmatch(r"round\((.+), 9\.5367431640625e-07\)", expr)
    assert m, expr
    return m.group(1)


def promtool_test(promtool: str, tree: Path) -> str:
    out = run([promtool, "test", "rules", "rules.test.yaml"], cwd=tree / "prometheus", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_shipped_unit_tests_pass_for_every_example(shipped_outcomes: dict[str, tuple[int, str]],
                                                   examples_rendered: dict[str, Rendered],
                                                   default_rendered: Rendered) -> None:
    assert set(shipped_outcomes) == {"default", *examples_rendered}
    for name, (code, out) in shipped_outcomes.items():
        assert code == 0 and "SUCCESS" in out, name + "\n" + out[-3000:]
    for name, r in {"default": default_rendered, **examples_rendered}.items():
        assert not [w for w in r.warnings if w.rule == "unit-test-coverage"], name


def test_every_recording_rule_and_alert_is_covered(examples_rendered: dict[str, Rendered]) -> None:
    for r in examples_rendered.values():
        doc = yaml.safe_load(r.files["prometheus/rules.test.yaml"])
        healthy, degraded = doc["tests"][0], doc["tests"][1]
        asserted = {record_of(t["expr"]) for t in healthy["promql_expr_test"]}
        assert asserted == {x.record for x in r.model.rules}
        for t in healthy["promql_expr_test"]:
            assert t["exp_samples"] or record_of(t["expr"]).startswith("destination:istio_grpc"), t["expr"]
        alert_names = {a.name for a in r.model.alerts}
        assert {t["alertname"] for t in healthy["alert_rule_test"]} == alert_names
        assert all(t["exp_alerts"] == [] for t in healthy["alert_rule_test"])
        fired = {t["alertname"] for t in degraded["alert_rule_test"] if t["exp_alerts"]}
        assert fired == alert_names


def test_a_wrong_expectation_fails(tmp_path: Path, promtool: str, default_rendered: Rendered) -> None:
    tree = materialize(default_rendered, tmp_path / "t")
    path = tree / "prometheus/rules.test.yaml"
    doc = yaml.safe_load(path.read_text())
    sample = doc["tests"][0]["promql_expr_test"][0]["exp_samples"][0]
    sample["value"] = sample["value"] * 2 + 1
    path.write_text(yaml.safe_dump(doc))
    out = run([promtool, "test", "rules", "rules.test.yaml"], cwd=tree / "prometheus", check=False)
    assert out.returncode != 0
    assert "FAILED" in out.stdout + out.stderr


@pytest.mark.parametrize("version", ["1.4", "1.9", "1.22"])
def test_unit_tests_pass_across_versions_and_options(tmp_path: Path, promtool: str, version: str) -> None:
    r = render_text(tmp_path, f"""
        name: v{version.replace('.', '-')}
        istio: {{version: "{version}"}}
        rules:
          window: 2m
          interval: 30s
          scopes: [service, service_version, workload, edge]
          quantiles: [0.99]
        services:
          - {{name: web, namespace: prod, versions: [v1, v2], alerts: {{error_ratio_5xx: 0.02}}}}
          - {{name: api, namespace: prod, alerts: {{disabled: true}}}}
        experiments:
          - {{name: web-canary, service: web, namespace: prod, baseline: v1, candidate: v2, expected_split: 0.25}}
        """)
    assert "SUCCESS" in promtool_test(promtool, materialize(r, tmp_path / "tree"))
    assert not [w for w in r.warnings if w.rule == "unit-test-coverage"]


def test_custom_rules_are_covered_by_their_test_block_or_reported(tmp_path: Path, promtool: str) -> None:
    """Custom rules have no definition: their own test block runs, or a warning says they are not covered."""
    r = render_text(tmp_path, """
        name: custom
        istio: {version: "1.22"}
        rules:
          custom:
            - record: mesh:istio_requests:rate1m
              expr: sum(rate(istio_requests_total{reporter="destination"}[1m]))
            - record: mesh:requests:predicted
              expr: predict_linear(mesh:istio_requests:rate1m[10m], 3600)
              test:
                input_series:
                  - {series: 'istio_requests_total{reporter="destination"}', values: '0+60x60'}
                exp_samples:
                  - {labels: 'mesh:requests:predicted{sysdig="true"}', value: 4}
        """)
    doc = yaml.safe_load(r.files["prometheus/rules.test.yaml"])
    asserted = {record_of(t["expr"]) for t in doc["tests"][0]["promql_expr_test"]}
    assert "mesh:istio_requests:rate1m" not in asserted and "destination:istio_requests:rate1m" in asserted
    assert doc["tests"][-1]["name"] == "custom rule mesh:requests:predicted (from the profile)"
    warnings = [w.message for w in r.warnings if w.rule == "unit-test-coverage"]
    assert warnings == ["custom rule mesh:istio_requests:rate1m is not covered by the generated unit tests "
                        "(it has no definition); add a test block to it"]
    out = run([promtool, "test", "rules", "rules.test.yaml"], cwd=materialize(r, tmp_path / "t") / "prometheus",
              check=False)
    # the profile's own expectation (4) is wrong on purpose: promtool must catch it
    assert out.returncode != 0 and "mesh:requests:predicted" in out.stdout + out.stderr


def test_per_service_window_and_kept_labels(tmp_path: Path, promtool: str) -> None:
    """A service with its own window and kept labels gets base series of its own; nothing is counted twice."""
    r = render_text(tmp_path, """
        name: overrides
        istio: {version: "1.22"}
        services:
          - {name: batch, namespace: jobs, versions: [v1], window: 5m, kept_labels: [request_protocol]}
          - {name: web, namespace: shop, versions: [v1, v2]}
        """)
    rules = yaml.safe_load(r.files["prometheus/rules.yaml"])
    by_record = {x["record"]: x["expr"] for g in rules["groups"] for x in g["rules"]}
    # the raw series are read by each group's base record (by response code), which its request records sum
    default = by_record["destination:istio_requests_by_code:rate1m"]
    special_base = by_record["destination_request_protocol:istio_requests_by_code:rate5m"]
    special = by_record["destination_request_protocol:istio_requests:rate5m"]
    assert 'destination_service!~"batch\\\\.jobs\\\\..+"' in default
    assert 'destination_service=~"batch\\\\.jobs\\\\..+"' in special_base and "[5m]" in special_base
    assert "destination_request_protocol:istio_requests_by_code:rate5m" in special
    assert "request_protocol" in special.split("label_replace")[0]
    q = r.model.query("requests.rate", "service")
    assert q is not None and set(q.uses) == {"destination:istio_requests:rate1m",
                                             "destination_request_protocol:istio_requests:rate5m"}
    assert " or " in q.expr
    assert "SUCCESS" in promtool_test(promtool, materialize(r, tmp_path / "tree"))
    assert not [w for w in r.warnings if w.rule == "unit-test-coverage"]
    doc = yaml.safe_load(r.files["prometheus/rules.test.yaml"])
    special = "destination_request_protocol:istio_requests:rate5m"
    special_samples = next(t for t in doc["tests"][0]["promql_expr_test"]
                           if record_of(t["expr"]) == special)["exp_samples"]
    assert special_samples and all('destination_service_name="batch"' in s["labels"] for s in special_samples)


def test_a_rule_whose_expression_the_profile_replaces_is_reported_not_asserted(tmp_path: Path,
                                                                               promtool: str) -> None:
    """rules.patches may change what a rule computes: its definition no longer applies to it, nor to what reads
    it; each is named in a warning, and the rest is still asserted."""
    r = render_text(tmp_path, """
        name: patched
        istio: {version: "1.22"}
        rules:
          patches:
            - name: destination:istio_requests:rate1m
              expr: PATCHED
        """.replace("PATCHED", 'sum by (destination_service_namespace, destination_service_name, response_class) '
                               '(label_replace(rate(istio_requests_total{reporter="destination"}[5m]), '
                               '"response_class", "${1}xx", "response_code", "([0-9]).*"))'))
    warnings = [w.message for w in r.warnings if w.rule == "unit-test-coverage"]
    assert "recording rule destination:istio_requests:rate1m is not covered by the generated unit tests " \
           "(rules.patches replaces its expression)" in warnings
    readers = {a.name for a in r.model.alerts if "destination:istio_requests:rate1m" in a.uses}
    assert readers and all(any(f"alert {a} is not covered" in w for w in warnings) for a in readers)
    doc = yaml.safe_load(r.files["prometheus/rules.test.yaml"])
    asserted = {record_of(t["expr"]) for t in doc["tests"][0]["promql_expr_test"]}
    assert "destination:istio_requests:rate1m" not in asserted and "destination:istio_tcp_sent_bytes:rate1m" in asserted
    assert readers.isdisjoint(t["alertname"] for t in doc["tests"][1]["alert_rule_test"])
    assert "SUCCESS" in promtool_test(promtool, materialize(r, tmp_path / "tree"))
