"""Istio ambient mode as data: what ztunnel and waypoints export, by Istio version.

ztunnel (one per node) reports L4 only: connections and bytes, with the traffic
label set, ``reporter`` ``source`` (outbound, on the client's node) or
``destination`` (inbound, on the server's node); never HTTP requests or latency.
A waypoint is an Envoy reporting the standard L7 metrics with
``reporter="waypoint"``.  Sources: istio/ztunnel ``src/proxy/metrics.rs``,
``src/dns/metrics.rs``, ``src/xds/metrics.rs``, ``src/inpod/metrics.rs``,
``src/metrics/process.rs`` at each tag; istio/istio
``manifests/charts/ztunnel/templates/daemonset.yaml`` and
``manifests/charts/istio-control/istio-discovery/files/waypoint.yaml``;
istio/proxy ``source/extensions/filters/http/istio_stats`` (reporter
``waypoint``).  A new ztunnel family is a data entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AMBIENT_GA = "1.24"  # ambient mode is GA from Istio 1.24 (2024-11-07)

# The traffic labels of every istio_tcp_* series ztunnel writes (CommonTrafficLabels); "unknown" when unset.
TRAFFIC_LABELS = (
    "reporter",
    "source_workload", "source_canonical_service", "source_canonical_revision", "source_workload_namespace",
    "source_principal", "source_app", "source_version", "source_cluster",
    "destination_service", "destination_service_namespace", "destination_service_name", "destination_workload",
    "destination_canonical_service", "destination_canonical_revision", "destination_workload_namespace",
    "destination_principal", "destination_app", "destination_version", "destination_cluster",
    "request_protocol", "response_flags", "connection_security_policy",
)
LOCALITY_LABELS = ("source_region", "source_zone", "destination_region", "destination_zone")  # ztunnel 1.25+
LOCALITY_SINCE = "1.25"
# response_flags values ztunnel writes: "-" is success, every other one a failed or refused connection
RESPONSE_FLAGS = ("-", "DENY", "CONNECT", "TLS_FAILURE", "H2_HANDSHAKE_FAILURE", "NETWORK_POLICY",
                  "IDENTITY_ERROR")

Kind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True)
class Family:
    name: str  # as exposed (counters with _total)
    kind: Kind
    labels: tuple[str, ...]  # "traffic": TRAFFIC_LABELS (and the locality labels from 1.25)
    since: str  # the first Istio (ztunnel) minor release that exports it


_DNS = ("request_query_type", "request_protocol", "source_canonical_service", "source_canonical_revision")
ZTUNNEL_FAMILIES: tuple[Family, ...] = (
    Family("istio_tcp_connections_opened_total", "counter", ("traffic",), AMBIENT_GA),
    Family("istio_tcp_connections_closed_total", "counter", ("traffic",), AMBIENT_GA),
    Family("istio_tcp_sent_bytes_total", "counter", ("traffic",), AMBIENT_GA),
    Family("istio_tcp_received_bytes_total", "counter", ("traffic",), AMBIENT_GA),
    Family("istio_tcp_connections_failed_total", "counter", ("traffic",), "1.29"),
    Family("istio_tcp_sockets_open", "gauge", ("reporter",), "1.29"),
    Family("istio_on_demand_dns_total", "counter", ("source_workload", "source_workload_namespace",
                                                    "source_canonical_service", "source_canonical_revision",
                                                    "hostname"), AMBIENT_GA),
    Family("istio_dns_requests_total", "counter", _DNS, AMBIENT_GA),
    Family("istio_dns_upstream_requests_total", "counter", _DNS, AMBIENT_GA),
    Family("istio_dns_upstream_failures_total", "counter", _DNS, AMBIENT_GA),
    Family("istio_dns_upstream_request_duration_seconds", "histogram", _DNS, AMBIENT_GA),
    Family("istio_xds_connection_terminations_total", "counter", ("reason",), AMBIENT_GA),
    Family("istio_xds_message_total", "counter", ("url",), AMBIENT_GA),
    Family("istio_xds_message_bytes_total", "counter", ("url",), AMBIENT_GA),
    Family("istio_build", "gauge", ("component", "tag"), AMBIENT_GA),
    Family("workload_manager_active_proxy_count", "gauge", (), AMBIENT_GA),
    Family("workload_manager_pending_proxy_count", "gauge", (), AMBIENT_GA),
    Family("workload_manager_proxies_started_total", "counter", (), AMBIENT_GA),
    Family("workload_manager_proxies_stopped_total", "counter", (), AMBIENT_GA),
    Family("process_open_fds", "gauge", (), "1.28"),
    Family("process_max_fds", "gauge", (), "1.28"),
)


@dataclass(frozen=True)
class Endpoint:
    """Where a component serves its metrics, and how its pods are told apart at scrape time."""

    port: int
    path: str
    container: str
    pod_label: tuple[str, str]  # a pod label every pod of the component carries (kept by the scrape)


# ztunnel's chart annotates prometheus.io/scrape and /port but no path: scrapers use /metrics
ZTUNNEL = Endpoint(15020, "/metrics", "istio-proxy", ("app", "ztunnel"))
ZTUNNEL_PORT_NAME = "ztunnel-stats"  # the DaemonSet's container port name
# waypoint pods are annotated with /stats/prometheus; they carry the Gateway API class label
WAYPOINT = Endpoint(15020, "/stats/prometheus", "istio-proxy",
                    ("gateway.networking.k8s.io/gateway-class-name", "istio-waypoint"))
WAYPOINT_REPORTER = "waypoint"
# a waypoint's pods belong to the Deployment named after it (waypoint.yaml): <name>-<replicaset hash>-<id>
WAYPOINT_POD_REGEX = "(.+)-[a-z0-9]+-[a-z0-9]+"

# ztunnel's series are told apart from Envoy's (sidecars, gateways, waypoints write the same istio_tcp_*
# names) by the pod label ``app: ztunnel`` that the scrape keeps: the 1.24+ addon's and the chart's
# kubernetes-pods jobs map every pod label (labelmap), istiogen's PodMonitor keeps it (podTargetLabels).
# Istio's own ztunnel dashboard and Kiali select them the same way.
ZTUNNEL_SERIES = ZTUNNEL.pod_label
# the label naming the node a ztunnel runs on, as the scrape sets it (__meta_kubernetes_pod_node_name), and
# the label the per-node records carry it in (the federation drops per-target labels such as node)
NODE_LABEL = "node"
RECORD_NODE_LABEL = "ztunnel_node"
# Sidecars and ingress gateways send to the service's pods directly, not through its waypoint (unless the
# service sets istio.io/ingress-use-waypoint): their calls to a waypoint service appear only as their own
# reporter="source" series (kiali/kiali.io#886; ambientmesh.io sidecar-migration part 5).
ENVOY_CLIENTS_BYPASS_WAYPOINT = True


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def supports_ambient(version: str) -> bool:
    return _minor(version) >= _minor(AMBIENT_GA)


def ztunnel_families(version: str) -> tuple[Family, ...]:
    """The families ztunnel of Istio ``version`` exports (none before ambient's GA)."""
    if not supports_ambient(version):
        return ()
    return tuple(f for f in ZTUNNEL_FAMILIES if _minor(f.since) <= _minor(version))


def traffic_labels(version: str) -> tuple[str, ...]:
    """The labels of ztunnel's istio_tcp_* series at Istio ``version``."""
    extra = LOCALITY_LABELS if _minor(version) >= _minor(LOCALITY_SINCE) else ()
    return TRAFFIC_LABELS + extra
