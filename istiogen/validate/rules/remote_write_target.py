"""``remote_write`` names its endpoint once: ``url``, or ``sysdig_region`` (the region's Sysdig endpoint).

Both would leave which one is meant to chance; neither leaves nowhere to write.  Sysdig's remote write takes a
bearer token (a Sysdig API token), so ``sysdig_region`` with another ``auth`` is refused too."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.catalog import sysdig
from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "remote-write-target"


def check(ctx: Context) -> Iterator[Problem]:
    rw = ctx.profile.remote_write
    if rw is None:
        return
    if rw.url is None and rw.sysdig_region is None:
        yield ctx.error(ID, ("remote_write",), "no endpoint: set url, or sysdig_region for Sysdig Monitor",
                        "sysdig_region: " + " | ".join(sysdig.REGION_NAMES))
    elif rw.url is not None and rw.sysdig_region is not None:
        yield ctx.error(ID, ("remote_write", "url"), f"both url and sysdig_region ({rw.sysdig_region}) are set",
                        f"keep one: sysdig_region writes to {sysdig.remote_write_url(rw.sysdig_region)}")
    elif rw.sysdig_region is not None and rw.auth != "bearer":
        yield ctx.error(ID, ("remote_write", "auth"), f"Sysdig's remote write takes a bearer token, not {rw.auth} "
                        "auth", "auth: bearer, with secret holding a Sysdig API token (not the agent access key)")
