"""The Sysdig agent's ``dragent.yaml`` settings: the ``prometheus:`` section.

In promscrape v1 the ``process_filter`` finds targets: the envoy include comes
first, then the agent's default annotation rules, because a user list *replaces*
the default one (first match wins).  In v2 the filter is ignored, so none is
emitted: targets come from ``prometheus.yaml`` (see :mod:`agent_patch`).

The envoy rules match Istio's proxy container only (``container.name: istio-proxy``):
any other envoy (Contour, Emissary, Envoy Gateway) falls through to the annotation
rules as it would without istiogen.  When the annotation rules are kept, an envoy in
a pod whose metrics Istio merges (``prometheus.io/port: "15020"``) is excluded: the
annotation rule scrapes pilot-agent's merged endpoint, which serves envoy's stats
already, so 15090 would collect every envoy series a second time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from istiogen.catalog import ambient, sysdig
from istiogen.profile.resolve import Resolved
from istiogen.registry import Artifact
from istiogen.render import dataplane

if TYPE_CHECKING:
    from istiogen.render.context import Context

PATH = "sysdig/dragent.yaml"


def _istio_envoy() -> dict[str, Any]:
    return {"process.name": "envoy", "container.name": sysdig.ISTIO_PROXY_CONTAINER}


def envoy_rule() -> dict[str, Any]:
    return {"include": {**_istio_envoy(), "conf": {"port": sysdig.ENVOY_PORT, "path": sysdig.ENVOY_PATH}}}


def merged_envoy_rule() -> dict[str, Any]:
    """Skip Istio's envoy where pilot-agent's merged endpoint (scraped by the annotation rules) serves its stats."""
    key, value = sysdig.MERGED_ANNOTATION
    return {"exclude": {**_istio_envoy(), f"kubernetes.pod.annotation.{key}": value}}


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


def federation_annotations(r: Resolved) -> bool:
    """Whether the Istio Prometheus pod gets the ``prometheus.io/*`` annotations pointing at ``/federate``.

    They serve only in promscrape v1, federating, with the agent's default annotation rules
    kept: those rules then find the pod (otherwise :func:`federation_rule` does).  In v2 the
    federation job selects the pod by its labels, and the default ``k8s-pods`` job would
    scrape ``/federate`` without ``match[]`` (an empty answer); without federation (remote
    write) nothing reads them.
    """
    s = r.profile.sysdig
    return bool(r.profile.prometheus.federation_annotations and s.federation and r.sysdig_mode == "promscrape-v1"
                and s.keep_default_rules)


def ambient_excludes(r: Resolved) -> list[dict[str, Any]]:
    """Ambient meshes, when the recorded series reach Sysdig: ztunnel and the waypoints run in a container
    named istio-proxy too, and their pods carry prometheus.io annotations; first match wins, so they are
    excluded before the envoy include and the annotation rules."""
    from istiogen.render.agent_patch import recorded_reach_sysdig

    if not (dataplane.planes(r.profile).ambient and recorded_reach_sysdig(r)):
        return []
    return [{"exclude": {f"kubernetes.pod.label.{k}": v}} for k, v in (ambient.ZTUNNEL.pod_label,
                                                                       ambient.WAYPOINT.pod_label)]


def process_filter(r: Resolved) -> list[dict[str, Any]]:
    s = r.profile.sysdig
    rules: list[dict[str, Any]] = ambient_excludes(r)
    if s.envoy_filter:
        if s.keep_default_rules:
            rules.append(merged_envoy_rule())
        rules.append(envoy_rule())
    if s.federation and not federation_annotations(r):
        rules.append(federation_rule(r))
    if s.keep_default_rules:
        rules += sysdig.default_process_filter()
    return rules


def dragent(r: Resolved) -> dict[str, Any]:
    s = r.profile.sysdig
    prom: dict[str, Any] = {
        "enabled": True,
        "prom_service_discovery": r.sysdig_mode == "promscrape-v2",
        "log_errors": True,
        "max_metrics": s.limits.max_metrics,
        "max_metrics_per_process": s.limits.max_metrics_per_process,
        "max_tags_per_metric": s.limits.max_tags_per_metric,
        "histograms": False,
        "ingest_raw": True,
        "ingest_calculated": False,
    }
    if r.sysdig_mode == "promscrape-v1":
        prom["process_filter"] = process_filter(r)
    return {"use_promscrape": True, "prometheus": prom}


def render(r: Resolved) -> Artifact:
    return Artifact(PATH, "sysdig-dragent", dragent(r), "yaml",
                    f"dragent.yaml settings ({r.sysdig_mode}): merge into the agent's dragent.yaml "
                    "or Helm sysdig.settings")


def artifacts(ctx: Context) -> list[Artifact]:
    return [render(ctx.r)]
