"""A waypoint (or ingress through it) on a sidecar data plane: waypoints serve ambient pods only; a sidecar
service keeps reporting as the destination, so the setting would silently change nothing."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.profile.models import DataPlaneSpec
from istiogen.source import PathT
from istiogen.validate.context import Context

ID = "waypoint-mode"


def _check(ctx: Context, spec: DataPlaneSpec, path: PathT) -> Iterator[Problem]:
    if spec.mode == "sidecar":
        for field in ("waypoint", "waypoint_namespace"):
            if getattr(spec, field) is not None:
                yield ctx.error(ID, (*path, field), f"{field} needs mode: ambient (a sidecar service has no "
                                                    "waypoint): set mode: ambient or remove it")
    if spec.ingress_use_waypoint and spec.waypoint is None:
        yield ctx.error(ID, (*path, "ingress_use_waypoint"),
                        "ingress_use_waypoint needs a waypoint: name it in waypoint, or remove the setting")
    if spec.waypoint_namespace is not None and spec.waypoint is None:
        yield ctx.error(ID, (*path, "waypoint_namespace"), "waypoint_namespace needs a waypoint: name it in waypoint")


def check(ctx: Context) -> Iterator[Problem]:
    for i, n in enumerate(ctx.profile.istio.data_plane.namespaces):
        yield from _check(ctx, n, ("istio", "data_plane", "namespaces", i))
    for i, s in enumerate(ctx.profile.services):
        if s.data_plane is not None:
            yield from _check(ctx, s.data_plane, ("services", i, "data_plane"))
