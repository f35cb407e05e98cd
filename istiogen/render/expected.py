"""Expected values of the unit tests: each definition (:mod:`istiogen.render.definitions`) computed from the
synthetic input series (:mod:`istiogen.render.synthetic`).

This reads no PromQL: rates are the injected counters' increase over the window, sums
are sums of injected rates, ratios divide them, and quantiles follow Prometheus's
documented ``histogram_quantile`` (linear interpolation inside the bucket holding the
rank; the upper bound of the last finite bucket when the rank falls in +Inf).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from istiogen.render.definitions import (
    DERIVED_LABELS,
    Abs,
    AlertDef,
    AnyOf,
    ClusterService,
    Cond,
    Const,
    Default,
    Diff,
    Floor,
    Gauge,
    InPlane,
    Match,
    Measure,
    Not,
    PerPod,
    PerService,
    Plus,
    Quantile,
    Rate,
    Ratio,
    RecordDef,
    Services,
    Threshold,
    Times,
    Where,
)
from istiogen.render.synthetic import NAME, Labels, Series

SVC = ("destination_service_namespace", "destination_service_name")


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _value_of(s: Series, name: str) -> str:
    return s.label_map.get(name, "")


@lru_cache(maxsize=65536)
def _matcher_holds(op: str, pattern: str, v: str) -> bool:
    """One label matcher on one value (a mesh holds few distinct values per label: each is matched once)."""
    if op == "=":
        return v == pattern
    if op == "!=":
        return v != pattern
    found = _regex(pattern).fullmatch(v) is not None
    return found if op == "=~" else not found


def matches(s: Series, where: Where) -> bool:
    get = s.label_map.get
    for m in where:
        if isinstance(m, Match):
            ok = _matcher_holds(m.op, m.value, get(m.label, ""))
        elif isinstance(m, Services):
            ok = ((get(SVC[0], ""), get(SVC[1], "")) in m.services) != m.negate
        elif isinstance(m, Not):
            ok = not matches(s, m.where)
        elif isinstance(m, InPlane):
            ok = m.class_of(_value_of(s, SVC[0]), _value_of(s, SVC[1])) in m.classes
        elif isinstance(m, AnyOf):
            ok = any(matches(s, option) for option in m.options)
        else:
            le = get("le", "")
            ok = le == "+Inf" or (le != "" and float(le) in m.bounds)
        if not ok:
            return False
    return True


class _Index:
    """The series of one input list by the value of a label (built per label on first use), so that a
    selector with an equality matcher scans only the series holding that value, not the whole mesh:
    experiments and services multiply the selectors, and a scan per selector grew as their product."""

    def __init__(self, series: Sequence[Series]) -> None:
        self.series = series
        self.by_label: dict[str, dict[str, list[Series]]] = {}

    def having(self, label: str, value: str) -> list[Series]:
        idx = self.by_label.get(label)
        if idx is None:
            idx = self.by_label[label] = {}
            for s in self.series:
                idx.setdefault(_value_of(s, label), []).append(s)
        return idx.get(value, [])


_INDEXES: dict[int, _Index] = {}


def select(series: Sequence[Series], where: Where, *, indexed: bool = False) -> list[Series]:
    """``[s for s in series if matches(s, where)]``, in the same order.  ``indexed``: ``series`` is a whole
    input set, read by many selectors (one per record part and alert part: experiments and services
    multiply them), so it is read through an index by label value, and so is every later selection from
    that same list; any other list (what one output sample reads) is scanned: an index of it would be
    built for one or two reads."""
    eqs = [m for m in where if isinstance(m, Match) and m.op == "="]
    if not eqs:
        return [s for s in series if matches(s, where)]
    index = _INDEXES.get(id(series))
    if index is None or index.series is not series:
        if not indexed or len(series) < 64:
            return [s for s in series if matches(s, where)]
        if len(_INDEXES) > 8:
            _INDEXES.clear()
        index = _INDEXES[id(series)] = _Index(series)
    candidates = min((index.having(m.label, m.value) for m in eqs), key=len)
    return [s for s in candidates if matches(s, where)]


def _indexed(series: list[Series]) -> list[Series]:
    """``series``, read through an index from now on (see :func:`select`)."""
    index = _INDEXES.get(id(series))
    if (index is None or index.series is not series) and len(series) >= 64:
        if len(_INDEXES) > 8:
            _INDEXES.clear()
        _INDEXES[id(series)] = _Index(series)
    return series


def _select(series: Sequence[Series], metrics: Sequence[str], where: Where) -> list[Series]:
    if len(metrics) == 1:  # the name as the first matcher: most series fail it at once (or an index finds them)
        return select(series, (Match(NAME, "=", metrics[0]), *where))
    names = set(metrics)
    return [s for s in select(series, where) if _value_of(s, NAME) in names]


def histogram_quantile(q: float, buckets: dict[float, float]) -> float:
    """Prometheus's histogram_quantile over ``{upper bound: cumulative count}`` (bucketQuantile)."""
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    bounds = sorted(buckets)
    if not bounds or bounds[-1] != math.inf or len(bounds) < 2:
        return math.nan
    counts, top = [], 0.0
    for b in bounds:  # counts must not decrease
        top = max(top, buckets[b])
        counts.append(top)
    total = counts[-1]
    if total == 0:
        return math.nan
    rank = q * total
    i = next((k for k in range(len(bounds) - 1) if counts[k] >= rank), len(bounds) - 1)
    if i == len(bounds) - 1:
        return bounds[-2]
    if i == 0 and bounds[0] <= 0:
        return bounds[0]
    start, end, count = 0.0, bounds[i], counts[i]
    if i > 0:
        start = bounds[i - 1]
        count -= counts[i - 1]
        rank -= counts[i - 1]
    return start + (end - start) * (rank / count)


# --- derived series: containers attributed to their pod's owner, Envoy clusters to their service -------------

DERIVED = "__derived__"  # the label marking a derived series with the measure it was derived for


def _tag(m: PerPod | ClusterService) -> str:
    return str(abs(hash(m)))


def _derive(m: PerPod | ClusterService, series: Sequence[Series]) -> list[Series]:
    """The series a PerPod or ClusterService measure reads, derived from the raw ones (Python, not PromQL)."""
    tag = _tag(m)
    out: list[Series] = []
    if isinstance(m, ClusterService):
        kinds = {metric: kind for kind, metric in m.metrics}
        pattern = _regex(m.regex)
        for s in series:
            kind = kinds.get(_value_of(s, NAME))
            found = pattern.fullmatch(_value_of(s, "cluster_name")) if kind else None
            if found:
                extra = {"destination_service_name": found.group(1), "destination_service_namespace": found.group(2),
                         "kind": kind or "", DERIVED: tag}
                out.append(Series(tuple(sorted({**s.label_map, **extra}.items())), s.rate, s.gauge, s.early, s.since))
        return out
    owner: dict[tuple[str, str], dict[str, str]] = {}
    ns_label, pod_label = m.owners.pod_labels
    for s in select(series, m.owners.where):
        pod = (_value_of(s, ns_label), _value_of(s, pod_label))
        if not pod[1]:
            continue
        take = {k: _value_of(s, k) for k in m.owners.take}
        if owner.setdefault(pod, take) != take:
            raise ValueError(f"pod {pod} has two owners: {owner[pod]} and {take}")
    for s in _select(series, m.inner.metrics, m.inner.where):
        take_ = owner.get((_value_of(s, "namespace"), _value_of(s, "pod")))
        if take_ is not None:
            out.append(Series(tuple(sorted({**s.label_map, **take_, DERIVED: tag}.items())), s.rate, s.gauge,
                              s.early, s.since))
    return out


def _derived_measures(x: object, found: dict[str, PerPod | ClusterService]) -> None:
    if isinstance(x, PerPod | ClusterService):
        found.setdefault(_tag(x), x)
        return
    if isinstance(x, PerService):  # thresholds, one per service: no measure in them
        return
    if isinstance(x, tuple):
        for y in x:
            if isinstance(y, tuple) or hasattr(y, "__dataclass_fields__"):
                _derived_measures(y, found)
        return
    if hasattr(x, "__dataclass_fields__"):
        for name in x.__dataclass_fields__:
            _derived_measures(getattr(x, name), found)


_EXPANDED: dict[tuple[int, tuple[str, ...]], tuple[list[Series], list[Series]]] = {}


def expand(series: list[Series], d: RecordDef | AlertDef) -> list[Series]:
    """``series`` and the derived series the definition's measures read (the same list object for the same
    input and measures, so the label indexes of :func:`select` are built once)."""
    found: dict[str, PerPod | ClusterService] = {}
    _derived_measures(d, found)
    if not found:
        return series
    key = (id(series), tuple(sorted(found)))
    hit = _EXPANDED.get(key)
    if hit is not None and hit[0] is series:
        return hit[1]
    out = list(series)
    for tag in sorted(found):
        out += _derive(found[tag], series)
    if len(_EXPANDED) > 32:
        _EXPANDED.clear()
    _EXPANDED[key] = (series, out)
    return out


def _derived_of(m: PerPod | ClusterService, series: list[Series]) -> list[Series]:
    tag = _tag(m)
    return [s for s in series if s.label_map.get(DERIVED) == tag]


def value(m: Measure, series: list[Series]) -> float | None:
    """The measure over ``series`` (one output sample's raw series); None: no sample."""
    if isinstance(m, PerPod):
        pods: dict[tuple[str, str], list[Series]] = {}
        for s in _derived_of(m, series):
            pods.setdefault((_value_of(s, "namespace"), _value_of(s, "pod")), []).append(s)
        values = [v for v in (value(m.inner, members) for members in pods.values()) if v is not None]
        if not values:
            return None
        return max(values) if m.reduce == "max" else sum(values)
    if isinstance(m, ClusterService):
        chosen = _derived_of(m, series)
        return sum(s.rate_over(m.window) for s in chosen) if chosen else None
    if isinstance(m, Rate):
        chosen = _select(series, m.metrics, m.where)
        return sum(s.rate_over(m.window) for s in chosen) if chosen else None
    if isinstance(m, Gauge):
        chosen = _select(series, m.metrics, m.where)
        return sum(s.gauge or 0.0 for s in chosen) if chosen else None
    if isinstance(m, Quantile):
        buckets: dict[float, float] = {}
        for s in _select(series, [f"{m.metric}_bucket"], m.where):
            le = float(_value_of(s, "le"))
            buckets[le] = buckets.get(le, 0.0) + s.rate_over(m.window)
        return histogram_quantile(m.q, buckets) if buckets else None
    if isinstance(m, Ratio):
        den = value(m.den, series)
        num = value(m.num, series)
        if den is None or (num is None and not m.zero_num):
            return None
        return _divide(num or 0.0, den)
    if isinstance(m, Diff | Plus):
        a, b = value(m.a, series), value(m.b, series)
        if a is None or b is None:
            return None
        return a - b if isinstance(m, Diff) else a + b
    if isinstance(m, Times):
        a = value(m.a, series)
        return None if a is None else a * m.factor
    if isinstance(m, Abs):
        a = value(m.a, series)
        return None if a is None else abs(a)
    if isinstance(m, Floor):
        a = value(m.a, series)
        return m.floor if a is None or math.isnan(a) else max(a, m.floor)
    if isinstance(m, Default):
        return value(m.a, series) if domain(m.a, series) else m.value
    if isinstance(m, Const):
        return m.value
    return value(m.measure, select(series, m.where))


def _divide(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
    return a / b


def domain(m: Measure, series: list[Series]) -> list[Series]:
    """The raw series a measure reads (its output samples are grouped from these)."""
    if isinstance(m, PerPod | ClusterService):
        return _derived_of(m, series)
    if isinstance(m, Rate | Gauge):
        return _select(series, m.metrics, m.where)
    if isinstance(m, Quantile):
        return _select(series, [f"{m.metric}_bucket"], m.where)
    if isinstance(m, Ratio):
        return domain(m.den, series)
    if isinstance(m, Diff | Plus):
        return _union(domain(m.a, series), domain(m.b, series))
    if isinstance(m, Times | Abs | Floor | Default):
        return domain(m.a, series)
    if isinstance(m, Const):
        return []
    return domain(m.measure, select(series, m.where))


def _union(a: list[Series], b: list[Series]) -> list[Series]:
    seen = {id(s) for s in a}
    return a + [s for s in b if id(s) not in seen]


def _response_class(s: Series) -> str:
    code = _value_of(s, "response_code")
    return code[0] + "xx" if code[:1].isdigit() else ""


@dataclass(frozen=True)
class Sample:
    labels: Labels  # without __name__
    value: float
    series: tuple[Series, ...]


def _groups(by: Sequence[str], response_class: bool, measure: Measure, series: list[Series]
            ) -> dict[tuple[str, ...], list[Series]]:
    """Output samples: the distinct ``by`` values of the series the measure reads, each with every series of
    ``series`` that has them (a condition may read series the value does not)."""
    labels = tuple(by)

    def key(s: Series) -> tuple[str, ...]:
        get = s.label_map.get
        k = tuple([_by_value(s, b) if b in DERIVED_LABELS else get(b, "") for b in labels])
        return (*k, _response_class(s)) if response_class else k

    keys = {key(s) for s in domain(measure, series)}
    out: dict[tuple[str, ...], list[Series]] = {}
    for s in series:
        k = key(s)
        if k in keys:
            out.setdefault(k, []).append(s)
    return out


def _by_value(s: Series, label: str) -> str:
    """An output label's value for a raw series: its own, or derived from a raw label (DERIVED_LABELS)."""
    if label in DERIVED_LABELS:
        raw, how = DERIVED_LABELS[label]
        return how(_value_of(s, raw))
    return _value_of(s, label)


def _clean(labels: dict[str, str]) -> Labels:
    return tuple(sorted((k, v) for k, v in labels.items() if v != ""))


def record(d: RecordDef, series: list[Series]) -> list[Sample]:
    """The samples of a recorded series, by its definition."""
    out = []
    series = expand(series, d)
    names = [*d.by, *(["response_class"] if d.response_class else [])]
    for part in d.parts:
        m = part.value or d.value
        assert m is not None, d.record
        chosen = select(series, part.where, indexed=True) if part.where else _indexed(series)
        groups: dict[tuple[str, ...], list[Series]]
        if isinstance(m, Const) or (not d.by and not d.response_class):
            groups = {(): chosen}
        else:
            groups = _groups(d.by, d.response_class, m, chosen)
        for key, members in sorted(groups.items()):
            v = value(m, members)
            if v is None and d.empty is not None and not domain(m, members):
                v = d.empty
            if v is None:
                continue
            labels = {**dict(zip(names, key, strict=True)), **dict(part.labels), **dict(d.labels)}
            out.append(Sample(_clean(labels), v, tuple(members)))
    return sorted(out, key=lambda x: x.labels)


def _threshold(t: Threshold, members: list[Series], key: dict[str, str]) -> float | None:
    if t is None:
        return None
    if isinstance(t, PerService):
        svc = (key.get(t.keys[0], ""), key.get(t.keys[1], ""))
        return dict(t.values).get(svc, t.default)
    return value(t, members)


def _holds(c: Cond, members: list[Series], key: dict[str, str]) -> bool:
    left, right = value(c.left, members), _threshold(c.right, members, key)
    if left is None or right is None:
        return False
    return {">": left > right, ">=": left >= right, "==": left == right}[c.op]


@dataclass(frozen=True)
class Firing:
    series_labels: dict[str, str]  # the alert's series, what $labels reads
    labels: dict[str, str]  # the alert's labels
    value: float


def alert(d: AlertDef, series: list[Series]) -> list[Firing]:
    """The alerts that fire, by the definition, on constant input."""
    out = []
    series = expand(series, d)
    for part in d.parts:
        m = part.value or d.value
        assert m is not None, d.alert
        chosen = select(series, part.where, indexed=True) if part.where else _indexed(series)
        # without by labels, one sample (or none, where the measure reads no series)
        groups = _groups(d.by, False, m, chosen) if d.by else {(): chosen}
        for key, members in sorted(groups.items()):
            by = dict(zip(d.by, key, strict=True))
            if tuple(by.get(x, "") for x in d.unless_keys) in d.unless:
                continue
            v = value(m, members)
            if v is None or not all(_holds(c, members, by) for c in (*d.conditions, *part.conditions)):
                continue
            lab = dict(_clean({**by, **dict(part.labels), **dict(d.series_labels)}))
            alert_labels = {**lab, **{k: lab.get(src, "") for k, src in d.copy}, **dict(d.labels)}
            out.append(Firing(lab, dict(sorted(alert_labels.items())), v))
    return sorted(out, key=lambda f: sorted(f.labels.items()))
