"""The artifact registry: what a renderer returns, and the vocabulary of kinds as data.

This is a leaf module (it imports nothing from istiogen).  Every other module asks
it: the pipeline for the index vocabulary and file modes, the second validation
stage for the schema check that applies, the live diff for how an artifact
changes a live object, the lint for which kinds of a rendered tree it reads.
Adding an artifact kind is one :class:`Kind` entry in :data:`KINDS` plus its
renderer (registered in :data:`RENDERERS`).

Renderers return data: YAML and JSON artifacts hold plain data, the apply script
a list of steps, the tree README a list of blocks, a unified diff the two texts it
compares.  The pipeline serialises them.  The one exception is stated as a rule:
a document embedded in another (a rule file inside a ConfigMap, a config inside a
patch) is built by calling :mod:`istiogen.serial`, the serialiser, as a leaf
library, so that the embedded text is the bytes the file of its own would hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Format = Literal["yaml", "yaml-multi", "yaml-roundtrip", "json", "shell", "markdown", "diff"]


@dataclass(frozen=True)
class Step:
    """One command of the apply script: what it does and the argv to run."""

    title: str
    argv: tuple[str, ...]
    dry_run: str | None = "--dry-run=server"  # flag appended in dry-run mode; None: skip the step then
    guard: tuple[str, str] | None = None  # (shell condition, message): checked first, stops the script if false
    note: str = ""


@dataclass(frozen=True)
class Script:
    steps: tuple[Step, ...]
    intro: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()  # shell function definitions the steps call (after run())


@dataclass(frozen=True)
class Block:
    kind: Literal["heading", "paragraph", "code", "table", "list"]
    text: str = ""
    level: int = 2
    lang: str = ""
    rows: tuple[tuple[str, ...], ...] = ()
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class TextDiff:
    old: str
    new: str
    old_name: str
    new_name: str


@dataclass(frozen=True)
class RoundTripDoc:
    """A ruamel round-trip document (comments attached) and the indentation it was written with."""

    data: Any
    mapping: int = 2
    sequence: int = 2
    offset: int = 0


@dataclass(frozen=True)
class Artifact:
    path: str  # relative, POSIX
    kind: str  # from istiogen.pipeline.index.KINDS
    data: Any
    format: Format
    summary: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False)


Validator = Literal["kube-objects", "merge-patched-resource"]
"""The schema check of the second validation stage: ``kube-objects``, every Kubernetes object the file
holds against its schema (built-in kinds) or upstream CRD; ``merge-patched-resource``, the resource the
RFC 7386 patch is for, patched, against its CRD."""

LiveEffect = Literal["manifest", "merge-patch", "strategic-patch", "json6902", "prometheus-config",
                     "agent-configmap-patch", "dragent-merge"]
"""How ``istiogen diff --live`` applies an artifact to the live objects: ``manifest``, a whole object, applied
as ``kubectl apply`` would (or added); ``merge-patch``, RFC 7386 on the resource it names; ``strategic-patch``,
as ``kubectl patch`` does; ``json6902``, an RFC 6902 patch of the Prometheus workload, compared with the
strategic one; ``prometheus-config``, the Prometheus config change (RFC 6902 on the ConfigMap, or a fragment
merged into its prometheus.yml); ``agent-configmap-patch``, the sysdig-agent ConfigMap patch;
``dragent-merge``, the prometheus section merged into dragent.yaml."""

LintRole = Literal["rules", "federation", "queries"]
"""What the lint reads a kind of a rendered tree as.  A tree carries the same rules (and the same federation
job) in several forms: for ``rules`` and ``federation`` the lint reads only the kinds of the lowest
``lint_rank`` present, so that nothing is read twice; every ``queries`` kind is read."""


@dataclass(frozen=True)
class Kind:
    name: str
    description: str
    paths: tuple[str, ...]  # fnmatch patterns, relative to the tree: where files of this kind are written
    renderers: tuple[str, ...]  # the render steps (modules of istiogen.render, see RENDER_STEPS) that make them
    mode: int = 0o644
    validator: Validator | None = None
    live: LiveEffect | None = None
    lint: LintRole | None = None
    lint_rank: int = 0


_KINDS = (
    Kind("prometheus-rules", "Prometheus recording-rule file (promtool check rules)",
         ("prometheus/rules.yaml",), ("rules",), lint="rules"),
    Kind("prometheus-alerts", "Prometheus alerting-rule file over the federated series",
         ("prometheus/alerts.yaml",), ("rules",), lint="rules"),
    Kind("prometheus-rules-configmap", "ConfigMap holding the rule files, for kubectl apply",
         ("prometheus/rules-configmap.yaml",), ("rules_configmap",), validator="kube-objects", live="manifest",
         lint="rules", lint_rank=2),
    Kind("prometheus-rules-test", "promtool unit tests for every recording rule and alert (promtool test rules)",
         ("prometheus/rules.test.yaml",), ("unittests",)),
    Kind("prometheus-config-patch", "the Prometheus config change: a fragment, or an RFC 6902 patch of the live"
         " ConfigMap",
         ("prometheus/prometheus-config-fragment.yaml", "prometheus/prometheus-configmap.json6902.json"),
         ("prometheus_config",), live="prometheus-config"),
    Kind("prometheus-configmap", "the live Prometheus ConfigMap with the change applied, comments kept",
         ("prometheus/prometheus-configmap.yaml",), ("prometheus_config",), validator="kube-objects"),
    Kind("prometheus-config-diff", "unified diff of the live Prometheus ConfigMap change",
         ("prometheus/prometheus-configmap.diff",), ("prometheus_config",)),
    Kind("deployment-patch-strategic", "strategic-merge patch of the Istio Prometheus Deployment",
         ("prometheus/deployment-patch.yaml",), ("deployment_patch",), live="strategic-patch"),
    Kind("deployment-patch-json6902", "RFC 6902 patch of the Istio Prometheus Deployment",
         ("prometheus/deployment-patch.json6902.json",), ("deployment_patch",), live="json6902"),
    Kind("kustomization", "kustomize Component or overlay for the Prometheus side",
         ("*/kustomization.yaml",), ("kustomize", "operator")),
    Kind("sysdig-dragent", "the prometheus section of the Sysdig agent's dragent.yaml",
         ("sysdig/dragent.yaml",), ("dragent",), live="dragent-merge"),
    Kind("sysdig-agent-patch", "patch of the sysdig-agent ConfigMap setting only prometheus.yaml",
         ("sysdig/sysdig-agent-patch.yaml",), ("agent_patch",), live="agent-configmap-patch", lint="federation"),
    Kind("apply-script", "the ordered kubectl commands, with --dry-run",
         ("apply.sh",), ("apply_script",), mode=0o755),
    Kind("readme", "what each file is and the order to apply them",
         ("README.md",), ("readme",)),
    Kind("query-catalog", "PromQL over the federated series for every signal and scope",
         ("queries.yaml",), ("queries",), lint="queries"),
    Kind("grafana-dashboard", "Grafana dashboard JSON querying only federated series",
         ("dashboards/grafana/*.json",), ("dashboards",), lint="queries"),
    Kind("sysdig-dashboard", "Sysdig Monitor dashboard querying only federated series",
         ("dashboards/sysdig/*.json",), ("dashboards",), lint="queries"),
    Kind("helm-values-prometheus", "values for the prometheus-community chart (rules in serverFiles)",
         ("prometheus/helm-values.yaml",), ("helm_prometheus",), lint="rules", lint_rank=3),
    Kind("prometheus-rule", "Prometheus Operator PrometheusRule with the recording rules and alerts",
         ("operator/prometheusrule.yaml",), ("operator",), validator="kube-objects", live="manifest", lint="rules",
         lint_rank=1),
    Kind("pod-monitor", "Prometheus Operator PodMonitor",
         ("operator/podmonitor-*.yaml",), ("operator",), validator="kube-objects", live="manifest"),
    Kind("service-monitor", "Prometheus Operator ServiceMonitor",
         ("operator/servicemonitor-*.yaml",), ("operator",), validator="kube-objects", live="manifest"),
    Kind("prometheus-cr-patch", "JSON merge patch of a Prometheus Operator Prometheus resource",
         ("operator/prometheus-patch.merge.json",), ("operator",), validator="merge-patched-resource",
         live="merge-patch"),
    Kind("istio-telemetry", "Istio Telemetry resource (labels removed at the source)",
         ("istio/telemetry.yaml",), ("telemetry",), validator="kube-objects", live="manifest"),
    Kind("proxy-stats-patch", "strategic-merge patch of a workload's pod template: the proxy stats inclusion of "
         "Envoy's overflow counters", ("istio/proxy-stats-patch.yaml",), ("proxy_stats",)),
    Kind("proxy-stats-meshconfig", "IstioOperator overlay: the proxy stats inclusion of Envoy's overflow counters, "
         "mesh-wide", ("istio/proxy-stats-meshconfig.yaml",), ("proxy_stats",)),
    Kind("sysdig-helm-values", "Helm values for the Sysdig agent or sysdig-deploy chart",
         ("sysdig/helm-values-agent.yaml", "sysdig/helm-values-sysdig-deploy.yaml"), ("sysdig_helm",),
         lint="federation", lint_rank=1),
    Kind("sysdig-shield-values", "Helm values for the Sysdig shield chart (features.monitor.prometheus)",
         ("sysdig/helm-values-shield.yaml",), ("sysdig_helm",)),
    Kind("sysdig-alerts", "the alerts as Sysdig Monitor PromQL alerts: request bodies for POST /api/v2/alerts",
         ("sysdig/alerts.json",), ("sysdig_alerts",)),
)
KINDS: dict[str, Kind] = {k.name: k for k in _KINDS}
INDEX = "index.json"
INDEX_MODE = 0o644
IGNORE_FILE = ".istiogenignore"  # the ignore rules of istiogen diff, beside the profiles
RESERVED_PREFIX = ".istiogen-"  # names istiogen's writer stages trees under: no output folder may use it


# The render steps, in the order they run: a step reads the artifacts of the steps before it (the ConfigMap
# the rule files' text, the Deployment patch the ConfigMap's checksum, the README every file).
RENDER_STEPS = ("rules", "rules_configmap", "prometheus_config", "deployment_patch", "kustomize", "helm_prometheus",
                "operator", "telemetry", "proxy_stats", "dragent", "agent_patch", "sysdig_helm", "sysdig_alerts",
                "queries", "dashboards", "unittests", "apply_script", "readme")


def kinds_with(**where: object) -> frozenset[str]:
    """The names of the kinds whose fields equal ``where`` (``kinds_with(live="manifest")``)."""
    return frozenset(k.name for k in _KINDS if all(getattr(k, f) == v for f, v in where.items()))


def kind_at(rel: str) -> Kind | None:
    """The kind whose path patterns match ``rel`` (a tree-relative POSIX path), if any."""
    from fnmatch import fnmatchcase

    for k in _KINDS:
        if any(fnmatchcase(rel, pattern) for pattern in k.paths):
            return k
    return None


def file_mode(rel: str) -> int:
    """The mode a file of a rendered tree is written with: its kind's (``index.json`` and files of no
    known kind: 0644)."""
    k = kind_at(rel)
    return INDEX_MODE if k is None else k.mode
