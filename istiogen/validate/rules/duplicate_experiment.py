"""An experiment name listed twice in ``experiments``: the records are keyed by it."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context, repeated

ID = "duplicate-experiment"


def check(ctx: Context) -> Iterator[Problem]:
    for i, name, first in repeated(e.name for e in ctx.profile.experiments):
        yield ctx.error(ID, ("experiments", i), f"experiment {name!r} is listed twice (also at experiments[{first}])")
