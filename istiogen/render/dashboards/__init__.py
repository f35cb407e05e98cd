"""Dashboards (Grafana and Sysdig Monitor) built from the query catalog.

:mod:`.build` describes each dashboard once, format-neutrally, from the signal
model's query catalog; :mod:`.grafana` and :mod:`.sysdig` turn a description
into the data of a JSON file.  ``dashboards.grafana`` / ``dashboards.sysdig`` in
the profile choose the formats.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from istiogen.profile.resolve import Resolved
from istiogen.registry import Artifact
from istiogen.render.model import SignalModel

if TYPE_CHECKING:
    from istiogen.render.context import Context

GRAFANA_DIR = "dashboards/grafana"
SYSDIG_DIR = "dashboards/sysdig"


def render(r: Resolved, model: SignalModel) -> list[Artifact]:
    flags = r.profile.dashboards
    if not (flags.grafana or flags.sysdig):
        return []
    from istiogen.render.dashboards import build, grafana, sysdig

    arts: list[Artifact] = []
    for d in build.build(r, model):
        n = len(d.panels)
        if flags.grafana:
            arts.append(Artifact(f"{GRAFANA_DIR}/{d.name}.json", "grafana-dashboard", grafana.dashboard(d, r.name),
                                 "json", f"Grafana dashboard: {d.title}; {n} panels"))
        if flags.sysdig:
            arts.append(Artifact(f"{SYSDIG_DIR}/{d.name}.json", "sysdig-dashboard", sysdig.dashboard(d), "json",
                                 f"Sysdig Monitor dashboard: {d.title}; {n} panels"))
    return arts


def artifacts(ctx: Context) -> list[Artifact]:
    return render(ctx.r, ctx.model)
