"""``unused-record``: a recorded series that no dashboard, alert, catalog entry or other rule reads.

Every record costs series in Prometheus and, when federated, in the agent.  Only
bundles with something that reads series (alerts, dashboards or a query catalog)
are checked: a rule file alone says nothing about its users.
"""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.lint.checks.base import Finding, finding
from istiogen.lint.context import Context
from istiogen.problems import Level

ID = "unused-record"
LEVEL: Level = "warning"
DESCRIPTION = "a record that no dashboard, alert, query-catalog entry or other rule reads"


def run(ctx: Context) -> Iterator[Finding]:
    b = ctx.bundle
    if not (b.alerts or b.has_dashboards or b.has_catalog):
        return
    used: set[int] = set()
    for kind, expr, _owner in ctx.expressions():
        for use in ctx.info(expr, kind).selectors:
            for r in ctx.candidates(use):
                if r.expr is not expr:
                    used.add(id(r))
    readers = [x for x, present in (("dashboard", b.has_dashboards), ("alert", bool(b.alerts)),
                                    ("query-catalog entry", b.has_catalog)) if present]
    for r in b.records:
        if id(r) not in used:
            labels = f" with labels {dict(sorted(r.labels.items()))}" if len(ctx.by_name[r.name]) > 1 else ""
            yield finding(ID, LEVEL, r.loc,
                          f"record {r.name!r}{labels} is not read by any {', '.join(readers)} or rule", r.name,
                          "remove the rule, or exclude this finding with the reason it exists")
