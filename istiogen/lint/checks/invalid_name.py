"""``invalid-name``: a record name that is not a metric name, a label or annotation name that is not a
label name, an empty alert name."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.lint import promql as pq
from istiogen.lint.checks.base import Finding, finding
from istiogen.lint.context import Context
from istiogen.lint.model import Loc
from istiogen.problems import Level

ID = "invalid-name"
LEVEL: Level = "error"
DESCRIPTION = "record names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*; alerts need a name"


def run(ctx: Context) -> Iterator[Finding]:
    for r in ctx.bundle.records:
        if not pq.NAME_RE.fullmatch(r.name):
            yield finding(ID, LEVEL, r.loc, f"invalid record name {r.name!r}", r.name,
                          "a metric name matches [a-zA-Z_:][a-zA-Z0-9_:]*")
        yield from _labels(r.name, r.labels, r.label_locs, "label")
    for a in ctx.bundle.alerts:
        if not a.name.strip():
            yield finding(ID, LEVEL, a.loc, "an alert needs a name", "")
        yield from _labels(a.name, a.labels, a.label_locs, "label")
        yield from _labels(a.name, a.annotations, a.annotation_locs, "annotation")


def _labels(owner: str, labels: dict[str, str], locs: dict[str, Loc], what: str) -> Iterator[Finding]:
    for name in labels:
        if not pq.LABEL_RE.fullmatch(name):
            yield finding(ID, LEVEL, locs[name], f"invalid {what} name {name!r} in {owner!r}", (name, owner),
                          "a label name matches [a-zA-Z_][a-zA-Z0-9_]*")
