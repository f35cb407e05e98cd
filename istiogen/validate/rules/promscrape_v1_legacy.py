"""The agent runs in promscrape v1 (``process_filter`` discovery), legacy since agent 12.0.0.

Sysdig documents process-filter discovery under "(Legacy) Working with Prometheus Metrics": from agent 12.0.0
Prometheus collection is on by default with promscrape v2 (native service discovery, 10.5.0 and later).  istiogen
renders v1 only when the profile asks for it (``sysdig.mode: promscrape-v1``), or for an agent that predates v2.
On an agent that can run v2 (10.5.0 and later) v1 is a choice, and legacy: a warning says so (the render goes
on).  On an agent the profile says predates v2 (``sysdig.agent_version`` below 10.5.0, set explicitly), v1 is
what that agent runs: nothing to warn about in the profile (the documented 2020 scenario is such a case)."""

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
    if "agent_version" in s.model_fields_set and not sysdig.supports_promscrape_v2(s.agent_version):
        return  # the agent the profile describes runs v1 only
    since = sysdig.shown(sysdig.PROMETHEUS_ON_BY_DEFAULT_FROM)
    agent = f"agent_version {s.agent_version}" + ("" if "agent_version" in s.model_fields_set else ", the default")
    yield ctx.warning(ID, ("sysdig", "mode"), f"promscrape-v1 (process_filter discovery) is deprecated: legacy "
                      f"since agent {since} ({agent})",
                      f"use mode: promscrape-v2 (agent {v2} or later; the agent's default from {since}): targets "
                      "come from prometheus.yaml's kubernetes_sd_configs")
