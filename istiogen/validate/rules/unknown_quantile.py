"""A precomputed quantile (``rules.quantiles``) that the signal catalog does not define (0.5, 0.95, 0.99)."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "unknown-quantile"


def check(ctx: Context) -> Iterator[Problem]:
    for i, qt in enumerate(ctx.profile.rules.quantiles):
        if qt not in (0.5, 0.95, 0.99):
            yield ctx.error(ID, ("rules", "quantiles", i), f"{qt:g} is not a latency quantile of the signal catalog",
                            "0.5, 0.95 or 0.99; any other is computable from the federated bucket rates")
