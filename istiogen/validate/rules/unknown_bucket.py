"""A kept histogram bound (``rules.latency_buckets``, ``rules.size_buckets``) the release does not emit.

The rules keep bucket rates by ``le``: a bound the Istio release's histogram lacks would keep nothing."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "unknown-bucket"


def bound(x: float) -> str:
    """A histogram bound as written in a profile: ``1800000``, ``0.005`` (never ``1.8e+06``)."""
    return f"{x:.15g}" if abs(x) < 1e15 else f"{x:g}"


def check(ctx: Context) -> Iterator[Problem]:
    for key, buckets in (("latency_buckets", ctx.tel.duration_buckets), ("size_buckets", ctx.tel.size_buckets)):
        known = {float(x) for x in buckets}
        for i, b in enumerate(getattr(ctx.profile.rules, key) or []):
            if float(b) not in known:
                yield ctx.error(ID, ("rules", key, i), f"{bound(b)} is not a histogram bound of Istio "
                                f"{ctx.release.version}", "bounds: " + ", ".join(bound(x) for x in buckets))
