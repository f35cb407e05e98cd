"""``index.json``: the profile, the istiogen version, and every file's path, kind and sha256.

The kinds form a fixed vocabulary; tools reading a rendered tree can rely on it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from istiogen import __version__

KINDS: dict[str, str] = {
    "prometheus-rules": "Prometheus recording-rule file (promtool check rules)",
    "prometheus-alerts": "Prometheus alerting-rule file over the federated series",
    "prometheus-rules-configmap": "ConfigMap holding the rule files, for kubectl apply",
    "prometheus-rules-test": "promtool unit tests for every recording rule and alert (promtool test rules)",
    "prometheus-config-patch": "the Prometheus config change: a fragment, or an RFC 6902 patch of the live ConfigMap",
    "prometheus-configmap": "the live Prometheus ConfigMap with the change applied, comments kept",
    "prometheus-config-diff": "unified diff of the live Prometheus ConfigMap change",
    "deployment-patch-strategic": "strategic-merge patch of the Istio Prometheus Deployment",
    "deployment-patch-json6902": "RFC 6902 patch of the Istio Prometheus Deployment",
    "kustomization": "kustomize Component or overlay for the Prometheus side",
    "sysdig-dragent": "the prometheus section of the Sysdig agent's dragent.yaml",
    "sysdig-agent-patch": "patch of the sysdig-agent ConfigMap setting only prometheus.yaml",
    "apply-script": "the ordered kubectl commands, with --dry-run",
    "readme": "what each file is and the order to apply them",
    "query-catalog": "PromQL over the federated series for every signal and scope",
    "grafana-dashboard": "Grafana dashboard JSON querying only federated series",
    "sysdig-dashboard": "Sysdig Monitor dashboard querying only federated series",
    "helm-values-prometheus": "values for the prometheus-community chart (rules in serverFiles)",
    "prometheus-rule": "Prometheus Operator PrometheusRule with the recording rules and alerts",
    "pod-monitor": "Prometheus Operator PodMonitor",
    "service-monitor": "Prometheus Operator ServiceMonitor",
    "prometheus-cr-patch": "JSON merge patch of a Prometheus Operator Prometheus resource",
    "istio-telemetry": "Istio Telemetry resource (labels removed at the source)",
    "sysdig-helm-values": "Helm values for the Sysdig agent or sysdig-deploy chart",
    "sysdig-alerts": "the alerts as Sysdig Monitor PromQL alerts: request bodies for POST /api/v2/alerts",
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def index(profile: str, source: str, entries: list[tuple[str, str, bytes]]) -> dict[str, Any]:
    """``entries``: (path, kind, content) for every file but the index itself."""
    for _, kind, _ in entries:
        if kind not in KINDS:
            raise ValueError(f"artifact kind {kind!r} is not in the index vocabulary")
    return {
        "profile": profile,
        "source": source,
        "istiogen_version": __version__,
        "artifacts": [
            {"path": path, "kind": kind, "sha256": sha256(content)}
            for path, kind, content in sorted(entries, key=lambda e: e[0])
        ],
    }
