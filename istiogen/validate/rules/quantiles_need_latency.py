"""Precomputed quantiles (``rules.quantiles``) without the ``latency`` rule set they are computed from."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "quantiles-need-latency"


def check(ctx: Context) -> Iterator[Problem]:
    if ctx.profile.rules.quantiles and "latency" not in ctx.profile.rules.sets:
        yield ctx.error(ID, ("rules", "quantiles"), "precomputed quantiles need the 'latency' rule set",
                        "add latency to rules.sets, or remove rules.quantiles")
