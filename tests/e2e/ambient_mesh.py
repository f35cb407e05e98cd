"""A synthetic Istio ambient mesh (ztunnel per node, waypoints, sidecars mixed in), served over HTTP.

Namespaces: ``amb`` ambient without a waypoint (L4 only), except ``amb-2`` which the profile puts behind
its own waypoint ``amb-2-wp``; ``wp`` ambient behind the namespace waypoint ``waypoint`` (``wp-1`` also has
the ingress gateway go through it); ``shop`` sidecars.  Callers: ambient ``loadgen``, ``cron``, ``batch``
(one per node), the sidecar ``web`` and the ingress gateway.

The mesh is described as *logical traffic*: a :class:`Flow` is one client calling one version of one
service, with known rates (requests per second per response code, a latency distribution,
connections opened per second, bytes per second).  :meth:`AmbientMesh.exposition` turns each flow into
the series every proxy on its path would report (facts: Istio's source, as summarised in the notes A1-A4):

* ambient client (captured by its node's ztunnel): ztunnel ``istio_tcp_*{reporter="source"}`` on the
  client's node.  Through a waypoint its destination is the waypoint (``destination_workload="waypoint"``,
  ``destination_service`` still the service).
* ambient server: ztunnel ``istio_tcp_*{reporter="destination"}`` on the server's node.  Through a
  waypoint its source is the waypoint (``source_workload="waypoint"``), with the waypoint's own
  connection pooling (half the connections, a little more bytes).
* through a waypoint (ambient clients; the ingress gateway when the service sets
  ``ingress_use_waypoint``): the waypoint's ``istio_requests_total{reporter="waypoint"}`` and histograms,
  source = the real client, destination = the backend pod's workload and version.
* sidecar client or the ingress gateway: Envoy ``reporter="source"`` L7 (and, for the sidecar, TCP).
  Sidecars and gateways bypass waypoints (unless ``ingress_use_waypoint`` for the gateway).
* sidecar server: Envoy ``reporter="destination"`` L7 and TCP.

So one ambient->ambient connection is reported twice (source and destination ztunnel, identical traffic
labels) and a call through the waypoint gives the three-series pattern (client->waypoint L4, waypoint L7,
waypoint->server L4).  Every series carries what samples-1.22's ``labelmap`` and relabelling add
(``namespace``, ``pod``, ``node``, pod labels such as ``app``): ztunnel series ``app="ztunnel"``.

:class:`Truth` answers each catalog question from the flows, by the definitions of the contract (each
request and each connection counted once), in plain Python: no PromQL is involved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tests.e2e.mesh import ENVOY_BOUNDS, Mesh, _labels, cumulative

NODES = ("node-0", "node-1", "node-2")
VERSIONS = ("v1", "v2")
WAYPOINT = "waypoint"  # the namespace waypoint of `wp` (a Gateway/Deployment named "waypoint" in wp)
WAYPOINTS = {WAYPOINT: ("wp", "node-1"), "amb-2-wp": ("amb", "node-2")}  # name -> (namespace, node)
ZTUNNEL_TAGS = {"node-0": "1.30.0", "node-1": "1.30.0", "node-2": "1.29.2"}  # mid-upgrade: two versions
CODE_SHARE = {"200": 0.9, "404": 0.07, "503": 0.03}


@dataclass(frozen=True)
class Service:
    namespace: str
    name: str
    mode: str  # "sidecar" | "ambient"
    waypoint: str | None = None
    ingress_use_waypoint: bool = False


@dataclass(frozen=True)
class Client:
    namespace: str
    workload: str
    kind: str  # "ambient" | "sidecar" | "gateway"
    node: str


SERVICES = (
    Service("amb", "amb-0", "ambient"),
    Service("amb", "amb-1", "ambient"),
    Service("wp", "wp-0", "ambient", WAYPOINT),
    Service("wp", "wp-1", "ambient", WAYPOINT, ingress_use_waypoint=True),
    Service("shop", "shop-0", "sidecar"),
    Service("shop", "shop-1", "sidecar"),
    # the profile's per-service override in an L4-only namespace: its own waypoint (service > namespace)
    Service("amb", "amb-2", "ambient", "amb-2-wp"),
)
GATEWAY = Client("istio-system", "istio-ingressgateway", "gateway", "node-0")
CLIENTS = (
    Client("amb", "loadgen", "ambient", "node-0"),
    Client("amb", "cron", "ambient", "node-1"),
    Client("wp", "batch", "ambient", "node-2"),
    Client("shop", "web", "sidecar", "node-1"),
    GATEWAY,
)
# who calls whom (client workload -> services)
CALLS = {
    "loadgen": ("amb-0", "amb-1", "wp-0", "wp-1", "shop-0", "amb-2"),
    "cron": ("amb-0", "wp-0"),
    "batch": ("amb-1", "wp-1", "shop-1"),
    "web": ("amb-1", "wp-0", "wp-1", "shop-0", "shop-1", "amb-2"),
    "istio-ingressgateway": ("wp-0", "wp-1", "shop-1"),
}


def pod_node(service: str, version: str) -> str:
    """Server pods spread over the three nodes (one pod per version)."""
    i = [(s.name, v) for s in SERVICES for v in VERSIONS].index((service, version))
    return NODES[i % len(NODES)]


@dataclass(frozen=True)
class Flow:
    client: Client
    service: Service
    version: str
    requests: float  # requests per second (all codes)
    error_boost: float  # scales the 4xx and 5xx shares
    latency: dict[float, float]  # observations per bucket (upper bound, ms)
    connections: float  # connections opened per second
    fail_share: float  # share of connections that fail (response_flags="CONNECT")
    sent: float  # bytes per second, server to client, on successful connections
    received: float

    def codes(self) -> dict[str, float]:
        err = {c: s * self.error_boost for c, s in CODE_SHARE.items() if c != "200"}
        return {"200": self.requests * (1 - sum(err.values())), **{c: self.requests * s for c, s in err.items()}}

    @property
    def through_waypoint(self) -> bool:
        if self.service.waypoint is None:
            return False
        if self.client.kind == "ambient":
            return True
        return self.client.kind == "gateway" and self.service.ingress_use_waypoint

    # L4, split by response_flags: (opened, closed, failed, sent, received) per second
    def l4_ok(self) -> tuple[float, float, float, float, float]:
        c = self.connections * (1 - self.fail_share)
        return c, 0.9 * c, 0.0, self.sent, self.received

    def l4_fail(self) -> tuple[float, float, float, float, float]:
        c = self.connections * self.fail_share
        return c, c, c, 60.0 * c, 40.0 * c

    def l4_total(self) -> tuple[float, float, float, float, float]:
        a, b = self.l4_ok(), self.l4_fail()
        return tuple(x + y for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _flows() -> list[Flow]:
    by_name = {s.name: s for s in SERVICES}
    out = []
    for ci, client in enumerate(CLIENTS):
        for si, name in enumerate(CALLS[client.workload]):
            svc = by_name[name]
            for vi, ver in enumerate(VERSIONS):
                share = 0.7 if vi == 0 else 0.3
                k = 1 + ci + 0.5 * si
                latency = {10: 29.3 + 3 * ci, 25: 24.1 + si, 50: 19.7, 100: 11.9 + 4.3 * vi, 250: 7.7 + 2.1 * ci,
                           500: 3.1, 1000: 2.3 + 2.9 * vi + 1.7 * (client.kind == "gateway"), 2500: 1.3}
                out.append(Flow(client, svc, ver, requests=2.0 * k * share, error_boost=1 + 0.5 * ci + vi,
                                latency=latency, connections=0.4 * k * share, fail_share=0.05 + 0.02 * si + 0.03 * vi,
                                sent=1500.0 * k * share, received=400.0 * k * share))
    return out


FLOWS = _flows()

# The namespace waypoint also sends part of wp-0's requests to amb-0 (an HTTPRoute backendRef to another
# service): amb-0's ztunnel reports those connections with source_workload="waypoint" and
# destination_service amb-0, an L4-only service.  They are the waypoint's legs, not amb-0's own
# connections: the contract leaves them out of amb-0's L4 (only the L4 leg is modelled: its requests are
# wp-0's, reported by the waypoint as such).
ROUTED = Flow(Client("wp", WAYPOINT, "waypoint", "node-1"), SERVICES[0], "v1", requests=0.0, error_boost=1.0,
              latency={10: 1.0}, connections=0.9, fail_share=0.1, sent=2100.0, received=700.0)


# ---- labels --------------------------------------------------------------------------------------

def _workload_labels(prefix: str, namespace: str, workload: str, app: str, version: str) -> dict[str, str]:
    sa = workload if workload in WAYPOINTS else app
    return {
        f"{prefix}_workload": workload, f"{prefix}_workload_namespace": namespace,
        f"{prefix}_canonical_service": app, f"{prefix}_canonical_revision": version,
        f"{prefix}_app": app, f"{prefix}_version": version,
        f"{prefix}_principal": f"spiffe://cluster.local/ns/{namespace}/sa/{sa}", f"{prefix}_cluster": "Kubernetes",
    }


def _client_labels(c: Client) -> dict[str, str]:
    return _workload_labels("source", c.namespace, c.workload, c.workload, "v1")


def _service_labels(s: Service) -> dict[str, str]:
    return {"destination_service": f"{s.name}.{s.namespace}.svc.cluster.local",
            "destination_service_name": s.name, "destination_service_namespace": s.namespace}


def _backend_labels(s: Service, version: str) -> dict[str, str]:
    return {**_service_labels(s), **_workload_labels("destination", s.namespace, f"{s.name}-{version}", s.name,
                                                     version)}


def _waypoint_as_source(name: str) -> dict[str, str]:
    return _workload_labels("source", WAYPOINTS[name][0], name, name, "latest")


def _waypoint_as_destination(s: Service) -> dict[str, str]:
    assert s.waypoint is not None
    return {**_service_labels(s),
            **_workload_labels("destination", WAYPOINTS[s.waypoint][0], s.waypoint, s.waypoint, "latest")}


def ztunnel_pod(node: str) -> dict[str, str]:
    """What the addon Prometheus adds to a ztunnel target (pod labels mapped, namespace, pod, node)."""
    return {"app": "ztunnel", "app_kubernetes_io_name": "ztunnel", "istio_io_dataplane_mode": "none",
            "controller_revision_hash": "6c8f9d7b5", "namespace": "istio-system",
            "pod": f"ztunnel-{node[-1]}x{node[-1]}q", "node": node}


def _sidecar_pod(namespace: str, workload: str, app: str, version: str, node: str) -> dict[str, str]:
    return {"app": app, "version": version, "security_istio_io_tlsMode": "istio", "namespace": namespace,
            "pod": f"{workload}-5d7c9-{node[-1]}", "node": node, "pod_template_hash": "5d7c9"}


def _client_pod(c: Client) -> dict[str, str]:
    if c.kind == "gateway":
        return {"app": "istio-ingressgateway", "istio": "ingressgateway", "namespace": c.namespace,
                "pod": "istio-ingressgateway-7f9b-x", "node": c.node, "pod_template_hash": "7f9b"}
    return _sidecar_pod(c.namespace, c.workload, c.workload, "v1", c.node)


def waypoint_pod(name: str) -> dict[str, str]:
    namespace, node = WAYPOINTS[name]
    return {"gateway_networking_k8s_io_gateway_name": name, "service_istio_io_canonical_name": name,
            "service_istio_io_canonical_revision": "latest", "istio_io_dataplane_mode": "none",
            "namespace": namespace, "pod": f"{name}-6b4d8-w", "node": node, "pod_template_hash": "6b4d8"}


class Out(dict[str, float]):
    def add(self, name: str, labels: dict[str, str], value: float) -> None:
        key = name + _labels(labels)
        self[key] = self.get(key, 0.0) + value


# ---- the mesh ------------------------------------------------------------------------------------

@dataclass
class AmbientMesh(Mesh):
    """Served by :class:`tests.e2e.mesh.MeshServer` (``/mesh``: every proxy; ``/istiod``: the control plane)."""

    flows: list[Flow] = field(default_factory=lambda: list(FLOWS))

    def exposition(self, t: float, timestamp_ms: int | None = None) -> str:
        """Every series at ``t`` seconds after start (each sample stamped with ``timestamp_ms`` when given).
        Every value is ``a + b * t`` (a gauge or a counter growing linearly): both are found once, from the
        series at 0 and 1 s, and a scrape only formats them."""
        end = "\n" if timestamp_ms is None else f" {timestamp_ms}\n"
        return "".join([f"{k} {a + b * t:.6f}{end}" for k, a, b in self._linear()])

    def _linear(self) -> list[tuple[str, float, float]]:
        cached: list[tuple[str, float, float]] | None = self.__dict__.get("_linear_cache")
        if cached is None:
            at0, at1 = self.series(0.0), self.series(1.0)
            cached = [(k, at0[k], at1[k] - at0[k]) for k in at1]
            self.__dict__["_linear_cache"] = cached
        return cached

    def series(self, t: float) -> dict[str, float]:
        """Every series at ``t``, {name and labels: value}.  Reports with the same labels add up (a waypoint's
        connections to one backend carry the waypoint as source whoever the client was)."""
        out = Out()
        for f in self.flows:
            self._flow(out, f, t)
        r = ROUTED
        self._ztunnel_l4(out, r, t, "destination", pod_node(r.service.name, r.version), _waypoint_as_source(WAYPOINT),
                         _backend_labels(r.service, r.version))
        self._health(out, t)
        return dict(out)

    def _l7(self, out: Out, f: Flow, t: float, reporter: str, src: dict[str, str], dst: dict[str, str],
            pod: dict[str, str]) -> None:
        base = {"reporter": reporter, **src, **dst, "request_protocol": "http",
                "connection_security_policy": "unknown" if reporter == "source" else "mutual_tls", **pod}
        for code, rate in f.codes().items():
            lab = {**base, "response_code": code, "response_flags": "-", "grpc_response_status": ""}
            out.add("istio_requests_total", lab, rate * t)
            for le, share in cumulative(f.latency, ENVOY_BOUNDS):
                out.add("istio_request_duration_milliseconds_bucket", {**lab, "le": le}, rate * t * share)
            out.add("istio_request_duration_milliseconds_sum", lab, rate * t * 130.0)
            out.add("istio_request_duration_milliseconds_count", lab, rate * t)

    def _tcp(self, out: Out, t: float, lab: dict[str, str], rates: tuple[float, float, float, float, float],
             failed: bool) -> None:
        opened, closed, fails, sent, received = rates
        for name, r in (("istio_tcp_connections_opened_total", opened), ("istio_tcp_connections_closed_total", closed),
                        ("istio_tcp_sent_bytes_total", sent), ("istio_tcp_received_bytes_total", received)):
            out.add(name, lab, r * t)
        if failed:
            out.add("istio_tcp_connections_failed_total", lab, fails * t)

    def _ztunnel_l4(self, out: Out, f: Flow, t: float, reporter: str, node: str, src: dict[str, str],
                    dst: dict[str, str], scale: tuple[float, float] = (1.0, 1.0)) -> None:
        """Both response_flags variants of one ztunnel report; ``scale`` = (connections, bytes) factors."""
        zone = {"source_region": "eu-west1", "source_zone": "eu-west1-b", "destination_region": "eu-west1",
                "destination_zone": "eu-west1-c"}
        cs, bs = scale
        for flags, rates, failed in (("-", f.l4_ok(), False), ("CONNECT", f.l4_fail(), True)):
            o, c, x, s, r = rates
            lab = {"reporter": reporter, **src, **dst, **zone, "request_protocol": "tcp", "response_flags": flags,
                   "connection_security_policy": "mutual_tls", **ztunnel_pod(node)}
            self._tcp(out, t, lab, (o * cs, c * cs, x * cs, s * bs, r * bs), failed)

    def _envoy_l4(self, out: Out, f: Flow, t: float, lab: dict[str, str]) -> None:
        """Envoy's TCP report: the failing connections with response_flags "UF" (no connections_failed metric)."""
        self._tcp(out, t, {**lab, "response_flags": "-"}, f.l4_ok(), False)
        self._tcp(out, t, {**lab, "response_flags": "UF"}, f.l4_fail(), False)

    def _flow(self, out: Out, f: Flow, t: float) -> None:
        c, s, ver = f.client, f.service, f.version
        src, backend = _client_labels(c), _backend_labels(s, ver)
        server_node = pod_node(s.name, ver)
        server_pod = _sidecar_pod(s.namespace, f"{s.name}-{ver}", s.name, ver, server_node)
        wp = f.through_waypoint
        # client side
        if c.kind == "ambient":
            self._ztunnel_l4(out, f, t, "source", c.node, src, _waypoint_as_destination(s) if wp else backend)
        else:  # Envoy: the sidecar or the gateway reports the request it sends
            dst = _waypoint_as_destination(s) if wp else backend
            self._l7(out, f, t, "source", src, dst, _client_pod(c))
            if c.kind == "sidecar":
                self._envoy_l4(out, f, t, {"reporter": "source", **src, **dst, "request_protocol": "tcp",
                                           "connection_security_policy": "unknown", **_client_pod(c)})
        # the waypoint
        if wp:
            assert s.waypoint is not None
            self._l7(out, f, t, "waypoint", src, backend, waypoint_pod(s.waypoint))
        # server side
        if s.mode == "ambient":
            self._ztunnel_l4(out, f, t, "destination", server_node,
                             _waypoint_as_source(s.waypoint) if wp and s.waypoint else src, backend,
                             (0.5, 1.1) if wp else (1.0, 1.0))
        else:
            self._l7(out, f, t, "destination", src, backend, {**server_pod})
            self._envoy_l4(out, f, t, {"reporter": "destination", **src, **backend, "request_protocol": "tcp",
                                       "connection_security_policy": "mutual_tls", **server_pod})

    def _health(self, out: Out, t: float) -> None:
        for node in NODES:
            pod = ztunnel_pod(node)
            h = node_health(node)
            out.add("istio_build", {"component": "ztunnel", "tag": ZTUNNEL_TAGS[node], **pod}, 1)
            out.add("workload_manager_active_proxy_count", pod, h["active"])
            out.add("workload_manager_pending_proxy_count", pod, h["pending"])
            out.add("workload_manager_proxies_started_total", pod, 0.01 * t)
            for reason, r in xds_terminations(node).items():
                out.add("istio_xds_connection_terminations_total", {"reason": reason, **pod}, r * t)
            for url in ("type.googleapis.com/istio.workload.Address",
                        "type.googleapis.com/istio.security.Authorization"):
                out.add("istio_xds_message_total", {"url": url, **pod}, 0.3 * t)
            for qtype, share in (("A", 0.6), ("AAAA", 0.4)):
                lab = {"request_query_type": qtype, "request_protocol": "udp", "source_canonical_service": "loadgen",
                       "source_canonical_revision": "v1", **pod}
                out.add("istio_dns_requests_total", lab, h["dns"] * share * t)
            for reporter, v in (("source", h["sockets_source"]), ("destination", h["sockets_destination"])):
                out.add("istio_tcp_sockets_open", {"reporter": reporter, **pod}, v)
            out.add("process_open_fds", pod, h["fds"])
            out.add("process_max_fds", pod, 1048576)
        # Envoy proxies have their own istio_build (component="proxy") and an app's own process metrics
        proxies = [_client_pod(c) for c in CLIENTS if c.kind != "ambient"] + [waypoint_pod(w) for w in WAYPOINTS] + [
            _sidecar_pod(s.namespace, f"{s.name}-{v}", s.name, v, pod_node(s.name, v))
            for s in SERVICES if s.mode == "sidecar" for v in VERSIONS]
        for pod in proxies:
            out.add("istio_build", {"component": "proxy", "tag": "1.30.0", **pod}, 1)
            out.add("process_open_fds", pod, 77)

    def raw_series_count(self) -> int:
        return sum(1 for line in self.exposition(1.0).splitlines() if line and not line.startswith("#"))


def xds_terminations(node: str) -> dict[str, float]:
    n = NODES.index(node)
    return {"Reconnect": 0.02 * (n + 1), "Complete": 0.005 * (n + 1)}


def node_health(node: str) -> dict[str, float]:
    n = NODES.index(node)
    captured = sum(1 for c in CLIENTS if c.kind == "ambient" and c.node == node) + sum(
        1 for s in SERVICES if s.mode == "ambient" for v in VERSIONS if pod_node(s.name, v) == node)
    return {"active": float(captured), "pending": float([0, 2, 1][n]), "dns": 1.5 + n,
            "xds_terminations": sum(xds_terminations(node).values()), "sockets_source": 3.0 + n,
            "sockets_destination": 5.0 + 2 * n, "fds": 40.0 + 7 * n}


# ---- the truth -----------------------------------------------------------------------------------

def histogram_quantile(q: float, buckets: dict[float, float]) -> float:
    """Prometheus' classic-histogram quantile (linear within the bucket), from per-bucket counts by upper bound."""
    bounds = sorted(buckets)
    total = sum(buckets.values())
    rank = q * total
    cum = 0.0
    lower = 0.0
    for b in bounds:
        if cum + buckets[b] >= rank:
            return lower + (b - lower) * (rank - cum) / buckets[b]
        cum += buckets[b]
        lower = b
    return bounds[-1]


Key = tuple[tuple[str, str], ...]

AMBIENT_SIGNALS = (
    "requests.rate", "errors.ratio_5xx", "errors.ratio_4xx", "latency.p50", "latency.p95", "latency.p99",
    "tcp.sent_bytes.rate", "tcp.received_bytes.rate", "tcp.connections_opened.rate", "tcp.connections_closed.rate",
    "tcp.connections_failed.rate", "tcp.errors.ratio",
    "ztunnel.active_proxies", "ztunnel.pending_proxies", "ztunnel.xds_terminations.rate", "ztunnel.dns_requests.rate",
    "ztunnel.connections_opened.rate", "ztunnel.sent_bytes.rate", "ztunnel.received_bytes.rate",
    "ztunnel.open_sockets", "ztunnel.open_fds", "ztunnel.up", "ztunnel.versions",
)
L7_SIGNALS = AMBIENT_SIGNALS[:6]
L4_SIGNALS = AMBIENT_SIGNALS[6:12]
ZTUNNEL_SIGNALS = AMBIENT_SIGNALS[12:]


class Truth:
    """The answer to each catalog question, from the flows and the contract's definitions.

    * L7 (sidecar services and services behind a waypoint): every request to the service, once: the
      contract's waypoint reports + bypassing Envoy source reports (or the sidecar's destination
      reports) add up to exactly the flows' requests.  Ambient services without a waypoint: none.
    * L4 (sidecar services and ambient services without a waypoint): every connection to the service,
      once (the flow's connections); services behind a waypoint: none.  Failed connections and the
      failing share of closed ones: ambient services without a waypoint only (ztunnel's metrics).
    * ztunnel, per node: the node's ztunnel's outbound (its ambient clients' flows, the leg to the
      waypoint included) and the per-node health values.
    """

    def __init__(self, flows: Iterable[Flow]) -> None:
        self.flows = list(flows)

    @staticmethod
    def flow_labels(f: Flow) -> dict[str, str]:
        return _backend_labels(f.service, f.version)

    def _group(self, flows: Iterable[Flow], labels: Iterable[str], value: Callable[[Flow], float]) -> dict[Key, float]:
        out: dict[Key, float] = defaultdict(float)
        labels = list(labels)
        for f in flows:
            fl = self.flow_labels(f)
            out[tuple(sorted((k, fl[k]) for k in labels))] += value(f)
        return dict(out)

    def l7_flows(self) -> list[Flow]:
        return [f for f in self.flows if f.service.mode == "sidecar" or f.service.waypoint is not None]

    def l4_flows(self, ztunnel_only: bool = False) -> list[Flow]:
        return [f for f in self.flows if f.service.waypoint is None
                and (f.service.mode == "ambient" or not ztunnel_only)]

    def answer(self, signal: str, labels: Iterable[str]) -> dict[Key, float]:
        labels = list(labels)
        g = self._group
        l7 = self.l7_flows()
        if signal == "requests.rate":
            return g(l7, labels, lambda f: f.requests)
        if signal in ("errors.ratio_5xx", "errors.ratio_4xx"):
            code = "503" if signal.endswith("5xx") else "404"
            num = g(l7, labels, lambda f: f.codes()[code])
            return {k: v / g(l7, labels, lambda f: f.requests)[k] for k, v in num.items()}
        if signal.startswith("latency.p"):
            q = int(signal.removeprefix("latency.p")) / 100
            per: dict[Key, dict[float, float]] = defaultdict(lambda: defaultdict(float))
            for f in l7:
                fl = self.flow_labels(f)
                key = tuple(sorted((k, fl[k]) for k in labels))
                total = sum(f.latency.values())
                for b, w in f.latency.items():
                    per[key][b] += f.requests * w / total
            return {k: histogram_quantile(q, dict(v)) for k, v in per.items()}
        tcp = {"tcp.connections_opened.rate": 0, "tcp.connections_closed.rate": 1, "tcp.connections_failed.rate": 2,
               "tcp.sent_bytes.rate": 3, "tcp.received_bytes.rate": 4}
        if signal in tcp:
            i = tcp[signal]
            return g(self.l4_flows(ztunnel_only=signal == "tcp.connections_failed.rate"), labels,
                     lambda f: f.l4_total()[i])
        if signal == "tcp.errors.ratio":  # ztunnel's or the sidecar's (Envoy: "tcp.* as today") closed connections
            l4 = self.l4_flows()
            closed = g(l4, labels, lambda f: f.l4_total()[1])
            return {k: v / closed[k] for k, v in g(l4, labels, lambda f: f.l4_fail()[1]).items()}
        return self.ztunnel(signal, labels)

    def ztunnel(self, signal: str, labels: list[str]) -> dict[Key, float]:
        if signal == "ztunnel.up":
            assert labels == [], labels
            return {(): float(len(NODES))}
        if signal == "ztunnel.versions":
            assert labels == ["tag"], labels
            out: dict[Key, float] = defaultdict(float)
            for tag in ZTUNNEL_TAGS.values():
                out[(("tag", tag),)] += 1
            return dict(out)
        assert labels == ["node"], (signal, labels)
        outbound = {"ztunnel.connections_opened.rate": 0, "ztunnel.sent_bytes.rate": 3,
                    "ztunnel.received_bytes.rate": 4}
        if signal in outbound:
            res: dict[Key, float] = defaultdict(float)
            for f in self.flows:
                if f.client.kind == "ambient":
                    res[(("node", f.client.node),)] += f.l4_total()[outbound[signal]]
            return dict(res)
        field_of = {"ztunnel.active_proxies": "active", "ztunnel.pending_proxies": "pending",
                    "ztunnel.xds_terminations.rate": "xds_terminations", "ztunnel.dns_requests.rate": "dns",
                    "ztunnel.open_fds": "fds"}
        if signal == "ztunnel.open_sockets":
            return {(("node", n),): node_health(n)["sockets_source"] + node_health(n)["sockets_destination"]
                    for n in NODES}
        return {(("node", n),): node_health(n)[field_of[signal]] for n in NODES}
