"""``invalid-promql``: a rule, alert, dashboard or catalog expression, or a match[] selector, that does not parse.

The parser gives no position inside the expression; the finding points at the
expression.  Dashboard template variables are substituted first (``$namespace``
inside a string stays, ``[$__rate_interval]`` becomes a duration).
"""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.lint.checks.base import Finding, finding
from istiogen.lint.context import Context
from istiogen.problems import Level

ID = "invalid-promql"
LEVEL: Level = "error"
DESCRIPTION = "a PromQL expression or federation match[] selector that does not parse"


def run(ctx: Context) -> Iterator[Finding]:
    for _kind, expr, owner in ctx.expressions():
        if expr.error is not None:
            note = " (after substituting template variables)" if expr.templated else ""
            yield finding(ID, LEVEL, expr.loc, f"invalid PromQL in {owner}{note}: {expr.error}", owner)
    for job in ctx.bundle.federation:
        for sel in job.selectors:
            if sel.expr.error is not None:
                yield finding(ID, LEVEL, sel.expr.loc, f"invalid match[] selector: {sel.expr.error}", job.name)
            elif type(sel.expr.ast).__name__ != "VectorSelector":
                yield finding(ID, LEVEL, sel.expr.loc,
                              f"match[] takes a series selector, not an expression: {sel.expr.text!r}", job.name,
                              "write it as metric{label=\"value\"}")
