"""A rate window (``rules.window``, ``services[].window``) shorter than four scrape intervals.

``rate()`` needs at least two samples in its window; under 4× the scrape interval a missed scrape leaves
gaps in the rates (a warning)."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.profile.types import duration_seconds, format_duration
from istiogen.validate.context import Context

ID = "short-window"


def check(ctx: Context) -> Iterator[Problem]:
    scrape = ctx.scrape_interval
    least = 4 * duration_seconds(scrape)
    for i, svc in enumerate(ctx.profile.services):
        if svc.window is not None and duration_seconds(svc.window) < least:
            yield ctx.warning(ID, ("services", i, "window"),
                              f"rate window {svc.window} is shorter than 4× the scrape interval")
    window = ctx.profile.rules.window
    if duration_seconds(window) < least:
        yield ctx.warning(ID, ("rules", "window"), f"rate window {window} is shorter than 4× the scrape interval "
                          f"({scrape}): rates will have gaps", "use at least " + format_duration(least))
