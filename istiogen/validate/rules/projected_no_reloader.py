"""``prometheus.delivery: projected`` chosen for a flavour without a config reloader.

Projected rule files change in the pod without a restart; without a reloader Prometheus only reads them on the
next restart.  (Only when the profile sets the delivery: a flavour's own default is consistent.)"""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "projected-no-reloader"


def check(ctx: Context) -> Iterator[Problem]:
    fl = ctx.flavour
    if ctx.delivery == "projected" and fl.reloader is None and ctx.profile.prometheus.delivery is not None:
        yield ctx.error(ID, ("prometheus", "delivery"), f"flavour {fl.name} has no config reloader: projected "
                        "rules would only load on a restart", "use delivery: mount (a checksum rolls the pod)")
