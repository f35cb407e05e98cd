"""A namespace listed twice in ``istio.data_plane.namespaces``: its data-plane mode would be ambiguous."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context, repeated

ID = "duplicate-namespace"


def check(ctx: Context) -> Iterator[Problem]:
    for i, k, first in repeated(n.name for n in ctx.profile.istio.data_plane.namespaces):
        yield ctx.error(ID, ("istio", "data_plane", "namespaces", i),
                        f"namespace {k!r} is listed twice (also at istio.data_plane.namespaces[{first}])")
