"""A small PromQL evaluator for steady synthetic data: the expected values of the unit tests.

istiogen ships a promtool unit-test file for every rendered tree.  Its expected
samples and alerts are computed here, by interpreting the generated expressions
(parsed with promql-parser) over synthetic series whose counters grow at constant
rates; ``promtool test rules`` then checks them against the real engine.  Two
independent implementations have to agree, so a rule whose expression does not
do what the model intends fails the test.

Only what istiogen generates is supported (instant vectors; ``rate`` over counters;
``sum``/``count``/``avg``/``min``/``max`` with ``by``/``without``; arithmetic,
comparison and set operators with ``on``/``ignoring``; ``label_replace``,
``histogram_quantile``, ``vector``, ``absent``, ``abs``).  Anything else raises
:class:`Unsupported`.  Arithmetic follows Prometheus 2's order of operations so
results are bit-identical for the dyadic rates the synthetic data uses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Labels = tuple[tuple[str, str], ...]  # sorted, without empty values
Vector = dict[Labels, float]
NAME = "__name__"


class Unsupported(Exception):
    """The expression uses PromQL this evaluator does not implement."""


class EvalError(Exception):
    """Prometheus would fail on this expression too (e.g. duplicate label sets)."""


@dataclass(frozen=True)
class Series:
    """A raw input series: a counter growing ``rate`` per second, or a constant gauge."""

    labels: Labels
    rate: float = 0.0
    gauge: float | None = None

    def value_at(self, t: float) -> float:
        return self.gauge if self.gauge is not None else self.rate * t


def labels_of(d: dict[str, str]) -> Labels:
    return tuple(sorted((k, v) for k, v in d.items() if v != ""))


def _get(lab: Labels, name: str) -> str:
    for k, v in lab:
        if k == name:
            return v
    return ""


def _drop(lab: Labels, names: Iterable[str]) -> Labels:
    drop = set(names)
    return tuple((k, v) for k, v in lab if k not in drop)


def _keep(lab: Labels, names: Iterable[str]) -> Labels:
    keep = set(names)
    return tuple((k, v) for k, v in lab if k in keep)


def _set(lab: Labels, name: str, value: str) -> Labels:
    d = dict(lab)
    if value == "":
        d.pop(name, None)
    else:
        d[name] = value
    return labels_of(d)


class Evaluator:
    """Evaluate instant queries at time ``t`` over raw series plus already recorded series."""

    def __init__(self, series: list[Series], t: float) -> None:
        self.raw = series
        self.t = t
        self.recorded: dict[str, dict[Labels, float]] = {}  # record name -> its series
        self.by_name: dict[str, list[Series]] = {}
        for s in series:
            self.by_name.setdefault(_get(s.labels, NAME), []).append(s)

    def _candidates(self, name: str | None) -> list[Series]:
        return self.by_name.get(name, []) if name else self.raw

    # --- public ------------------------------------------------------------------------------
    def eval(self, expr: str) -> Vector:
        import promql_parser

        try:
            node = promql_parser.parse(expr)
        except (ValueError, TypeError) as e:
            raise Unsupported(str(e)) from None
        out = self._eval(node)
        if isinstance(out, float):
            return {(): out}
        if not isinstance(out, dict):
            raise Unsupported("the expression is not a vector")
        return out

    def record(self, name: str, result: Vector, extra: dict[str, str]) -> Vector:
        """Store a recording rule's result as Prometheus would (name and static labels set).

        Each rule is evaluated once per evaluator, so series are only ever added; two rules
        writing the same series is an error, as in Prometheus."""
        stored: Vector = {}
        table = self.recorded.setdefault(name, {})
        for lab, v in result.items():
            d = dict(lab)
            d.update(extra)
            d[NAME] = name
            key = labels_of(d)
            if key in stored or key in table:
                raise EvalError(f"{name}: duplicate series for {dict(key)}")
            stored[key] = v
        table.update(stored)
        return stored

    # --- nodes -------------------------------------------------------------------------------
    def _eval(self, n: Any) -> Any:
        kind = type(n).__name__
        handler: Callable[[Any], Any] | None = getattr(self, f"_{kind}", None)
        if handler is None:
            raise Unsupported(kind)
        return handler(n)

    def _NumberLiteral(self, n: Any) -> float:
        return float(n.val)

    def _StringLiteral(self, n: Any) -> str:
        return str(n.val)

    def _ParenExpr(self, n: Any) -> Any:
        return self._eval(n.expr)

    def _UnaryExpr(self, n: Any) -> Any:
        v = self._eval(n.expr)
        if isinstance(v, float):
            return -v
        return {_drop(lab, [NAME]): -x for lab, x in v.items()}

    def _matches(self, lab: Labels, name: str | None, matchers: Any) -> bool:
        if name and _get(lab, NAME) != name:
            return False
        for m in matchers.matchers:
            value = _get(lab, m.name)
            op = str(m.op).rsplit(".", 1)[-1]
            if op == "Equal" and value != m.value:
                return False
            if op == "NotEqual" and value == m.value:
                return False
            if op == "Re" and not re.fullmatch(m.value, value):
                return False
            if op == "NotRe" and re.fullmatch(m.value, value):
                return False
        return True

    def _VectorSelector(self, n: Any) -> Vector:
        if getattr(n.matchers, "or_matchers", None):
            raise Unsupported("or matchers")
        out: Vector = {}
        for s in self._candidates(n.name):
            if self._matches(s.labels, n.name, n.matchers):
                out[s.labels] = s.value_at(self.t)
        tables = [self.recorded.get(n.name, {})] if n.name else list(self.recorded.values())
        for table in tables:
            for lab, v in table.items():
                if self._matches(lab, n.name, n.matchers):
                    out[lab] = v
        return out

    def _rate(self, arg: Any) -> Vector:
        if type(arg).__name__ != "MatrixSelector":
            raise Unsupported("rate of a non-selector")
        vs = arg.vector_selector
        out: Vector = {}
        for s in self._candidates(vs.name):
            if self._matches(s.labels, vs.name, vs.matchers):
                if s.gauge is not None:
                    raise Unsupported("rate of a gauge")
                key = _drop(s.labels, [NAME])
                if key in out:
                    raise EvalError("vector cannot contain metrics with the same labelset")
                out[key] = s.rate
        return out

    def _Call(self, n: Any) -> Any:
        f = n.func.name
        args = list(n.args)
        if f in ("rate", "irate"):
            return self._rate(args[0])
        if f == "vector":
            return {(): float(self._eval(args[0]))}
        if f == "abs":
            return {_drop(lab, [NAME]): abs(v) for lab, v in self._eval(args[0]).items()}
        if f == "absent":
            v = self._eval(args[0])
            if v:
                return {}
            lab: dict[str, str] = {}
            if type(args[0]).__name__ == "VectorSelector":
                for m in args[0].matchers.matchers:
                    if str(m.op).endswith("Equal") and not str(m.op).endswith("NotEqual") and m.name != NAME:
                        lab[m.name] = m.value
            return {labels_of(lab): 1.0}
        if f == "label_replace":
            return self._label_replace(self._eval(args[0]), *[str(self._eval(a)) for a in args[1:]])
        if f == "histogram_quantile":
            return self._histogram_quantile(float(self._eval(args[0])), self._eval(args[1]))
        raise Unsupported(f"function {f}")

    def _label_replace(self, v: Vector, dst: str, repl: str, src: str, regex: str) -> Vector:
        out: Vector = {}
        pat = re.compile(regex)
        for lab, x in v.items():
            m = pat.fullmatch(_get(lab, src))
            new = lab
            if m:
                value = _expand_repl(m, repl)
                new = _set(lab, dst, value)
            if new in out:
                raise EvalError("vector cannot contain metrics with the same labelset")
            out[new] = x
        return out

    def _histogram_quantile(self, q: float, v: Vector) -> Vector:
        groups: dict[Labels, list[tuple[float, float]]] = {}
        for lab, x in v.items():
            le = _get(lab, "le")
            if le == "":
                continue
            groups.setdefault(_drop(lab, [NAME, "le"]), []).append((float(le), x))
        return {lab: _bucket_quantile(q, buckets) for lab, buckets in groups.items()}

    def _AggregateExpr(self, n: Any) -> Vector:
        op = str(n.op)
        if n.param is not None:
            raise Unsupported(f"{op} with a parameter")
        v = self._eval(n.expr)
        mod = n.modifier
        groups: dict[Labels, list[float]] = {}
        for lab, x in v.items():
            if mod is None:
                key: Labels = ()
            elif str(mod.type).endswith("By"):
                key = _keep(lab, mod.labels)
            else:
                key = _drop(lab, [*mod.labels, NAME])
            groups.setdefault(key, []).append(x)
        fns: dict[str, Callable[[list[float]], float]] = {
            "sum": _sum, "count": lambda xs: float(len(xs)), "max": _max, "min": _min,
            "avg": lambda xs: _sum(xs) / len(xs),
        }
        if op not in fns:
            raise Unsupported(f"aggregation {op}")
        return {k: fns[op](xs) for k, xs in groups.items()}

    def _BinaryExpr(self, n: Any) -> Any:
        op = str(n.op)
        lhs, rhs = self._eval(n.lhs), self._eval(n.rhs)
        mod = n.modifier
        if mod is not None and mod.return_bool:
            raise Unsupported("bool modifier")
        if op in ("and", "or", "unless"):
            return _set_op(op, lhs, rhs, mod)
        if isinstance(lhs, float) and isinstance(rhs, float):
            if op in _COMPARISONS:
                raise Unsupported("scalar comparison without bool")
            return _arith(op, lhs, rhs)
        if isinstance(rhs, float) or isinstance(lhs, float):
            vec, scalar, swapped = (lhs, rhs, False) if isinstance(rhs, float) else (rhs, lhs, True)
            out: Vector = {}
            for lab, x in vec.items():
                a, b = (scalar, x) if swapped else (x, scalar)
                if op in _COMPARISONS:
                    if _COMPARISONS[op](a, b):
                        out[lab] = x
                else:
                    out[_drop(lab, [NAME])] = _arith(op, a, b)
            return out
        card = str(mod.card).split(".")[-1] if mod is not None else "OneToOne"
        if card not in ("OneToOne", "ManyToOne"):
            raise Unsupported("group_right")
        sig = _signature(mod)
        right: dict[Labels, tuple[Labels, float]] = {}
        for lab, x in rhs.items():
            k = sig(lab)
            if k in right:
                raise EvalError("many-to-many matching not allowed: matching labels must be unique on one side")
            right[k] = (lab, x)
        result: Vector = {}
        for lab, x in lhs.items():
            k = sig(lab)
            if k not in right:
                continue
            rlab, y = right[k]
            if op in _COMPARISONS:
                if not _COMPARISONS[op](x, y):
                    continue
                value = x
            else:
                value = _arith(op, x, y)
            out_lab = lab if op in _COMPARISONS else _drop(lab, [NAME])
            if card == "OneToOne" and mod is not None and mod.matching is not None:
                names = list(mod.matching.labels)
                out_lab = _keep(out_lab, names) if str(mod.matching.type).endswith("Include") else _drop(out_lab, names)
            if card == "ManyToOne":  # group_left: copy the listed labels from the right-hand side
                for name in mod.group_labels or []:
                    out_lab = _set(out_lab, name, _get(rlab, name))
            if out_lab in result:
                raise EvalError("multiple matches for labels: many-to-one matching must be explicit")
            result[out_lab] = value
        return result


def _expand_repl(m: re.Match[str], repl: str) -> str:
    """Go's regexp Expand for ``$1``/``${1}``/``$name`` references (an unknown one expands to nothing)."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda g: _group(m, g.group(1) or g.group(2)), repl)


def _group(m: re.Match[str], ref: str) -> str:
    try:
        return (m.group(int(ref)) if ref.isdigit() else m.group(ref)) or ""
    except IndexError:  # Go expands an unknown group to nothing
        return ""


def _sum(xs: list[float]) -> float:
    total = 0.0
    for x in xs:
        total += x
    return total


_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _max(xs: list[float]) -> float:
    """Prometheus's max: NaN only when every value is NaN."""
    return max([x for x in xs if not math.isnan(x)] or [math.nan])


def _min(xs: list[float]) -> float:
    return min([x for x in xs if not math.isnan(x)] or [math.nan])


def _arith(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:
            if a == 0 or math.isnan(a):
                return math.nan
            return math.copysign(math.inf, a) * (1 if math.copysign(1, b) > 0 else -1)
        return a / b
    raise Unsupported(f"operator {op}")


def _signature(mod: Any) -> Callable[[Labels], Labels]:
    if mod is None or mod.matching is None:
        return lambda lab: _drop(lab, [NAME])
    names = list(mod.matching.labels)
    if str(mod.matching.type).endswith("Include"):
        return lambda lab: _keep(lab, names)
    return lambda lab: _drop(lab, [*names, NAME])


def _set_op(op: str, lhs: Any, rhs: Any, mod: Any) -> Vector:
    if not isinstance(lhs, dict) or not isinstance(rhs, dict):
        raise Unsupported("set operator on scalars")
    sig = _signature(mod)
    rkeys = {sig(lab) for lab in rhs}
    if op == "and":
        return {lab: x for lab, x in lhs.items() if sig(lab) in rkeys}
    if op == "unless":
        return {lab: x for lab, x in lhs.items() if sig(lab) not in rkeys}
    lkeys = {sig(lab) for lab in lhs}
    out = dict(lhs)
    for lab, x in rhs.items():
        if sig(lab) not in lkeys:
            out[lab] = x
    return out


def _bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus 2's bucketQuantile, step for step."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    buckets = sorted(buckets)
    if not buckets or not math.isinf(buckets[-1][0]):
        return math.nan
    # coalesce equal bounds, then make counts monotonic
    merged: list[list[float]] = []
    for ub, c in buckets:
        if merged and merged[-1][0] == ub:
            merged[-1][1] += c
        else:
            merged.append([ub, c])
    for i in range(1, len(merged)):
        if merged[i][1] < merged[i - 1][1]:
            merged[i][1] = merged[i - 1][1]
    if len(merged) < 2:
        return math.nan
    observations = merged[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next(i for i, (_, c) in enumerate(merged) if c >= rank)
    if b == len(merged) - 1:
        return merged[-2][0]
    if b == 0 and merged[0][0] <= 0:
        return merged[0][0]
    bucket_start = 0.0
    bucket_end = merged[b][0]
    count = merged[b][1]
    if b > 0:
        bucket_start = merged[b - 1][0]
        count -= merged[b - 1][1]
        rank -= merged[b - 1][1]
    return bucket_start + (bucket_end - bucket_start) * (rank / count)
