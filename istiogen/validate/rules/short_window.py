"""A rate window (``rules.window``, ``services[].window``) shorter than four scrape intervals, or, where the
agent federates the records, than two federation intervals.

``rate()`` needs at least two samples in its window; under 4× the scrape interval a missed scrape leaves
gaps in the rates, the more so on Prometheus 3, whose range selectors are left-open (a sample exactly on the
window's left edge is out).  A federated rate read every federation interval needs a window of at least
twice that interval (Kiali's rule for federated Prometheus) or the Sysdig side sees gaps.  Warnings."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.profile.types import duration_seconds, format_duration
from istiogen.source import PathT
from istiogen.validate.context import Context

ID = "short-window"


def check(ctx: Context) -> Iterator[Problem]:
    scrape = ctx.scrape_interval
    least = 4 * duration_seconds(scrape)
    s = ctx.profile.sysdig
    fed = 2 * duration_seconds(s.scrape_interval) if s.federation else 0.0
    windows: list[PathT] = [("rules", "window")] if duration_seconds(ctx.profile.rules.window) < fed else []
    windows += [("services", i, "window") for i, svc in enumerate(ctx.profile.services)
                if svc.window is not None and duration_seconds(svc.window) < fed]
    for path in windows:
        yield ctx.warning(ID, path, f"rate window is shorter than 2× the federation interval "
                          f"({s.scrape_interval}, sysdig.scrape_interval): the federated rates will have gaps",
                          "use at least " + format_duration(fed) + ", or federate more often")
    for i, svc in enumerate(ctx.profile.services):
        if svc.window is not None and duration_seconds(svc.window) < least:
            yield ctx.warning(ID, ("services", i, "window"),
                              f"rate window {svc.window} is shorter than 4× the scrape interval")
    window = ctx.profile.rules.window
    if duration_seconds(window) < least:
        yield ctx.warning(ID, ("rules", "window"), f"rate window {window} is shorter than 4× the scrape interval "
                          f"({scrape}): rates will have gaps", "use at least " + format_duration(least))
