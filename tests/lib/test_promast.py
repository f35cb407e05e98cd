"""istiogen.promast visits the nodes promql_parser.walk visits (the library's own walk is the truth), once each."""

from __future__ import annotations

from typing import Any

import promql_parser
import pytest

from istiogen.promast import metric_names, nodes

EXPRESSIONS = [
    'sum by (a) (rate(x_total{a="1"}[5m])) / on (a) group_left (b) sum by (a, b) (y)',
    "histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))",
    "topk(3, -z) > bool 1",
    "max_over_time(rate(c_total[1m])[10m:1m] offset 5m)",
    'count_values("v", w) or absent(q{job="j"}) unless vector(1)',
    'label_replace(m, "dst", "$1", "src", "(.*)") * scalar(n)',
    '{__name__=~"istio_.*"} and (((p)))',
    "quantile(0.9, r @ 100)",
]


def _walked(expr: str) -> list[str]:
    seen: list[str] = []

    def visit(node: Any) -> None:
        seen.append(type(node).__name__)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return seen


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_nodes_are_the_nodes_walk_visits(expr: str) -> None:
    ours = [type(n).__name__ for n in nodes(promql_parser.parse(expr))]
    assert sorted(ours) == sorted(_walked(expr))


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_metric_names_are_the_selectors_walk_finds(expr: str) -> None:
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            found.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    assert metric_names(expr) == found
    assert found  # every expression reads something
