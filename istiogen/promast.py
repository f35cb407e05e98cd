"""Walking a parsed PromQL expression (promql-parser's AST), as a leaf library.

``promql_parser.walk`` converts the subtree below every node it visits, which
makes it quadratic: 58 s over an alert of 300 per-service thresholds (2,400
nodes).  Reading each node's children by attribute visits every node once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def nodes(root: Any) -> Iterator[Any]:
    """Every node of the expression, each once (depth first, no recursion: depth is not bounded here)."""
    import promql_parser as p

    stack = [root]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, p.MatrixSelector):
            stack.append(n.vector_selector)
        elif isinstance(n, p.BinaryExpr):
            stack += [n.rhs, n.lhs]
        elif isinstance(n, p.AggregateExpr):
            if n.param is not None:
                stack.append(n.param)
            stack.append(n.expr)
        elif isinstance(n, p.Call):
            stack += reversed(list(n.args))
        elif isinstance(n, p.ParenExpr | p.UnaryExpr | p.SubqueryExpr):
            stack.append(n.expr)


def metric_names(expr: str) -> set[str]:
    """The metric names the expression's selectors read (a selector by ``{__name__=~...}`` adds none)."""
    import promql_parser as p

    return {n.name for n in nodes(p.parse(expr)) if isinstance(n, p.VectorSelector) and n.name}
