"""Ambient mode on an Istio release without it: ambient (ztunnel, waypoints) is GA from Istio 1.24, and
istiogen's ztunnel facts start there, so the rules would read series the mesh does not export."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.catalog import ambient
from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "ambient-version"


def check(ctx: Context) -> Iterator[Problem]:
    if ambient.supports_ambient(ctx.release.version):
        return
    msg = f"ambient mode needs Istio {ambient.AMBIENT_GA} or later (istio.version is {ctx.release.version})"
    hint = f"raise istio.version to {ambient.AMBIENT_GA}+, or use mode: sidecar"
    dp = ctx.profile.istio.data_plane
    if dp.mode == "ambient":
        yield ctx.error(ID, ("istio", "data_plane", "mode"), msg, hint)
    for i, n in enumerate(dp.namespaces):
        if n.mode == "ambient":
            yield ctx.error(ID, ("istio", "data_plane", "namespaces", i, "mode"), msg, hint)
    for i, s in enumerate(ctx.profile.services):
        if s.data_plane is not None and s.data_plane.mode == "ambient":
            yield ctx.error(ID, ("services", i, "data_plane", "mode"), msg, hint)
