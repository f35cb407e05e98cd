"""How many series the Sysdig agent ingests from the federation: an upper bound from the profile.

Every federated record is bounded by the key space of its result labels (read from its
expression: the outer ``sum by``, ``label_replace``, ``histogram_quantile``, records it reads):

* destination labels: one key per listed service version (``services[].versions``, one when
  none is listed) when a version or workload label is kept, one per listed service otherwise,
  restricted by the rule's ``destination_service`` matchers (services with their own window or
  kept labels are recorded apart);
* ``le``: the kept bounds plus ``+Inf``; ``response_class``, ``response_code``,
  ``grpc_response_status``, ``type`` (xDS pushes): the assumptions below;
* experiments: their number, two roles each.

Series with labels the profile does not bound (the edge scope's callers, kept labels, custom
rules) are listed apart, not counted.  The whole federation is scraped by one agent from one
process (the Istio Prometheus), so the bound is compared with both ``max_metrics`` and
``max_metrics_per_process``; with ``envoy_filter`` every proxy's raw ``envoy_*`` come on top on
each node.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from istiogen.catalog.ambient import RECORD_NODE_LABEL
from istiogen.problems import Problem
from istiogen.profile.resolve import Resolved
from istiogen.render.labels import kept_bounds
from istiogen.render.model import SignalModel

RESPONSE_CLASSES = 4  # 2xx, 3xx, 4xx, 5xx per key
RESPONSE_CODES = 6  # distinct response codes per service at the ingress gateway
GRPC_STATUSES = 2  # OK and one error status per key, for gRPC services
PUSH_TYPES = 9  # cds, eds, lds, rds, nds and the send errors of cds, eds, lds, rds
CONVERGENCE_BUCKETS = 9  # pilot_proxy_convergence_time: 0.1, 0.5, 1, 3, 5, 10, 20, 30 and +Inf
ROLES = 2  # baseline, candidate
OVERFLOW_KINDS = 3  # Envoy's overflow counters: pending, connection, retry (catalog.saturation.ENVOY_OVERFLOW)

ASSUMPTIONS = (
    f"at most {RESPONSE_CLASSES} response classes per key, {RESPONSE_CODES} response codes per service at the "
    f"gateway, {GRPC_STATUSES} gRPC statuses per key, {PUSH_TYPES} xDS push types; every listed service version "
    "receives traffic (one version when none is listed)"
)
OVERFLOW_ASSUMPTION = ("requests rejected with response flag UO add one version per service (\"unknown\": the "
                       "caller's sidecar rejected them before picking a host)")


def assumptions(r: Resolved) -> str:
    """What the bound assumes, for this profile's rule sets."""
    return ASSUMPTIONS + ("; " + OVERFLOW_ASSUMPTION if "saturation" in r.profile.rules.sets else "")

_VERSION = {"destination_workload", "destination_version", "destination_canonical_revision"}
_SERVICE = {"destination_service", "destination_service_name", "destination_app", "destination_canonical_service"}
_NAMESPACE = {"destination_service_namespace", "destination_workload_namespace"}
_SOURCE = {"source_workload", "source_workload_namespace"}


@dataclass(frozen=True)
class Estimate:
    series: int  # upper bound of the federated series, all records with bounded labels
    records: tuple[tuple[str, int], ...]  # record name -> its bound (summed over rules recording it)
    unbounded: tuple[str, ...]  # records whose labels the profile does not bound (not counted)
    max_labels: int  # most labels on one federated series (limit: max_tags_per_metric)
    per_service: int  # what one more service (one version, default window and labels) would add
    services: int  # services listed in the profile
    limit: int  # the agent limit the federation counts against: min(max_metrics, max_metrics_per_process)

    def summary(self) -> str:
        text = (f"at most {self.series} series for the {self.services} listed service(s) "
                f"(+{self.per_service} per further service)")
        if self.unbounded:
            text += f", plus {', '.join(self.unbounded)} (not bounded by the profile)"
        return text

    def room(self) -> str:
        """What the limit leaves: room for more services, or how far it is exceeded."""
        if self.series > self.limit:
            return f"{self.series - self.limit} series over the limit"
        return f"room for about {self.services_allowed()} more services"

    def services_allowed(self) -> int:
        """How many more single-version services fit under the limit."""
        return max(0, (self.limit - self.series) // self.per_service) if self.per_service else 0


@dataclass(frozen=True)
class _Shape:
    labels: frozenset[str] | None  # result labels; None when not bounded (raw, or sum without)
    selectors: tuple[Any, ...]  # every vector selector under the expression


def _shape(node: Any, known: dict[str, _Shape]) -> _Shape:
    import promql_parser as pp

    if isinstance(node, pp.ParenExpr):
        return _shape(node.expr, known)
    if isinstance(node, (pp.NumberLiteral, pp.StringLiteral)):
        return _Shape(frozenset(), ())
    if isinstance(node, pp.UnaryExpr):
        return _shape(node.expr, known)
    if isinstance(node, pp.MatrixSelector):
        return _shape(node.vector_selector, known)
    if isinstance(node, pp.VectorSelector):  # a recorded series: its labels, and the selectors it reads
        rec = known.get(node.name or "")
        return _Shape(None, (node,)) if rec is None else _Shape(rec.labels, (node, *rec.selectors))
    if isinstance(node, pp.AggregateExpr):
        inner = _shape(node.expr, known)
        mod = node.modifier
        if mod is None:
            return _Shape(frozenset(), inner.selectors)
        if str(mod.type).endswith("Without"):
            return _Shape(None, inner.selectors)
        return _Shape(frozenset(mod.labels), inner.selectors)
    if isinstance(node, pp.Call):
        args = [_shape(a, known) for a in node.args]
        sels = tuple(s for a in args for s in a.selectors)
        fn = node.func.name
        if fn == "vector":
            return _Shape(frozenset(), sels)
        if fn == "histogram_quantile":
            labels = args[1].labels
            return _Shape(None if labels is None else labels - {"le"}, sels)
        if fn == "label_replace":
            labels = args[0].labels
            return _Shape(None if labels is None else labels | {node.args[1].val}, sels)
        vectors = [a for a, raw in zip(args, node.args, strict=True)
                   if not isinstance(raw, (pp.NumberLiteral, pp.StringLiteral))]
        return _Shape(vectors[0].labels if vectors else frozenset(), sels)
    if isinstance(node, pp.BinaryExpr):
        lhs, rhs = _shape(node.lhs, known), _shape(node.rhs, known)
        sels = lhs.selectors + rhs.selectors
        if isinstance(node.lhs, pp.NumberLiteral):
            return _Shape(rhs.labels, sels)
        labels = lhs.labels
        bin_mod = node.modifier
        if labels is not None and bin_mod is not None and "ManyToOne" in str(bin_mod.card):
            labels = labels | frozenset(bin_mod.group_labels or ())
        return _Shape(labels, sels)
    return _Shape(None, ())


def _matchers(selectors: tuple[Any, ...], label: str) -> list[tuple[str, str]]:
    out = []
    for s in selectors:
        for m in s.matchers.matchers:
            if m.name == label:
                out.append((str(m.op).rsplit(".", 1)[-1], m.value))
    return out


def _selected(fqdn: str, matchers: list[tuple[str, str]]) -> bool:
    for op, value in matchers:
        full = re.fullmatch(value, fqdn) is not None if op in ("Re", "NotRe") else value == fqdn
        if (op in ("Re", "Equal") and not full) or (op in ("NotRe", "NotEqual") and full):
            return False
    return True


class _Counter:
    def __init__(self, r: Resolved, services: list[Any]) -> None:
        from istiogen.render import dataplane

        self.r = r
        self.services = services
        self.waypoints = len(dataplane.planes(r.profile).waypoints)
        t = r.release.telemetry
        self.bounds = {
            f"{t.duration}_bucket": len(kept_bounds(r, "latency")) + 1,
            f"{t.request_bytes}_bucket": len(kept_bounds(r, "size")) + 1,
            f"{t.response_bytes}_bucket": len(kept_bounds(r, "size")) + 1,
            "pilot_proxy_convergence_time_bucket": CONVERGENCE_BUCKETS,
        }

    @staticmethod
    def reads(svc: Any, selectors: tuple[Any, ...], raw: tuple[Any, ...]) -> bool:
        """Does a record hold series of this service?  Of the raw series it reads (a union of selectors, one
        per data plane: each selector's matchers together), or, reading only records, of every selector."""
        fqdn = f"{svc.name}.{svc.namespace}.svc.cluster.local"

        def holds(sel: tuple[Any, ...]) -> bool:
            return _selected(fqdn, _matchers(sel, "destination_service")) and \
                _selected(svc.namespace, _matchers(sel, "destination_service_namespace"))

        if raw:
            return any(holds((x,)) for x in raw)
        return holds(selectors)

    def keys(self, labels: frozenset[str], selectors: tuple[Any, ...], raw: tuple[Any, ...] = ()) -> int | None:
        """The number of distinct label sets of a record's series, or None when not bounded."""
        p = self.r.profile
        n = 1
        rest = set(labels)
        # labels the leading selector fixes (e.g. role="candidate") take one value
        pinned = {m.name for m in selectors[0].matchers.matchers if str(m.op).endswith(".Equal")} if selectors \
            else set()
        if rest & (_VERSION | _SERVICE | _NAMESPACE):
            svcs = [s for s in self.services if self.reads(s, selectors, raw)]
            if rest & _VERSION:
                # the callers' overflow rejections carry no destination version ("unknown"): one more per service
                unknown = 1 if _matchers(selectors, "response_flags") else 0
                n *= sum(max(1, len(s.versions)) + unknown for s in svcs)
            elif rest & _SERVICE:
                n *= len(svcs)
            else:
                n *= len({s.namespace for s in svcs})
            rest -= _VERSION | _SERVICE | _NAMESPACE
        if rest & _SOURCE:
            if not _matchers(selectors, "source_workload"):
                return None  # the edge scope: callers are not in the profile
            rest -= _SOURCE
        dims = {"response_class": RESPONSE_CLASSES, "response_code": RESPONSE_CODES,
                "grpc_response_status": GRPC_STATUSES, "type": PUSH_TYPES, "role": ROLES, "kind": OVERFLOW_KINDS,
                "experiment": len(p.experiments),
                # ambient: a closed connection's result (ok, failed); ztunnel per node, its version during an
                # upgrade (two), an xDS termination's reason (four: ConnectionError, Error, Reconnect, Complete)
                "connection_result": 2, "tag": 2, "reason": 4}
        if p.istio.data_plane.nodes is not None:
            dims[RECORD_NODE_LABEL] = p.istio.data_plane.nodes
        dims["waypoint"], dims["waypoint_namespace"] = self.waypoints, 1  # each waypoint (with its namespace)
        for label in sorted(rest):
            if label in pinned:
                continue
            if label == "le":
                names = {s.name for s in selectors} & set(self.bounds)
                if len(names) != 1:
                    return None
                n *= self.bounds[names.pop()]
            elif label in dims:
                n *= dims[label]
            else:
                return None
        return n


def estimate(r: Resolved, model: SignalModel) -> Estimate:
    from istiogen.profile.models import ServiceOverride

    listed = list(r.profile.services)
    base = _count(r, model, listed)
    # a service nobody configured (default window and labels), in a namespace of its own
    more = _count(r, model, [*listed, ServiceOverride(name="istiogen-estimate", namespace="istiogen-estimate")])
    lim = r.profile.sysdig.limits
    return Estimate(base[0], base[1], base[2], base[3], more[0] - base[0], len(listed),
                    min(lim.max_metrics, lim.max_metrics_per_process))


def _count(r: Resolved, model: SignalModel, services: list[Any]) -> tuple[int, tuple[tuple[str, int], ...],
                                                                         tuple[str, ...], int]:
    import promql_parser as pp

    counter = _Counter(r, services)
    known: dict[str, _Shape] = {}
    totals: dict[str, int] = {}
    unbounded: set[str] = set()
    max_labels = 0
    for rule in model.rules:
        shape = _shape(pp.parse(rule.expr), known)
        static = {k for k, _ in rule.labels}
        labels = None if shape.labels is None else shape.labels - static
        prev = known.get(rule.record)
        if prev is None:
            known[rule.record] = _Shape(labels, shape.selectors)
        else:  # one record from several rules (experiment facts): the union of their labels
            union = None if labels is None or prev.labels is None else labels | prev.labels
            known[rule.record] = _Shape(union, prev.selectors + shape.selectors)
        if not rule.federated:
            continue
        if labels is not None:  # bounded in number or not, its labels count against max_tags_per_metric
            max_labels = max(max_labels, len(labels | static))
        raw = tuple(x for x in shape.selectors if (x.name or "") not in known)
        n = None if labels is None else counter.keys(labels, shape.selectors, raw)
        if n is None:
            unbounded.add(rule.record)
            continue
        totals[rule.record] = totals.get(rule.record, 0) + n
    records = tuple(sorted((k, v) for k, v in totals.items() if k not in unbounded))
    return sum(v for _, v in records), records, tuple(sorted(unbounded)), max_labels


def problems(r: Resolved, est: Estimate) -> list[Problem]:
    """Warnings when an agent limit would cut the federated series (only the agent's federation counts)."""
    s = r.profile.sysdig
    if not s.federation:
        return []
    lim = s.limits
    out = []
    key = "max_metrics" if lim.max_metrics <= lim.max_metrics_per_process else "max_metrics_per_process"
    if est.series > est.limit:
        out.append(_warn(r, ("sysdig", "limits", key),
                         f"the agent federates {est.summary()}, above {key} {est.limit}: the agent drops the "
                         "series past the limit (the whole federation is one process of one agent)",
                         "agent-limit", f"raise max_metrics and max_metrics_per_process to at least "
                         f"{_headroom(est.series)}, or federate fewer records (rules.sets, rules.scopes, buckets)"))
    if est.max_labels > lim.max_tags_per_metric:
        out.append(_warn(r, ("sysdig", "limits", "max_tags_per_metric"),
                         f"federated series carry up to {est.max_labels} labels, above max_tags_per_metric "
                         f"{lim.max_tags_per_metric}: the agent cuts their labels", "agent-limit",
                         f"set max_tags_per_metric: {est.max_labels} or keep fewer labels"))
    return out


def _headroom(n: int) -> int:
    """``n`` plus a quarter, rounded up to a thousand."""
    return -(-(n * 5 // 4) // 1000) * 1000


def _warn(r: Resolved, path: tuple[str, ...], msg: str, rule: str, hint: str) -> Problem:
    from istiogen.profile.loader import problem_at

    if r.doc is None:
        return Problem(r.source, None, None, ".".join(path), msg, rule, "warning", hint)
    return problem_at(r.doc, path, msg, rule, hint, level="warning")
