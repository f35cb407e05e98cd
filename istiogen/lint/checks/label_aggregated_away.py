"""``label-aggregated-away``: a query uses a label that the series it reads no longer carries.

The label set of every record is computed from its rule (``sum by (...)`` plus the
rule's static labels); a query that matches on, groups by, joins ``on`` or
``label_replace``s from a label outside that set gets nothing, or one series where
it meant many.  The same holds inside one expression (``sum by (a) (sum by (b)
(...))``), for ``histogram_quantile`` over series without ``le``, and, for
dashboards and catalog queries, for labels the federation job's ``labeldrop``
removes.  Where a label set is not known (raw metrics, ``without``) nothing is
reported.  A matcher's value may be a template variable (``=~"$namespace"``): the
label must still be there for the filter to work.
"""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.lint.checks.base import Finding, finding
from istiogen.lint.context import Context
from istiogen.problems import Level

ID = "label-aggregated-away"
LEVEL: Level = "error"
DESCRIPTION = "a query uses a label the series it reads do not carry (aggregated away by a rule, or dropped)"


def run(ctx: Context) -> Iterator[Finding]:
    for kind, expr, owner in ctx.expressions():
        for issue in ctx.info(expr, kind).label_issues:
            origin = issue.origin or "its input does not carry it"
            if issue.dropped_by_federation:
                hint = "the federation job's labeldrop removes it: take it out of the query, or out of labeldrop"
            elif issue.record:
                hint = "keep the label in the rule's `by (...)`, or take it out of the query"
            else:
                hint = None
            yield finding(ID, LEVEL, expr.loc, f"{owner}: {issue.usage} uses label {issue.label!r}, but {origin}",
                          (issue.label, issue.record, owner), hint)
