"""A name listed twice in ``rules.exclude`` (a slip: the second entry says nothing)."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context, repeated

ID = "duplicate-exclude"


def check(ctx: Context) -> Iterator[Problem]:
    for i, name, first in repeated(ctx.profile.rules.exclude):
        yield ctx.error(ID, ("rules", "exclude", i), f"{name!r} is listed twice (also at exclude[{first}])")
