"""The ConfigMap holding the rule files, mounted into the Istio Prometheus."""

from __future__ import annotations

from typing import Any

from istiogen.profile.resolve import Resolved
from istiogen.render.artifact import Artifact

PATH = "prometheus/rules-configmap.yaml"
ALERTS_KEY = "alerts.yaml"


def labels(r: Resolved) -> dict[str, str]:
    return {"app.kubernetes.io/managed-by": "istiogen", "istiogen.io/profile": r.name}


def configmap(r: Resolved, files: dict[str, str]) -> dict[str, Any]:
    """``files``: ConfigMap key -> file text (the rule files exactly as written to disk)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": r.profile.prometheus.rules_config_map,
            "namespace": r.profile.istio.namespace,
            "labels": labels(r),
        },
        "data": dict(sorted(files.items())),
    }


def render(r: Resolved, files: dict[str, str]) -> Artifact:
    return Artifact(PATH, "prometheus-rules-configmap", configmap(r, files), "yaml",
                    f"ConfigMap {r.profile.prometheus.rules_config_map} with the rule files "
                    f"(kubectl apply -f)")


PROJECTED_DIR = "istiogen"


def rule_paths(r: Resolved, keys: list[str]) -> list[str]:
    """Where Prometheus finds the rule files: under the mount, or inside the reloaded config folder."""
    if r.delivery == "projected":
        config_dir = r.flavour.config_path.rsplit("/", 1)[0]
        return [f"{config_dir}/{PROJECTED_DIR}/{k}" for k in sorted(keys)]
    mount = r.profile.prometheus.rules_mount_path.rstrip("/")
    return [f"{mount}/{k}" for k in sorted(keys)]
