"""An experiment whose baseline and candidate are one version: there is nothing to compare."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "same-versions"


def check(ctx: Context) -> Iterator[Problem]:
    for i, e in enumerate(ctx.profile.experiments):
        if e.baseline == e.candidate:
            yield ctx.error(ID, ("experiments", i, "candidate"), f"baseline and candidate are both {e.baseline!r}")
