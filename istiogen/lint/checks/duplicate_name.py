"""``duplicate-name``: a record or alert defined twice with the same labels; a rule group name used twice in a file.

Two rules recording the same name with the same static labels write the same
series twice (Prometheus keeps whichever ran last); the same name with other
static labels (``role: baseline`` / ``role: candidate``) is a legitimate split.
"""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.lint.checks.base import Finding, finding, where
from istiogen.lint.context import Context
from istiogen.lint.model import Loc
from istiogen.problems import Level

ID = "duplicate-name"
LEVEL: Level = "error"
DESCRIPTION = "a record or alert defined twice with the same labels, or a rule group name used twice in one file"


def run(ctx: Context) -> Iterator[Finding]:
    seen: dict[tuple[str, str, frozenset[tuple[str, str]]], Loc] = {}
    items = [("record", r.name, r.labels, r.loc) for r in ctx.bundle.records]
    items += [("alert", a.name, a.labels, a.loc) for a in ctx.bundle.alerts]
    for what, name, labels, loc in items:
        if not name:
            continue
        key = (what, name, frozenset(labels.items()))
        if key in seen:
            same = f" with the same labels {dict(sorted(labels.items()))}" if labels else ""
            yield finding(ID, LEVEL, loc, f"{what} {name!r} is defined twice{same} (first at {where(seen[key])})",
                          name, "remove one, or tell them apart with a static label")
        else:
            seen[key] = loc
    for _file, groups in ctx.bundle.groups:
        names: dict[str, Loc] = {}
        for g in groups:
            if g.name in names:
                yield finding(ID, LEVEL, g.loc, f"rule group {g.name!r} is defined twice in this file "
                              f"(first at {where(names[g.name])}); Prometheus refuses the file", g.name)
            else:
                names[g.name] = g.loc
