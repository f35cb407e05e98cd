"""Patches for the Istio Prometheus Deployment: rules volume, mount, annotations.

Both forms are emitted: a strategic-merge patch (idempotent; ``kubectl patch -p``
or a kustomize patch) and an RFC 6902 patch (``--type json``) that first *tests*
the container's name at the flavour's index, so it fails instead of patching the
wrong container when the Deployment is not shaped as expected.

With ``delivery: mount`` the rules ConfigMap is a volume of its own, mounted at
``rules_mount_path``, and a checksum annotation rolls the pod when the rules
change.  With ``delivery: projected`` the config volume becomes a projected volume
holding both the Prometheus ConfigMap and the rules (under ``istiogen/``), so the
addon's config reloader picks up every change: no restart, no checksum.
"""

from __future__ import annotations

from typing import Any

from istiogen.profile.resolve import Resolved
from istiogen.render import dragent
from istiogen.render.artifact import Artifact

STRATEGIC_PATH = "prometheus/deployment-patch.yaml"
JSON_PATH = "prometheus/deployment-patch.json6902.json"
CHECKSUM_ANNOTATION = "istiogen.io/rules-checksum"


def pod_annotations(r: Resolved, checksum: str) -> dict[str, str]:
    ann: dict[str, str] = {}
    if dragent.federation_annotations(r):
        ann.update(
            {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(r.flavour.port),
                "prometheus.io/path": "/federate",
            }
        )
    if r.delivery == "mount" and r.flavour.restart_to_load_rules:
        ann[CHECKSUM_ANNOTATION] = f"sha256:{checksum}"
    return ann


def projected_volume(r: Resolved) -> dict[str, Any]:
    """The config volume, holding the Prometheus ConfigMap and, under istiogen/, the rules."""
    from istiogen.render.rules_configmap import PROJECTED_DIR

    p = r.profile.prometheus
    keys = sorted({p.rules_key, "alerts.yaml"})
    return {
        "name": r.flavour.config_volume,
        "configMap": None,  # strategic merge: drop the plain configMap source
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"configMap": {"name": r.flavour.config_map}},
                {"configMap": {"name": p.rules_config_map,
                               "items": [{"key": k, "path": f"{PROJECTED_DIR}/{k}"} for k in keys]}},
            ],
        },
    }


def volume(r: Resolved) -> dict[str, Any]:
    p = r.profile.prometheus
    return {"name": p.rules_volume, "configMap": {"name": p.rules_config_map, "defaultMode": 420}}


def mount(r: Resolved) -> dict[str, Any]:
    p = r.profile.prometheus
    return {"name": p.rules_volume, "mountPath": p.rules_mount_path, "readOnly": True}


def volumes_and_mounts(r: Resolved) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from istiogen.render import remote_write

    if r.delivery == "projected":
        vols, mounts = [projected_volume(r)], []
    else:
        vols, mounts = [volume(r)], [mount(r)]
    rw_vol, rw_mount = remote_write.volume(r), remote_write.mount(r)
    if rw_vol and rw_mount:
        vols.append(rw_vol)
        mounts.append(rw_mount)
    return vols, mounts


def strategic(r: Resolved, checksum: str) -> dict[str, Any]:
    ann = pod_annotations(r, checksum)
    template: dict[str, Any] = {}
    if ann:
        template["metadata"] = {"annotations": ann}
    vols, mounts = volumes_and_mounts(r)
    spec: dict[str, Any] = {}
    if mounts:
        spec["containers"] = [{"name": r.flavour.container, "volumeMounts": mounts}]
    spec["volumes"] = vols
    template["spec"] = spec
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": r.flavour.deployment, "namespace": r.profile.istio.namespace},
        "spec": {"template": template},
    }


def _ptr(s: str) -> str:
    return s.replace("~", "~0").replace("/", "~1")


CONFIG_VOLUME_INDEX = 0


def json6902(r: Resolved, checksum: str) -> list[dict[str, Any]]:
    c = f"/spec/template/spec/containers/{r.flavour.container_index}"
    vols, mounts = volumes_and_mounts(r)
    ops: list[dict[str, Any]] = [{"op": "test", "path": f"{c}/name", "value": r.flavour.container}]
    if r.delivery == "projected":
        first, *vols = vols
        first = {k: v for k, v in first.items() if v is not None}
        v0 = f"/spec/template/spec/volumes/{CONFIG_VOLUME_INDEX}"
        ops += [{"op": "test", "path": f"{v0}/name", "value": r.flavour.config_volume},
                {"op": "replace", "path": v0, "value": first}]
    ops += [{"op": "add", "path": "/spec/template/spec/volumes/-", "value": v} for v in vols]
    ops += [{"op": "add", "path": f"{c}/volumeMounts/-", "value": m} for m in mounts]
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
                 f"is at index {r.flavour.container_index}"
                 + (f" and volume {r.flavour.config_volume!r} at index {CONFIG_VOLUME_INDEX}"
                    if r.delivery == "projected" else "")),
    ]
