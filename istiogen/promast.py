"""Walking a parsed PromQL expression (promql-parser's AST), as a leaf library.

``promql_parser.walk`` converts the subtree below every node it visits, which
makes it quadratic: 58 s over an alert of 300 per-service thresholds (2,400
nodes).  Reading each node's children by attribute visits every node once.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
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


@lru_cache(maxsize=256)
def parse(expr: str) -> Any:
    """``promql_parser.parse``, each text once: a render parses its largest expressions (an alert with
    every service's threshold inlined) in several places, and the parser's time grows faster than their
    length.  The parser's error propagates (and is not cached)."""
    import promql_parser as p

    return p.parse(expr)


def metric_names(expr: str) -> set[str]:
    """The metric names the expression's selectors read (a selector by ``{__name__=~...}`` adds none)."""
    import promql_parser as p

    return {n.name for n in nodes(parse(expr)) if isinstance(n, p.VectorSelector) and n.name}
