"""A ``rules.exclude`` entry that a rule or alert left in still reads: it would read a series never recorded.

The render stage keeps such a series; this reports it, naming each reader to exclude too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from istiogen.problems import Problem
from istiogen.verify.context import at

if TYPE_CHECKING:
    from istiogen.pipeline import Rendered

ID = "exclude-used"


def check(rendered: Rendered) -> Iterator[Problem]:
    m, exclude = rendered.model, rendered.resolved.profile.rules.exclude
    excluded = set(exclude)
    where = {name: i for i, name in enumerate(exclude)}
    users = [("rule", x.record, x.uses) for x in m.built_rules] + [("alert", a.name, a.uses) for a in m.built_alerts]
    for what, name, uses in users:
        if name not in excluded:
            for u in uses:
                if u in excluded:
                    yield at(rendered, ("rules", "exclude", where[u]), f"{u!r} is used by the {what} {name!r}", ID,
                             f"exclude {name!r} too")
