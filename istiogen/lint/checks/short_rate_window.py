"""``short-rate-window``: ``rate``/``irate``/``increase`` over a range shorter than 4× the scrape interval.

With fewer than four samples in the window, one missed scrape leaves the rate
empty or jumpy.  The scrape interval is ``--scrape-interval`` when given, else
the query catalog's ``scrape_interval``, else a scrape config's in the bundle,
else 15s.  Ranges written as template variables (``$__rate_interval``) are not
checked.
"""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.lint import promql as pq
from istiogen.lint.checks.base import Finding, finding
from istiogen.lint.context import Context
from istiogen.problems import Level

ID = "short-rate-window"
LEVEL: Level = "error"
DESCRIPTION = "rate/irate/increase over a range shorter than 4x the scrape interval"


def run(ctx: Context) -> Iterator[Finding]:
    interval, source = ctx.scrape_interval()
    least = 4 * interval
    for kind, expr, owner in ctx.expressions():
        for fn, rng in dict.fromkeys(ctx.info(expr, kind).ranges):
            if rng < least:
                yield finding(ID, LEVEL, expr.loc,
                              f"{owner}: {fn}(...[{pq.show_duration(rng)}]) spans fewer than 4 scrapes "
                              f"(scrape interval {pq.show_duration(interval)}, from {source})", owner,
                              f"use a range of at least {pq.show_duration(least)}")
