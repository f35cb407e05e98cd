"""``quantile-mismatch``: a title, legend, name or description names another quantile than the query computes.

The quantile a query computes is the φ of its ``histogram_quantile``/``quantile``,
or that of the recorded quantile it reads (from the record's rule, else its name:
``..._p99:...``, ``...:histogram95``).  A text names a quantile as ``p99``,
``P99.9``, ``99th percentile``, ``median`` or ``0.99 quantile``.  Checked: each
dashboard legend (else the panel title), catalog entries (title and ``quantile``
field), alert names, summaries and descriptions, and record names against their
own rule.  Queries whose φ is not a literal are not checked.
"""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.lint import promql as pq
from istiogen.lint.checks.base import Finding, finding
from istiogen.lint.context import Context
from istiogen.lint.labelflow import UNKNOWN_PHI
from istiogen.lint.model import Loc, PromExpr, QueryKind
from istiogen.problems import Level

ID = "quantile-mismatch"
LEVEL: Level = "error"
DESCRIPTION = "a panel title or legend (or alert, catalog entry, record name) names another quantile than its query"


def _computed(ctx: Context, expr: PromExpr, kind: QueryKind) -> set[float]:
    qs = ctx.info(expr, kind).result.quantiles
    if not qs or UNKNOWN_PHI in qs:
        return set()
    return set(qs)


def _show(qs: set[float]) -> str:
    return " and ".join(pq.show_quantile(q) for q in sorted(qs))


def _agrees(named: set[float], computed: set[float]) -> bool:
    return any(pq.same_quantile(a, b) for a in named for b in computed)


def _check(what: str, text: str, loc: Loc, computed: set[float], owner: str, subject: str) -> Iterator[Finding]:
    named = pq.text_quantiles(text)
    if named and not _agrees(named, computed):
        yield finding(ID, LEVEL, loc,
                      f"{what} {text!r} names the {_show(named)} quantile, but {owner} computes the "
                      f"{_show(computed)} quantile", subject)


def run(ctx: Context) -> Iterator[Finding]:
    b = ctx.bundle
    for r in b.records:
        computed = _computed(ctx, r.expr, "rule")
        hint = pq.name_quantile(r.name)
        if computed and hint is not None and not _agrees({hint}, computed):
            yield finding(ID, LEVEL, r.loc,
                          f"record name {r.name!r} names the {pq.show_quantile(hint)} quantile, but its rule "
                          f"computes the {_show(computed)} quantile", r.name)
    for q in b.dashboards:
        computed = _computed(ctx, q.expr, q.kind)
        if not computed:
            continue
        if any(pq.text_quantiles(x.value) for x in q.legends):
            for x in q.legends:
                yield from _check("legend", x.value, x.loc, computed, f"the query of {q.owner}", q.owner)
        elif q.title is not None:
            yield from _check("title", q.title.value, q.title.loc, computed, f"its query at {q.expr.loc.path}",
                              q.owner)
    for q in b.catalog:
        computed = _computed(ctx, q.expr, "catalog")
        if not computed:
            continue
        if q.declared_quantile is not None and not _agrees({q.declared_quantile}, computed):
            yield finding(ID, LEVEL, q.expr.loc,
                          f"{q.owner} declares quantile {pq.show_quantile(q.declared_quantile)}, but its query "
                          f"computes the {_show(computed)} quantile", q.owner)
        if q.title is not None:
            yield from _check("title", q.title.value, q.title.loc, computed, f"the query of {q.owner}", q.owner)
    for a in b.alerts:
        computed = _computed(ctx, a.expr, "alert")
        if not computed:
            continue
        yield from _check("alert name", a.name, a.loc, computed, f"alert {a.name}", a.name)
        for key in ("summary", "description"):
            if key in a.annotations:
                yield from _check(key, a.annotations[key], a.annotation_locs[key], computed, f"alert {a.name}",
                                  a.name)
