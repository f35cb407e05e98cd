"""A ``rules.patches[].expr`` that is not valid PromQL: Prometheus would refuse the whole rule file."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.profile.promql import promql_error
from istiogen.validate.context import Context

ID = "patch-promql"


def check(ctx: Context) -> Iterator[Problem]:
    for i, pt in enumerate(ctx.profile.rules.patches):
        if pt.expr is not None:
            err = promql_error(pt.expr)
            if err:
                yield ctx.error(ID, ("rules", "patches", i, "expr"), f"invalid PromQL: {err}")
