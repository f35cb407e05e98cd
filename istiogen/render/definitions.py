"""What every generated recorded series and alert *means*, as data: the source of the unit tests' expectations.

Each record family and each alert has an entry here saying what it measures in terms
of the raw series Istio and istiod export: which metric families, which label
selectors, which output labels, which rate window, which quantile, which threshold
of the profile.  Nothing here builds or reads PromQL: the entries are written from
the profile and the telemetry catalog (metric names), independently of
:mod:`istiogen.render.model` and :mod:`istiogen.render.alerts`, which build the
expressions.  :mod:`istiogen.render.expected` computes each entry's value from the
synthetic input series, and ``promtool test rules`` compares it with what Prometheus
computes from the generated expressions: an expression that does not do what its
definition says fails the shipped unit tests.

A generated record or alert without an entry here makes the render fail
(:class:`MissingDefinition`).  Adding a record or an alert means adding one entry:

* a record: ``add(RecordDef("<record name>", "<what it measures>", <measure>, by=(<output
  labels>), ...))`` in :func:`records`, where the measure is built from the vocabulary
  below (``Rate((metric,), (Match("reporter", "=", "destination"), ...), window)``,
  ``Gauge``, ``Quantile``, ``Ratio``, ...);
* an alert: ``add(AlertDef("<alert>", "<what it means>", <value measure>, (Cond(<measure>, ">",
  <threshold>), ...), by=(<labels of its series>), labels=(("severity", ...), ("signal", ...)),
  copy=(("service", "destination_service_name"), ...)))`` in :func:`alerts`, thresholds read
  from the profile (``PerService`` for per-service overrides, ``Const`` for one value).

The synthetic scenario (:mod:`istiogen.render.synthetic`) must then make the alert fire
in the degraded mesh, or the render warns that its condition is untested.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

from istiogen.catalog import saturation as satcat
from istiogen.profile.resolve import Resolved
from istiogen.profile.types import duration_seconds
from istiogen.render.labels import kept_bounds


class MissingDefinition(Exception):
    """A generated record or alert has no definition: its unit test would have no expected value."""


# --- the vocabulary ------------------------------------------------------------------------------

Op = Literal["=", "!=", "=~", "!~"]


@dataclass(frozen=True)
class Match:
    """A Prometheus label matcher on the raw series (regular expressions are fully anchored)."""

    label: str
    op: Op
    value: str


@dataclass(frozen=True)
class Services:
    """Series of these destination services ((namespace, name)), or, with ``negate``, of all others."""

    services: frozenset[tuple[str, str]]
    negate: bool = False


@dataclass(frozen=True)
class Bounds:
    """Histogram bucket series whose upper bound ``le`` is one of ``bounds`` or +Inf."""

    bounds: frozenset[float]


@dataclass(frozen=True)
class Not:
    """Series that do not match every matcher of ``where`` (one source excluded, say the ingress gateway)."""

    where: tuple[Match, ...]


@dataclass(frozen=True)
class InPlane:
    """Series of destination services in one of the data-plane ``classes`` (sidecar, waypoint,
    waypoint-ingress: behind a waypoint the ingress gateway goes through, ambient: no waypoint), by the
    profile's assignment: a service's own, else its namespace's, else the mesh default."""

    classes: frozenset[str]
    services: tuple[tuple[tuple[str, str], str], ...]
    namespaces: tuple[tuple[str, str], ...]
    default: str

    def class_of(self, namespace: str, service: str) -> str:
        own = self._by_service.get((namespace, service))
        if own is not None:
            return own
        return self._by_namespace.get(namespace, self.default)

    @cached_property
    def _by_service(self) -> dict[tuple[str, str], str]:
        return dict(self.services)

    @cached_property
    def _by_namespace(self) -> dict[str, str]:
        return dict(reversed(self.namespaces))  # the first entry of a namespace wins, as listed


@dataclass(frozen=True)
class AnyOf:
    """Series matching at least one of ``options`` (the legs of one request through different proxies)."""

    options: tuple[Where, ...]


Where = tuple["Match | Services | Bounds | Not | InPlane | AnyOf", ...]


@dataclass(frozen=True)
class Rate:
    """Per-second increase over the last ``window`` seconds of the counters ``metrics``, summed."""

    metrics: tuple[str, ...]
    where: Where
    window: int


@dataclass(frozen=True)
class Gauge:
    """The current value of the gauges ``metrics``, summed."""

    metrics: tuple[str, ...]
    where: Where


@dataclass(frozen=True)
class Quantile:
    """The ``q`` quantile of the histogram ``metric`` (its ``_bucket`` series, rates over ``window``),
    interpolated linearly inside a bucket as Prometheus's histogram_quantile does."""

    q: float
    metric: str
    where: Where
    window: int


@dataclass(frozen=True)
class Ratio:
    """``num / den``; with ``zero_num``, a missing numerator counts as 0 (no errors: ratio 0, not no data)."""

    num: Measure
    den: Measure
    zero_num: bool = True


@dataclass(frozen=True)
class _Pair:
    a: Measure
    b: Measure


@dataclass(frozen=True)
class Diff(_Pair):
    """``a - b``."""


@dataclass(frozen=True)
class Plus(_Pair):
    """``a + b``."""


@dataclass(frozen=True)
class Times:
    a: Measure
    factor: float


@dataclass(frozen=True)
class Abs:
    a: Measure


@dataclass(frozen=True)
class Floor:
    """``max(a, floor)``: a value below the floor, a missing one or NaN counts as the floor."""

    a: Measure
    floor: float


@dataclass(frozen=True)
class Default:
    """``a``, or ``value`` where ``a`` reads no series at all (a target gone counts as 0 up, say)."""

    a: Measure
    value: float


@dataclass(frozen=True)
class Const:
    value: float


@dataclass(frozen=True)
class Within:
    """``measure`` over only the series that also match ``where`` (e.g. one role of an experiment)."""

    where: Where
    measure: Measure


@dataclass(frozen=True)
class Owners:
    """Which workload owns a pod: the series matching ``where`` name a pod by their labels ``pod_labels``
    (namespace, pod); the pod takes their labels ``take`` (one value of each per pod)."""

    where: Where
    pod_labels: tuple[str, str]
    take: tuple[str, ...]


@dataclass(frozen=True)
class PerPod:
    """``inner`` over each pod's container series (cAdvisor names a container's pod by its labels ``namespace``
    and ``pod``), for the pods ``owners`` names, each pod carrying its owner's labels (pods nobody owns are left
    out); then ``reduce`` over those pods: ``max`` (the busiest or largest pod) or ``sum``."""

    inner: Rate | Gauge
    owners: Owners
    reduce: Literal["max", "sum"]


@dataclass(frozen=True)
class ClusterService:
    """Per-second increase of Envoy's cluster counters ``metrics`` ((kind, metric), ...) of the clusters whose
    ``cluster_name`` fully matches ``regex``; each carries the destination service its name holds (group 1 the
    service's name, group 2 its namespace, as ``destination_service_name``/``_namespace``) and its ``kind``."""

    metrics: tuple[tuple[str, str], ...]
    regex: str
    window: int


Measure = (Rate | Gauge | Quantile | Ratio | Diff | Plus | Times | Abs | Floor | Default | Const | Within | PerPod
           | ClusterService)


@dataclass(frozen=True)
class Part:
    """One partition of a record or alert: the output samples get ``labels`` and read only series matching
    ``where`` (one per experiment, say).  The default is one partition over every series."""

    labels: tuple[tuple[str, str], ...] = ()
    where: Where = ()
    value: Measure | None = None  # this partition's own measure (a constant, a window of its own)
    conditions: tuple[Cond, ...] = ()  # alerts: this partition's own conditions (its own thresholds)


@dataclass(frozen=True)
class RecordDef:
    """A recorded series: one sample per partition and per distinct value of the ``by`` labels of the raw
    series the measure reads (``response_class``: the first digit of ``response_code`` and ``xx``)."""

    record: str
    measures: str
    value: Measure | None
    by: tuple[str, ...] = ()
    response_class: bool = False
    parts: tuple[Part, ...] = (Part(),)
    labels: tuple[tuple[str, str], ...] = ()  # constant labels of the rule (the federation label, ...)
    empty: float | None = None  # the value when no raw series matches (only without ``by``)


@dataclass(frozen=True)
class PerService:
    """A threshold per destination service: its own value, else the default (None: no threshold).  ``keys``: the
    labels of a sample naming its service (namespace first)."""

    values: tuple[tuple[tuple[str, str], float], ...]
    default: float | None
    keys: tuple[str, str] = ("destination_service_namespace", "destination_service_name")


Threshold = Measure | PerService | None  # None: the threshold is not set, the condition never holds


@dataclass(frozen=True)
class Cond:
    left: Measure
    op: Literal[">", ">=", "=="]
    right: Threshold


@dataclass(frozen=True)
class AlertDef:
    """An alert: fires for each partition and distinct ``by`` value where every condition holds.

    Its series carry the ``by`` labels, the partition's labels and ``series_labels``; the alert adds
    ``labels`` (constant) and ``copy`` (alert label, series label); ``$value`` is ``value``."""

    alert: str
    measures: str
    value: Measure | None
    conditions: tuple[Cond, ...]
    by: tuple[str, ...] = ()
    parts: tuple[Part, ...] = (Part(),)
    series_labels: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    copy: tuple[tuple[str, str], ...] = ()
    unless: frozenset[tuple[str, str]] = frozenset()  # destination services it never fires for
    unless_keys: tuple[str, str] = ("destination_service_namespace", "destination_service_name")  # naming them


@dataclass
class Definitions:
    records: dict[str, RecordDef] = field(default_factory=dict)
    alerts: dict[str, AlertDef] = field(default_factory=dict)

    def record(self, name: str) -> RecordDef:
        if name not in self.records:
            raise MissingDefinition(f"the recording rule {name} has no definition in istiogen.render.definitions: "
                                    "add one (what it measures) so its unit test has an expected value")
        return self.records[name]

    def alert(self, name: str) -> AlertDef:
        if name not in self.alerts:
            raise MissingDefinition(f"the alert {name} has no definition in istiogen.render.definitions: "
                                    "add one (when it fires, with which labels) so its unit test has expectations")
        return self.alerts[name]


# --- labels ----------------------------------------------------------------------------------------

# Output labels a record derives from a raw label (record label: (raw label, value from the raw value; ""
# for none)): the node of a ztunnel (the federation drops `node` itself), a closed connection's result.
DERIVED_LABELS: dict[str, tuple[str, Callable[[str], str]]] = {
    "ztunnel_node": ("node", lambda v: v),
    "connection_result": ("response_flags", lambda v: "failed" if v not in ("", "-") else ""),
    # a waypoint's pod: <waypoint>-<replicaset hash>-<id> (its Deployment is named after the waypoint)
    "waypoint": ("pod", lambda v: m.group(1) if (m := re.fullmatch(r"(.+)-[a-z0-9]+-[a-z0-9]+", v)) else ""),
    "waypoint_namespace": ("namespace", lambda v: v),
}

SVC = ("destination_service_namespace", "destination_service_name")
DATA_PLANE_SCOPES = ("service", "service_version", "workload")  # edge has a record of its own


def version_labels(r: Resolved) -> tuple[str, str]:
    """The labels naming a service's app and version (README: rules.version_labels)."""
    if r.profile.rules.version_labels == "canonical":
        return ("destination_canonical_service", "destination_canonical_revision")
    return ("destination_app", "destination_version")


def scope_output_labels(r: Resolved) -> dict[str, tuple[str, ...]]:
    """The output labels of each data-plane scope: a service, a service version, a workload, caller → service."""
    app, ver = version_labels(r)
    return {
        "service": SVC,
        "service_version": ("destination_workload_namespace", app, ver),
        "workload": ("destination_workload_namespace", "destination_workload"),
        "edge": ("source_workload_namespace", "source_workload", *SVC),
    }


def _key(r: Resolved, scopes: Sequence[str], extra: Sequence[str]) -> tuple[str, ...]:
    """Base series keep every label of the enabled scopes, the kept labels and the group's own kept labels."""
    sl = scope_output_labels(r)
    labels = [lab for s in DATA_PLANE_SCOPES if s in scopes for lab in sl[s]]
    return tuple(dict.fromkeys([*labels, *r.profile.rules.kept_labels, *extra]))


def callers(r: Resolved) -> Where:
    """Requests as the calling sidecars report them (reporter=source), the ingress gateway's excepted."""
    gw = r.profile.istio.ingress_gateway
    return (Match("reporter", "=", "source"),
            Not((Match("source_workload", "=", gw.workload),
                 Match("source_workload_namespace", "=", r.gateway_namespace))))


def _plane_class(mode: str, waypoint: str | None, ingress: bool) -> str:
    if mode == "sidecar":
        return "sidecar"
    if waypoint is None:
        return "ambient"
    return "waypoint-ingress" if ingress else "waypoint"


_PLANES: dict[int, tuple[object, InPlane, bool]] = {}  # per profile (by identity): its assignment, is it ambient


def _planes_of(r: Resolved) -> tuple[InPlane, bool]:
    """The profile's data-plane assignment and whether any of it is ambient, worked out once per profile
    (every record and alert definition asks; a mesh of 1,000 services asks thousands of times)."""
    hit = _PLANES.get(id(r.profile))
    if hit is None or hit[0] is not r.profile:
        if len(_PLANES) > 16:
            _PLANES.clear()
        hit = _PLANES[id(r.profile)] = (r.profile, _in_plane(r), _is_ambient(r))
    return hit[1], hit[2]


def in_plane(r: Resolved, *classes: str) -> InPlane:
    """The services of these data-plane classes (README "Data-plane modes")."""
    return replace(_planes_of(r)[0], classes=frozenset(classes))


def is_ambient(r: Resolved) -> bool:
    return _planes_of(r)[1]


def _in_plane(r: Resolved) -> InPlane:
    dp = r.profile.istio.data_plane
    services = tuple(((s.namespace, s.name), _plane_class(s.data_plane.mode, s.data_plane.waypoint,
                                                         s.data_plane.ingress_use_waypoint))
                     for s in r.profile.services if s.data_plane is not None)
    namespaces = tuple((n.name, _plane_class(n.mode, n.waypoint, n.ingress_use_waypoint)) for n in dp.namespaces)
    return InPlane(frozenset(), services, namespaces, "sidecar" if dp.mode == "sidecar" else "ambient")


def _is_ambient(r: Resolved) -> bool:
    dp = r.profile.istio.data_plane
    return dp.mode != "sidecar" or any(n.mode != "sidecar" for n in dp.namespaces) or any(
        s.data_plane is not None and s.data_plane.mode != "sidecar" for s in r.profile.services)


ZTUNNEL = Match("app", "=", "ztunnel")  # the pod label the scrape keeps on ztunnel's series


def l7(r: Resolved) -> Where:
    """Each request to a service once: reported by its sidecars as the destination; behind a waypoint, by
    the waypoint, and by the Envoy clients (sidecars, the ingress gateway unless it goes through the
    waypoint) that call the service's pods directly, as the source."""
    dest = Match("reporter", "=", "destination")
    if not is_ambient(r):
        return (dest,)
    gw = r.profile.istio.ingress_gateway
    src = Match("reporter", "=", "source")
    not_gw = Not((Match("source_workload", "=", gw.workload), Match("source_workload_namespace", "=",
                                                                      r.gateway_namespace)))
    return (AnyOf(((dest, in_plane(r, "sidecar")),
                   (Match("reporter", "=", "waypoint"), in_plane(r, "waypoint", "waypoint-ingress")),
                   (src, in_plane(r, "waypoint")),
                   (src, in_plane(r, "waypoint-ingress"), not_gw))),)


def _has_sidecars(r: Resolved) -> bool:
    """Are any services' pods sidecar pods (callers that report as the source)?"""
    dp = r.profile.istio.data_plane
    return dp.mode == "sidecar" or any(n.mode == "sidecar" for n in dp.namespaces) or any(
        s.data_plane is not None and s.data_plane.mode == "sidecar" for s in r.profile.services)


def not_waypoint(r: Resolved) -> Where:
    """The services not behind a waypoint (whose callers' reports are no one's L7 but the callers' view)."""
    waypoint = in_plane(r, "waypoint", "waypoint-ingress")
    if not is_ambient(r) or not ({c for _, c in waypoint.services} | {c for _, c in waypoint.namespaces}) & \
            waypoint.classes:
        return ()
    return (in_plane(r, "sidecar", "ambient"),)


def waypoint_names(r: Resolved) -> list[str]:
    dp = r.profile.istio.data_plane
    names = {n.waypoint for n in dp.namespaces if n.mode == "ambient" and n.waypoint}
    names |= {s.data_plane.waypoint for s in r.profile.services
              if s.data_plane is not None and s.data_plane.mode == "ambient" and s.data_plane.waypoint}
    return sorted(names)


def l4(r: Resolved) -> Where:
    """Each connection to a service once: its sidecars' as the destination; without a waypoint, ztunnel's on
    the server's node (the client's node reports it again as the source), the legs to and from a waypoint
    left out."""
    dest = Match("reporter", "=", "destination")
    if not is_ambient(r):
        return (dest,)
    legs = tuple(Not((Match(lab, "=", name),)) for name in waypoint_names(r)
                 for lab in ("source_workload", "destination_workload"))
    return (dest, AnyOf(((Not((ZTUNNEL,)), in_plane(r, "sidecar")),
                         (ZTUNNEL, in_plane(r, "ambient"), *legs))))


def control_plane(r: Resolved, family: str) -> Where:
    """The series of one control-plane metric family: the job the flavour scrapes it with (catalog data)."""
    return tuple(Match(k, "=", v) for k, v in r.flavour.control_plane_matcher(family))


def _secs(d: str) -> int:
    return max(1, round(duration_seconds(d)))


def _labels(*layers: Sequence[tuple[str, str]] | dict[str, str]) -> tuple[tuple[str, str], ...]:
    """Constant labels, later layers winning (a rule's own, then rules.patches' labels)."""
    out: dict[str, str] = {}
    for layer in layers:
        out.update(dict(layer))
    return tuple(sorted(out.items()))


def _qname(v: float) -> str:
    return f"{v * 100:g}".replace(".", "_")


# --- records ---------------------------------------------------------------------------------------


def records(r: Resolved) -> dict[str, RecordDef]:
    """Every record istiogen may generate for this profile, by name."""
    p = r.profile
    t = r.release.telemetry
    fed = tuple(sorted(p.rules.federation_label.items()))
    patched = {x.name: x.labels or {} for x in p.rules.patches}
    out: dict[str, RecordDef] = {}

    def add(d: RecordDef) -> None:
        out[d.record] = replace(d, labels=_labels(fed, d.labels, patched.get(d.record, {})))

    lat_bounds = Bounds(frozenset(kept_bounds(r, "latency")))
    size_bounds = Bounds(frozenset(kept_bounds(r, "size")))
    size_scopes = [s for s in p.rules.size_scopes if s in p.rules.scopes]

    # data plane: one group per (window, extra kept labels); the default group holds every other service
    groups: dict[tuple[str, tuple[str, ...]], set[tuple[str, str]]] = {}
    for s in p.services:
        extra = tuple(sorted(set(s.kept_labels) - set(p.rules.kept_labels)))
        window = s.window or p.rules.window
        if (window, extra) != (p.rules.window, ()):
            groups.setdefault((window, extra), set()).add((s.namespace, s.name))
    special = frozenset(svc for members in groups.values() for svc in members)
    all_groups = [(p.rules.window, (), Services(special, negate=True)),
                  *((w, extra, Services(frozenset(m))) for (w, extra), m in sorted(groups.items()))]
    for window, extra, members in all_groups:
        level = "_".join(["destination", *extra])
        w, sfx = _secs(window), "rate" + window
        key = _key(r, p.rules.scopes, extra)
        size_key = _key(r, size_scopes, extra) if _key(r, size_scopes, ()) else ()
        sel: Where = (*l7(r), members)
        edge = "edge" in p.rules.scopes and not extra and window == p.rules.window
        if t.has_grpc_status or edge:  # not federated: no federation label
            everyone = edge and bool(special)
            by = (*key, *(scope_output_labels(r)["edge"] if edge else ()),
                  *(("destination_service",) if everyone else ()), "response_code", "request_protocol",
                  *(("grpc_response_status",) if t.has_grpc_status else ()))
            base = f"{level}:istio_requests_by_code:{sfx}"
            out[base] = RecordDef(base, "request rate by response code, protocol and gRPC status (what the request "
                                  "records of its group read)", Rate((t.requests,), l7(r) if everyone else sel, w),
                                  tuple(dict.fromkeys(by)), labels=_labels(patched.get(base, {})))
        add(RecordDef(f"{level}:istio_requests:{sfx}", "request rate by response class", Rate((t.requests,), sel, w),
                      key, response_class=True))
        add(RecordDef(f"{level}:istio_grpc_requests:{sfx}", "gRPC request rate by gRPC status",
                      Rate((t.requests,), (*sel, Match("request_protocol", "=", "grpc")), w),
                      (*key, "grpc_response_status")))
        if "service" in p.rules.scopes and _has_sidecars(r):
            add(RecordDef(f"{'_'.join(['client', *extra])}:istio_requests:{sfx}",
                          "request rate to each service reported by its callers' sidecars (not the ingress "
                          "gateway), by response class", Rate((t.requests,), (*callers(r), members,
                                                                               *not_waypoint(r)), w),
                          tuple(dict.fromkeys([*SVC, *extra])), response_class=True))
        for metric, by, bounds in ((t.duration, key, lat_bounds), (t.request_bytes, size_key, size_bounds),
                                   (t.response_bytes, size_key, size_bounds)):
            add(RecordDef(f"{level}:{metric}_bucket:{sfx}", f"rate of the kept buckets of {metric}",
                          Rate((f"{metric}_bucket",), (*sel, bounds), w), (*by, "le")))
        for qv in p.rules.quantiles:
            add(RecordDef(f"{level}:{t.duration}_p{_qname(qv)}:{sfx}", f"latency quantile {qv:g} (kept buckets)",
                          Quantile(qv, t.duration, (*sel, lat_bounds), w), key))
        tsel: Where = (*l4(r), members)
        for counter in (t.tcp_sent, t.tcp_received, t.tcp_opened):
            if counter:
                add(RecordDef(f"{level}:{counter.removesuffix('_total')}:{sfx}", f"rate of {counter}",
                              Rate((counter,), tsel, w), key))
        if t.tcp_closed and is_ambient(r):
            add(RecordDef(f"{level}:{t.tcp_closed.removesuffix('_total')}:{sfx}",
                          f"rate of {t.tcp_closed}, by result (connection_result=\"failed\": a failure flag)",
                          Rate((t.tcp_closed,), tsel, w), (*key, "connection_result")))
        elif t.tcp_closed:
            add(RecordDef(f"{level}:{t.tcp_closed.removesuffix('_total')}:{sfx}", f"rate of {t.tcp_closed}",
                          Rate((t.tcp_closed,), tsel, w), key))
        add(RecordDef(f"{level}:istio_tcp_connections_failed:{sfx}", "connections ztunnel failed to establish",
                      Rate(("istio_tcp_connections_failed_total",), (*l4(r), members, ZTUNNEL), w), key))
    w, sfx = _secs(p.rules.window), "rate" + p.rules.window
    add(RecordDef(f"edge:istio_requests:{sfx}", "request rate per caller and service, by response class",
                  Rate((t.requests,), l7(r), w), scope_output_labels(r)["edge"], response_class=True))

    # ingress gateway: what the gateway (reporter=source) sends to each service
    gw = p.istio.ingress_gateway
    gsel: Where = (Match("reporter", "=", "source"), Match("source_workload", "=", gw.workload),
                   Match("source_workload_namespace", "=", r.gateway_namespace))
    add(RecordDef(f"gateway:istio_requests:{sfx}", "gateway request rate per service and response code",
                  Rate((t.requests,), gsel, w), (*SVC, "response_code")))
    add(RecordDef(f"gateway:{t.duration}_bucket:{sfx}", "rate of the gateway's kept latency buckets",
                  Rate((f"{t.duration}_bucket",), (*gsel, lat_bounds), w), ("le",)))

    # control plane: istiod's series
    cp = r.release.control_plane
    m, inj, csr = control_plane(r, "pilot"), control_plane(r, "injection"), control_plane(r, "csr")
    add(RecordDef(f"istiod:pilot_xds_pushes:{sfx}", "xDS push rate by type", Rate(("pilot_xds_pushes",), m, w),
                  ("type",)))
    add(RecordDef(f"istiod:pilot_proxy_convergence_time_bucket:{sfx}", "rate of the convergence-time buckets",
                  Rate(("pilot_proxy_convergence_time_bucket",), m, w), ("le",)))
    for record, metric, family in (("pilot_total_xds_rejects", "pilot_total_xds_rejects", m),
                                   ("sidecar_injection_success", cp.injection_success, inj),
                                   ("sidecar_injection_failure", cp.injection_failure, inj)):
        add(RecordDef(f"istiod:{record}:{sfx}", f"rate of {metric}", Rate((metric,), family, w)))
    add(RecordDef(f"istiod:citadel_csr_failures:{sfx}", "rate of CSR failures (0 without any such series)",
                  Rate(tuple(cp.csr_failures), csr, w), empty=0.0))
    add(RecordDef("istiod:pilot_xds:sum", "connected proxies", Gauge(("pilot_xds",), m)))
    add(RecordDef("istiod:up:sum", "istiod instances up", Gauge(("up",), m)))

    # ztunnel, per node (the node's name in ztunnel_node: the federation drops node)
    node = "ztunnel_node"
    out_ = Match("reporter", "=", "source")
    add(RecordDef("ztunnel:istio_build:sum", "ztunnels by node and version",
                  Gauge(("istio_build",), (ZTUNNEL, Match("component", "=", "ztunnel"))), (node, "tag")))
    for metric in ("workload_manager_active_proxy_count", "workload_manager_pending_proxy_count",
                   "istio_tcp_sockets_open", "process_open_fds"):
        add(RecordDef(f"ztunnel:{metric}:sum", f"{metric} per node", Gauge((metric,), (ZTUNNEL,)), (node,)))
    add(RecordDef(f"ztunnel:istio_xds_connection_terminations:{sfx}", "xDS terminations per node and reason",
                  Rate(("istio_xds_connection_terminations_total",), (ZTUNNEL,), w), (node, "reason")))
    add(RecordDef(f"ztunnel:istio_dns_requests:{sfx}", "DNS requests per node",
                  Rate(("istio_dns_requests_total",), (ZTUNNEL,), w), (node,)))
    for metric in ("istio_tcp_connections_opened_total", "istio_tcp_sent_bytes_total",
                   "istio_tcp_received_bytes_total"):
        add(RecordDef(f"ztunnel:{metric.removesuffix('_total')}:{sfx}", f"outbound {metric} per node",
                      Rate((metric,), (ZTUNNEL, out_), w), (node,)))

    _experiment_records(r, add)
    _saturation_records(r, add, out)
    return out


def _container_sources(r: Resolved) -> tuple[Where, Where, tuple[str, str] | None]:
    """(the application containers' series, the istio-proxy's, the flavour's pod labels on Istio's series)."""
    src = satcat.source(r.flavour.name, r.delivery)
    job = r.profile.saturation.cadvisor_job
    default = (Match("job", "=", src.cadvisor_job if src else ""),
               *(Match(k, "=", v) for k, v in (src.matchers if src else ())))
    on_job: Where = (Match("job", "=", job),) if job else default
    app: Where = (*on_job, Not((Match("container", "=", ""),)), Not((Match("container", "=", "POD"),)),
                  Not((Match("container", "=", "istio-proxy"),)))
    proxy: Where = (*on_job, Match("container", "=", "istio-proxy"))
    return app, proxy, (src.pod_labels if src else None)


def _owned_by_destinations(r: Resolved, pod_labels: tuple[str, str], take: tuple[str, ...]) -> Owners:
    return Owners((Match("__name__", "=", r.release.telemetry.requests), Match("reporter", "=", "destination")),
                  pod_labels, take)


# a response_flags value holding UO among its comma-separated flags
_OVERFLOWED = Match("response_flags", "=~", "UO|UO,.*|.*,UO|.*,UO,.*")


def _saturation_records(r: Resolved, add: Callable[[RecordDef], None], out: dict[str, RecordDef]) -> None:
    """Container CPU and memory of the busiest or largest pod per owner, the gateway's pods, the requests Envoy
    rejected (UO), Envoy's overflow counters; for experiments, CPU seconds per request by role."""
    p = r.profile
    if "saturation" not in p.rules.sets:
        return
    t = r.release.telemetry
    w, sfx = _secs(p.rules.window), "rate" + p.rules.window
    sol = scope_output_labels(r)
    key = tuple(dict.fromkeys(lab for s in ("service_version", "workload") if s in p.rules.scopes for lab in sol[s]))
    app, proxy, pod_labels = _container_sources(r)
    cpu, mem = "container_cpu_usage_seconds_total", "container_memory_working_set_bytes"
    if pod_labels is not None and key:
        owners = _owned_by_destinations(r, pod_labels, key)
        for record, inner, what in (
            (f"destination:container_cpu_usage_seconds:max_{sfx}", Rate((cpu,), app, w), "application CPU"),
            ("destination:container_memory_working_set_bytes:max", Gauge((mem,), app), "application working set"),
            (f"destination:proxy_cpu_usage_seconds:max_{sfx}", Rate((cpu,), proxy, w), "istio-proxy CPU"),
            ("destination:proxy_memory_working_set_bytes:max", Gauge((mem,), proxy), "istio-proxy working set"),
        ):
            add(RecordDef(record, f"{what} of the pod using most, per owner", PerPod(inner, owners, "max"), key))
    if pod_labels is not None:
        gw = p.istio.ingress_gateway
        gw_owners = Owners((Match("__name__", "=", t.requests), Match("reporter", "=", "source"),
                            Match("source_workload", "=", gw.workload),
                            Match("source_workload_namespace", "=", r.gateway_namespace)), pod_labels, ())
        add(RecordDef(f"ingress_gateway:proxy_cpu_usage_seconds:max_{sfx}", "CPU of the busiest gateway pod",
                      PerPod(Rate((cpu,), proxy, w), gw_owners, "max")))
        add(RecordDef("ingress_gateway:proxy_memory_working_set_bytes:max", "working set of the largest gateway pod",
                      PerPod(Gauge((mem,), proxy), gw_owners, "max")))
    if pod_labels is not None and is_ambient(r):
        zt = Owners((Match("__name__", "=", "istio_build"), ZTUNNEL, Match("component", "=", "ztunnel")),
                    pod_labels, ("node",))
        add(RecordDef(f"ztunnel:container_cpu_usage_seconds:{sfx}", "ztunnel's CPU per node",
                      PerPod(Rate((cpu,), proxy, w), zt, "sum"), ("ztunnel_node",)))
        add(RecordDef("ztunnel:container_memory_working_set_bytes:sum", "ztunnel's working set per node",
                      PerPod(Gauge((mem,), proxy), zt, "sum"), ("ztunnel_node",)))
        wp = Owners((Match("__name__", "=", t.requests), Match("reporter", "=", "waypoint")), pod_labels, ())
        add(RecordDef(f"waypoint:proxy_cpu_usage_seconds:max_{sfx}", "CPU of each waypoint's busiest pod",
                      PerPod(Rate((cpu,), proxy, w), wp, "max"), ("waypoint_namespace", "waypoint")))
        add(RecordDef("waypoint:proxy_memory_working_set_bytes:max", "working set of each waypoint's largest pod",
                      PerPod(Gauge((mem,), proxy), wp, "max"), ("waypoint_namespace", "waypoint")))
    add(RecordDef(f"destination:istio_requests_overflow:{sfx}", "requests rejected with response flag UO",
                  Rate((t.requests,), (_OVERFLOWED,), w), _key(r, p.rules.scopes, ())))
    if p.saturation.envoy_overflow:
        add(RecordDef(f"destination_service:envoy_overflow:{sfx}", "Envoy's overflow counters per service and kind",
                      ClusterService((("pending", "envoy_cluster_upstream_rq_pending_overflow"),
                                      ("connection", "envoy_cluster_upstream_cx_overflow"),
                                      ("retry", "envoy_cluster_upstream_rq_retry_overflow")),
                                     r"outbound\|\d+\|[^|]*\|([^.|]+)\.([^.|]+)\..+", w),
                      (*SVC, "kind")))
    if not p.experiments or pod_labels is None:
        return
    a, ver = version_labels(r)
    ns = "destination_workload_namespace"
    own = {(s.namespace, s.name): _secs(s.window or p.rules.window) for s in p.services}
    role_owners = _owned_by_destinations(r, pod_labels, (ns, a, ver))
    sum_cpu = PerPod(Rate((cpu,), app, w), role_owners, "sum")
    name = f"destination:container_cpu_usage_seconds:{sfx}"  # not federated: no federation label
    out[name] = RecordDef(name, "application CPU summed over an owner's pods", sum_cpu, (ns, a, ver),
                          labels=tuple(sorted(({x.name: x.labels or {} for x in p.rules.patches}.get(name) or {})
                                              .items())))
    dest = Match("reporter", "=", "destination")
    per_req, over, thresholds = [], [], []
    for e in p.experiments:
        ew = own.get((e.namespace, e.service), w)
        svc = (Match(ns, "=", e.namespace), Match(a, "=", e.service))

        def per_request(version: str, ew: int = ew, svc: Where = svc) -> Measure:
            return Within((*svc, Match(ver, "=", version)), Ratio(sum_cpu, Rate((t.requests,), (dest,), ew),
                                                                  zero_num=False))

        for role, version in (("baseline", e.baseline), ("candidate", e.candidate)):
            per_req.append(Part((("experiment", e.name), ("role", role)), (), per_request(version)))
        over.append(Part((("experiment", e.name),), (),
                         Ratio(per_request(e.candidate), per_request(e.baseline), zero_num=False)))
        if e.thresholds.cpu_per_request_factor is not None:
            thresholds.append(Part((("experiment", e.name), ("threshold", "cpu_per_request_factor")), (),
                                   Const(e.thresholds.cpu_per_request_factor)))
    add(RecordDef(f"experiment:cpu_seconds_per_request:{sfx}",
                  "application CPU seconds per request (destination-reported) per experiment and role", None,
                  parts=tuple(per_req)))
    add(RecordDef("experiment:cpu_per_request:candidate_over_baseline",
                  "candidate's CPU seconds per request / baseline's", None, parts=tuple(over)))
    th = out.get("experiment:threshold")
    if th is not None and thresholds:
        out["experiment:threshold"] = replace(th, parts=(*th.parts, *thresholds))


def _experiment_records(r: Resolved, add: Callable[[RecordDef], None]) -> None:
    """Experiments: constant series from the profile, and per experiment and role the request rate, 5xx
    rate and ratio, p99, the candidate's traffic share, and candidate/baseline ratios."""
    p = r.profile
    if not p.experiments:
        return
    t = r.release.telemetry
    app, ver = version_labels(r)
    ns = "destination_workload_namespace"
    sfx = "rate" + p.rules.window
    own = {(s.namespace, s.name): _secs(s.window or p.rules.window) for s in p.services}
    five = Match("response_code", "=~", "5.*")
    lat = Bounds(frozenset(kept_bounds(r, "latency")))
    consts: dict[str, list[Part]] = {}
    roles: list[tuple[Part, Part, int, float]] = []  # (baseline, candidate, window, 5xx floor) per experiment
    services: list[tuple[Part, Where, int]] = []

    def const(record: str, labels: dict[str, str], value: float) -> None:
        consts.setdefault(record, []).append(Part(tuple(sorted(labels.items())), (), Const(value)))

    for e in p.experiments:
        w = own.get((e.namespace, e.service), _secs(p.rules.window))
        const("experiment:info", {"experiment": e.name, "namespace": e.namespace, "service": e.service,
                                  "baseline": e.baseline, "candidate": e.candidate}, 1)
        const("experiment:service_info", {"experiment": e.name, ns: e.namespace, app: e.service}, 1)
        svc: Where = (*l7(r), Match(ns, "=", e.namespace), Match(app, "=", e.service))
        pair = []
        for role, version in (("baseline", e.baseline), ("candidate", e.candidate)):
            const("experiment:role_info", {"experiment": e.name, "role": role, ns: e.namespace, app: e.service,
                                           ver: version}, 1)
            pair.append(Part((("experiment", e.name), ("role", role)), (*svc, Match(ver, "=", version))))
        roles.append((pair[0], pair[1], w, e.thresholds.error_ratio_floor))
        services.append((Part((("experiment", e.name),), svc), (Match(ver, "=", e.candidate),), w))
        const("experiment:expected_split", {"experiment": e.name}, e.expected_split)
        th = e.thresholds
        named: dict[str, float | None] = {"min_request_rate": th.min_request_rate,
                                          "latency_p99_factor": th.latency_p99_factor,
                                          "split_tolerance": th.split_tolerance,
                                          "error_ratio_floor": th.error_ratio_floor}
        if th.error_ratio_delta is not None or th.error_ratio_factor is not None:  # an unset half always holds
            named["error_ratio_delta"] = th.error_ratio_delta if th.error_ratio_delta is not None else float("-inf")
            named["error_ratio_factor"] = th.error_ratio_factor or 0.0
        for k, v in sorted(named.items()):
            if v is not None:
                const("experiment:threshold", {"experiment": e.name, "threshold": k}, v)
    for record, parts in consts.items():
        add(RecordDef(record, "constant series from the profile's experiments", None, parts=tuple(parts)))

    def role_rate(w: int, *extra: Match) -> Rate:
        return Rate((t.requests,), extra, w)

    def role_p99(w: int) -> Quantile:
        return Quantile(0.99, t.duration, (lat,), w)

    def role_ratio(w: int) -> Ratio:
        return Ratio(role_rate(w, five), role_rate(w))

    def by_role(fn: Callable[[int], Measure]) -> tuple[Part, ...]:
        return tuple(Part(x.labels, x.where, fn(w)) for b, c, w, _ in roles for x in (b, c))

    def over(fn: Callable[[int], Measure]) -> tuple[Part, ...]:
        return tuple(Part(b.labels[:1], (), Ratio(Within(c.where, fn(w)), Within(b.where, fn(w)), zero_num=False))
                     for b, c, w, _ in roles)

    def floored_over(fn: Callable[[int], Measure]) -> tuple[Part, ...]:
        """Candidate over baseline, each at least the experiment's floor (no requests, no 5xx: the floor)."""
        return tuple(Part(b.labels[:1], (), Ratio(Floor(Within(c.where, fn(w)), floor),
                                                   Floor(Within(b.where, fn(w)), floor), zero_num=False))
                     for b, c, w, floor in roles)

    add(RecordDef(f"experiment:istio_requests:{sfx}", "request rate per experiment and role", None,
                  parts=by_role(lambda w: role_rate(w))))
    add(RecordDef(f"experiment:istio_requests_5xx:{sfx}", "5xx rate per experiment and role", None,
                  parts=by_role(lambda w: role_rate(w, five))))
    add(RecordDef(f"experiment:istio_requests_5xx:ratio_{sfx}", "5xx ratio per experiment and role", None,
                  parts=by_role(role_ratio)))
    add(RecordDef(f"experiment:{t.duration}_p99:{sfx}", "p99 latency per experiment and role (kept buckets)",
                  None, parts=by_role(role_p99)))
    add(RecordDef(f"experiment:service_requests:{sfx}", "request rate of the experiment's service", None,
                  parts=tuple(Part(x.labels, x.where, role_rate(w)) for x, _, w in services)))
    add(RecordDef(f"experiment:traffic_share:ratio_{sfx}",
                  "the candidate's share of the service's requests (0 when the candidate gets none)",
                  None, parts=tuple(Part(x.labels, x.where, Ratio(Within(cand, role_rate(w)), role_rate(w)))
                                    for x, cand, w in services)))
    add(RecordDef("experiment:error_ratio_5xx:candidate_over_baseline",
                  "candidate's 5xx ratio / baseline's, each at least the experiment's error_ratio_floor", None,
                  parts=floored_over(role_ratio)))
    add(RecordDef("experiment:latency_p99:candidate_over_baseline", "candidate's p99 / baseline's", None,
                  parts=over(role_p99)))


# --- alerts ----------------------------------------------------------------------------------------


def alerts(r: Resolved) -> dict[str, AlertDef]:
    """Every alert istiogen may generate for this profile, by name."""
    p = r.profile
    t = r.release.telemetry
    patched = {x.name: x.labels or {} for x in p.rules.patches}
    out: dict[str, AlertDef] = {}

    def add(d: AlertDef) -> None:
        out[d.alert] = replace(d, labels=_labels(d.labels, patched.get(d.alert, {})))

    w = _secs(p.rules.window)  # the degraded scenario's rates are constant: any window gives the same rate
    lat = Bounds(frozenset(kept_bounds(r, "latency")))
    svc_copy = (("service", "destination_service_name"), ("namespace", "destination_service_namespace"))

    # per service, thresholds per service, gated by a minimum rate of the requests the signal is measured over:
    # what the destination's sidecars report (reporter=destination), or, for the callers' view, what the
    # calling sidecars report (reporter=source, the ingress gateway excepted), which includes the 503s they
    # return themselves when no destination pod is left
    ts = p.alerts.services
    requests = Rate((t.requests,), l7(r), w)
    c_requests = Rate((t.requests,), (*callers(r), *not_waypoint(r)), w)
    min_rate = PerService(tuple(((s.namespace, s.name), float(s.alerts.min_request_rate)) for s in p.services
                                if s.alerts.min_request_rate is not None), float(ts.min_request_rate))
    disabled = frozenset((s.namespace, s.name) for s in p.services if s.alerts.disabled)
    unit_scale = 1.0 if t.duration_unit == "ms" else 0.001  # thresholds are in ms, seconds-era Istio in s
    five = Match("response_code", "=~", "5.*")
    per_service: tuple[tuple[str, str, str, str, Measure, float, Measure], ...] = (
        ("IstioServiceHighErrorRatio5xx", "errors.ratio_5xx", "error_ratio_5xx", "critical",
         Ratio(Rate((t.requests,), (*l7(r), five), w), requests), 1.0, requests),
        ("IstioServiceHighClientErrorRatio5xx", "client.errors.ratio_5xx", "error_ratio_5xx", "critical",
         Ratio(Rate((t.requests,), (*callers(r), *not_waypoint(r), five), w), c_requests), 1.0, c_requests),
        ("IstioServiceHighErrorRatio4xx", "errors.ratio_4xx", "error_ratio_4xx", "warning",
         Ratio(Rate((t.requests,), (*l7(r), Match("response_code", "=~", "4.*")), w), requests), 1.0, requests),
        ("IstioServiceHighLatencyP99", "latency.p99", "latency_p99_ms", "warning",
         Quantile(0.99, t.duration, (*l7(r), lat), w), unit_scale, requests),
    )
    if is_ambient(r) and t.tcp_closed:  # L4: closed connections with a failure flag, of those closed
        closed = Rate((t.tcp_closed,), l4(r), w)
        failed = Rate((t.tcp_closed,), (*l4(r), Not((Match("response_flags", "=~", "-?"),))), w)
        per_service = (*per_service, ("IstioServiceHighConnectionErrorRatio", "tcp.errors.ratio",
                                      "connection_error_ratio", "warning", Ratio(failed, closed), 1.0, closed))
    for name, signal, field_, severity, measure, scale, gate in per_service:
        default = getattr(ts, field_)
        thr = PerService(tuple(((s.namespace, s.name), float(getattr(s.alerts, field_)) * scale) for s in p.services
                               if getattr(s.alerts, field_) is not None),
                         float(default) * scale if default is not None else None)
        add(AlertDef(name, f"{signal} of a service above its threshold, over its minimum request rate", measure,
                     (Cond(measure, ">", thr), Cond(gate, ">=", min_rate)), by=SVC,
                     labels=(("severity", severity), ("signal", signal)), copy=svc_copy, unless=disabled))

    # ingress gateway: what it sends to each service (reporter=source)
    gw = p.alerts.gateway
    gsel: Where = (Match("reporter", "=", "source"), Match("source_workload", "=", p.istio.ingress_gateway.workload),
                   Match("source_workload_namespace", "=", r.gateway_namespace))
    g_requests = Rate((t.requests,), gsel, w)
    g_ratio = Ratio(Rate((t.requests,), (*gsel, Match("response_code", "=~", "5.*")), w), g_requests)
    add(AlertDef("IstioIngressGatewayHighErrorRatio5xx", "the gateway's 5xx ratio to a service above the threshold",
                 g_ratio, (Cond(g_ratio, ">", _const(gw.error_ratio_5xx)),
                           Cond(g_requests, ">=", Const(gw.min_request_rate))),
                 by=SVC, labels=(("severity", "critical"), ("signal", "gateway.errors.ratio_5xx")), copy=svc_copy))

    # control plane
    cp = r.release.control_plane
    m, inj, csr = control_plane(r, "pilot"), control_plane(r, "injection"), control_plane(r, "csr")
    where = (("service", cp.component), ("namespace", p.istio.namespace))
    up = Default(Gauge(("up",), m), 0.0)  # istiod's targets gone: none up
    # one series without labels, whether istiod's targets are down or gone (no federation label either)
    add(AlertDef("IstiodDown", "no istiod instance is up (or none is scraped at all)", up,
                 (Cond(up, "==", Const(0)),),
                 labels=(("severity", "critical"), ("signal", "istiod.up"), *where)))
    rates: tuple[tuple[str, str, Measure], ...] = (
        ("IstiodPushErrors", "istiod.push_errors.rate",
         Rate(("pilot_xds_pushes",), (*m, Match("type", "=~", ".*_senderr")), w)),
        ("IstiodXdsRejects", "istiod.rejects.rate", Rate(("pilot_total_xds_rejects",), m, w)),
        ("IstioSidecarInjectionFailures", "istiod.injection_failures.rate", Rate((cp.injection_failure,), inj, w)),
        ("IstioCSRFailures", "istiod.csr_failures.rate", Rate(tuple(cp.csr_failures), csr, w)),
    )
    for name, signal, measure in rates:
        add(AlertDef(name, f"{signal} above 0", measure, (Cond(measure, ">", Const(0)),),
                     labels=(("severity", "warning"), ("signal", signal), *where)))
    conv = Quantile(0.99, "pilot_proxy_convergence_time", m, w)
    add(AlertDef("IstiodSlowConvergence", "p99 proxy convergence time above the threshold", conv,
                 (Cond(conv, ">", _const(p.alerts.control_plane.convergence_p99_seconds)),),
                 labels=(("severity", "warning"), ("signal", "istiod.convergence.p99"), *where)))

    _experiment_alerts(r, add, w)
    _saturation_alerts(r, add, w)
    return out


def _saturation_alerts(r: Resolved, add: Callable[[AlertDef], None], w: int) -> None:
    """Per service version, the busiest (largest) pod above the service's threshold; per service, requests Envoy
    rejected above the service's rate; per experiment, the candidate's CPU per request beyond the factor."""
    p = r.profile
    if "saturation" not in p.rules.sets:
        return
    t = r.release.telemetry
    ts = p.alerts.services
    a, ver = version_labels(r)
    ns = "destination_workload_namespace"
    app, proxy, pod_labels = _container_sources(r)
    cpu, mem = "container_cpu_usage_seconds_total", "container_memory_working_set_bytes"
    disabled = frozenset((s.namespace, s.name) for s in p.services if s.alerts.disabled)
    if pod_labels is not None and "service_version" in p.rules.scopes:
        owners = _owned_by_destinations(r, pod_labels, (ns, a, ver))
        for name, signal, field_, inner in (
            ("IstioServiceHighCpu", "saturation.cpu", "cpu_cores", Rate((cpu,), app, w)),
            ("IstioServiceHighMemory", "saturation.memory", "memory_bytes", Gauge((mem,), app)),
            ("IstioServiceProxyHighCpu", "saturation.proxy_cpu", "proxy_cpu_cores", Rate((cpu,), proxy, w)),
            ("IstioServiceProxyHighMemory", "saturation.proxy_memory", "proxy_memory_bytes", Gauge((mem,), proxy)),
        ):
            default = getattr(ts, field_)
            thr = PerService(tuple(((s.namespace, s.name), float(getattr(s.alerts, field_))) for s in p.services
                                   if getattr(s.alerts, field_) is not None),
                             float(default) if default is not None else None, keys=(ns, a))
            m = PerPod(inner, owners, "max")
            add(AlertDef(name, f"{signal} of a service version above its service's threshold", m,
                         (Cond(m, ">", thr),), by=(ns, a, ver),
                         labels=(("severity", "warning"), ("signal", signal)),
                         copy=(("service", a), ("namespace", ns), ("version", ver)),
                         unless=disabled, unless_keys=(ns, a)))
    rejected = Rate((t.requests,), (_OVERFLOWED,), w)
    thr = PerService(tuple(((s.namespace, s.name), float(s.alerts.overflow_rate)) for s in p.services
                           if s.alerts.overflow_rate is not None),
                     float(ts.overflow_rate) if ts.overflow_rate is not None else None)
    add(AlertDef("IstioServiceCircuitBreakerOverflow", "requests Envoy rejected (UO) above the service's rate",
                 rejected, (Cond(rejected, ">", thr),), by=SVC,
                 labels=(("severity", "warning"), ("signal", "saturation.overflow")),
                 copy=(("service", "destination_service_name"), ("namespace", "destination_service_namespace")),
                 unless=disabled))
    if not p.experiments or pod_labels is None:
        return
    owners = _owned_by_destinations(r, pod_labels, (ns, a, ver))
    dest = Match("reporter", "=", "destination")
    parts = []
    for e in p.experiments:
        factor = e.thresholds.cpu_per_request_factor
        if factor is None:
            continue
        svc = (Match(ns, "=", e.namespace), Match(a, "=", e.service))
        rate = Rate((t.requests,), (dest,), w)

        def per_request(version: str, svc: Where = svc, rate: Rate = rate) -> Measure:
            return Within((*svc, Match(ver, "=", version)),
                          Ratio(PerPod(Rate((cpu,), app, _secs(p.rules.window)), owners, "sum"), rate,
                                zero_num=False))

        over = Ratio(per_request(e.candidate), per_request(e.baseline), zero_num=False)
        gate = tuple(Cond(Within((*svc, Match(ver, "=", v)), rate), ">=", Const(e.thresholds.min_request_rate))
                     for v in (e.candidate, e.baseline))
        parts.append(Part((("experiment", e.name), ("namespace", e.namespace), ("service", e.service)), (), over,
                          (Cond(over, ">", Const(factor)), *gate)))
    if parts:
        add(AlertDef("IstioExperimentCpuPerRequestWorse", "the candidate's CPU per request beyond the factor",
                     None, (), parts=tuple(parts), labels=(("severity", "warning"), ("signal", "saturation.cpu")),
                     copy=(("experiment", "experiment"), ("service", "service"), ("namespace", "namespace"))))


def _const(v: float | None) -> Const | None:
    return Const(float(v)) if v is not None else None


def _experiment_alerts(r: Resolved, add: Callable[[AlertDef], None], w: int) -> None:
    """Candidate worse than baseline (5xx ratio by a delta and a factor, p99 by a factor), traffic share off
    the expected split; each above the experiment's minimum request rate."""
    p = r.profile
    if not p.experiments:
        return
    t = r.release.telemetry
    app, ver = version_labels(r)
    ns = "destination_workload_namespace"
    lat = Bounds(frozenset(kept_bounds(r, "latency")))
    rate = Rate((t.requests,), (), w)
    ratio = Ratio(Rate((t.requests,), (Match("response_code", "=~", "5.*"),), w), rate)
    p99 = Quantile(0.99, t.duration, (lat,), w)
    parts: dict[str, list[Part]] = {}
    for e in p.experiments:
        th = e.thresholds
        svc: Where = (*l7(r), Match(ns, "=", e.namespace), Match(app, "=", e.service))
        base: Where = (Match(ver, "=", e.baseline),)
        cand: Where = (Match(ver, "=", e.candidate),)
        labels = (("experiment", e.name), ("namespace", e.namespace), ("service", e.service))
        gate = (Cond(Within(cand, rate), ">=", Const(th.min_request_rate)),
                Cond(Within(base, rate), ">=", Const(th.min_request_rate)))
        delta = th.error_ratio_delta if th.error_ratio_delta is not None else float("-inf")
        has_error = th.error_ratio_delta is not None or th.error_ratio_factor is not None
        worse = Diff(Within(cand, ratio), Within(base, ratio))
        floor = th.error_ratio_floor
        factor = Ratio(Floor(Within(cand, ratio), floor), Floor(Within(base, ratio), floor), zero_num=False)
        err = (Cond(worse, ">", Const(delta) if has_error else None),
               Cond(factor, ">", Const(th.error_ratio_factor or 0.0)), *gate)
        slow = (Cond(Within(cand, p99), ">", Times(Within(base, p99), th.latency_p99_factor)
                     if th.latency_p99_factor is not None else None), *gate)
        # the candidate's share (0 when it gets nothing), gated on the service's rate (every version)
        off = Abs(Diff(Ratio(Within(cand, rate), rate), Const(e.expected_split)))
        split = (Cond(off, ">", _const(th.split_tolerance)), Cond(rate, ">=", Const(th.min_request_rate)))
        for name, value, cs in (("IstioExperimentErrorRatioWorse", worse, err),
                                ("IstioExperimentLatencyWorse", Within(cand, p99), slow),
                                ("IstioExperimentTrafficSplitOff", off, split)):
            parts.setdefault(name, []).append(Part(labels, svc, value, cs))
    for name, signal, what in (
        ("IstioExperimentErrorRatioWorse", "errors.ratio_5xx", "the candidate's 5xx ratio worse than the baseline's"),
        ("IstioExperimentLatencyWorse", "latency.p99", "the candidate's p99 worse than the baseline's"),
        ("IstioExperimentTrafficSplitOff", "requests.rate", "the candidate's traffic share off the expected split"),
    ):
        add(AlertDef(name, what, None, (), parts=tuple(parts[name]),
                     labels=(("severity", "warning"), ("signal", signal)),
                     copy=(("experiment", "experiment"), ("service", "service"), ("namespace", "namespace"))))
