"""An experiment on a service that ``services`` does not declare (its versions are read from there)."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem, did_you_mean
from istiogen.validate.context import Context

ID = "unknown-service"


def check(ctx: Context) -> Iterator[Problem]:
    declared = [f"{s.namespace}/{s.name}" for s in ctx.profile.services]
    for i, e in enumerate(ctx.profile.experiments):
        key = f"{e.namespace}/{e.service}"
        if key not in declared:
            yield ctx.error(ID, ("experiments", i, "service"), f"service {key} is not declared in services",
                            did_you_mean(key, declared) or f"add it: services: [{{name: {e.service}, namespace: "
                            f"{e.namespace}, versions: [{e.baseline}, {e.candidate}]}}]")
