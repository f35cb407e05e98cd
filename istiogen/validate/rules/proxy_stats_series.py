"""Envoy's overflow counters cost series on every proxy (``saturation.envoy_overflow``).

Istio's proxies export only a few Envoy stats by default (the bootstrap ``stats_matcher``).  With
``saturation.envoy_overflow`` istiogen emits the inclusion of three cluster counters
(``upstream_rq_pending_overflow``, ``upstream_cx_overflow``, ``upstream_rq_retry_overflow``): every proxy then
exports three more series per Envoy cluster it knows, and a sidecar without a ``Sidecar`` resource knows a cluster
per service port of the whole mesh (plus its inbound ones).  The Istio Prometheus scrapes them all; the recording
rules keep three series per destination service for the federation.  A warning says so, with the count per proxy
for the services the profile lists; the render goes on.  Without ``rules.sets: saturation`` the inclusion would be
emitted for nothing: an error."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.catalog import saturation as satcat
from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "proxy-stats-series"


def check(ctx: Context) -> Iterator[Problem]:
    p = ctx.profile
    if not p.saturation.envoy_overflow:
        return
    if "saturation" not in p.rules.sets:
        yield ctx.error(ID, ("saturation", "envoy_overflow"),
                        "saturation.envoy_overflow without the saturation rule set: nothing would record the counters",
                        "add saturation to rules.sets, or drop envoy_overflow")
        return
    n = len(satcat.ENVOY_OVERFLOW)
    listed = len(p.services)
    per_proxy = f"; with the {listed} services listed, at least {n * listed} per proxy" if listed else ""
    yield ctx.warning(ID, ("saturation", "envoy_overflow"),
                      f"Envoy's overflow counters add {n} series per Envoy cluster on every proxy{per_proxy} (a "
                      "sidecar knows a cluster per service port of the mesh unless a Sidecar resource scopes it), "
                      "scraped by the Istio Prometheus; the federation keeps "
                      f"{n} per destination service",
                      "scope the sidecars with Sidecar resources, or rely on response_flags=\"UO\" (always "
                      "recorded) and leave envoy_overflow off")
