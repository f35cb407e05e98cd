"""Small, exact helpers for writing PromQL text (selectors, grouping, literals)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Matcher = tuple[str, str, str]  # (label, op, value), op in = != =~ !~


def string(v: str) -> str:
    """A PromQL double-quoted string literal."""
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def selector(metric: str, matchers: Sequence[Matcher] = ()) -> str:
    if not matchers:
        return metric
    return metric + "{" + ",".join(f"{lab}{op}{string(val)}" for lab, op, val in matchers) + "}"


def eq(labels: Iterable[tuple[str, str]]) -> tuple[Matcher, ...]:
    return tuple((k, "=", v) for k, v in labels)


def by(labels: Sequence[str]) -> str:
    return f"by ({', '.join(labels)})"


def on(labels: Sequence[str]) -> str:
    return f"on ({', '.join(labels)})"


def sum_by(labels: Sequence[str], inner: str) -> str:
    return f"sum {by(labels)} ({inner})" if labels else f"sum({inner})"


def number(v: float) -> str:
    """A float literal as short as it can be and exact (``0.05``, ``1000``)."""
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def le_regex(bounds: Iterable[float]) -> str:
    """A regex matching the ``le`` label of the given bounds in every text form Prometheus stores.

    Prometheus 2 stores ``le`` as the exporter wrote it (Envoy writes ``10``; Go
    clients ``1.8e+06``); Prometheus 3 normalises to float text (``10.0``).
    """
    ints: list[str] = []
    others: list[str] = []
    for b in sorted(set(bounds)):
        if b == int(b):
            ints.append(str(int(b)))
            g = _go_float(b)
            if "e" in g:
                others.append(g)
        else:
            others.append(_go_float(b))
    alts = []
    if ints:
        alts.append("(?:" + "|".join(ints) + ")(?:\\.0)?")
    alts += [o.replace(".", "\\.").replace("+", "\\+") for o in others]
    alts.append("\\+Inf")
    return "|".join(alts)


def _go_float(v: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'g', -1, 64)``: shortest digits, exponent form past 1e6."""
    from decimal import Decimal

    if v == 0:
        return "0"
    d = Decimal(repr(float(v))).normalize()
    sign, digits, exp = d.as_tuple()
    assert isinstance(exp, int)
    text = "".join(map(str, digits))
    x = len(digits) + exp - 1
    neg = "-" if sign else ""
    if x < -4 or x >= 6:
        mant = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{neg}{mant}e{'-' if x < 0 else '+'}{abs(x):02d}"
    return neg + format(d.copy_abs(), "f")


def with_matchers(expr: str, uses: Sequence[str], matchers: Sequence[Matcher]) -> str:
    """``expr`` with extra label matchers on every selector of a series in ``uses``."""
    import re

    if not matchers:
        return expr
    extra = ",".join(f"{lab}{op}{string(val)}" for lab, op, val in matchers)
    for rec in sorted(set(uses), key=len, reverse=True):
        pat = re.compile(re.escape(rec) + r"(?![A-Za-z0-9_:])(\{)?")

        def add(m: re.Match[str], rec: str = rec) -> str:
            return f"{rec}{{{extra}," if m.group(1) else f"{rec}{{{extra}}}"

        expr = pat.sub(add, expr)
    return expr


def fam(records: Sequence[str], matchers: Sequence[Matcher] = ()) -> str:
    """The series of a record family: one record, or the union of its per-group records."""
    sels = [selector(r, matchers) for r in records]
    return sels[0] if len(sels) == 1 else "(" + " or ".join(sels) + ")"


def ratio(labels: Sequence[str], records: Sequence[str], num: Sequence[Matcher]) -> str:
    """``errors / total`` per ``labels``, 0 (not "no data") where there are no errors."""
    total = sum_by(labels, fam(records))
    part = sum_by(labels, fam(records, num))
    return f"({part} or {total} * 0) / {total}"


def quantile(qv: float, labels: Sequence[str], records: Sequence[str], matchers: Sequence[Matcher] = ()) -> str:
    return f"histogram_quantile({number(qv)}, {sum_by([*labels, 'le'], fam(records, matchers))})"
