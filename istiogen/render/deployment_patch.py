"""Patches for the Istio Prometheus Deployment: rules volume, mount, annotations.

Both forms are emitted: a strategic-merge patch (idempotent; ``kubectl patch -p``
or a kustomize patch) and an RFC 6902 patch (``--type json``) that first *tests*
the container's name at the flavour's index, so it fails instead of patching the
wrong container when the Deployment is not shaped as expected.

With ``delivery: mount`` the rules ConfigMap is a volume of its own, mounted at
``rules_mount_path``, and a checksum annotation rolls the pod when the rules
change.  With ``delivery: projected`` the config volume becomes a projected volume
holding both the Prometheus ConfigMap and the rules, so the addon's config reloader
picks up every change: no restart, no checksum.  On the samples addons the rules
take the places of the ``rules`` and ``alerts`` placeholders its config already
loads, so ``prometheus.yml`` needs no edit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jsonpointer

from istiogen.profile.resolve import Resolved
from istiogen.registry import Artifact
from istiogen.render import dragent

if TYPE_CHECKING:
    from istiogen.render.context import Context

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
    """The config volume, holding the Prometheus ConfigMap and the rules.

    Each source lists the keys it projects, so no two write the same file: where the rules take
    the places of the addon's ``rules``/``alerts`` placeholders, the addon's ConfigMap projects its
    config and its other rule files (and, with ``prometheus.live_config``, every other key it has).
    """
    from istiogen.render.rules_configmap import projected_paths

    p = r.profile.prometheus
    f = r.flavour
    ours = projected_paths(r)
    cm: dict[str, Any] = {"name": f.config_map}
    if f.rule_slots is not None:
        others = r.live_config.keys if r.live_config is not None else f.config_rule_files
        kept = [k for k in dict.fromkeys([f.config_key, *others]) if k not in f.rule_slots]
        cm["items"] = [{"key": k, "path": k} for k in kept]
    return {
        "name": f.config_volume,
        "configMap": None,  # strategic merge: drop the plain configMap source
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"configMap": cm},
                {"configMap": {"name": p.rules_config_map,
                               "items": [{"key": k, "path": path} for k, path in sorted(ours.items())]}},
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
                {"op": "test", "path": f"{v0}/configMap/name", "value": r.flavour.config_map},
                {"op": "replace", "path": v0, "value": first}]
    ops += [{"op": "add", "path": "/spec/template/spec/volumes/-", "value": v} for v in vols]
    ops += [{"op": "add", "path": f"{c}/volumeMounts/-", "value": m} for m in mounts]
    ops += annotation_ops(pod_annotations(r, checksum), r.flavour.template_annotations)
    return ops


ANNOTATIONS = "/spec/template/metadata/annotations"


def annotation_ops(ann: dict[str, str], base_has_annotations: bool) -> list[dict[str, Any]]:
    """One ``add`` per annotation, so the pod template's other annotations (a
    ``kubectl.kubernetes.io/restartedAt``, say) stay, as with the strategic patch.

    RFC 6902 cannot add to a map that is absent, nor test that a member is absent, so the map is
    created only for a flavour whose pod template has none, after a ``test`` that it is null.
    Kubernetes' json-patch (kubectl, the API server, kustomize) reads a missing member as null, so
    the test passes where the map is absent; where it exists, the test fails and the patch changes
    nothing instead of replacing it (set ``prometheus.template_annotations: true`` for such a
    Deployment, or use the strategic patch).
    """
    if not ann:
        return []
    ops: list[dict[str, Any]] = []
    if not base_has_annotations:
        ops += [{"op": "test", "path": ANNOTATIONS, "value": None}, {"op": "add", "path": ANNOTATIONS, "value": {}}]
    ops += [{"op": "add", "path": f"{ANNOTATIONS}/{jsonpointer.escape(k)}", "value": v} for k, v in ann.items()]
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


def artifacts(ctx: Context) -> list[Artifact]:
    """The patches, carrying the checksum of the rules ConfigMap and the config change (a change to either
    rolls the pods)."""
    if ctx.r.delivery not in ("mount", "projected"):
        return []
    import hashlib

    digest = hashlib.sha256()
    for a in (*ctx.of_step("rules_configmap"), *ctx.of_step("prometheus_config")):
        digest.update(ctx.text(a))
    return render(ctx.r, digest.hexdigest())
