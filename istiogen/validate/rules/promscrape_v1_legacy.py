"""The agent runs in promscrape v1 (``process_filter`` discovery), legacy since agent 12.0.0.

Sysdig documents process-filter discovery under "(Legacy) Working with Prometheus Metrics": from agent 12.0.0
Prometheus collection is on by default with promscrape v2 (native service discovery, 10.5.0 and later).  istiogen
renders v1 only when the profile asks for it (``sysdig.mode: promscrape-v1``), or for an agent that predates v2;
either way it says so, as a warning: the render goes on."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.catalog import sysdig
from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "promscrape-v1-legacy"


def check(ctx: Context) -> Iterator[Problem]:
    s = ctx.profile.sysdig
    if ctx.sysdig_mode != "promscrape-v1":
        return
    v2 = sysdig.shown(sysdig.PROMSCRAPE_V2_FROM)
    if s.mode is None:  # the default of an agent older than v2
        yield ctx.warning(ID, ("sysdig", "agent_version"), f"agent {s.agent_version} predates promscrape v2 "
                          f"({v2}): rendering the legacy promscrape v1 (process_filter)",
                          f"upgrade the agent to {v2} or later and use mode: promscrape-v2")
        return
    since = sysdig.shown(sysdig.PROMETHEUS_ON_BY_DEFAULT_FROM)
    agent = f"agent_version {s.agent_version}" + ("" if "agent_version" in s.model_fields_set else ", the default")
    yield ctx.warning(ID, ("sysdig", "mode"), f"promscrape-v1 (process_filter discovery) is deprecated: legacy "
                      f"since agent {since} ({agent})",
                      f"use mode: promscrape-v2 (agent {v2} or later; the agent's default from {since}): targets "
                      "come from prometheus.yaml's kubernetes_sd_configs")
