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
            f"rules delivered by `{r.delivery}`, "
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
    b.append(Block("list", items=tuple(f"{i}. {x}" for i, x in enumerate(steps(r), 1))))
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


def steps(r: Resolved) -> list[str]:
    p = r.profile
    f = r.flavour
    ns = p.istio.namespace
    out = ["`./apply.sh --dry-run`, then `./apply.sh`: the steps below, in order."]
    if r.delivery == "helm-values":
        h = p.prometheus.helm
        out.append(f"`helm upgrade {h.release} {h.chart} -n {ns} --reuse-values -f prometheus/helm-values.yaml`: "
                   "the rules go into the chart's `serverFiles` (`recording_rules.yml`, `alerting_rules.yml`), which "
                   "its config already loads; the config reloader applies them without a restart.")
    elif r.delivery == "operator":
        op = p.prometheus.operator
        out.append("`kubectl apply -k operator`: the PrometheusRule, the PodMonitor for sidecars and gateways, the "
                   "ServiceMonitor for istiod and the federation ServiceMonitor. Check that your Prometheus "
                   "resource's rule and monitor selectors match `prometheus.operator.rule_labels` and "
                   "`monitor_labels`.")
        out.append(f"`kubectl -n {op.namespace} patch prometheus {op.prometheus} --type merge --patch-file "
                   "operator/prometheus-patch.merge.json`: pod annotations for the agent"
                   + (", remote write" if p.remote_write is not None else "") + ".")
    else:
        out.append(f"`kubectl apply -f prometheus/rules-configmap.yaml`: the rules ConfigMap "
                   f"`{ns}/{p.prometheus.rules_config_map}`.")
        if r.live_config is None:
            out.append(
                f"Add `{prometheus_config.FRAGMENT_PATH}` to the `{f.config_key}` key of ConfigMap "
                f"`{ns}/{f.config_map}` (`kubectl -n {ns} edit configmap {f.config_map}`): append the paths to "
                "`rule_files`"
                + (", add the `remote_write` entry" if p.remote_write is not None else "") + ". "
                "Or export the ConfigMap, set `prometheus.live_config` in the profile and render again: istiogen "
                "then emits the patched ConfigMap, a diff and an RFC 6902 patch."
            )
        else:
            out.append(
                f"`kubectl -n {ns} patch configmap {f.config_map} --type json --patch-file "
                f"{prometheus_config.JSON_PATH}`: it fails (changing nothing) if the ConfigMap changed since it "
                "was exported. Review `prometheus/prometheus-configmap.diff` first."
            )
        how = (f"mounts the rules at `{p.prometheus.rules_mount_path}` and adds a checksum of the rules so that every "
               "rules change rolls the pod (no manual pod delete)" if r.delivery == "mount" else
               "projects the rules into the config folder the config reloader watches (no restart when they change)")
        out.append(f"`kubectl -n {ns} patch deployment {f.deployment} --patch-file prometheus/deployment-patch.yaml`: "
                   f"{how}, and adds the `prometheus.io/*` annotations the agent uses to find `/federate`.")
    if p.istio.telemetry is not None:
        out.append("`kubectl apply -f istio/telemetry.yaml`: removes the chosen labels at the source.")
    out.append(f"`kubectl -n {p.sysdig.namespace} patch configmap {p.sysdig.config_map} --patch-file "
               "sysdig/sysdig-agent-patch.yaml`: sets only the agent's `prometheus.yaml`.")
    out.append("Merge `sysdig/dragent.yaml` into the agent's `dragent.yaml` (with the Helm chart: `sysdig.settings`, "
               "or use `sysdig/helm-values-*.yaml` when rendered). Do not patch the `dragent.yaml` key: a patch "
               "replaces the whole key.")
    return out


def render(r: Resolved, model: SignalModel, artifacts: list[Artifact]) -> Artifact:
    return Artifact(PATH, "readme", document(r, model, artifacts), "markdown", "this file")
