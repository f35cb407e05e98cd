"""``sysdig-metric-limit``: a Sysdig dashboard query that reads more than 10 distinct metric names.

Sysdig's PromQL API refuses a query over more than 10 distinct metric names ("Prometheus public API service
limits", :data:`istiogen.catalog.sysdig.MAX_METRICS_PER_QUERY`): the panel shows an error instead of data.  A
Sysdig query is one read from a Sysdig dashboard's ``advancedQueries``.  The names counted are the selectors'
names and ``__name__`` matchers (an ``=`` value, or each name of a ``=~`` plain alternation ``a|b|c``); dashboard
variables name nothing.  A ``__name__`` pattern that is not a plain alternation is not counted (its names are
unknown before it runs).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from istiogen.catalog.sysdig import MAX_METRICS_PER_QUERY
from istiogen.lint.checks.base import Finding, finding
from istiogen.lint.context import Context
from istiogen.lint.promql import VAR_PREFIX
from istiogen.problems import Level

ID = "sysdig-metric-limit"
LEVEL: Level = "error"
DESCRIPTION = f"a Sysdig dashboard query reading more than {MAX_METRICS_PER_QUERY} distinct metric names"

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_SYSDIG_QUERY = re.compile(r"(^|\.)panels\[\d+\]\.advancedQueries\[\d+\]\.query$")


def metric_names(ast: Any) -> set[str]:
    import promql_parser as pp

    from istiogen.promast import nodes

    names: set[str] = set()
    for n in nodes(ast):
        if not isinstance(n, pp.VectorSelector):
            continue
        if n.name and not n.name.startswith(VAR_PREFIX):
            names.add(n.name)
        for m in n.matchers.matchers:
            if m.name != "__name__":
                continue
            if m.op == pp.MatchOp.Equal:
                names.add(m.value)
            elif m.op == pp.MatchOp.Re and all(_NAME.fullmatch(x) for x in m.value.split("|")):
                names.update(m.value.split("|"))
    return names


def run(ctx: Context) -> Iterator[Finding]:
    for q in ctx.bundle.dashboards:
        if q.kind != "dashboard" or not _SYSDIG_QUERY.search(q.expr.loc.path) or q.expr.ast is None:
            continue
        names = metric_names(q.expr.ast)
        if len(names) > MAX_METRICS_PER_QUERY:
            yield finding(ID, LEVEL, q.expr.loc,
                          f"{q.owner} reads {len(names)} distinct metric names ({', '.join(sorted(names))}): Sysdig's "
                          f"PromQL API takes at most {MAX_METRICS_PER_QUERY} per query", q.owner,
                          "split the query across several queries of the panel, or record the combination")
