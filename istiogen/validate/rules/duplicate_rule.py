"""Two ``rules.custom`` recording one series: Prometheus would evaluate both into one series, which conflicts."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "duplicate-rule"


def check(ctx: Context) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for i, r in enumerate(ctx.profile.rules.custom):
        if r.record in seen:
            yield ctx.error(ID, ("rules", "custom", i, "record"), f"record {r.record!r} is already defined by "
                            f"rules.custom[{seen[r.record]}]",
                            "rename one of them: two rules recording one series conflict")
        seen.setdefault(r.record, i)
