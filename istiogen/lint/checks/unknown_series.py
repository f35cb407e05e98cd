"""``unknown-series``: a query reads a recorded series that no rule in the bundle records.

A name with a colon is a recorded series by Prometheus' naming convention
(``level:metric:operations``); when the bundle has recording rules, every such
name a rule, alert, dashboard or catalog entry reads must be recorded by one of
them, with static labels that the query's matchers do not rule out.  Bundles
without recording rules are not checked (there is nothing to compare against).
"""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.lint.checks.base import Finding, finding
from istiogen.lint.context import Context
from istiogen.problems import Level, did_you_mean

ID = "unknown-series"
LEVEL: Level = "error"
DESCRIPTION = "a query reads a recorded series (a name with ':') that no rule in the bundle records"


def run(ctx: Context) -> Iterator[Finding]:
    if not ctx.bundle.records:
        return
    names = set(ctx.by_name)
    for kind, expr, owner in ctx.expressions():
        for use in ctx.named_selectors(expr, kind):
            name = use.name
            assert name is not None
            if name in ctx.by_name:
                if not ctx.candidates(use):
                    have = sorted({str(dict(sorted(r.labels.items()))) for r in ctx.by_name[name]})
                    yield finding(ID, LEVEL, expr.loc,
                                  f"{owner} reads {use.text()}, but no rule records {name} with those labels "
                                  f"(its rules have {', '.join(have)})", (name, owner))
            elif ":" in name:
                yield finding(ID, LEVEL, expr.loc, f"{owner} reads {name}, which no rule in the bundle records",
                              (name, owner), did_you_mean(name, names))
