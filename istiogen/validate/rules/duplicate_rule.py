"""Two ``rules.custom`` recording one series: Prometheus would evaluate both into one series, which conflicts."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context, repeated

ID = "duplicate-rule"


def check(ctx: Context) -> Iterator[Problem]:
    for i, record, first in repeated(r.record for r in ctx.profile.rules.custom):
        yield ctx.error(ID, ("rules", "custom", i, "record"), f"record {record!r} is already defined by "
                        f"rules.custom[{first}]", "rename one of them: two rules recording one series conflict")
