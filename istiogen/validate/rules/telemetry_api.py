"""``istio.telemetry`` on a release without the Telemetry API (``telemetry.istio.io``, Istio 1.12 and later)."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "telemetry-api"


def check(ctx: Context) -> Iterator[Problem]:
    if ctx.profile.istio.telemetry is not None and not ctx.release.telemetry_api:
        yield ctx.error(ID, ("istio", "telemetry"), "the Telemetry API needs Istio 1.12 or later "
                        f"(this is {ctx.release.version})")
