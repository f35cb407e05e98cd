"""Nothing generated depends on what Prometheus 3 changed (prometheus/prometheus docs/migration.md):

* every function in every generated expression (recording rules, alerts, the query catalog, every
  dashboard query, the Sysdig alerts) is one that Prometheus 2.x and 3.x both evaluate without a feature
  flag: ``holt_winters`` is gone in 3.0 (renamed ``double_exponential_smoothing`` behind
  ``--enable-feature=promql-experimental-functions``), and the experimental functions need that flag;
* no selector matches an ``le`` or ``quantile`` value literally (``le="100"`` stops matching once
  Prometheus 3 stores ``"100.0"``): they are matched by regular expression over both forms, which the
  e2e federation test shows against stored float forms (tests/e2e/test_federation.py).

The allowed set is written here from Prometheus' function documentation (docs/querying/functions.md,
2.x and 3.x), not taken from istiogen.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import promql_parser

from istiogen.pipeline import Rendered
from istiogen.promast import nodes

STABLE_IN_2_AND_3 = frozenset({
    "abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min",
    "count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "delta", "deriv", "exp",
    "floor", "histogram_quantile", "hour", "idelta", "increase", "irate", "label_join", "label_replace",
    "last_over_time",
    "ln", "log10", "log2", "max_over_time", "min_over_time", "minute", "month", "predict_linear",
    "present_over_time", "quantile_over_time", "rate", "resets", "round", "scalar", "sgn", "sort", "sort_desc",
    "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time", "time", "timestamp", "vector", "year",
})


def _expressions(x: Rendered) -> Iterator[tuple[str, str]]:
    m = x.model
    for rule in m.rules:
        yield f"record {rule.record}", rule.expr
    for alert in m.alerts:
        yield f"alert {alert.name}", alert.expr
    for query in m.queries:
        yield f"query {query.signal}/{query.scope}", query.expr
    for a in x.artifacts:
        if a.kind in ("grafana-dashboard", "sysdig-dashboard", "sysdig-alerts"):
            yield from _json_exprs(a.path, json.loads(x.files[a.path]))


def _json_exprs(where: str, data: object) -> Iterator[tuple[str, str]]:
    if isinstance(data, dict):
        for k, v in data.items():
            if k in ("expr", "query") and isinstance(v, str) and v:
                if v.startswith("query_result(") and v.endswith(")"):  # a Grafana variable over a PromQL query
                    yield where, v[len("query_result("):-1]
                elif not v.startswith("label_values("):  # a Grafana variable naming a label, not PromQL
                    yield where, v
            else:
                yield from _json_exprs(where, v)
    elif isinstance(data, list):
        for v in data:
            yield from _json_exprs(where, v)


def _substituted(expr: str) -> str:
    """Grafana and Sysdig template variables replaced by values, so the expression parses."""
    for var, value in (("$__rate_interval", "5m"), ("$__interval", "1m"), ("$__range", "1h"), ("$__range_s", "3600")):
        expr = expr.replace(var, value)
    import re

    var = r"\$(?:\{\w+\}|\w+)"
    expr = re.sub(r"(=~|!~|!=|=)\s*" + var, r'\1"x"', expr)  # Sysdig's unquoted matcher variables
    return re.sub(var, "x", expr)


def test_every_generated_function_is_stable_in_prometheus_2_and_3(examples_rendered: dict[str, Rendered]) -> None:
    seen: set[str] = set()
    bad = []
    for x in examples_rendered.values():
        for where, expr in _expressions(x):
            for n in nodes(promql_parser.parse(_substituted(expr))):
                if isinstance(n, promql_parser.Call):
                    name = n.func.name
                    seen.add(name)
                    if name not in STABLE_IN_2_AND_3:
                        bad.append((x.name, where, name))
    assert bad == []
    assert {"rate", "histogram_quantile"} <= seen  # the scan reached the expressions


def _literal_le_or_quantile(expr: str) -> list[tuple[str, str]]:
    out = []
    for n in nodes(promql_parser.parse(_substituted(expr))):
        if isinstance(n, promql_parser.VectorSelector):
            out += [(m.name, m.value) for m in n.matchers.matchers
                    if m.name in ("le", "quantile") and m.op == promql_parser.MatchOp.Equal]
    return out


def test_no_selector_matches_an_le_or_quantile_value_literally(examples_rendered: dict[str, Rendered]) -> None:
    assert _literal_le_or_quantile('sum(x_bucket{le="100"}) / y{quantile=~"0.5"}') == [("le", "100")]  # the scan
    literal = [(x.name, where, found) for x in examples_rendered.values() for where, expr in _expressions(x)
               if (found := _literal_le_or_quantile(expr))]
    assert literal == []


def test_a_window_under_twice_the_federation_interval_is_warned(tmp_path: Path) -> None:
    """Kiali's rule for federated Prometheus (kiali.io prometheus.md): the rate window at least 2× the
    federation interval; here 1m against a 45 s federation (the agent's scrape of /federate)."""
    from tests.conftest import load_text

    r = load_text(tmp_path, 'name: w\nistio: {version: "1.30"}\nrules: {window: 1m}\nsysdig: {scrape_interval: 45s}\n')
    (w,) = [p for p in r.warnings if p.rule == "short-window"]
    assert (w.path, w.message, w.hint) == (
        "rules.window", "rate window is shorter than 2× the federation interval (45s, sysdig.scrape_interval): "
        "the federated rates will have gaps", "use at least 1m30s, or federate more often")
    ok = load_text(tmp_path, 'name: w\nistio: {version: "1.30"}\nrules: {window: 90s}\n'
                             'sysdig: {scrape_interval: 45s}\n')
    assert not [p for p in ok.warnings if p.rule == "short-window"]
