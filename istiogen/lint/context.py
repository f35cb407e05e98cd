"""What every check needs to know about a bundle, computed once: one walk of each expression.

:class:`Context` wraps a :class:`~istiogen.lint.model.Bundle` and answers: which
rules record a series a selector reads, which labels a record carries, which
quantile an expression is, whether the federation delivers a series.  The walk
itself is :mod:`istiogen.lint.labelflow`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from istiogen.lint import promql as pq
from istiogen.lint.labelflow import OPEN, ExprInfo, Labels, SelectorUse, Val, node_kind, selector_use, shown, walk
from istiogen.lint.model import Bundle, FedJob, PromExpr, QueryKind, RecordRule

DEFAULT_SCRAPE_INTERVAL = timedelta(seconds=15)
# contexts whose series come through the federation (and so lose labeldrop'ed labels)
FEDERATED_KINDS: tuple[QueryKind, ...] = ("dashboard", "variable", "catalog")


@dataclass(frozen=True)
class ParsedSelector:
    name: str | None
    matchers: tuple[tuple[str, str, str], ...]
    name_matchers: tuple[tuple[str, str], ...]
    job: FedJob



class Context:
    def __init__(self, bundle: Bundle, *, scrape_interval: timedelta | None = None) -> None:
        self.bundle = bundle
        self._scrape_override = scrape_interval
        self.by_name: dict[str, list[RecordRule]] = {}
        for r in bundle.records:
            self.by_name.setdefault(r.name, []).append(r)
        self._info: dict[tuple[int, bool], ExprInfo] = {}
        self._rule_val: dict[int, Val] = {}
        self._in_progress: set[int] = set()
        self._fed: list[ParsedSelector] | None = None
        self._dropped: dict[str, bool] = {}

    # --- scrape interval -----------------------------------------------------------------------
    def scrape_interval(self) -> tuple[timedelta, str]:
        """The scrape interval and where it comes from."""
        if self._scrape_override is not None:
            return self._scrape_override, "--scrape-interval"
        b = self.bundle
        if b.catalog_scrape_interval is not None:
            loc, text = b.catalog_scrape_interval
            d = pq.duration(text)
            if d:
                return d, f"scrape_interval in {loc.file}"
        for loc, text in b.config_scrape_intervals:
            d = pq.duration(text)
            if d:
                return d, f"global.scrape_interval in {loc.file}"
        return DEFAULT_SCRAPE_INTERVAL, "the default"

    # --- records ---------------------------------------------------------------------------------
    def candidates(self, use: SelectorUse) -> list[RecordRule]:
        """The rules recording series the selector reads (their static labels not ruled out)."""
        if use.name is not None:
            rules = self.by_name.get(use.name, [])
        elif use.name_matchers:
            rules = [r for r in self.bundle.records
                     if all(pq.matches(op, v, r.name) is not False for op, v in use.name_matchers)]
        else:
            return []
        return [r for r in rules if compatible(r.labels, use.matchers)]

    def rule_val(self, rule: RecordRule) -> Val:
        key = id(rule)
        if key in self._rule_val:
            return self._rule_val[key]
        if key in self._in_progress:
            return OPEN
        self._in_progress.add(key)
        try:
            info = self.info(rule.expr, "rule")
        finally:
            self._in_progress.discard(key)
        v = info.result
        static = frozenset(rule.labels)
        qs = v.quantiles
        hint = pq.name_quantile(rule.name)
        if not qs and hint is not None:
            qs = frozenset({hint})
        labels = None if v.labels is None or rule.expr.ast is None else (v.labels | static)
        out = Val(labels, v.const | static, False, qs, f"{rule.name} carries only {shown(labels)}", rule.name)
        self._rule_val[key] = out
        return out

    def records_val(self, rules: list[RecordRule]) -> Val:
        vals = [self.rule_val(r) for r in rules]
        if len(vals) == 1:
            return vals[0]
        labels: Labels = frozenset()
        for v in vals:
            labels = None if labels is None or v.labels is None else labels | v.labels
        const = frozenset.intersection(*(v.const for v in vals))
        const = frozenset(x for x in const if len({r.labels.get(x) for r in rules}) == 1)
        qs = frozenset().union(*(v.quantiles for v in vals))
        return Val(labels, const, False, qs, f"{rules[0].name} carries only {shown(labels)}", rules[0].name)

    def known_labels(self, rule: RecordRule) -> dict[str, str]:
        """The label values every series of the record is known to carry."""
        known = dict(rule.labels)
        ast = rule.expr.ast
        if ast is not None and node_kind(ast) == "VectorSelector":
            for k, v in selector_use(ast, None).pinned().items():
                known.setdefault(k, v)
        return known

    # --- federation ------------------------------------------------------------------------------
    def federation(self) -> list[ParsedSelector]:
        if self._fed is None:
            self._fed = []
            for job in self.bundle.federation:
                for s in job.selectors:
                    ast = s.expr.ast
                    if ast is not None and node_kind(ast) == "VectorSelector":
                        u = selector_use(ast, None)
                        self._fed.append(ParsedSelector(u.name, u.matchers, u.name_matchers, job))
        return self._fed

    def has_federation(self) -> bool:
        return bool(self.bundle.federation)

    def delivered(self, name: str, known: dict[str, str], *, open_labels: bool = False) -> bool:
        """Whether a match[] selector selects the series; ``open_labels``: it may carry labels not in ``known``."""
        return any(_selects(s, name, known, open_labels) for s in self.federation())

    def is_dropped(self, label: str) -> bool:
        """Whether a federation job's ``labeldrop`` removes the label from what the agent stores."""
        if label not in self._dropped:
            self._dropped[label] = any(
                pq.matches("=~", rx, label) is True for job in self.bundle.fed_jobs for rx in job.labeldrop
            )
        return self._dropped[label]

    # --- expressions -----------------------------------------------------------------------------
    def expressions(self) -> list[tuple[QueryKind, PromExpr, str]]:
        """Every PromQL expression of the bundle: (kind, expression, whose it is)."""
        b = self.bundle
        out: list[tuple[QueryKind, PromExpr, str]] = [("rule", r.expr, r.name) for r in b.records]
        out += [("alert", a.expr, a.name) for a in b.alerts]
        out += [(q.kind, q.expr, q.owner) for q in b.dashboards]
        out += [("catalog", q.expr, q.owner) for q in b.catalog]
        return out

    def named_selectors(self, expr: PromExpr, kind: QueryKind) -> list[SelectorUse]:
        """The distinct selectors of an expression that name a series (not a dashboard variable)."""
        out: dict[str, SelectorUse] = {}
        for use in self.info(expr, kind).selectors:
            if use.name is not None and not use.name.startswith(pq.VAR_PREFIX):
                out.setdefault(use.text(), use)
        return list(out.values())

    def info(self, expr: PromExpr, kind: QueryKind) -> ExprInfo:
        federated = kind in FEDERATED_KINDS
        key = (id(expr), federated)
        if key not in self._info:
            self._info[key] = walk(self, expr.ast, federated)
        return self._info[key]


def compatible(static: dict[str, str], matchers: tuple[tuple[str, str, str], ...]) -> bool:
    for lab, op, v in matchers:
        if lab in static and not pq.has_template(v) and pq.matches(op, v, static[lab]) is False:
            return False
    return True


def _selects(s: ParsedSelector, name: str, known: dict[str, str], open_labels: bool) -> bool:
    if s.name is not None and s.name != name:
        return False
    if any(pq.matches(op, v, name) is False for op, v in s.name_matchers):
        return False
    named = s.name is not None or bool(s.name_matchers)
    for lab, op, v in s.matchers:
        if lab in known:
            if pq.matches(op, v, known[lab]) is False:
                return False
        elif not named and not open_labels and pq.matches(op, v, "") is False:
            # a bare label selector ({sysdig="true"}) selects only series carrying the label:
            # recording rules add it; raw series are assumed not to carry it
            return False
    return True
