"""Saturation sources as data: where container CPU and memory, and Envoy's overflow counts, come from.

* **Container CPU and memory** come from the kubelet's cAdvisor endpoint, which every Istio-shipped
  Prometheus addon scrapes with a job of its own (``kubernetes-cadvisor`` in the Helm and istioctl charts of
  Istio 1.0–1.6, ``kubernetes-nodes-cadvisor`` in samples/addons from 1.7; read off the addon manifests).
  cAdvisor names a container by the labels ``namespace``, ``pod`` and ``container`` (kubelet 1.16 and later;
  istiogen validates against Kubernetes 1.25+).  It rows a pod's own cgroup as ``container=""`` and, under
  dockershim, the pause container as ``container="POD"``: both are left out, or a pod would count twice.
* **From pods to Istio workloads and versions**: cAdvisor knows nothing of Istio.  A pod takes the workload,
  app and version labels of the ``istio_requests_total{reporter="destination"}`` series its own sidecar
  exports, which the flavour's scrape labels with the pod (:attr:`ContainerSource.pod_labels`).  Envoy
  keeps exporting a counter from its first request until the pod ends, so an idle pod stays mapped once it
  has served one request; a pod that never received a request (a canary before its first request, a worker
  nobody calls) is not mapped and its containers are not counted.  The ingress gateway's pods take the
  same from the ``reporter="source"`` series the gateway exports.  The Mixer-era chart (Istio 1.0–1.4)
  has no per-pod label on the standard metrics (Mixer reports them), so there is no mapping there.
* **Overflow**: Envoy answers 503 with the response flag ``UO`` when a circuit breaker (connection pool,
  pending requests, retry budget) rejects a request; the standard metric carries that flag, so it needs no
  extra stats.  Envoy's own counters of the same events (``upstream_rq_pending_overflow``,
  ``upstream_cx_overflow``, ``upstream_rq_retry_overflow``) are outside the stats Istio's proxies export by
  default (the bootstrap ``stats_matcher``); istiogen emits the inclusion when the profile asks for it.
* **Sysdig dashboards** read the agent's own container metrics (collected by the agent itself, never
  federated), by namespace and deployment: ``sysdig_container_cpu_cores_used`` and
  ``sysdig_container_memory_used_bytes`` with ``kube_namespace_name``, ``kube_deployment_name`` and
  ``container_name``.  The metric and label names are as Sysdig's public dashboards and alert examples use
  them; they were not checked against a running agent (unverified).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContainerSource:
    cadvisor_job: str  # the flavour's scrape job of the kubelet's cAdvisor endpoint
    # (namespace label, pod label) the flavour's scrape puts on the Istio series of a proxy; None: no such label
    pod_labels: tuple[str, str] | None
    matchers: tuple[tuple[str, str], ...] = ()  # more labels selecting cAdvisor's series among the job's


SOURCES: dict[str, ContainerSource] = {
    # Mixer reports the standard metrics: no per-pod label on them (istio-mesh job)
    "helm-1.4": ContainerSource("kubernetes-cadvisor", None),
    # envoy-stats job: namespace, pod_name
    "istioctl-1.5": ContainerSource("kubernetes-cadvisor", ("namespace", "pod_name")),
    # kubernetes-pods job: kubernetes_namespace, kubernetes_pod_name
    "samples-1.7": ContainerSource("kubernetes-nodes-cadvisor", ("kubernetes_namespace", "kubernetes_pod_name")),
    "samples-1.14": ContainerSource("kubernetes-nodes-cadvisor", ("namespace", "pod")),
    "samples-1.22": ContainerSource("kubernetes-nodes-cadvisor", ("namespace", "pod")),
}

# The Prometheus Operator (delivery operator): istiogen's PodMonitor labels Istio's series namespace/pod, and
# cAdvisor is what kube-prometheus-stack's kubelet ServiceMonitor scrapes as job "kubelet" with the label
# metrics_path="/metrics/cadvisor" (the same job's /metrics/resource exports container CPU and memory too: left
# out, or a container would count twice).  Read off the chart's kubelet ServiceMonitor as remembered: unverified.
OPERATOR = ContainerSource("kubelet", ("namespace", "pod"), (("metrics_path", "/metrics/cadvisor"),))


def source(flavour: str, delivery: str) -> ContainerSource | None:
    """Where container saturation comes from for a flavour and the way rules reach its Prometheus."""
    return OPERATOR if delivery == "operator" else SOURCES.get(flavour)


CPU = "container_cpu_usage_seconds_total"  # counter, CPU seconds
MEMORY = "container_memory_working_set_bytes"  # gauge, what the kubelet's eviction and the OOM killer look at
CONTAINER_LABELS = ("namespace", "pod")  # how cAdvisor names a container's pod (and ``container``)
PROXY_CONTAINER = "istio-proxy"  # the sidecar's (and the gateway's) container name
NOT_APPLICATION = ("", "POD", PROXY_CONTAINER)  # the pod's cgroup row, the pause container, the proxy

OVERFLOW_FLAG = "UO"  # response flag: upstream overflow (circuit breaking)
OVERFLOW_FLAGS_REGEX = "(.*,)?UO(,.*)?"  # Envoy joins several flags with commas
# Envoy's cluster counters of requests and connections its circuit breakers reject, by kind
ENVOY_OVERFLOW = (
    ("pending", "envoy_cluster_upstream_rq_pending_overflow"),
    ("connection", "envoy_cluster_upstream_cx_overflow"),
    ("retry", "envoy_cluster_upstream_rq_retry_overflow"),
)
# Envoy's stat names of those counters (cluster.<name>.upstream_...), for the proxy's stats inclusion
ENVOY_OVERFLOW_STATS_REGEX = r"cluster\..*\.upstream_(rq_pending_overflow|cx_overflow|rq_retry_overflow)"
# outbound|<port>|<subset>|<host>: the destination service of an outbound cluster
OUTBOUND_CLUSTER_REGEX = r"outbound\|[0-9]+\|[^|]*\|([^.|]+)\.([^.|]+)\..*"
# ProxyConfig.proxyStatsMatcher (mesh config and the proxy.istio.io/config annotation) from this Istio minor;
# before it, the sidecar.istio.io/statsInclusionRegexps annotation.  The field was added by istio/api#1599
# (merged 2020-10) and istio.io#8325 moved the docs to it that month; 1.8 (2020-11) is the first release after
# both (inferred from the dates, not read off a release note)
PROXY_STATS_MATCHER_SINCE = 8

SYSDIG_AGENT_PREFIX = "sysdig_"  # the agent's own metrics (collected by the agent: never federated)
SYSDIG_CPU = "sysdig_container_cpu_cores_used"  # gauge, cores (unverified against an agent)
SYSDIG_MEMORY = "sysdig_container_memory_used_bytes"  # gauge, bytes (unverified against an agent)
SYSDIG_NAMESPACE = "kube_namespace_name"
SYSDIG_DEPLOYMENT = "kube_deployment_name"
SYSDIG_CONTAINER = "container_name"
