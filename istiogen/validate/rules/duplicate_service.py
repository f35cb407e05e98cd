"""A service (namespace/name) listed twice in ``services``: its settings would be ambiguous."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "duplicate-service"


def check(ctx: Context) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for i, s in enumerate(ctx.profile.services):
        k = f"{s.namespace}/{s.name}"
        if k in seen:
            yield ctx.error(ID, ("services", i), f"service {k!r} is listed twice (also at services[{seen[k]}])")
        seen.setdefault(k, i)
