"""The golden-signal catalog: stable signal ids, what they mean, where they come from.

Signal ids are part of istiogen's interface (``queries.yaml``, dashboards, alert
labels): never rename one, only add.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Signal:
    id: str
    title: str
    unit: str  # "reqps", "ratio", "ms"/"s" (latency: the version's unit), "bytes", "Bps", "cps", "count", "s",
    #            "cores" (CPU seconds per second)
    rule_set: str
    scopes: tuple[str, ...]
    quantile: float | None = None
    description: str = ""
    # the data-plane classes whose services it answers for (README "Data-plane modes"): sidecar, waypoint
    # (ambient behind a waypoint: L7), ambient (no waypoint: ztunnel's L4 only); () for mesh-level signals
    planes: tuple[str, ...] = ()


L7 = ("sidecar", "waypoint")
L4 = ("sidecar", "ambient")


DATA_PLANE_SCOPES = ("service", "service_version", "workload")
ZTUNNEL_SCOPES = ("ztunnel",)  # per ztunnel, i.e. per node
# container saturation is recorded per service version and workload (a pod's owner), never per pod or service:
# a pod may back several services
CONTAINER_SCOPES = ("service_version", "workload")

SIGNALS: tuple[Signal, ...] = (
    Signal("requests.rate", "Request rate", "reqps", "requests", (*DATA_PLANE_SCOPES, "edge"),
           description="requests per second received, reported by the destination sidecar"),
    Signal("errors.ratio_5xx", "5xx error ratio", "ratio", "requests", (*DATA_PLANE_SCOPES, "edge"),
           description="share of requests answered with a 5xx code"),
    Signal("errors.ratio_4xx", "4xx error ratio", "ratio", "requests", (*DATA_PLANE_SCOPES, "edge"),
           description="share of requests answered with a 4xx code"),
    Signal("client.requests.rate", "Request rate seen by callers", "reqps", "requests", ("service",),
           description="requests per second sent to the service, reported by the calling sidecars "
                       "(ingress gateway excluded); present even when no destination pod reports",
           planes=("sidecar",)),
    Signal("client.errors.ratio_5xx", "5xx error ratio seen by callers", "ratio", "requests", ("service",),
           description="share of the callers' requests answered with a 5xx code, including the 503s their own "
                       "sidecars return when no destination pod is left", planes=("sidecar",)),
    Signal("errors.ratio_grpc", "gRPC error ratio", "ratio", "requests", DATA_PLANE_SCOPES,
           description="share of gRPC requests whose grpc-status is not OK (0)"),
    Signal("latency.p50", "Latency p50", "latency", "latency", DATA_PLANE_SCOPES, 0.5),
    Signal("latency.p95", "Latency p95", "latency", "latency", DATA_PLANE_SCOPES, 0.95),
    Signal("latency.p99", "Latency p99", "latency", "latency", DATA_PLANE_SCOPES, 0.99),
    Signal("request_size.p50", "Request size p50", "bytes", "request_size", DATA_PLANE_SCOPES, 0.5),
    Signal("request_size.p95", "Request size p95", "bytes", "request_size", DATA_PLANE_SCOPES, 0.95),
    Signal("response_size.p50", "Response size p50", "bytes", "response_size", DATA_PLANE_SCOPES, 0.5),
    Signal("response_size.p95", "Response size p95", "bytes", "response_size", DATA_PLANE_SCOPES, 0.95),
    Signal("tcp.sent_bytes.rate", "TCP bytes sent", "Bps", "tcp", DATA_PLANE_SCOPES,
           description="bytes per second sent by the destination over TCP connections"),
    Signal("tcp.received_bytes.rate", "TCP bytes received", "Bps", "tcp", DATA_PLANE_SCOPES),
    Signal("tcp.connections_opened.rate", "TCP connections opened", "cps", "tcp", DATA_PLANE_SCOPES),
    Signal("tcp.connections_closed.rate", "TCP connections closed", "cps", "tcp", DATA_PLANE_SCOPES),
    Signal("tcp.connections_failed.rate", "TCP connections failed (L4 only)", "cps", "tcp", DATA_PLANE_SCOPES,
           description="connections ztunnel failed to establish to the service (Istio 1.29+), from the "
                       "server's node", planes=("ambient",)),
    Signal("tcp.errors.ratio", "TCP connection error ratio (L4 only)", "ratio", "tcp", DATA_PLANE_SCOPES,
           description="share of the connections ztunnel closed with a failure flag (response_flags not "
                       "\"-\": DENY, CONNECT, TLS_FAILURE, ...): the only error signal without a waypoint"),
    Signal("saturation.cpu", "CPU, busiest pod", "cores", "saturation", CONTAINER_SCOPES,
           description="CPU cores used by the application containers of the busiest pod (cAdvisor)"),
    Signal("saturation.memory", "Memory, largest pod", "bytes", "saturation", CONTAINER_SCOPES,
           description="working set of the application containers of the largest pod (cAdvisor)"),
    Signal("saturation.proxy_cpu", "Proxy CPU, busiest pod", "cores", "saturation",
           (*CONTAINER_SCOPES, "ingress_gateway"),
           description="CPU cores used by the istio-proxy container of the busiest pod (sidecar, or the ingress "
                       "gateway's pods)"),
    Signal("saturation.proxy_memory", "Proxy memory, largest pod", "bytes", "saturation",
           (*CONTAINER_SCOPES, "ingress_gateway"),
           description="working set of the istio-proxy container of the largest pod (sidecar, or the ingress "
                       "gateway's pods)"),
    Signal("saturation.overflow", "Requests rejected by circuit breakers", "reqps", "saturation", DATA_PLANE_SCOPES,
           description="requests per second Envoy answered 503 with response flag UO (a connection pool, pending "
                       "request or retry limit reached), whichever proxy rejected them"),
    Signal("saturation.ztunnel_cpu", "ztunnel CPU", "cores", "saturation", ("ztunnel",),
           description="CPU cores the node's ztunnel uses (cAdvisor, container istio-proxy of its pod)"),
    Signal("saturation.ztunnel_memory", "ztunnel memory", "bytes", "saturation", ("ztunnel",),
           description="working set of the node's ztunnel (cAdvisor)"),
    Signal("saturation.waypoint_cpu", "Waypoint CPU, busiest pod", "cores", "saturation", ("waypoint",),
           description="CPU cores used by the busiest pod of each waypoint (cAdvisor, container istio-proxy)"),
    Signal("saturation.waypoint_memory", "Waypoint memory, largest pod", "bytes", "saturation", ("waypoint",),
           description="working set of the largest pod of each waypoint (cAdvisor)"),
    Signal("saturation.envoy_overflow.rate", "Envoy overflow counters", "count", "saturation", ("service",),
           description="Envoy's circuit-breaker counters per destination service and kind (pending, connection, "
                       "retry), summed over the calling proxies; only with saturation.envoy_overflow"),
    Signal("gateway.requests.rate", "Ingress gateway request rate", "reqps", "gateway", ("gateway", "mesh")),
    Signal("gateway.errors.rate_5xx", "Ingress gateway 5xx rate", "reqps", "gateway", ("gateway", "mesh")),
    Signal("gateway.errors.ratio_5xx", "Ingress gateway 5xx ratio", "ratio", "gateway", ("gateway", "mesh")),
    Signal("gateway.latency.p99", "Ingress gateway latency p99", "latency", "gateway", ("mesh",), 0.99),
    Signal("istiod.pushes.rate", "xDS pushes", "count", "control_plane", ("control_plane",),
           description="xDS pushes per second by type (cds, eds, lds, rds, ...)"),
    Signal("istiod.push_errors.rate", "xDS push errors", "count", "control_plane", ("control_plane",)),
    Signal("istiod.rejects.rate", "xDS rejects", "count", "control_plane", ("control_plane",)),
    Signal("istiod.convergence.p99", "Proxy convergence p99", "s", "control_plane", ("control_plane",), 0.99),
    Signal("istiod.injection_success.rate", "Sidecar injections", "count", "control_plane", ("control_plane",)),
    Signal("istiod.injection_failures.rate", "Sidecar injection failures", "count", "control_plane",
           ("control_plane",)),
    Signal("istiod.csr_failures.rate", "CSR failures", "count", "control_plane", ("control_plane",)),
    Signal("istiod.connected_proxies", "Connected proxies", "count", "control_plane", ("control_plane",)),
    Signal("istiod.up", "istiod instances up", "count", "control_plane", ("control_plane",)),
    Signal("ztunnel.up", "ztunnel instances", "count", "control_plane", ("mesh",),
           description="ztunnels reporting istio_build (one per node running ambient pods)"),
    Signal("ztunnel.versions", "ztunnel versions", "count", "control_plane", ("mesh",),
           description="ztunnels per Istio version (tag)"),
    Signal("ztunnel.active_proxies", "Proxies served by ztunnel", "count", "control_plane", ZTUNNEL_SCOPES,
           description="ambient pods whose traffic this node's ztunnel handles"),
    Signal("ztunnel.pending_proxies", "Proxies pending in ztunnel", "count", "control_plane", ZTUNNEL_SCOPES),
    Signal("ztunnel.xds_terminations.rate", "ztunnel xDS connection terminations", "count", "control_plane",
           ZTUNNEL_SCOPES, description="xDS connections to istiod ended, per second, by reason"),
    Signal("ztunnel.dns_requests.rate", "ztunnel DNS requests", "count", "control_plane", ZTUNNEL_SCOPES),
    Signal("ztunnel.connections_opened.rate", "ztunnel outbound connections opened", "cps", "control_plane",
           ZTUNNEL_SCOPES, description="connections opened by the node's ambient workloads (reporter=source)"),
    Signal("ztunnel.sent_bytes.rate", "ztunnel outbound bytes sent", "Bps", "control_plane", ZTUNNEL_SCOPES),
    Signal("ztunnel.received_bytes.rate", "ztunnel outbound bytes received", "Bps", "control_plane",
           ZTUNNEL_SCOPES),
    Signal("ztunnel.open_sockets", "ztunnel open sockets", "count", "control_plane", ZTUNNEL_SCOPES,
           description="sockets ztunnel holds open (Istio 1.29+)"),
    Signal("ztunnel.open_fds", "ztunnel open file descriptors", "count", "control_plane", ZTUNNEL_SCOPES,
           description="Istio 1.28+"),
)
_PLANES = {"requests": L7, "latency": L7, "request_size": L7, "response_size": L7, "tcp": L4}
SIGNALS = tuple(replace(s, planes=s.planes or _PLANES.get(s.rule_set, ())) for s in SIGNALS)

BY_ID = {s.id: s for s in SIGNALS}
