"""A name listed twice in ``rules.exclude`` (a slip: the second entry says nothing)."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "duplicate-exclude"


def check(ctx: Context) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for i, name in enumerate(ctx.profile.rules.exclude):
        if name in seen:
            yield ctx.error(ID, ("rules", "exclude", i), f"{name!r} is listed twice (also at exclude[{seen[name]}])")
        seen.setdefault(name, i)
