"""An empty ``rules.sets``: nothing would be recorded, and the federation would select nothing."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "no-rule-set"


def check(ctx: Context) -> Iterator[Problem]:
    if not ctx.profile.rules.sets:
        yield ctx.error(ID, ("rules", "sets"), "no rule set: nothing would be recorded, and the federation "
                        "would select nothing", "e.g. sets: [requests, latency]")
