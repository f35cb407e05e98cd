"""``sysdig.mode: promscrape-v2`` for an agent older than 10.5.0, which has no ``prom_service_discovery``.

Such an agent would ignore the setting, find no target through ``prometheus.yaml``'s service discovery and
collect nothing istiogen renders for it."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.catalog import sysdig
from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "promscrape-v2-agent"


def check(ctx: Context) -> Iterator[Problem]:
    s = ctx.profile.sysdig
    if s.mode == "promscrape-v2" and sysdig.agent_version(s.agent_version) < sysdig.PROMSCRAPE_V2_FROM:
        v2 = sysdig.shown(sysdig.PROMSCRAPE_V2_FROM)
        yield ctx.error(ID, ("sysdig", "mode"), f"promscrape v2 needs agent {v2} or later (this profile's agent: "
                        f"{s.agent_version})", f"upgrade the agent (agent_version: {v2} or later), or "
                        "mode: promscrape-v1")
