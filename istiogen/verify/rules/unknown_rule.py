"""A ``rules.exclude`` or ``rules.patches[].name`` naming no generated rule or alert (a typo excludes or patches
nothing, silently)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from istiogen.problems import Problem, did_you_mean
from istiogen.verify.context import at

if TYPE_CHECKING:
    from istiogen.pipeline import Rendered

ID = "unknown-rule"


def check(rendered: Rendered) -> Iterator[Problem]:
    m, spec = rendered.model, rendered.resolved.profile.rules
    names = {x.record for x in m.built_rules} | {a.name for a in m.built_alerts}
    for i, name in enumerate(spec.exclude):
        if name not in names:
            yield at(rendered, ("rules", "exclude", i), f"no generated rule or alert is named {name!r}", ID,
                     did_you_mean(name, names))
    for i, pt in enumerate(spec.patches):
        if pt.name not in names:
            yield at(rendered, ("rules", "patches", i, "name"), f"no generated rule or alert is named {pt.name!r}",
                     ID, did_you_mean(pt.name, names))
