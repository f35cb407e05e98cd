"""A ``prometheus.live_config`` with a delivery that does not go through the Prometheus ConfigMap (a warning:
the export is read for nothing)."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "live-config-ignored"


def check(ctx: Context) -> Iterator[Problem]:
    if ctx.delivery in ("helm-values", "operator") and ctx.profile.prometheus.live_config is not None:
        yield ctx.warning(ID, ("prometheus", "live_config"), f"ignored with delivery {ctx.delivery}: the rules do "
                          "not go through the Prometheus ConfigMap")
