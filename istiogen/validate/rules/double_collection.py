"""The recorded series both remote-written (``remote_write.enabled``) and federated by the agent
(``sysdig.federation``): Sysdig would ingest them twice (a warning).

No check for sidecars scraped twice: the rendered agent config prevents it (see render/dragent.py and
render/agent_patch.py): envoy is skipped where its stats are merged, and the raw istio_* are dropped from
sidecar scrapes whenever the records reach Sysdig."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "double-collection"


def check(ctx: Context) -> Iterator[Problem]:
    rw = ctx.profile.remote_write
    if rw is not None and rw.enabled and ctx.profile.sysdig.federation:
        yield ctx.warning(ID, ("remote_write", "enabled"), "the recorded series are both remote-written and "
                          "federated by the agent: they would be ingested twice", "set sysdig.federation: false")
