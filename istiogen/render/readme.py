"""README.md of a rendered tree: what each file is and the order to apply them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from istiogen.catalog import istio as istio_catalog
from istiogen.profile.resolve import Resolved
from istiogen.registry import Artifact, Block, Document
from istiogen.render import alertmanager, dataplane, dragent, estimate, prometheus_config, sysdig_alerts
from istiogen.render.estimate import ASSUMPTIONS, Estimate
from istiogen.render.model import SignalModel

if TYPE_CHECKING:
    from istiogen.render.context import Context

PATH = "README.md"


def document(r: Resolved, model: SignalModel, artifacts: list[Artifact], est: Estimate) -> Document:
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
            f"Sysdig agent `{r.sysdig_mode}` in `{p.sysdig.namespace}`. "
            f"{len(model.rules)} recording rules, {len(model.federated_records)} federated record names, "
            f"{len(model.alerts)} alerts, {len(model.queries)} catalogued queries.",
        )
    )
    b += release_notes(r) + data_planes(r)
    b.append(Block("heading", "Files"))
    rows: list[tuple[str, ...]] = [("file", "kind", "what")]
    for a in sorted(artifacts, key=lambda x: x.path):
        rows.append((f"`{a.path}`", a.kind, a.summary))
    rows.append(("`index.json`", "index", "every file's kind and sha256"))
    b.append(Block("table", rows=tuple(rows)))
    b.append(Block("heading", "Apply, in this order"))
    b.append(Block("list", items=tuple(f"{i}. {x}" for i, x in enumerate(steps(r, artifacts), 1))))
    b.append(Block("heading", "What is federated"))
    b.append(
        Block(
            "paragraph",
            "The agent's federation job asks `/federate` for exactly these series (each recorded rule "
            f"carries `{', '.join(f'{k}={v}' for k, v in model.federation_label)}`):",
        )
    )
    b.append(Block("code", "\n".join(model.match_selectors()), lang="text"))
    b += budget(r, est)
    warnings = [*r.warnings, *estimate.problems(r, est)]
    if warnings:
        b.append(Block("heading", "Warnings"))
        b.append(Block("list", items=tuple(f"`{w.path}`: {w.message}" for w in warnings)))
    return Document(tuple(b))


def release_notes(r: Resolved) -> list[Block]:
    """What this Istio release changes for monitoring (the catalog's data entry, 1.24 onwards)."""
    n = istio_catalog.notes(r.release.version)
    if n is None:
        return []
    items = [f"Released {n.date}; its samples addon runs Prometheus {n.addon_prometheus}"
             + (" (Prometheus 3: the rules match `le` and `quantile` in both text forms)" if n.prometheus_major >= 3
                else "") + ".", *n.changes]
    return [Block("heading", f"Istio {r.release.version}"), Block("list", items=tuple(items))]


def data_planes(r: Resolved) -> list[Block]:
    pl = dataplane.planes(r.profile)
    if not pl.ambient:
        return []
    text = {"sidecar": "sidecar: L7 (requests, errors, latency) and L4 from the pods' Envoy",
            "waypoint": "ambient behind a waypoint: L7 from the waypoint (and the sidecar callers that bypass it), "
                        "no L4 of its own",
            "ambient": "ambient, no waypoint: **L4 only** (ztunnel: connections, bytes, failure flags)"}
    rows: list[tuple[str, ...]] = [("namespace", "service", "data plane")]
    rows.append(("every other", "", text[pl.default]))
    for e in pl.entries:
        rows.append((e.namespace, e.service or "(all)",
                     text[e.cls] + (f" `{'/'.join(e.waypoint)}`" if e.waypoint else "")))
    return [Block("heading", "Data planes"),
            Block("paragraph", "ztunnel's health per node is in the control-plane rules and the ztunnel dashboard; "
                  "queries.yaml lists which signals answer for each data plane."),
            Block("table", rows=tuple(rows))]


def budget(r: Resolved, est: Estimate) -> list[Block]:
    s = r.profile.sysdig
    lim = s.limits
    if s.federation:
        where = (f"The agent federating the Istio Prometheus ingests {est.summary()}. The whole federation is one "
                 f"process scraped by one agent, so it counts against `max_metrics` ({lim.max_metrics}) and "
                 f"`max_metrics_per_process` ({lim.max_metrics_per_process}): {est.room()}. "
                 f"Federated series carry up to {est.max_labels} labels "
                 f"(`max_tags_per_metric`: {lim.max_tags_per_metric}).")
        if not est.services:
            where += (" The profile lists no services: list the mesh's (with their versions) under `services:` "
                      "to bound the data-plane series.")
    else:
        where = (f"The recorded series reach Sysdig by remote write, not through the agent: {est.summary()}, "
                 "outside the agent's limits.")
    rows: list[tuple[str, ...]] = [("record", "series (upper bound)")]
    rows += [(f"`{rec}`", str(n)) for rec, n in est.records]
    return [
        Block("heading", "Series budget"),
        Block("paragraph", f"{where} Assumed: {ASSUMPTIONS}."),
        Block("table", rows=tuple(rows)),
    ]


def steps(r: Resolved, artifacts: list[Artifact] | None = None) -> list[str]:
    from istiogen.render import helm_prometheus, rules_configmap

    paths = {a.path for a in artifacts or []}
    fragment_keys = next((set(a.data) for a in artifacts or [] if a.path == prometheus_config.FRAGMENT_PATH
                          and isinstance(a.data, dict)), set())
    p = r.profile
    f = r.flavour
    ns = p.istio.namespace
    out = ["`./apply.sh --dry-run`, then `./apply.sh`: the steps below, in order."]
    if r.delivery == "helm-values":
        h = p.prometheus.helm
        rules_slot, alerts_slot = helm_prometheus.slots(r)
        version = helm_prometheus.chart_version(r)
        out.append(f"`helm upgrade {h.release} {h.chart} --version {version} -n {ns} --reuse-values -f "
                   "prometheus/helm-values.yaml`: the rules go into the chart's `serverFiles` "
                   f"(`{rules_slot}`, `{alerts_slot}`), which its default `rule_files` already loads; the config "
                   "reloader applies them without a restart. Your own rules stay in `recording_rules.yml` and "
                   f"`alerting_rules.yml`; `apply.sh` stops if `{rules_slot}` or `{alerts_slot}` hold rules istiogen "
                   f"did not write. The chart version is pinned (`prometheus.helm.chart_version`, default {version}, "
                   "the chart the flavour's addon comes from), so an upgrade never jumps a chart major.")
    elif r.delivery == "operator":
        op = p.prometheus.operator
        out.append("`kubectl apply -k operator`: the PrometheusRule, the PodMonitor for sidecars and gateways, the "
                   "ServiceMonitor for istiod and the federation ServiceMonitor. Check that your Prometheus "
                   "resource's rule and monitor selectors match `prometheus.operator.rule_labels` and "
                   "`monitor_labels`.")
        out.append(f"`kubectl -n {op.namespace} patch prometheus {op.prometheus} --type merge --patch-file "
                   "operator/prometheus-patch.merge.json`: "
                   + ", ".join((["pod annotations for the agent"] if dragent.federation_annotations(r) else [])
                               + (["remote write"] if p.remote_write is not None else [])
                               + (["the Alertmanagers"] if alertmanager.operator_entries(r) else [])) + ".")
    else:
        out.append(f"`kubectl apply -f prometheus/rules-configmap.yaml`: the rules ConfigMap "
                   f"`{ns}/{p.prometheus.rules_config_map}`.")
        projected = rules_configmap.projected_paths(r) if r.delivery == "projected" else {}
        if r.live_config is None and prometheus_config.FRAGMENT_PATH not in paths:
            cfg_dir = rules_configmap.config_dir(r)
            out.append(
                "No edit of `prometheus.yml`: the addon's config already loads "
                + ", ".join(f"`{cfg_dir}/{v}`" for _, v in sorted(projected.items(), key=lambda kv: kv[1]))
                + ", where the Deployment patch projects the rules ("
                + ", ".join(f"`{k}` → `{v}`" for k, v in sorted(projected.items())) + "); `apply.sh` checks that "
                "the config still lists them and that those keys of ConfigMap "
                f"`{ns}/{f.config_map}` hold no rules of your own."
            )
        elif r.live_config is None:
            out.append(
                f"Add `{prometheus_config.FRAGMENT_PATH}` to the `{f.config_key}` key of ConfigMap "
                f"`{ns}/{f.config_map}` (`kubectl -n {ns} edit configmap {f.config_map}`): "
                + ", ".join((["append the paths to `rule_files`"] if "rule_files" in fragment_keys else [])
                            + (["set `global.external_labels`"] if p.cluster is not None else [])
                            + (["add the `alerting` section"] if "alerting" in fragment_keys else [])
                            + (["add the `remote_write` entry"] if p.remote_write is not None else [])) + ". "
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
        undo = (" Re-applying the addon's manifest (`samples/addons/prometheus.yaml`) puts back its plain config "
                "volume and so undoes this: the rules are no longer loaded until you run `apply.sh` again."
                if r.delivery == "projected" else "")
        out.append(f"`kubectl -n {ns} patch deployment {f.deployment} --patch-file prometheus/deployment-patch.yaml`: "
                   f"{how}"
                   + (", and adds the `prometheus.io/*` annotations the agent uses to find `/federate`"
                      if dragent.federation_annotations(r) else "") + f".{undo}")
    if p.istio.telemetry is not None:
        out.append("`kubectl apply -f istio/telemetry.yaml`: removes the chosen labels at the source.")
    out.append(f"`kubectl -n {p.sysdig.namespace} patch configmap {p.sysdig.config_map} --patch-file "
               "sysdig/sysdig-agent-patch.yaml`: sets only the agent's `prometheus.yaml`.")
    out.append("Merge `sysdig/dragent.yaml` into the agent's `dragent.yaml` (with the Helm chart: `sysdig.settings`, "
               "or use `sysdig/helm-values-*.yaml` when rendered). Do not patch the `dragent.yaml` key: a patch "
               "replaces the whole key.")
    if sysdig_alerts.enabled(r):
        out.append(f"`{sysdig_alerts.PATH}`: `apply.sh` posts each alert to `$SYSDIG_URL{sysdig_alerts.API_PATH}` "
                   "with the Sysdig Monitor API token in `SYSDIG_API_TOKEN` (curl and jq needed); it checks both "
                   "are set before touching the cluster.")
    return out


def render(r: Resolved, model: SignalModel, artifacts: list[Artifact], est: Estimate) -> Artifact:
    return Artifact(PATH, "readme", document(r, model, artifacts, est), "markdown", "this file")


def artifacts(ctx: Context) -> list[Artifact]:
    return [render(ctx.r, ctx.model, ctx.artifacts, ctx.estimate)]
