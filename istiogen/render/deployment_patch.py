"""Patches for the Istio Prometheus Deployment: rules volume, mount, annotations.

Both forms are emitted: a strategic-merge patch (idempotent; ``kubectl patch -p``
or a kustomize patch) and an RFC 6902 patch (``--type json``) that first *tests*
the container's name at the flavour's index, so it fails instead of patching the
wrong container when the Deployment is not shaped as expected.
"""

from __future__ import annotations

from typing import Any

from istiogen.profile.resolve import Resolved
from istiogen.render.artifact import Artifact

STRATEGIC_PATH = "prometheus/deployment-patch.yaml"
JSON_PATH = "prometheus/deployment-patch.json6902.json"
CHECKSUM_ANNOTATION = "istiogen.io/rules-checksum"


def pod_annotations(r: Resolved, checksum: str) -> dict[str, str]:
    ann: dict[str, str] = {}
    if r.profile.prometheus.federation_annotations:
        ann.update(
            {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(r.flavour.port),
                "prometheus.io/path": "/federate",
            }
        )
    if r.flavour.restart_to_load_rules:
        ann[CHECKSUM_ANNOTATION] = f"sha256:{checksum}"
    return ann


def volume(r: Resolved) -> dict[str, Any]:
    p = r.profile.prometheus
    return {"name": p.rules_volume, "configMap": {"name": p.rules_config_map, "defaultMode": 420}}


def mount(r: Resolved) -> dict[str, Any]:
    p = r.profile.prometheus
    return {"name": p.rules_volume, "mountPath": p.rules_mount_path, "readOnly": True}


def strategic(r: Resolved, checksum: str) -> dict[str, Any]:
    ann = pod_annotations(r, checksum)
    template: dict[str, Any] = {}
    if ann:
        template["metadata"] = {"annotations": ann}
    template["spec"] = {
        "containers": [{"name": r.flavour.container, "volumeMounts": [mount(r)]}],
        "volumes": [volume(r)],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": r.flavour.deployment, "namespace": r.profile.istio.namespace},
        "spec": {"template": template},
    }


def _ptr(s: str) -> str:
    return s.replace("~", "~0").replace("/", "~1")


def json6902(r: Resolved, checksum: str) -> list[dict[str, Any]]:
    c = f"/spec/template/spec/containers/{r.flavour.container_index}"
    ops: list[dict[str, Any]] = [
        {"op": "test", "path": f"{c}/name", "value": r.flavour.container},
        {"op": "add", "path": "/spec/template/spec/volumes/-", "value": volume(r)},
        {"op": "add", "path": f"{c}/volumeMounts/-", "value": mount(r)},
    ]
    ann = pod_annotations(r, checksum)
    if ann and r.flavour.template_annotations:
        ops += [
            {"op": "add", "path": f"/spec/template/metadata/annotations/{_ptr(k)}", "value": v}
            for k, v in ann.items()
        ]
    elif ann:
        ops.append({"op": "add", "path": "/spec/template/metadata/annotations", "value": ann})
    return ops


def render(r: Resolved, checksum: str) -> list[Artifact]:
    name = f"{r.profile.istio.namespace}/{r.flavour.deployment}"
    return [
        Artifact(STRATEGIC_PATH, "deployment-patch-strategic", strategic(r, checksum), "yaml",
                 f"strategic-merge patch for Deployment {name} (kubectl patch --patch-file)"),
        Artifact(JSON_PATH, "deployment-patch-json6902", json6902(r, checksum), "json",
                 f"the same as RFC 6902 (kubectl patch --type json); checks container {r.flavour.container!r} "
                 f"is at index {r.flavour.container_index}"),
    ]
