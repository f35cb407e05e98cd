"""A label named in the profile that is not a standard Istio metric label of its release.

Kept labels (``rules.kept_labels``, ``services[].kept_labels``) outside the release's label set would be
kept from nothing (an error); a label removed at the source (``istio.telemetry.remove_labels``) that the
release does not have removes nothing (a warning).  Labels another rule reports (added per scrape target,
needed by the rules) are left to that rule."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem, did_you_mean
from istiogen.validate.context import Context
from istiogen.validate.rules.label_needed import needed_labels

ID = "unknown-label"


def check(ctx: Context) -> Iterator[Problem]:
    p, labels, version = ctx.profile, ctx.tel.labels, ctx.release.version
    for i, lab in enumerate(p.rules.kept_labels):
        if lab not in ctx.drop and lab not in labels:
            yield ctx.error(ID, ("rules", "kept_labels", i), f"{lab!r} is not a standard Istio {version} metric label",
                            did_you_mean(lab, labels))
    for i, svc in enumerate(p.services):
        for j, lab in enumerate(svc.kept_labels):
            if lab not in ctx.drop and lab not in labels:
                yield ctx.error(ID, ("services", i, "kept_labels", j),
                                f"{lab!r} is not a standard Istio {version} metric label", did_you_mean(lab, labels))
    t = p.istio.telemetry
    if t is not None:
        needed = needed_labels(ctx)
        for i, rm in enumerate(t.remove_labels):
            if rm.label not in needed and rm.label not in labels:
                yield ctx.warning(ID, ("istio", "telemetry", "remove_labels", i, "label"),
                                  f"{rm.label!r} is not a standard Istio {version} metric label",
                                  did_you_mean(rm.label, labels))
