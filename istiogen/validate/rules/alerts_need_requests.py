"""``alerts.enabled`` without the ``requests`` rule set: the alerts on services read its records, so only the
other alerts are emitted (a warning)."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "alerts-need-requests"


def check(ctx: Context) -> Iterator[Problem]:
    if ctx.profile.alerts.enabled and "requests" not in ctx.profile.rules.sets:
        yield ctx.warning(ID, ("alerts", "enabled"), "alerts on services need the 'requests' rule set; only other "
                          "alerts are emitted")
