"""A ``cluster.label`` the recorded series already carry: Prometheus adds an external label only to series
without it, so the cluster would not be told apart."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "cluster-label-taken"


def check(ctx: Context) -> Iterator[Problem]:
    p, c = ctx.profile, ctx.profile.cluster
    if c is None:
        return
    taken = {**dict.fromkeys(p.rules.federation_label, "the federation label"),
             **dict.fromkeys(ctx.tel.labels, "an Istio metric label"),
             **dict.fromkeys(p.rules.kept_labels, "a kept label"), "le": "a histogram bound label",
             "response_class": "a label of the recorded series"}
    if c.label in taken:
        yield ctx.error(ID, ("cluster", "label"), f"{c.label!r} is {taken[c.label]}: the recorded series carry it, "
                        "and Prometheus adds an external label only to series without it", "e.g. label: cluster")
