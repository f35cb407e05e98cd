"""``quantile-aggregation``: quantiles summed, averaged or maxed across series.

The p99 of a service is not the average (nor the sum, nor the max) of the p99s of
its pods, versions or mTLS/plain-text halves: aggregate the histogram buckets
(``sum by (le, ...)``) and take the quantile after.  Reported for ``sum``, ``avg``,
``max`` and ``min`` over ``histogram_quantile(...)``, over a recorded quantile
(its rule computes one, or its name says ``p99``/``histogram99``/``quantile``),
over series matched by ``quantile=...``, or over the ``quantile`` label; and for
``+`` between two quantiles.  Not reported when the aggregation provably keeps
every series apart.
"""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.lint.checks.base import Finding, finding
from istiogen.lint.context import Context
from istiogen.problems import Level

ID = "quantile-aggregation"
LEVEL: Level = "warning"
DESCRIPTION = "quantiles combined (sum/avg/max/min/+) across series instead of aggregating the buckets first"


def run(ctx: Context) -> Iterator[Finding]:
    for kind, expr, owner in ctx.expressions():
        for message in dict.fromkeys(ctx.info(expr, kind).quantile_combinations):
            yield finding(ID, LEVEL, expr.loc, f"{owner}: {message}", owner,
                          "aggregate the buckets with sum by (le, ...) and apply histogram_quantile last")
