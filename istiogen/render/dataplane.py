"""The data-plane modes of a profile's services, as label selectors over the raw series.

A service is in one of three classes (README "Data-plane modes"):

* ``sidecar``: an Envoy in every pod; L7 from ``reporter="destination"``, L4 from the sidecar's TCP series;
* ``waypoint``: ambient, behind a waypoint; L7 from ``reporter="waypoint"``, plus the ``reporter="source"``
  reports of the Envoy clients that bypass the waypoint (sidecars, and the ingress gateway unless the service
  sets ``ingress_use_waypoint``); no L4 series of its own;
* ``ambient``: ambient without a waypoint, L4 only: ztunnel's ``istio_tcp_*`` from the server's node
  (``reporter="destination"``; the client's node reports the same connection again as ``source``).

The class of a service is its own ``services[].data_plane``, else its namespace's
(``istio.data_plane.namespaces``), else the mesh default.  Each class is a union of disjoint selectors: the
services listed with that class, the namespaces of that class less the services listed in them, and, for the
mesh default's class, everything not listed.  A profile without ambient anywhere has one sidecar selector
with no matchers, so its rules are what they were before data-plane modes existed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from istiogen.catalog import ambient
from istiogen.profile.models import DataPlaneSpec, Profile
from istiogen.render import promql as q

Class = Literal["sidecar", "waypoint", "ambient"]
Selector = tuple[q.Matcher, ...]


def class_of(spec: DataPlaneSpec) -> Class:
    if spec.mode == "sidecar":
        return "sidecar"
    return "waypoint" if spec.waypoint else "ambient"


@dataclass(frozen=True)
class Entry:
    namespace: str
    service: str | None  # None: the whole namespace
    cls: Class
    ingress_through_waypoint: bool = False
    waypoint: tuple[str, str] | None = None  # (namespace, name)


@dataclass(frozen=True)
class Planes:
    default: Class
    entries: tuple[Entry, ...]

    @property
    def ambient(self) -> bool:
        """Is any service in ambient mode (with or without a waypoint)?"""
        return self.default != "sidecar" or any(e.cls != "sidecar" for e in self.entries)

    def has(self, cls: Class) -> bool:
        return self.default == cls or any(e.cls == cls for e in self.entries)

    @property
    def waypoints(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted({e.waypoint for e in self.entries if e.waypoint}))

    def selectors(self, cls: Class, *, ingress_through_waypoint: bool | None = None) -> list[Selector]:
        """Disjoint selectors whose union is the services of ``cls`` (``ingress_through_waypoint``: only the
        waypoint services whose ingress gateway does, or does not, route through the waypoint)."""

        def wanted(e: Entry) -> bool:
            return e.cls == cls and (ingress_through_waypoint is None
                                     or e.ingress_through_waypoint == ingress_through_waypoint)

        services = [e for e in self.entries if e.service is not None]
        namespaces = [e for e in self.entries if e.service is None]
        out: list[Selector] = []
        mine = [(e.namespace, e.service) for e in services if wanted(e) and e.service]
        if mine:
            out.append((("destination_service", "=~", service_regex(mine)),))
        ns_mine = sorted(e.namespace for e in namespaces if wanted(e))
        if ns_mine:
            listed = [(e.namespace, e.service) for e in services if e.namespace in ns_mine and e.service]
            sel: list[q.Matcher] = [("destination_service_namespace", "=~", _alternatives(ns_mine))]
            if listed:
                sel.append(("destination_service", "!~", service_regex(listed)))
            out.append(tuple(sel))
        if self.default == cls and ingress_through_waypoint in (None, False):
            rest: list[q.Matcher] = []
            if namespaces:
                rest.append(("destination_service_namespace", "!~",
                             _alternatives(sorted(e.namespace for e in namespaces))))
            listed = [(e.namespace, e.service) for e in services if e.service]
            if listed:
                rest.append(("destination_service", "!~", service_regex(listed)))
            out.append(tuple(rest))
        return out


def planes(p: Profile) -> Planes:
    dp = p.istio.data_plane
    entries: list[Entry] = []
    for n in dp.namespaces:
        entries.append(_entry(n, n.name, None))
    for s in p.services:
        if s.data_plane is not None:
            entries.append(_entry(s.data_plane, s.namespace, s.name))
    return Planes("sidecar" if dp.mode == "sidecar" else "ambient", tuple(entries))


def _entry(spec: DataPlaneSpec, namespace: str, service: str | None) -> Entry:
    cls = class_of(spec)
    wp = (spec.waypoint_namespace or namespace, spec.waypoint) if spec.waypoint else None
    return Entry(namespace, service, cls, bool(spec.ingress_use_waypoint and wp), wp)


def service_regex(services: Sequence[tuple[str, str]]) -> str:
    """destination_service (the FQDN) of the given (namespace, name) services, whatever the cluster domain."""
    return "|".join(f"{re.escape(name)}\\.{re.escape(ns)}\\..+" for ns, name in sorted(set(services)))


def _alternatives(values: Sequence[str]) -> str:
    return "|".join(re.escape(v) for v in dict.fromkeys(values))


def ztunnel_matcher() -> q.Matcher:
    """ztunnel's series, told apart from Envoy's by the pod label the scrape keeps (``app="ztunnel"``)."""
    label, value = ambient.ZTUNNEL_SERIES
    return (label, "=", value)


def not_ztunnel_matcher() -> q.Matcher:
    label, value = ambient.ZTUNNEL_SERIES
    return (label, "!=", value)


def waypoint_legs_excluded(pl: Planes) -> list[q.Matcher]:
    """Matchers leaving out the ztunnel legs to and from the profile's waypoints (client → waypoint,
    waypoint → server): a service's L4 total counts each of its connections once."""
    names = sorted({name for _, name in pl.waypoints})
    if not names:
        return []
    rx = _alternatives(names)
    return [("source_workload", "!~", rx), ("destination_workload", "!~", rx)]
