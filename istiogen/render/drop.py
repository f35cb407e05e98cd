"""``prometheus.drop_unused``: the raw Istio series nothing generated reads, dropped at ingestion.

What is kept is derived from the signal model, not listed by hand: every selector of every recording
rule, alert and catalogued query (dashboards and Sysdig panels are built from the catalog) is walked
(:mod:`istiogen.promast`); a selector of a metric no rule records is a raw read.  A raw ``istio_*``
family read with an ``le`` matcher (the kept histogram bounds) keeps those buckets only; one read
without keeps every series.  Every other ``istio_*`` series is dropped: families no set reads (say the
response-size buckets when that set is off), ``_sum`` and ``_count`` of the histograms, buckets outside
the kept bounds.  Nothing else is touched (not ``envoy_*``, not istiod's ``pilot_*``).

Relabelling regexes are RE2, without negation, so the drop is three steps: mark what is kept in a
temporary label, drop the ``istio_*`` series left unmarked, remove the mark.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from istiogen.render.model import SignalModel

MARK = "__tmp_istiogen_keep"


@dataclass(frozen=True)
class Kept:
    """Raw families kept whole (names or name regexes), and bucket families kept at some ``le`` only."""

    whole: tuple[str, ...]
    buckets: tuple[tuple[str, str], ...]  # (family, le regex)
    everything: bool = False  # a selector without a metric name reads istio_* as a whole: drop nothing


def _exprs(model: SignalModel) -> Iterator[str]:
    yield from (x.expr for x in model.rules)
    yield from (a.expr for a in model.alerts)
    yield from (x.expr for x in model.queries)


def _quote(value: str) -> str:
    import re

    return re.escape(value)


def kept(model: SignalModel) -> Kept:
    import promql_parser as pp

    from istiogen.promast import nodes

    recorded = {x.record for x in model.rules}
    whole: set[str] = set()
    le: dict[str, set[str] | None] = {}
    everything = False
    for expr in _exprs(model):
        for n in nodes(pp.parse(expr)):
            if not isinstance(n, pp.VectorSelector):
                continue
            ops = {(m.name, str(m.op).rsplit(".", 1)[-1], m.value) for m in n.matchers.matchers}
            name = n.name or next((v for k, op, v in ops if k == "__name__" and op == "Equal"), None)
            if name is None:
                pattern = next((v for k, op, v in ops if k == "__name__" and op == "Re"), None)
                if pattern is None:
                    everything = True
                else:
                    whole.add(pattern)
                continue
            if name in recorded or not name.startswith("istio_"):
                continue
            bounds = [v if op == "Re" else _quote(v) for k, op, v in ops if k == "le" and op in ("Re", "Equal")]
            current = le.get(name, set())
            if not bounds:
                le[name] = None
            elif current is not None:
                le[name] = current | {bounds[0]}
    whole |= {name for name, b in le.items() if b is None}
    buckets = tuple(sorted((name, "|".join(f"(?:{x})" if len(b) > 1 else x for x in sorted(b)))
                           for name, b in le.items() if b is not None))
    return Kept(tuple(sorted(whole)), buckets, everything)


def relabel_configs(model: SignalModel) -> list[dict[str, Any]]:
    """The ``metric_relabel_configs`` entries, in Prometheus's spelling (empty when nothing can be dropped)."""
    k = kept(model)
    if k.everything:
        return []
    out: list[dict[str, Any]] = []
    if k.whole:
        out.append({"source_labels": ["__name__"], "regex": "|".join(k.whole), "target_label": MARK,
                    "replacement": "1"})
    by_regex: dict[str, list[str]] = {}
    for name, regex in k.buckets:
        by_regex.setdefault(regex, []).append(name)
    for regex, names in by_regex.items():
        family = names[0] if len(names) == 1 else "(?:" + "|".join(names) + ")"
        out.append({"source_labels": ["__name__", "le"], "regex": f"{family};(?:{regex})", "target_label": MARK,
                    "replacement": "1"})
    out.append({"source_labels": ["__name__", MARK], "regex": "istio_.*;", "action": "drop"})
    out.append({"regex": MARK, "action": "labeldrop"})
    return out


_CAMEL = {"source_labels": "sourceLabels", "target_label": "targetLabel"}


def operator_relabelings(model: SignalModel) -> list[dict[str, Any]]:
    """The same entries in the Prometheus Operator's spelling (a PodMonitor's ``metricRelabelings``)."""
    return [{_CAMEL.get(k, k): v for k, v in entry.items()} for entry in relabel_configs(model)]
