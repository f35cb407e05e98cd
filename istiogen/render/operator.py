"""Prometheus Operator custom resources: PrometheusRule, PodMonitor, ServiceMonitors, a CR patch.

Custom resources cannot take strategic-merge patches (kubectl refuses them), so
the change to the Prometheus resource is a JSON merge patch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from istiogen.catalog import ambient, sysdig
from istiogen.profile.resolve import Resolved
from istiogen.registry import Artifact
from istiogen.render import alertmanager, dataplane, dragent, remote_write
from istiogen.render.model import SignalModel
from istiogen.render.rules import alerts_data, rules_data
from istiogen.render.rules_configmap import labels as managed_labels

if TYPE_CHECKING:
    from istiogen.render.context import Context

API = "monitoring.coreos.com/v1"
RULE_PATH = "operator/prometheusrule.yaml"
PODMONITOR_PATH = "operator/podmonitor-envoy.yaml"
ZTUNNEL_PATH = "operator/podmonitor-ztunnel.yaml"
ISTIOD_PATH = "operator/servicemonitor-istiod.yaml"
FEDERATION_PATH = "operator/servicemonitor-federation.yaml"
CR_PATCH_PATH = "operator/prometheus-patch.merge.json"
KUSTOMIZATION_PATH = "operator/kustomization.yaml"


def _meta(r: Resolved, name: str, extra: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": r.profile.prometheus.operator.namespace,
            "labels": {**managed_labels(r), **extra}}


def prometheus_rule(r: Resolved, model: SignalModel) -> dict[str, Any]:
    op = r.profile.prometheus.operator
    groups = rules_data(model)["groups"] + alerts_data(model)["groups"]
    return {"apiVersion": API, "kind": "PrometheusRule", "metadata": _meta(r, f"istiogen-{r.name}", op.rule_labels),
            "spec": {"groups": groups}}


def pod_monitor(r: Resolved, model: SignalModel) -> dict[str, Any]:
    op = r.profile.prometheus.operator
    dropped: dict[str, Any] = {}
    if r.profile.prometheus.drop_unused:
        from istiogen.render.drop import operator_relabelings

        dropped = {"metricRelabelings": operator_relabelings(model)}
    return {
        "apiVersion": API,
        "kind": "PodMonitor",
        "metadata": _meta(r, "istio-envoy", op.monitor_labels),
        "spec": {
            "namespaceSelector": {"any": True},
            "selector": {"matchExpressions": [{"key": "istio-prometheus-ignore", "operator": "DoesNotExist"}]},
            "jobLabel": "envoy-stats",
            "podMetricsEndpoints": [
                {
                    "port": "http-envoy-prom",
                    "path": sysdig.ENVOY_PATH,
                    "interval": op.scrape_interval,
                    "relabelings": [
                        {"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_container_name"],
                         "regex": "istio-proxy"},
                        {"action": "replace", "sourceLabels": ["__meta_kubernetes_namespace"],
                         "targetLabel": "namespace"},
                        {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_name"], "targetLabel": "pod"},
                    ],
                    **dropped,
                }
            ],
        },
    }


def ztunnel_monitor(r: Resolved) -> dict[str, Any]:
    """Ambient: ztunnel on every node (its DaemonSet's pods: label app=ztunnel, port ztunnel-stats 15020,
    /metrics).  The series keep the pod label ``app`` (the rules tell ztunnel's istio_tcp_* from Envoy's by
    it) and the node (ztunnel's health is per node).  Waypoints are Envoys with http-envoy-prom on their
    istio-proxy container: the envoy PodMonitor scrapes them."""
    op = r.profile.prometheus.operator
    label, value = ambient.ZTUNNEL.pod_label
    return {
        "apiVersion": API,
        "kind": "PodMonitor",
        "metadata": _meta(r, "ztunnel", op.monitor_labels),
        "spec": {
            "namespaceSelector": {"matchNames": [r.profile.istio.namespace]},
            "selector": {"matchLabels": {label: value}},
            "podTargetLabels": [label],
            "podMetricsEndpoints": [{
                "port": ambient.ZTUNNEL_PORT_NAME, "path": ambient.ZTUNNEL.path, "interval": op.scrape_interval,
                "relabelings": [
                    {"action": "replace", "sourceLabels": ["__meta_kubernetes_namespace"], "targetLabel": "namespace"},
                    {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_name"], "targetLabel": "pod"},
                    {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_node_name"],
                     "targetLabel": ambient.NODE_LABEL},
                ],
            }],
        },
    }


def istiod_monitor(r: Resolved) -> dict[str, Any]:
    op = r.profile.prometheus.operator
    cp = r.release.control_plane
    return {
        "apiVersion": API,
        "kind": "ServiceMonitor",
        "metadata": _meta(r, "istiod", op.monitor_labels),
        "spec": {
            "namespaceSelector": {"matchNames": [r.profile.istio.namespace]},
            "selector": {"matchLabels": {"istio": "pilot"}},
            "jobLabel": "istio",
            "targetLabels": ["app"],
            "endpoints": [{"port": cp.port_name, "interval": op.scrape_interval, "path": "/metrics"}],
        },
    }


def federation_monitor(r: Resolved, model: SignalModel) -> dict[str, Any]:
    """For another Prometheus: federate exactly the recorded series of this one, from one replica
    (each replica evaluates the same rules; /federate tells them apart by ``prometheus_replica``,
    so federating both would double every sum)."""
    op = r.profile.prometheus.operator
    t = r.target
    one_replica = [{"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_name"],
                    "regex": t.federated_pod.replace(".", "\\.")}] if t.federated_pod else []
    return {
        "apiVersion": API,
        "kind": "ServiceMonitor",
        "metadata": _meta(r, f"istiogen-{r.name}-federation", op.federation_monitor_labels),
        "spec": {
            "namespaceSelector": {"matchNames": [t.namespace]},
            "selector": {"matchLabels": dict(t.service_labels)},
            "endpoints": [
                {
                    "port": t.service_port,
                    "path": "/federate",
                    "honorLabels": True,
                    "interval": op.scrape_interval,
                    "params": {"match[]": model.match_selectors()},
                    **({"relabelings": one_replica} if one_replica else {}),
                }
            ],
        },
    }


def cr_patch(r: Resolved, model: SignalModel) -> dict[str, Any]:
    """JSON merge patch of the Prometheus resource: pod annotations for the agent, remote write.

    Not ``evaluationInterval``: the rule groups carry their own interval, and that setting is the
    default of every other PrometheusRule the shared Prometheus evaluates."""
    spec: dict[str, Any] = {}
    if dragent.federation_annotations(r):
        spec["podMetadata"] = {"annotations": {
            "prometheus.io/scrape": "true", "prometheus.io/port": "9090", "prometheus.io/path": "/federate",
        }}
    if remote_write.enabled(r):
        spec["remoteWrite"] = [remote_write.operator_entry(r, model)]
    if remote_write.external_labels(r):  # a merge patch: the resource's other external labels stay
        spec["externalLabels"] = remote_write.external_labels(r)
    if alertmanager.operator_entries(r):
        spec["alerting"] = {"alertmanagers": alertmanager.operator_entries(r)}
    return {"spec": spec}


def kustomization(r: Resolved) -> dict[str, Any]:
    paths = (RULE_PATH, PODMONITOR_PATH, *((ZTUNNEL_PATH,) if _ambient(r) else ()), ISTIOD_PATH, FEDERATION_PATH)
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [p.split("/", 1)[1] for p in paths],
    }


def _ambient(r: Resolved) -> bool:
    return dataplane.planes(r.profile).ambient


def render(r: Resolved, model: SignalModel) -> list[Artifact]:
    op = r.profile.prometheus.operator
    return [
        Artifact(RULE_PATH, "prometheus-rule", prometheus_rule(r, model), "yaml",
                 f"PrometheusRule with the recording rules and alerts ({op.namespace})"),
        Artifact(PODMONITOR_PATH, "pod-monitor", pod_monitor(r, model), "yaml",
                 "PodMonitor scraping every sidecar and gateway's envoy (istio-proxy, http-envoy-prom)"
                 + (", dropping the istio_* series nothing generated reads" if r.profile.prometheus.drop_unused
                    else "")),
        *([Artifact(ZTUNNEL_PATH, "pod-monitor", ztunnel_monitor(r), "yaml",
                    "PodMonitor scraping ztunnel on every node (app=ztunnel, ztunnel-stats, /metrics)")]
          if _ambient(r) else []),
        Artifact(ISTIOD_PATH, "service-monitor", istiod_monitor(r), "yaml", "ServiceMonitor scraping istiod (15014)"),
        Artifact(FEDERATION_PATH, "service-monitor", federation_monitor(r, model), "yaml",
                 "ServiceMonitor for another Prometheus: federates exactly the recorded series"),
        Artifact(CR_PATCH_PATH, "prometheus-cr-patch", cr_patch(r, model), "json",
                 f"merge patch of Prometheus {op.namespace}/{op.prometheus} (kubectl patch --type merge)"),
        Artifact(KUSTOMIZATION_PATH, "kustomization", kustomization(r), "yaml", "kustomization of the resources above"),
    ]


def artifacts(ctx: Context) -> list[Artifact]:
    return render(ctx.r, ctx.model) if ctx.r.delivery == "operator" else []
