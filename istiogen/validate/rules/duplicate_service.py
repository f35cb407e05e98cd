"""A service (namespace/name) listed twice in ``services``: its settings would be ambiguous."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context, repeated

ID = "duplicate-service"


def check(ctx: Context) -> Iterator[Problem]:
    for i, k, first in repeated(f"{s.namespace}/{s.name}" for s in ctx.profile.services):
        yield ctx.error(ID, ("services", i), f"service {k!r} is listed twice (also at services[{first}])")
