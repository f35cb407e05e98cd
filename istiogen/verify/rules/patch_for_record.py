"""A ``rules.patches[].for`` on a recording rule: ``for`` applies to alerts only (it would be dropped)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from istiogen.problems import Problem
from istiogen.verify.context import at

if TYPE_CHECKING:
    from istiogen.pipeline import Rendered

ID = "patch-for-record"


def check(rendered: Rendered) -> Iterator[Problem]:
    records = {x.record for x in rendered.model.built_rules}
    alerts = {a.name for a in rendered.model.built_alerts}
    for i, pt in enumerate(rendered.resolved.profile.rules.patches):
        if pt.for_ is not None and pt.name in records and pt.name not in alerts:  # an unknown name is unknown-rule's
            yield at(rendered, ("rules", "patches", i, "for"), "'for' applies to alerts only", ID)
