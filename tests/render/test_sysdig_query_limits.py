"""Every generated Sysdig dashboard query respects Sysdig's PromQL API limits (docs.sysdig.com, "Prometheus public
API service limits": at most 10 distinct metric names per query; a query without aggregation returns at most 1000
series), so each is aggregated at the top.  Read from every Sysdig dashboard of the committed trees (output/) and
of the example and default profiles as rendered now; the limit and the walk are this test's own."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import promql_parser as pp

from istiogen.pipeline import Rendered
from tests.conftest import REPO

MAX_NAMES = 10  # Sysdig's documented limit
VARIABLE = re.compile(r"(=~|!~|!=|=)\$[A-Za-z_][A-Za-z0-9_]*")  # Sysdig's scope variables: label=~$name


def _children(n: Any) -> list[Any]:
    if isinstance(n, pp.MatrixSelector):
        return [n.vector_selector]
    if isinstance(n, pp.BinaryExpr):
        return [n.lhs, n.rhs]
    if isinstance(n, pp.AggregateExpr):
        return [n.expr] + ([n.param] if n.param is not None else [])
    if isinstance(n, pp.Call):
        return list(n.args)
    if isinstance(n, pp.ParenExpr | pp.UnaryExpr | pp.SubqueryExpr):
        return [n.expr]
    return []


def metric_names(expr: str) -> set[str]:
    """Selector names and ``__name__="x"`` matchers; a ``__name__`` regex counts as unbounded (the loop fails)."""
    names: set[str] = set()
    stack = [pp.parse(expr)]
    while stack:
        n = stack.pop()
        stack += _children(n)
        if isinstance(n, pp.VectorSelector):
            if n.name:
                names.add(n.name)
            for m in n.matchers.matchers:
                if m.name == "__name__":
                    assert m.op == pp.MatchOp.Equal, expr
                    names.add(m.value)
    return names


def top_aggregated(n: Any) -> bool:
    if isinstance(n, pp.AggregateExpr | pp.NumberLiteral):
        return True
    if isinstance(n, pp.ParenExpr | pp.UnaryExpr):
        return top_aggregated(n.expr)
    if isinstance(n, pp.BinaryExpr):
        return top_aggregated(n.lhs) and top_aggregated(n.rhs)
    if isinstance(n, pp.Call):
        vectors = [a for a in n.args if not isinstance(a, pp.NumberLiteral | pp.StringLiteral)]
        return n.func.name == "vector" or (bool(vectors) and all(top_aggregated(a) for a in vectors))
    return False


def _queries(doc: dict[str, Any]) -> Iterator[str]:
    for panel in doc["dashboard"]["panels"]:
        for q in panel.get("advancedQueries", []):
            yield str(q["query"])


def _dashboards(examples_rendered: dict[str, Rendered], default_rendered: Rendered) -> dict[str, dict[str, Any]]:
    out = {str(p.relative_to(REPO)): json.loads(p.read_text())
           for p in sorted((REPO / "output").rglob("dashboards/sysdig/*.json"))}
    for name, r in {**examples_rendered, "default": default_rendered}.items():
        for rel, data in r.files.items():
            if rel.startswith("dashboards/sysdig/"):
                out[f"{name} (rendered): {rel}"] = json.loads(data)
    return out


def test_every_sysdig_query_reads_at_most_10_metric_names_and_aggregates(
        examples_rendered: dict[str, Rendered], default_rendered: Rendered) -> None:
    boards = _dashboards(examples_rendered, default_rendered)
    assert any("experiments" in k for k in boards) and len(boards) >= 20  # every kind of board is read
    seen = 0
    for where, doc in boards.items():
        for query in _queries(doc):
            expr = VARIABLE.sub(r'\1".*"', query)
            names = metric_names(expr)
            assert 1 <= len(names) <= MAX_NAMES, (where, query, sorted(names))
            assert top_aggregated(pp.parse(expr)), (where, query)
            seen += 1
    assert seen > 400


def test_the_checks_catch_what_sysdig_refuses() -> None:
    """The two checks above are not vacuous."""
    wide = " + ".join(f"sum(m{i})" for i in range(11))
    assert len(metric_names(wide)) == 11
    assert not top_aggregated(pp.parse('experiment:traffic_share:ratio_rate2m{experiment=~".*"}'))
    assert not top_aggregated(pp.parse("rate(x[5m]) / sum(y)"))
    assert top_aggregated(pp.parse("histogram_quantile(0.99, sum by (le) (rate(b[5m])))"))
