"""PromQL a profile gives (``rules.custom``, ``rules.patches``): parsed, bounded, and typed.

The profile's models validate each expression with :func:`promql_error`; the cross-field rules
(:mod:`istiogen.validate`) and the checks of the rendered output (:mod:`istiogen.verify`) use it too.
"""

from __future__ import annotations

from typing import Any

MAX_PROMQL = 16_384  # characters of one expression a profile gives (a bound on input; Prometheus has none)


def promql_error(expr: str, *, instant: bool = False, max_len: int | None = MAX_PROMQL) -> str | None:
    """The parser's message if ``expr`` is not valid PromQL, else None.  With ``instant``, also an
    expression a rule cannot record or alert on: its result must be an instant vector or a scalar
    (Prometheus fails such a rule at every evaluation: "rule result is not a vector or scalar")."""

    if not expr.strip():
        return "the expression is empty"
    if max_len is not None and len(expr) > max_len:
        return f"the expression is {len(expr)} characters long, more than {max_len}"
    from istiogen.promast import parse

    try:
        ast = parse(expr)
    except (ValueError, TypeError, RecursionError) as e:
        return str(e) or "invalid expression"
    if instant:
        kind = value_type(ast)
        if kind in ("matrix", "string"):
            what = "a range vector" if kind == "matrix" else "a string"
            return f"the expression yields {what}; a rule needs an instant vector or a scalar"
    return None


def value_type(ast: Any) -> str:
    """The PromQL type of a parsed expression: ``vector``, ``scalar``, ``matrix`` or ``string``."""
    import promql_parser as pq

    while isinstance(ast, pq.ParenExpr | pq.UnaryExpr):
        ast = ast.expr
    if isinstance(ast, pq.MatrixSelector | pq.SubqueryExpr):
        return "matrix"
    if isinstance(ast, pq.StringLiteral):
        return "string"
    if isinstance(ast, pq.NumberLiteral):
        return "scalar"
    if isinstance(ast, pq.Call):
        rt = ast.func.return_type
        for vt, name in ((pq.ValueType.Matrix, "matrix"), (pq.ValueType.Scalar, "scalar"),
                         (pq.ValueType.String, "string")):
            if rt == vt:
                return name
        return "vector"
    if isinstance(ast, pq.BinaryExpr):
        sides = {value_type(ast.lhs), value_type(ast.rhs)}
        return "scalar" if sides == {"scalar"} else "vector"
    return "vector"
