"""``not-federated``: an alert, dashboard or catalog query reads a series the federation job does not deliver.

A recorded series is delivered when one ``match[]`` selector of the agent's
``/federate`` job selects it: its name, and its static labels (the federation
label, e.g. ``sysdig="true"``).  A raw metric is delivered only when a selector
names it (or matches its name by regex); a bare label selector such as
``{sysdig="true"}`` selects only series a recording rule labelled.  A record
whose rule is not in the bundle may carry any label: only a selector that cannot
match its name rules it out.  The agent's other scrape jobs are not considered:
this is about what the federation delivers.  The Sysdig agent's own metrics (names
starting ``sysdig_``, e.g. its container CPU and memory, which Sysdig dashboards read)
are collected by the agent itself, never federated: they are not checked.  Bundles
without a federation job (nor a query catalog recording one) are not checked.
"""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.catalog.saturation import SYSDIG_AGENT_PREFIX
from istiogen.lint.checks.base import Finding, finding
from istiogen.lint.context import Context
from istiogen.problems import Level

ID = "not-federated"
LEVEL: Level = "error"
DESCRIPTION = "an alert, dashboard or catalog query reads a record or raw metric no federation match[] selects"


def run(ctx: Context) -> Iterator[Finding]:
    if not ctx.has_federation():
        return
    jobs = ", ".join(sorted({j.name for j in ctx.bundle.federation}))
    for kind, expr, owner in ctx.expressions():
        if kind == "rule":
            continue
        for use in ctx.named_selectors(expr, kind):
            name = use.name
            assert name is not None
            rules = ctx.by_name.get(name)
            if rules:
                cands = ctx.candidates(use)
                missing = [r for r in cands if not ctx.delivered(r.name, ctx.known_labels(r))]
                if not missing:
                    continue
                if len(missing) == len(cands):
                    msg = f"{owner} reads {name}, which no match[] selector of the federation job ({jobs}) selects"
                else:
                    labels = ", ".join(str(dict(sorted(r.labels.items()))) for r in missing)
                    msg = (f"{owner} reads {name}, but the federation ({jobs}) does not select its series "
                           f"recorded with {labels}")
                yield finding(ID, LEVEL, expr.loc, msg, (name, owner),
                              "add a match[] selector for it, or give its rule the label the selectors require")
            elif ":" in name:
                # a record no rule of the bundle records: unknown-series reports it when the bundle has rules;
                # without them its labels are unknown, so only a selector that cannot match its name counts
                if not ctx.bundle.records and not ctx.delivered(name, use.pinned(), open_labels=True):
                    yield finding(ID, LEVEL, expr.loc,
                                  f"{owner} reads {name}, which no match[] selector of the federation job ({jobs}) "
                                  "selects", (name, owner), "add a match[] selector for it")
            elif name.startswith(SYSDIG_AGENT_PREFIX):
                continue  # the agent's own metric: collected by the agent, not federated
            elif not ctx.delivered(name, use.pinned()):
                base = name.removesuffix("_total").removesuffix("_bucket")
                recs = sorted(r for r in ctx.by_name if base in r)
                hint = f"query a recorded series instead, e.g. {recs[0]}" if recs else \
                    "record an aggregate of it and federate that, or add it to match[]"
                yield finding(ID, LEVEL, expr.loc,
                              f"{owner} reads the raw metric {name}, which no match[] selector of the federation "
                              f"job ({jobs}) selects", (name, owner), hint)
