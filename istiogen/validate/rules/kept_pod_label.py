"""A kept label (``rules.kept_labels``, ``services[].kept_labels``) that Prometheus adds per scrape target.

The labels of the flavour's ``drop_labels`` (pod, instance, ...) are what the recording rules aggregate away:
keeping one makes every recorded series grow with the number of pods."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "kept-pod-label"


def check(ctx: Context) -> Iterator[Problem]:
    for i, lab in enumerate(ctx.profile.rules.kept_labels):
        if lab in ctx.drop:
            yield ctx.error(ID, ("rules", "kept_labels", i), f"{lab!r} is added per scrape target (pod/instance): "
                            "keeping it makes every series grow with the number of pods",
                            "remove it; aggregation is the point of the rules")
    for i, svc in enumerate(ctx.profile.services):
        for j, lab in enumerate(svc.kept_labels):
            if lab in ctx.drop:
                yield ctx.error(ID, ("services", i, "kept_labels", j), f"{lab!r} is added per scrape target "
                                "(pod/instance): keeping it makes the service's series grow with the number of pods")
