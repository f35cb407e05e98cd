"""README.md of a rendered tree: what each file is and the order to apply them."""

from __future__ import annotations

from istiogen.profile.resolve import Resolved
from istiogen.render import prometheus_config
from istiogen.render.artifact import Artifact, Block, Document
from istiogen.render.model import SignalModel

PATH = "README.md"


def document(r: Resolved, model: SignalModel, artifacts: list[Artifact]) -> Document:
    p = r.profile
    f = r.flavour
    b: list[Block] = [
        Block("heading", f"istiogen output for profile `{p.name}`", level=1),
    ]
    if p.description:
        b.append(Block("paragraph", p.description))
    b.append(
        Block(
            "paragraph",
            f"Istio {r.release.version} (telemetry {r.release.telemetry.name}), Prometheus flavour "
            f"`{f.name}` (Deployment `{p.istio.namespace}/{f.deployment}`, container `{f.container}`), "
            f"Sysdig agent `{p.sysdig.mode}` in `{p.sysdig.namespace}`. "
            f"{len(model.rules)} recording rules, {len(model.federated_records)} federated record names, "
            f"{len(model.alerts)} alerts, {len(model.queries)} catalogued queries.",
        )
    )
    b.append(Block("heading", "Files"))
    rows: list[tuple[str, ...]] = [("file", "kind", "what")]
    for a in sorted(artifacts, key=lambda x: x.path):
        rows.append((f"`{a.path}`", a.kind, a.summary))
    rows.append(("`index.json`", "index", "every file's kind and sha256"))
    b.append(Block("table", rows=tuple(rows)))
    b.append(Block("heading", "Apply, in this order"))
    steps = [
        "`./apply.sh --dry-run`, then `./apply.sh`: the steps below, with kubectl.",
        f"`kubectl apply -f prometheus/rules-configmap.yaml`: the rules ConfigMap "
        f"`{p.istio.namespace}/{p.prometheus.rules_config_map}`.",
    ]
    if r.live_config is None:
        steps.append(
            f"Add `{prometheus_config.FRAGMENT_PATH}` to the `{f.config_key}` key of ConfigMap "
            f"`{p.istio.namespace}/{f.config_map}` (`kubectl -n {p.istio.namespace} edit configmap {f.config_map}`): "
            "append the paths to `rule_files` and set `global.evaluation_interval` if it is missing. "
            "Or export the ConfigMap, set `prometheus.live_config` in the profile and render again: "
            "istiogen then emits the patched ConfigMap, a diff and an RFC 6902 patch."
        )
    else:
        steps.append(
            f"`kubectl -n {p.istio.namespace} patch configmap {f.config_map} --type json --patch-file "
            f"{prometheus_config.JSON_PATH}`: adds `rule_files`; it fails (changing nothing) if the ConfigMap "
            "changed since it was exported. Review `prometheus/prometheus-configmap.diff` first."
        )
    steps.append(
        f"`kubectl -n {p.istio.namespace} patch deployment {f.deployment} --patch-file "
        "prometheus/deployment-patch.yaml`: mounts the rules at "
        f"`{p.prometheus.rules_mount_path}`, adds the `prometheus.io/*` annotations the agent uses to find "
        "`/federate`"
        + (", and a checksum of the rules so that every rules change rolls the pod (no manual pod delete)."
           if f.restart_to_load_rules else ".")
    )
    steps.append(
        f"`kubectl -n {p.sysdig.namespace} patch configmap {p.sysdig.config_map} --patch-file "
        "sysdig/sysdig-agent-patch.yaml`: sets only the agent's `prometheus.yaml` (the federation job)."
    )
    steps.append(
        "Merge `sysdig/dragent.yaml` into the agent's `dragent.yaml` (with the Helm chart: `sysdig.settings`). "
        "Do not patch the `dragent.yaml` key: a patch replaces the whole key."
    )
    b.append(Block("list", items=tuple(f"{i}. {s}" for i, s in enumerate(steps, 1))))
    b.append(
        Block(
            "paragraph",
            "With kustomize, include `prometheus/` (a Component, or an overlay when the profile sets "
            "`prometheus.kustomize.base`) instead of steps 2 and 4.",
        )
    )
    b.append(Block("heading", "What is federated"))
    b.append(
        Block(
            "paragraph",
            "The agent's federation job asks `/federate` for exactly these series (each recorded rule "
            f"carries `{', '.join(f'{k}={v}' for k, v in model.federation_label)}`):",
        )
    )
    b.append(Block("code", "\n".join(model.match_selectors()), lang="text"))
    if r.warnings:
        b.append(Block("heading", "Warnings"))
        b.append(Block("list", items=tuple(f"`{w.path}`: {w.message}" for w in r.warnings)))
    return Document(tuple(b))


def render(r: Resolved, model: SignalModel, artifacts: list[Artifact]) -> Artifact:
    return Artifact(PATH, "readme", document(r, model, artifacts), "markdown", "this file")
