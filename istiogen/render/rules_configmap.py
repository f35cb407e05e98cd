"""The ConfigMap holding the rule files, mounted into the Istio Prometheus."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from istiogen.profile.resolve import Resolved
from istiogen.registry import Artifact

if TYPE_CHECKING:
    from istiogen.render.context import Context

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


def projected_paths(r: Resolved) -> dict[str, str]:
    """Rules ConfigMap key -> its path in the config folder, with ``delivery: projected``.

    Where the flavour's stock config already loads two rule files of that folder (the samples
    addon's ``rules`` and ``alerts`` placeholders), the rules take their places, so the config
    needs no edit; otherwise they go under ``istiogen/``, to be added to ``rule_files``.
    """
    rules_key = r.profile.prometheus.rules_key
    slots = r.flavour.rule_slots
    if slots is not None:
        return {rules_key: slots[0], ALERTS_KEY: slots[1]}
    return {k: f"{PROJECTED_DIR}/{k}" for k in sorted({rules_key, ALERTS_KEY})}


def config_dir(r: Resolved) -> str:
    return r.flavour.config_path.rsplit("/", 1)[0]


def rule_paths(r: Resolved, keys: list[str]) -> list[str]:
    """Where Prometheus finds the rule files: under the mount, or inside the reloaded config folder."""
    if r.delivery == "projected":
        paths = projected_paths(r)
        return sorted(f"{config_dir(r)}/{paths[k]}" for k in keys)
    mount = r.profile.prometheus.rules_mount_path.rstrip("/")
    return [f"{mount}/{k}" for k in sorted(keys)]


def stock_rule_paths(r: Resolved) -> list[str]:
    """The rule files the flavour's stock config already loads (absolute paths)."""
    return [f"{config_dir(r)}/{f}" for f in r.flavour.config_rule_files]


def artifacts(ctx: Context) -> list[Artifact]:
    """The ConfigMap holding the rule files, where Prometheus mounts them (mount and projected delivery)."""
    r = ctx.r
    if r.delivery not in ("mount", "projected"):
        return []
    from istiogen.render import rules

    keys = {rules.RULES_PATH: r.profile.prometheus.rules_key, rules.ALERTS_PATH: ALERTS_KEY}
    files = {keys[a.path]: ctx.text(a).decode() for a in ctx.of_step("rules") if a.path in keys}
    ctx.rule_files = rule_paths(r, list(files))
    return [render(r, files)]
