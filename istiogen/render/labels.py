"""The labels the signal model keys series by: the scopes' labels, the base key, the kept histogram bounds,
and the data-plane groups (services with their own rate window or kept labels)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from istiogen.catalog import ambient
from istiogen.catalog import signals as sigcat
from istiogen.profile.resolve import Resolved
from istiogen.render import promql as q
from istiogen.render.dataplane import service_regex

# Default kept histogram bounds (in the version's unit); +Inf is always kept.
DEFAULT_LATENCY_BOUNDS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)
DEFAULT_LATENCY_BOUNDS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
DEFAULT_SIZE_BOUNDS = (100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000)
DEFAULT_SIZE_BOUNDS_MIXER = (100.0, 1000.0, 10000.0, 100000.0, 1000000.0)


def version_pair(r: Resolved) -> tuple[str, str]:
    if r.profile.rules.version_labels == "canonical":
        return ("destination_canonical_service", "destination_canonical_revision")
    return ("destination_app", "destination_version")


def scope_labels(r: Resolved) -> dict[str, tuple[str, ...]]:
    app, ver = version_pair(r)
    return {
        "service": ("destination_service_namespace", "destination_service_name"),
        "service_version": ("destination_workload_namespace", app, ver),
        "workload": ("destination_workload_namespace", "destination_workload"),
        "edge": (
            "source_workload_namespace", "source_workload",
            "destination_service_namespace", "destination_service_name",
        ),
        "gateway": ("destination_service_namespace", "destination_service_name"),
        "mesh": (),
        "control_plane": (),
        "ztunnel": (ambient.RECORD_NODE_LABEL,),
        "waypoint": ("waypoint_namespace", "waypoint"),
    }


def base_key(r: Resolved, scopes: Sequence[str] | None = None) -> tuple[str, ...]:
    """The labels base series keep: the union of the enabled scopes' labels plus kept labels."""
    sl = scope_labels(r)
    chosen = r.profile.rules.scopes if scopes is None else scopes
    labels: list[str] = []
    for scope in sigcat.DATA_PLANE_SCOPES:
        if scope in chosen:
            labels += sl[scope]
    labels += r.profile.rules.kept_labels
    return tuple(dict.fromkeys(labels))


def kept_bounds(r: Resolved, kind: str) -> list[float]:
    """The histogram bounds the rules keep, for ``latency`` or ``size``."""
    t = r.release.telemetry
    default: Sequence[float]
    if kind == "latency":
        chosen = r.profile.rules.latency_buckets
        default = DEFAULT_LATENCY_BOUNDS_MS if t.duration_unit == "ms" else DEFAULT_LATENCY_BOUNDS_S
    else:
        chosen = r.profile.rules.size_buckets
        default = DEFAULT_SIZE_BOUNDS if t.name == "v2" else DEFAULT_SIZE_BOUNDS_MIXER
    return [float(b) for b in (chosen if chosen is not None else default)]


def size_scopes(r: Resolved) -> list[str]:
    return [s for s in r.profile.rules.size_scopes if s in r.profile.rules.scopes]


@dataclass(frozen=True)
class DPGroup:
    """Services whose data-plane series share a rate window and kept labels."""

    window: str
    extra: tuple[str, ...]
    services: tuple[tuple[str, str], ...]  # (namespace, name); empty for the default group
    matchers: tuple[q.Matcher, ...]

    @property
    def default(self) -> bool:
        return not self.services

    @property
    def level(self) -> str:
        return "_".join(["destination", *self.extra])


def dp_groups(r: Resolved) -> list[DPGroup]:
    """The default group first, then one per distinct (window, extra kept labels) of ``services``."""
    rules = r.profile.rules
    grouped: dict[tuple[str, tuple[str, ...]], list[tuple[str, str]]] = {}
    for s in r.profile.services:
        extra = tuple(sorted(set(s.kept_labels) - set(rules.kept_labels)))
        window = s.window or rules.window
        if window == rules.window and not extra:
            continue
        grouped.setdefault((window, extra), []).append((s.namespace, s.name))
    special = [svc for members in grouped.values() for svc in members]
    default_m: tuple[q.Matcher, ...] = (("destination_service", "!~", service_regex(special)),) if special else ()
    groups = [DPGroup(rules.window, (), (), default_m)]
    for (window, extra), members in sorted(grouped.items()):
        groups.append(DPGroup(window, extra, tuple(members), (("destination_service", "=~", service_regex(members)),)))
    return groups
