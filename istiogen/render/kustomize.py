"""A kustomize overlay for the Prometheus side: rules ConfigMap plus the Deployment patch.

Without ``prometheus.kustomize.base`` it is a kustomize *Component* (include it
with ``components:`` from the kustomization that holds your Istio Prometheus);
with a base it is a plain overlay over that base.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any

from istiogen.profile.resolve import Resolved
from istiogen.registry import Artifact
from istiogen.render import deployment_patch, prometheus_config, rules_configmap

if TYPE_CHECKING:
    from istiogen.render.context import Context

PATH = "prometheus/kustomization.yaml"


def kustomization(r: Resolved) -> dict[str, Any]:
    here = posixpath.dirname(PATH)
    base = r.profile.prometheus.kustomize.base
    resources = [posixpath.relpath(rules_configmap.PATH, here)]
    patches: list[dict[str, Any]] = [{"path": posixpath.relpath(deployment_patch.STRATEGIC_PATH, here)}]
    if r.live_config is not None:
        patches.append({"path": posixpath.relpath(prometheus_config.CONFIGMAP_PATH, here)})
    if base is None:
        return {
            "apiVersion": "kustomize.config.k8s.io/v1alpha1",
            "kind": "Component",
            "resources": resources,
            "patches": patches,
        }
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [base, *resources],
        "patches": patches,
    }


def render(r: Resolved) -> Artifact:
    kind = "Component" if r.profile.prometheus.kustomize.base is None else "overlay"
    return Artifact(PATH, "kustomization", kustomization(r), "yaml",
                    f"kustomize {kind}: the rules ConfigMap and the Deployment patch")


def artifacts(ctx: Context) -> list[Artifact]:
    return [render(ctx.r)] if ctx.r.delivery in ("mount", "projected") else []
