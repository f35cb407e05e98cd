"""The definitions behind the unit tests' expected values: every generated record and alert has one, and
their values are what the synthetic injection implies, worked out by hand here."""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml

from istiogen.pipeline import Rendered, render
from istiogen.render import definitions
from istiogen.render.expected import histogram_quantile
from istiogen.validate import load


def test_every_generated_record_and_alert_has_a_definition(examples_rendered: dict[str, Rendered]) -> None:
    for name, r in examples_rendered.items():
        defs = definitions.Definitions(definitions.records(r.resolved), definitions.alerts(r.resolved))
        custom = {c.record for c in r.resolved.profile.rules.custom}
        for rule in r.model.rules:
            if rule.record not in custom:
                assert defs.record(rule.record).record == rule.record, name
        for a in r.model.alerts:
            assert defs.alert(a.name).alert == a.name, name


@pytest.mark.parametrize("kind", ["records", "alerts"])
def test_a_record_or_alert_without_a_definition_fails_the_render(monkeypatch: pytest.MonkeyPatch,
                                                                  kind: str) -> None:
    real = getattr(definitions, kind)
    missing = "destination:istio_requests:rate1m" if kind == "records" else "IstiodDown"

    def without(r: object) -> dict[str, object]:
        out: dict[str, object] = real(r)
        del out[missing]
        return out

    monkeypatch.setattr(definitions, kind, without)
    with pytest.raises(definitions.MissingDefinition, match=missing):
        render(load(None))


def test_histogram_quantile_interpolates_as_prometheus_documents() -> None:
    buckets = {0.1: 0.75, 0.5: 1.0, math.inf: 1.0}
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.1 * 0.5 / 0.75)  # inside the first bucket, from 0
    assert histogram_quantile(0.99, buckets) == pytest.approx(0.1 + 0.4 * (0.99 - 0.75) / 0.25)
    assert histogram_quantile(0.99, {1.0: 0.5, math.inf: 1.0}) == 1.0  # rank in +Inf: the last finite bound
    assert math.isnan(histogram_quantile(0.5, {1.0: 0.0, math.inf: 0.0}))  # no observations
    assert math.isnan(histogram_quantile(0.5, {1.0: 1.0}))  # no +Inf bucket
    assert histogram_quantile(0.5, {1.0: 2.0, 2.0: 1.0, math.inf: 2.0}) == 0.5  # counts made monotonic
    assert histogram_quantile(2, buckets) == math.inf and histogram_quantile(-1, buckets) == -math.inf


def test_expected_values_are_what_the_injection_implies(default_rendered: Rendered) -> None:
    """The default mesh: frontend v1 and v2, two pods each, per pod 1 req/s of 200, 1/64 of 404, 1/512 of 503
    (v1 also serves 0.5 + 0.125 req/s of gRPC, code 200); degraded: 0.5, 0.25 and 0.5 req/s."""
    doc = yaml.safe_load(default_rendered.files["prometheus/rules.test.yaml"])
    healthy, degraded = doc["tests"]
    requests = next(t for t in healthy["promql_expr_test"] if "destination:istio_requests:rate1m" in t["expr"])
    v2 = {s["labels"].split('response_class="')[1][:3]: s["value"] for s in requests["exp_samples"]
          if 'destination_version="v2"' in s["labels"]}
    assert v2 == {"2xx": 2.0, "4xx": 2 / 64, "5xx": 2 / 512}
    v1_2xx = [s["value"] for s in requests["exp_samples"]
              if 'destination_version="v1"' in s["labels"] and 'response_class="2xx"' in s["labels"]]
    assert v1_2xx == [2 * (1 + 0.5 + 0.125)]
    fired = {t["alertname"]: t["exp_alerts"] for t in degraded["alert_rule_test"]}
    ratio = (2 * 0.5 + 2 * 0.5) / (2 * (0.5 + 0.25 + 0.5 + 0.625) + 2 * (0.5 + 0.25 + 0.5))  # 0.32
    assert fired["IstioServiceHighErrorRatio5xx"] == [{
        "exp_labels": {"destination_service_name": "frontend", "destination_service_namespace": "default",
                       "service": "frontend", "namespace": "default", "severity": "critical",
                       "signal": "errors.ratio_5xx"},
        "exp_annotations": {
            "summary": "frontend.default: 5xx error ratio is high",
            "description": f"The 5xx error ratio of frontend in default is {ratio:.3g}, above its threshold "
                           "(default 0.05), with at least 0.1 req/s."},
    }]
    # the slow victim: a quarter of its requests within 25 ms, the rest within 5000 ms (kept bound 2500 below)
    p99 = 2500 + (5000 - 2500) * (0.99 - 0.25) / 0.75
    assert f"is {p99:.3g}," in fired["IstioServiceHighLatencyP99"][0]["exp_annotations"]["description"]
    assert all(t["exp_alerts"] == [] for t in healthy["alert_rule_test"])


def _samples(test: dict[str, Any], record: str) -> dict[str, float]:
    exprs = next(t for t in test["promql_expr_test"] if f"({record}," in t["expr"])
    return {s["labels"]: s["value"] for s in exprs["exp_samples"]}


def test_the_callers_view_is_what_the_calling_sidecars_report(default_rendered: Rendered) -> None:
    """Callers' sidecars (reporter="source") report each of the four pods' HTTP requests (1, 1/64 and 1/512 req/s
    of 200, 404 and 503; degraded 0.5, 0.25, 0.5) and 1/1024 req/s of 503 they failed to connect (UF), which
    no destination reports; the ingress gateway's 2 req/s of 200 and 1/256 of 503 are not the callers' view."""
    doc = yaml.safe_load(default_rendered.files["prometheus/rules.test.yaml"])
    healthy, degraded = doc["tests"]
    fed = 'sysdig="true"'
    svc = 'destination_service_name="frontend",destination_service_namespace="default"'
    assert _samples(healthy, "client:istio_requests:rate1m") == {
        f'{{{svc},response_class="2xx",{fed}}}': 4.0,
        f'{{{svc},response_class="4xx",{fed}}}': 4 / 64,
        f'{{{svc},response_class="5xx",{fed}}}': 4 / 512 + 4 / 1024,
    }
    fired = {t["alertname"]: t["exp_alerts"] for t in degraded["alert_rule_test"]}
    ratio = (4 * 0.5 + 4 / 1024) / (4 * 1.25 + 4 / 1024)
    assert fired["IstioServiceHighClientErrorRatio5xx"] == [{
        "exp_labels": {"destination_service_name": "frontend", "destination_service_namespace": "default",
                       "service": "frontend", "namespace": "default", "severity": "critical",
                       "signal": "client.errors.ratio_5xx"},
        "exp_annotations": {
            "summary": "frontend.default: callers' 5xx error ratio is high",
            "description": f"The callers' 5xx error ratio of frontend in default is {ratio:.3g}, above its "
                           "threshold (default 0.05), with at least 0.1 req/s."},
    }]
    # one label set whether istiod is down or gone: not the recorded series' federation label
    assert [a["exp_labels"] for a in fired["IstiodDown"]] == [
        {"severity": "critical", "signal": "istiod.up", "service": "istiod", "namespace": "istio-system"}]


def test_the_experiment_5xx_factor_compares_over_the_floor(examples_rendered: dict[str, Rendered]) -> None:
    """bookinfo's reviews-v3-canary: the healthy baseline v1 answers no 5xx at all (ratio 0, below the default
    floor 0.001), the candidate v3 1/512 of 1 + 1/64 + 1/512 of its requests: factor = that ratio / 0.001."""
    doc = yaml.safe_load(examples_rendered["bookinfo"].files["prometheus/rules.test.yaml"])
    healthy = doc["tests"][0]
    candidate = (1 / 512) / (1 + 1 / 64 + 1 / 512)
    [(labels, factor)] = _samples(healthy, "experiment:error_ratio_5xx:candidate_over_baseline").items()
    assert 'experiment="reviews-v3-canary"' in labels
    assert factor == pytest.approx(candidate / 0.001, abs=2**-20)
