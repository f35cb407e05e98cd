"""Two experiments on one service: the role of a version would be ambiguous; one experiment per service at a time."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "experiment-per-service"


def check(ctx: Context) -> Iterator[Problem]:
    running: dict[tuple[str, str], int] = {}
    exps = ctx.profile.experiments
    for i, e in enumerate(exps):
        key = (e.namespace, e.service)
        if key in running:
            yield ctx.error(ID, ("experiments", i, "service"), f"{e.namespace}/{e.service} is already in experiment "
                            f"{exps[running[key]].name!r}: one experiment per service at a time",
                            "end the other experiment, or compare more versions one pair at a time")
        running.setdefault(key, i)
