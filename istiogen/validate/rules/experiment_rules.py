"""Experiments without the rules they compare: the ``service_version`` scope and the requests and latency sets."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "experiment-rules"


def check(ctx: Context) -> Iterator[Problem]:
    p = ctx.profile
    if not p.experiments:
        return
    if "service_version" not in p.rules.scopes:
        yield ctx.error(ID, ("rules", "scopes"), "experiments compare versions: add 'service_version'")
    missing = {"requests", "latency"} - set(p.rules.sets)
    if missing:
        yield ctx.error(ID, ("rules", "sets"), f"experiments need the {', '.join(sorted(missing))} rule set(s)")
