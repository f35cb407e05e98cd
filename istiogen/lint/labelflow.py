"""The label flow of a PromQL expression: one walk that knows the label set of each result.

The walk (:class:`Walker`) follows Prometheus' semantics closely enough to know the label set of a
result (``sum by``, ``without``, ``on``/``group_left``, ``label_replace``), and stays *open* (unknown)
where it cannot be sure, so that no check reports what it cannot prove.  What a selector reads comes
from :class:`Records` (the bundle's recording rules and federation: :class:`istiogen.lint.context.Context`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from istiogen.lint import promql as pq
from istiogen.lint.model import RecordRule

UNKNOWN_PHI = -1.0
RANGE_FUNCTIONS = ("rate", "irate", "increase")
COMBINING = ("sum", "avg", "max", "min")
KEEP_LABELS = ("topk", "bottomk", "limitk", "limit_ratio")

Labels = frozenset[str] | None


@dataclass(frozen=True)
class Val:
    """What is known about the value of an expression."""

    labels: Labels  # labels its series may carry; None: unknown (open)
    const: frozenset[str] = frozenset()  # labels with one value across all its series
    scalar: bool = False
    quantiles: frozenset[float] = frozenset()  # the φ it is a quantile of (UNKNOWN_PHI: some φ)
    origin: str = ""  # where the label set comes from, for messages
    record: str = ""  # the record it reads unchanged (its rule set the labels), if any


OPEN = Val(None)
SCALAR = Val(frozenset(), scalar=True)


@dataclass(frozen=True)
class SelectorUse:
    name: str | None
    matchers: tuple[tuple[str, str, str], ...]  # (label, op, value), __name__ excluded
    name_matchers: tuple[tuple[str, str], ...]  # (op, value) on __name__
    range: timedelta | None

    def text(self) -> str:
        inner = ",".join(f'{lab}{op}"{v}"' for lab, op, v in self.matchers)
        return (self.name or "") + (f"{{{inner}}}" if inner else "")

    def pinned(self) -> dict[str, str]:
        """Labels the selector fixes to one literal value."""
        return {lab: v for lab, op, v in self.matchers if op == "=" and not pq.has_template(v)}


@dataclass(frozen=True)
class LabelIssue:
    label: str
    usage: str
    origin: str
    record: str  # the record whose rule dropped it, "" when the query itself did
    dropped_by_federation: bool = False


@dataclass
class ExprInfo:
    selectors: list[SelectorUse] = field(default_factory=list)
    label_issues: list[LabelIssue] = field(default_factory=list)
    result: Val = OPEN
    quantile_combinations: list[str] = field(default_factory=list)
    ranges: list[tuple[str, timedelta]] = field(default_factory=list)



def node_kind(node: Any) -> str:
    return type(node).__name__


def number(node: Any) -> float | None:
    while node_kind(node) == "ParenExpr":
        node = node.expr
    if node_kind(node) == "NumberLiteral":
        return float(node.val)
    if node_kind(node) == "UnaryExpr" and node_kind(node.expr) == "NumberLiteral":
        return -float(node.expr.val)
    return None


def _phi(v: float | None) -> float:
    return v if v is not None and 0 <= v <= 1 else UNKNOWN_PHI


def selector_use(vs: Any, rng: timedelta | None) -> SelectorUse:
    name = vs.name
    ms: list[tuple[str, str, str]] = []
    names: list[tuple[str, str]] = []
    for m in vs.matchers.matchers:
        op = pq.op_text(m.op)
        if m.name == "__name__":
            names.append((op, m.value))
        else:
            ms.append((m.name, op, m.value))
    if name is None and len(names) == 1 and names[0][0] == "=":
        name, names = names[0][1], []
    return SelectorUse(name, tuple(ms), tuple(names), rng)


def shown(labels: frozenset[str] | None) -> str:
    return "(unknown)" if labels is None else f"({', '.join(sorted(labels))})"


def _keeps(what: str, labels: frozenset[str] | None) -> str:
    if labels is None:
        return ""
    return f"{what} keeps only {shown(labels)}" if labels else f"{what} keeps no label"


def accepts_absent(op: str, value: str) -> bool:
    """``L=""`` / ``L=~".*"``: the matcher means to accept a missing label."""
    return op in ("=", "=~") and not pq.has_template(value) and pq.matches(op, value, "") is True


def _modifier(mod: Any, including: Any) -> tuple[list[str] | None, list[str] | None]:
    """The labels of a ``by``/``on`` modifier (first: its type is ``including``) or of a ``without``/``ignoring``
    one (second)."""
    if mod is None:
        return None, None
    labels = list(mod.labels)
    return (labels, None) if mod.type == including else (None, labels)


class Records(Protocol):
    """What the walk asks about the series a selector reads."""

    def candidates(self, use: SelectorUse) -> list[RecordRule]: ...

    def records_val(self, rules: list[RecordRule]) -> Val: ...

    def is_dropped(self, label: str) -> bool: ...


def walk(records: Records, ast: Any, federated: bool) -> ExprInfo:
    """What one expression reads and yields; ``federated``: its series come through the federation."""
    w = Walker(records, federated)
    if ast is not None:
        w.info.result = w.visit(ast)
    w.info.label_issues = list(dict.fromkeys(w.info.label_issues))
    return w.info


class Walker:
    def __init__(self, ctx: Records, federated: bool) -> None:
        self.ctx = ctx
        self.federated = federated
        self.info = ExprInfo()

    def issue(self, label: str, usage: str, val: Val, record: str = "") -> None:
        if label.startswith(pq.VAR_PREFIX):
            return
        dropped = self.federated and self.ctx.is_dropped(label)
        self.info.label_issues.append(LabelIssue(label, usage, val.origin, record, dropped))

    def visit(self, n: Any) -> Val:
        k = node_kind(n)
        if k in ("NumberLiteral", "StringLiteral"):
            return SCALAR
        if k in ("ParenExpr", "UnaryExpr", "SubqueryExpr"):
            return self.visit(n.expr)
        if k == "VectorSelector":
            return self.selector(n, None)
        if k == "MatrixSelector":
            return self.selector(n.vector_selector, n.range)
        if k == "Call":
            return self.call(n)
        if k == "AggregateExpr":
            return self.aggregate(n)
        if k == "BinaryExpr":
            return self.binary(n)
        return OPEN

    # selectors -----------------------------------------------------------------------------------
    def selector(self, vs: Any, rng: timedelta | None) -> Val:
        use = selector_use(vs, rng)
        self.info.selectors.append(use)
        if vs.matchers.or_matchers or (use.name or "").startswith(pq.VAR_PREFIX):
            return OPEN
        rules = self.ctx.candidates(use)
        if rules:
            val = self.ctx.records_val(rules)
        else:
            qs = set()
            hint = pq.name_quantile(use.name) if use.name else None
            if hint is not None:
                qs.add(hint)
            for lab, op, v in use.matchers:
                if lab == "quantile" and op == "=":
                    try:
                        qs.add(_phi(float(v)))
                    except ValueError:
                        qs.add(UNKNOWN_PHI)
            val = Val(None, quantiles=frozenset(qs))
        if val.labels is not None and self.federated:
            dropped = frozenset(x for x in val.labels if self.ctx.is_dropped(x))
            if dropped:
                kept = val.labels - dropped
                origin = (f"{val.record or 'the series'} reaches the agent with only {shown(kept)}: the federation "
                          f"job's labeldrop removes {shown(dropped)}")
                val = Val(kept, val.const - dropped, False, val.quantiles, origin, val.record)
        for lab, op, v in use.matchers:
            if accepts_absent(op, v):
                continue
            if self.federated and self.ctx.is_dropped(lab) and val.labels is None:
                self.issue(lab, "a label matcher", Val(None, origin="the federation job's labeldrop removes it"),
                           val.record)
            elif val.labels is not None and lab not in val.labels:
                self.issue(lab, "a label matcher", val, val.record)
        return val

    # functions ------------------------------------------------------------------------------------
    def call(self, n: Any) -> Val:
        import promql_parser

        name = n.func.name
        args = list(n.args)
        if name in RANGE_FUNCTIONS and args and node_kind(args[0]) == "MatrixSelector":
            self.info.ranges.append((name, args[0].range))
        vals = [self.visit(a) for a in args]
        if n.func.return_type == promql_parser.ValueType.Scalar:
            return SCALAR
        if name == "histogram_quantile" and len(args) == 2:
            inner = vals[1]
            if inner.labels is not None and "le" not in inner.labels:
                self.issue("le", "histogram_quantile (it needs the bucket label)", inner)
            labels = None if inner.labels is None else inner.labels - {"le"}
            return Val(labels, inner.const - {"le"}, False, frozenset({_phi(number(args[0]))}),
                       _keeps("histogram_quantile(...)", labels))
        if name in ("label_replace", "label_join") and len(args) >= 3 and node_kind(args[1]) == "StringLiteral":
            inner = vals[0]
            dst = args[1].val
            if name == "label_replace" and len(args) == 5 and inner.labels is not None:
                src, rx = args[3].val, args[4].val
                if src and src not in inner.labels and pq.matches("=~", rx, "") is False:
                    self.issue(src, "label_replace's source label", inner)
            labels = None if inner.labels is None else inner.labels | {dst}
            const = inner.const - {dst}
            if name == "label_replace" and len(args) == 5 and "$" not in args[2].val:
                const |= {dst}
            return Val(labels, const, False, inner.quantiles, _keeps(f"{name}(...)", labels))
        if name in ("vector", "time"):
            return Val(frozenset(), origin=f"{name}(...) has no labels")
        if name in ("absent", "absent_over_time"):
            return OPEN
        for v in vals:
            if not v.scalar:
                return v
        return OPEN

    # aggregations ---------------------------------------------------------------------------------
    def aggregate(self, n: Any) -> Val:
        import promql_parser

        op = str(n.op)
        inner = self.visit(n.expr)
        param = n.param
        if param is not None and node_kind(param) not in ("StringLiteral",):
            self.visit(param)
        by, without = _modifier(n.modifier, promql_parser.AggModifierType.By)
        clause = f"{op} by ({', '.join(by)})" if by is not None else (
            f"{op} without ({', '.join(without)})" if without is not None else op)
        if by is not None and inner.labels is not None:
            for lab in by:
                if lab not in inner.labels:
                    self.issue(lab, f"`{clause}`", inner, inner.record)
        extra: frozenset[str] = frozenset()
        if op == "count_values" and param is not None and node_kind(param) == "StringLiteral":
            extra = frozenset({param.val})
        if op in KEEP_LABELS:
            labels, const = inner.labels, inner.const
        elif by is not None:
            labels, const = frozenset(by) | extra, inner.const & frozenset(by)
        elif without is not None:
            labels = None if inner.labels is None else inner.labels - frozenset(without)
            const = inner.const - frozenset(without)
        else:
            labels, const = extra, frozenset()
        if op in COMBINING:
            self._quantile_combination(op, clause, inner, labels, without)
        if op == "quantile":
            qs = frozenset({_phi(number(param))})
        elif op in COMBINING or op in KEEP_LABELS:
            qs = inner.quantiles
        else:
            qs = frozenset()
        return Val(labels, const, False, qs, _keeps(f"`{clause}`", labels))

    def _quantile_combination(self, op: str, clause: str, inner: Val, result: Labels,
                              without: list[str] | None) -> None:
        if inner.labels is not None and result is not None:
            merged = (inner.labels - result) - inner.const
        else:
            merged = None  # unknown: assume series are combined
        if inner.quantiles and (merged is None or merged):
            what = ", ".join(sorted(merged)) if merged else "its series"
            self.info.quantile_combinations.append(
                f"`{clause}` combines quantiles across {what}: a quantile of the whole is not the "
                f"{'average' if op == 'avg' else op} of the parts' quantiles")
            return
        over_quantile_label = (
            (without is not None and "quantile" in without)
            or (inner.labels is not None and "quantile" in inner.labels and "quantile" not in inner.const
                and result is not None and "quantile" not in result)
        )
        if over_quantile_label:
            self.info.quantile_combinations.append(
                f"`{clause}` aggregates over the `quantile` label: quantiles cannot be summed or averaged")

    # binary operators -----------------------------------------------------------------------------
    def binary(self, n: Any) -> Val:
        import promql_parser

        lhs, rhs = self.visit(n.lhs), self.visit(n.rhs)
        op = str(n.op)
        if lhs.scalar and rhs.scalar:
            return SCALAR
        mod = n.modifier
        matching = getattr(mod, "matching", None) if mod is not None else None
        on, ignoring = _modifier(matching, promql_parser.LabelModifierType.Include)
        if on is not None and not (lhs.scalar or rhs.scalar):
            for side in (lhs, rhs):
                if side.labels is not None:
                    for lab in on:
                        if lab not in side.labels:
                            self.issue(lab, f"`on ({', '.join(on)})`", side, side.record)
        card = getattr(mod, "card", None) if mod is not None else None
        group = list(getattr(mod, "group_labels", None) or []) if mod is not None else []
        group_left = card == promql_parser.VectorMatchCardinality.ManyToOne
        group_right = card == promql_parser.VectorMatchCardinality.OneToMany
        if group and (group_left or group_right):
            one = rhs if group_left else lhs
            if one.labels is not None:
                for lab in group:
                    if lab not in one.labels:
                        self.issue(lab, f"`group_{'left' if group_left else 'right'} ({', '.join(group)})`",
                                   one, one.record)
        if op == "+" and lhs.quantiles and rhs.quantiles:
            self.info.quantile_combinations.append("`+` adds quantiles: a sum of quantiles is not a quantile")
        if op in ("and", "unless"):
            return lhs
        if op == "or":
            labels = None if lhs.labels is None or rhs.labels is None else lhs.labels | rhs.labels
            origin = f"the sides of `or` carry only {shown(labels)}" if labels is not None else ""
            return Val(labels, lhs.const & rhs.const, False, lhs.quantiles | rhs.quantiles, origin)
        qs = lhs.quantiles | rhs.quantiles
        if lhs.scalar or rhs.scalar:
            base = rhs if lhs.scalar else lhs
            return Val(base.labels, base.const, False, qs, base.origin, base.record)
        if group_left or group_right:
            many = lhs if group_left else rhs
            labels = None if many.labels is None else many.labels | frozenset(group)
            return Val(labels, many.const, False, qs, _keeps(f"`group_{'left' if group_left else 'right'}`", labels))
        if on is not None:
            origin = _keeps(f"`on ({', '.join(on)})`", frozenset(on))
            return Val(frozenset(on), lhs.const & frozenset(on), False, qs, origin)
        if ignoring is not None:
            labels = None if lhs.labels is None else lhs.labels - frozenset(ignoring)
            origin = _keeps(f"`ignoring ({', '.join(ignoring)})`", labels)
            return Val(labels, lhs.const - frozenset(ignoring), False, qs, origin)
        return Val(lhs.labels, lhs.const, False, qs, lhs.origin, lhs.record)
