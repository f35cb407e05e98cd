"""Helm values for the Sysdig agent, per chart: ``agent``, ``sysdig-deploy`` (the agent's keys under ``agent:``)
and ``shield`` (sysdiglabs/charts, the newer chart of the agent and its other components).

agent and sysdig-deploy: ``sysdig.settings`` carries the dragent.yaml settings; ``prometheus.file: true`` makes
the chart write ``prometheus.yaml``, given as a map (never a string).  shield: ``features.monitor.prometheus``
switches Prometheus collection on (``enabled``) and its ``prometheus_yaml`` (a map) is written as the host
ConfigMap's ``prometheus.yaml``; the dragent.yaml settings go to ``host.additional_settings``, which the chart
merges over the dragent.yaml it renders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from istiogen.catalog import sysdig
from istiogen.profile.resolve import Resolved
from istiogen.registry import Artifact
from istiogen.render import agent_patch, dragent
from istiogen.render.model import SignalModel

if TYPE_CHECKING:
    from istiogen.render.context import Context

PATHS = {"agent": "sysdig/helm-values-agent.yaml", "sysdig-deploy": "sysdig/helm-values-sysdig-deploy.yaml",
         "shield": "sysdig/helm-values-shield.yaml"}


def agent_values(r: Resolved, model: SignalModel) -> dict[str, Any]:
    return {
        "sysdig": {"settings": dragent.dragent(r)},
        "prometheus": {"file": True, "yaml": agent_patch.prometheus_yaml(r, model)},
    }


def _nest(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    for key in reversed(path[1:]):
        value = {key: value}
    return {path[0]: value}


def shield_values(r: Resolved, model: SignalModel) -> dict[str, Any]:
    prom = {"enabled": True, "prometheus_yaml": agent_patch.prometheus_yaml(r, model)}
    return {**_nest(sysdig.SHIELD_PROMETHEUS, prom), **_nest(sysdig.SHIELD_SETTINGS, dragent.dragent(r))}


def render(r: Resolved, model: SignalModel) -> list[Artifact]:
    out = []
    for chart in r.profile.sysdig.helm_values:
        if chart == "shield":
            out.append(Artifact(PATHS[chart], "sysdig-shield-values", shield_values(r, model), "yaml",
                                "values for the shield chart: features.monitor.prometheus (prometheus_yaml as a "
                                "map) and the dragent.yaml settings in host.additional_settings"))
            continue
        values = agent_values(r, model)
        if chart == "sysdig-deploy":
            values = {"agent": values}
        out.append(Artifact(PATHS[chart], "sysdig-helm-values", values, "yaml",
                            f"values for the {chart} chart: sysdig.settings and prometheus.yaml (as a map)"))
    return out


def artifacts(ctx: Context) -> list[Artifact]:
    return render(ctx.r, ctx.model)
