"""Helm values for the Sysdig agent: the ``agent`` chart and ``sysdig-deploy`` (keys under ``agent:``).

``sysdig.settings`` carries the dragent.yaml settings; ``prometheus.file: true``
makes the chart write ``prometheus.yaml``, given as a map (never a string).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from istiogen.profile.resolve import Resolved
from istiogen.registry import Artifact
from istiogen.render import agent_patch, dragent
from istiogen.render.model import SignalModel

if TYPE_CHECKING:
    from istiogen.render.context import Context

PATHS = {"agent": "sysdig/helm-values-agent.yaml", "sysdig-deploy": "sysdig/helm-values-sysdig-deploy.yaml"}


def agent_values(r: Resolved, model: SignalModel) -> dict[str, Any]:
    return {
        "sysdig": {"settings": dragent.dragent(r)},
        "prometheus": {"file": True, "yaml": agent_patch.prometheus_yaml(r, model)},
    }


def render(r: Resolved, model: SignalModel) -> list[Artifact]:
    out = []
    for chart in r.profile.sysdig.helm_values:
        values = agent_values(r, model)
        if chart == "sysdig-deploy":
            values = {"agent": values}
        out.append(Artifact(PATHS[chart], "sysdig-helm-values", values, "yaml",
                            f"values for the {chart} chart: sysdig.settings and prometheus.yaml (as a map)"))
    return out


def artifacts(ctx: Context) -> list[Artifact]:
    return render(ctx.r, ctx.model)
