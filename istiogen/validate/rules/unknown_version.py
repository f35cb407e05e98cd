"""An experiment's baseline or candidate that its service's ``versions`` do not list (when it lists any)."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem, did_you_mean
from istiogen.validate.context import Context

ID = "unknown-version"


def check(ctx: Context) -> Iterator[Problem]:
    declared = {(s.namespace, s.name): s for s in ctx.profile.services}
    for i, e in enumerate(ctx.profile.experiments):
        svc = declared.get((e.namespace, e.service))
        if svc is None or not svc.versions:  # an undeclared service is unknown-service's
            continue
        for role in ("baseline", "candidate"):
            version = getattr(e, role)
            if version not in svc.versions:
                yield ctx.error(ID, ("experiments", i, role), f"{e.namespace}/{e.service} declares no version "
                                f"{version!r} (its versions: {', '.join(svc.versions)})",
                                did_you_mean(version, svc.versions) or "add it to the service's versions")
