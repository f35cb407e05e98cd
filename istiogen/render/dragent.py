"""The Sysdig agent's ``dragent.yaml`` settings: the ``prometheus:`` section.

In promscrape v1 the ``process_filter`` finds targets: the envoy include comes
first, then the agent's default annotation rules, because a user list *replaces*
the default one (first match wins).  In v2 the filter is ignored, so none is
emitted: targets come from ``prometheus.yaml`` (see :mod:`agent_patch`).
"""

from __future__ import annotations

from typing import Any

from istiogen.catalog import sysdig
from istiogen.profile.resolve import Resolved
from istiogen.render.artifact import Artifact

PATH = "sysdig/dragent.yaml"


def envoy_rule() -> dict[str, Any]:
    return {"include": {"process.name": "envoy", "conf": {"port": sysdig.ENVOY_PORT, "path": sysdig.ENVOY_PATH}}}


def federation_rule(r: Resolved) -> dict[str, Any]:
    """Explicit include for the Istio Prometheus when the annotation rules are not re-emitted."""
    t = r.target
    tag = "kubernetes.deployment.name" if t.kind == "deployment" else "kubernetes.statefulset.name"
    if t.federated_pod:  # one replica (see Target.federated_pod)
        tag = "kubernetes.pod.name"
    return {
        "include": {
            "kubernetes.namespace.name": t.namespace,
            tag: t.federated_pod or t.workload,
            "conf": {"port": t.port, "path": "/federate"},
        }
    }


def process_filter(r: Resolved) -> list[dict[str, Any]]:
    s = r.profile.sysdig
    rules: list[dict[str, Any]] = []
    if s.envoy_filter:
        rules.append(envoy_rule())
    if s.federation and not (s.keep_default_rules and r.profile.prometheus.federation_annotations):
        rules.append(federation_rule(r))
    if s.keep_default_rules:
        rules += sysdig.default_process_filter()
    return rules


def dragent(r: Resolved) -> dict[str, Any]:
    s = r.profile.sysdig
    prom: dict[str, Any] = {
        "enabled": True,
        "prom_service_discovery": s.mode == "promscrape-v2",
        "log_errors": True,
        "max_metrics": s.limits.max_metrics,
        "max_metrics_per_process": s.limits.max_metrics_per_process,
        "max_tags_per_metric": s.limits.max_tags_per_metric,
        "histograms": False,
        "ingest_raw": True,
        "ingest_calculated": False,
    }
    if s.mode == "promscrape-v1":
        prom["process_filter"] = process_filter(r)
    return {"use_promscrape": True, "prometheus": prom}


def render(r: Resolved) -> Artifact:
    return Artifact(PATH, "sysdig-dragent", dragent(r), "yaml",
                    f"dragent.yaml settings ({r.profile.sysdig.mode}): merge into the agent's dragent.yaml "
                    "or Helm sysdig.settings")
