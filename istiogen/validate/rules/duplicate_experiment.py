"""An experiment name listed twice in ``experiments``: the records are keyed by it."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "duplicate-experiment"


def check(ctx: Context) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for i, e in enumerate(ctx.profile.experiments):
        if e.name in seen:
            yield ctx.error(ID, ("experiments", i), f"experiment {e.name!r} is listed twice "
                            f"(also at experiments[{seen[e.name]}])")
        seen.setdefault(e.name, i)
