"""Synthetic raw series for the unit tests, derived from the profile.

Two scenarios over the same services: *healthy* (no alert should fire) and
*degraded* (each alert's condition is met for at least one service, experiment or
the control plane).  Every rate is a dyadic fraction (k/64 per second), so sums
are exact in any order and the expected values computed from the definitions
(:mod:`istiogen.render.expected`) are exact.

The callers' sidecars (``reporter="source"``) report every HTTP request a destination
reports, and a few 503s they failed to connect (``UF``) that no destination sees, so
the callers' view of a service differs from its own; experiment baselines answer no
5xx, so the candidate/baseline 5xx factor compares against the experiment's floor.

In the healthy scenario every counter grows at half its rate until the longest rate
window that reads it (plus one evaluation interval) begins, and at its rate since: a
rule whose window is longer than that sees a different rate.  The degraded scenario is constant, so
alerts hold from the start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from istiogen.profile.resolve import Resolved
from istiogen.profile.types import duration_seconds
from istiogen.render import dataplane
from istiogen.render.definitions import in_plane, is_ambient, waypoint_names
from istiogen.render.labels import kept_bounds

Labels = tuple[tuple[str, str], ...]  # sorted, without empty values
NAME = "__name__"


@dataclass(frozen=True)
class Series:
    """A raw input series: a counter growing ``rate`` per second (``early`` per second until ``since``
    seconds before the evaluation time), or a constant gauge."""

    labels: Labels
    rate: float = 0.0
    gauge: float | None = None
    early: float | None = None
    since: int = 0

    @cached_property
    def label_map(self) -> dict[str, str]:
        """The labels by name (read once per series, however many selectors read it)."""
        return dict(self.labels)

    def rate_over(self, window: int) -> float:
        """Per-second increase over the last ``window`` seconds."""
        if self.early is None or window <= self.since:
            return self.rate
        return (self.rate * self.since + self.early * (window - self.since)) / window


def labels_of(d: dict[str, str]) -> Labels:
    return tuple(sorted((k, v) for k, v in d.items() if v != ""))


def secs(d: str) -> int:
    return max(1, round(duration_seconds(d)))

DEFAULT_SERVICES = (("frontend", "default", ("v1", "v2")),)
PODS = 2


@dataclass(frozen=True)
class Workload:
    service: str
    namespace: str
    version: str


SAMPLE = 2  # services of each kind kept in the synthetic mesh


def sample_services(r: Resolved) -> list[tuple[str, str]]:
    """A bounded, representative set of (namespace, service): the unit tests cover rules, which do not
    multiply with services, so a mesh of 1,000 services is tested with a handful."""
    p = r.profile
    rules = p.rules
    chosen: dict[tuple[str, str], None] = {}
    for e in p.experiments[:SAMPLE]:
        chosen[(e.namespace, e.service)] = None
    groups: set[tuple[str, tuple[str, ...]]] = set()
    overridden = disabled = plain = 0
    for s in p.services:
        key = (s.namespace, s.name)
        group = (s.window or rules.window, tuple(sorted(set(s.kept_labels) - set(rules.kept_labels))))
        if group != (rules.window, ()) and group not in groups:
            groups.add(group)
            chosen[key] = None
        elif s.alerts.disabled and disabled < 1:
            disabled += 1
            chosen[key] = None
        elif s.alerts.model_dump(exclude_defaults=True) and not s.alerts.disabled and overridden < SAMPLE:
            overridden += 1
            chosen[key] = None
        elif plain < SAMPLE and key not in chosen and group == (rules.window, ()):
            plain += 1
            chosen[key] = None
    planes = in_plane(r)  # and one service of every data-plane class, their series differ
    seen = {planes.class_of(ns, name) for ns, name in chosen}
    for s in p.services:
        cls = planes.class_of(s.namespace, s.name)
        if cls not in seen:
            seen.add(cls)
            chosen[(s.namespace, s.name)] = None
    return list(chosen)


def workloads(r: Resolved) -> list[Workload]:
    p = r.profile
    keep = set(sample_services(r))
    versions: dict[tuple[str, str], list[str]] = {}
    for s in p.services:
        if (s.namespace, s.name) in keep:
            versions.setdefault((s.namespace, s.name), []).extend(s.versions or ["v1"])
    for e in p.experiments:
        if (e.namespace, e.service) not in keep:
            continue
        vs = versions.setdefault((e.namespace, e.service), [])
        vs += [e.baseline, e.candidate]
    if not versions:
        for name, ns, default_versions in DEFAULT_SERVICES:
            versions[(ns, name)] = list(default_versions)
    return [
        Workload(name, ns, v)
        for (ns, name), vs in sorted(versions.items())
        for v in dict.fromkeys(vs)
    ]


def _bounds(buckets: Iterable[float]) -> list[str]:
    """``le`` as exporters write it: Envoy and Go clients use the shortest text (``10``, ``0.005``)."""
    return [str(int(b)) if b == int(b) else repr(float(b)) for b in buckets] + ["+Inf"]


class _Builder:
    def __init__(self, r: Resolved, degraded: bool) -> None:
        self.r = r
        self.degraded = degraded
        self.tel = r.release.telemetry
        self.series: list[Series] = []
        self.flavour = r.flavour
        p = r.profile
        self.disabled = {(s.namespace, s.name) for s in p.services if s.alerts.disabled}
        self.bad = self._victim()
        self.candidates = {(e.namespace, e.service, e.candidate) for e in p.experiments}
        # one evaluation interval more: a rule reading another group's record may see it one evaluation late
        lag = secs(p.rules.interval)
        default = secs(p.rules.window)
        self.since = {(s.namespace, s.name): max(default, secs(s.window or p.rules.window)) + lag for s in p.services}
        self.default_since = default + lag
        self.baselines = {(e.namespace, e.service, e.baseline) for e in p.experiments}

    def _victim(self) -> tuple[str, str] | None:
        """The service the degraded scenario breaks: the first one whose alerts are enabled,
        preferably one no experiment runs on (so experiments compare a sick candidate to a healthy baseline)."""
        exp = {(e.namespace, e.service) for e in self.r.profile.experiments}
        planes = in_plane(self.r)
        ok = [(w.namespace, w.service) for w in workloads(self.r) if (w.namespace, w.service) not in self.disabled]
        # a service with L7 signals, which the per-service alerts read (an L4-only one breaks only with it)
        # (a sidecar one has every L7 signal, the callers' view included; behind a waypoint, all but that one)
        rank = {"sidecar": 0, "waypoint": 1, "waypoint-ingress": 1, "ambient": 2}
        ok = sorted(ok, key=lambda k: rank[planes.class_of(*k)])
        return next((k for k in ok if k not in exp), ok[0] if ok else None)

    def is_victim(self, w: Workload) -> bool:
        """Broken in the degraded scenario (experiment baselines stay healthy to compare against); an L4-only
        (ambient) service breaks too: its connections fail."""
        wk = (w.namespace, w.service, w.version)
        if in_plane(self.r).class_of(w.namespace, w.service) == "ambient":
            return (w.namespace, w.service) not in self.disabled
        return (w.namespace, w.service) == self.bad and wk not in self.baselines and wk not in self.candidates

    def candidate_scale(self, w: Workload) -> float:
        """A healthy candidate gets (about) its expected share of the service's traffic, in 1/64ths."""
        for e in self.r.profile.experiments:
            if (e.namespace, e.service, e.candidate) == (w.namespace, w.service, w.version):
                target = e.expected_split / max(1e-9, 1 - e.expected_split)
                return float(max(1, round(target * 64))) / 64
        return 1.0

    def pod_labels(self, w: Workload, pod: int) -> dict[str, str]:
        out: dict[str, str] = {}
        for lab in self.flavour.drop_labels:
            if lab == "instance":
                continue
            if lab in ("namespace", "kubernetes_namespace"):
                out[lab] = w.namespace
            elif lab in ("pod", "pod_name", "kubernetes_pod_name"):
                out[lab] = f"{w.service}-{w.version}-{pod}"
            elif lab == "node":
                out[lab] = f"node-{pod}"
            else:
                out[lab] = f"x{pod}"
        out["instance"] = f"{w.service}-{w.version}-{pod}:15090"
        out["job"] = "envoy-stats"
        return out

    def dest_labels(self, w: Workload) -> dict[str, str]:
        d = {
            "reporter": "destination",
            "source_workload": "client", "source_workload_namespace": w.namespace,
            "destination_workload": f"{w.service}-{w.version}", "destination_workload_namespace": w.namespace,
            "destination_app": w.service, "destination_version": w.version,
            "destination_service": f"{w.service}.{w.namespace}.svc.cluster.local",
            "destination_service_name": w.service, "destination_service_namespace": w.namespace,
        }
        if self.tel.has_canonical:
            d["destination_canonical_service"] = w.service
            d["destination_canonical_revision"] = w.version
        for lab in self.r.profile.rules.kept_labels:
            d.setdefault(lab, "kept")
        return d

    def add(self, name: str, labels: dict[str, str], rate: float = 0.0, gauge: float | None = None,
            since: int | None = None) -> None:
        """A series; in the healthy scenario, a counter's rate changed ``since`` seconds before the evaluation
        (default: the profile's window), from half its rate."""
        changed = not self.degraded and gauge is None
        self.series.append(Series(labels_of({"__name__": name, **labels}), rate, gauge,
                                  rate / 2 if changed else None, (since or self.default_since) if changed else 0))

    def codes(self, w: Workload) -> dict[str, float]:
        """Per-pod request rates by response code (per second)."""
        cand = (w.namespace, w.service, w.version) in self.candidates
        if self.degraded and self.is_victim(w):
            return {"200": 0.5, "404": 0.25, "503": 0.5}
        if self.degraded and cand:  # errors, and far more than its share of the traffic
            return {"200": 1.0, "503": 1.0}
        if (w.namespace, w.service, w.version) in self.baselines:  # clean: its 5xx ratio is below any floor
            return {"200": 1.0, "404": 1 / 64}
        c = self.candidate_scale(w) if cand else 1.0
        return {"200": c, "404": c / 64, "503": c / 512}

    def latency(self, w: Workload) -> dict[float, float]:
        """Share of requests per bucket bound (dyadic): healthy is fast, the victim slow."""
        cand = (w.namespace, w.service, w.version) in self.candidates
        slow = self.degraded and (self.is_victim(w) or cand)
        if self.tel.duration_unit == "ms":
            return {25: 0.25, 5000: 0.75} if slow else {10: 0.5, 25: 0.25, 50: 0.125, 100: 0.0625, 250: 0.0625}
        return {0.025: 0.25, 5: 0.75} if slow else {0.01: 0.5, 0.025: 0.25, 0.05: 0.125, 0.1: 0.0625, 0.25: 0.0625}

    def histogram(self, metric: str, labels: dict[str, str], rate: float, shares: dict[float, float],
                  bounds: Iterable[float], kept: Iterable[float] | None = None, since: int | None = None) -> None:
        """Cumulative bucket counters; with ``kept``, only those bounds plus the nearest dropped one on
        each side (enough to show the rules' le filter at work, without every Envoy bound)."""
        bounds = sorted(set(bounds))
        if kept is not None:
            keep = {float(b) for b in kept}
            below = [b for b in bounds if b < min(keep)]
            above = [b for b in bounds if b > max(keep)]
            bounds = sorted(keep | set(below[-1:]) | set(above[:1]) | {b for b, s in shares.items() if s})
        for b, le in zip([*bounds, float("inf")], _bounds(bounds), strict=True):
            cum = sum(s for ub, s in shares.items() if ub <= b)
            self.add(f"{metric}_bucket", {**labels, "le": le}, rate * cum, since=since)
        self.add(f"{metric}_count", labels, rate, since=since)

    def data_plane(self) -> None:
        t = self.tel
        all_workloads = workloads(self.r)
        ambient = is_ambient(self.r)
        planes = in_plane(self.r)
        for w in all_workloads:
            since = self.since.get((w.namespace, w.service))
            cls = planes.class_of(w.namespace, w.service)
            if cls == "ambient":  # no L7 at all: ztunnel's L4 (below)
                for pod in range(PODS):
                    self.ztunnel_l4(w, pod, since)
                continue
            # behind a waypoint, the waypoint reports what a sidecar would as the destination
            reporter = "destination" if cls == "sidecar" else "waypoint"
            for pod in range(PODS):
                base = {**self.dest_labels(w), **self.pod_labels(w, pod), "request_protocol": "http",
                        "reporter": reporter}
                if reporter == "waypoint":  # scraped from the waypoint's pod
                    wns, wname = self.waypoint_of(w)
                    for scraped in self.flavour.drop_labels:
                        if scraped in ("pod", "pod_name", "kubernetes_pod_name"):
                            base[scraped] = f"{wname}-7f9c4-x{pod}"
                        elif scraped in ("namespace", "kubernetes_namespace"):
                            base[scraped] = wns
                if ambient and cls == "sidecar":
                    base["app"] = w.service  # the pod label the scrape maps (not ztunnel)
                for code, rate in self.codes(w).items():
                    lab = {**base, "response_code": code, "response_flags": "-"}
                    self.add(t.requests, lab, rate, since=since)
                    self.add(t.requests, {**lab, "reporter": "source"}, rate, since=since)  # the caller's sidecar
                    if code == "200":
                        self.histogram(t.duration, lab, rate, self.latency(w), t.duration_buckets,
                                       kept_bounds(self.r, "latency"), since)
                        sizes = dict.fromkeys(t.size_buckets, 0.0)
                        sizes[t.size_buckets[len(t.size_buckets) // 2]] = 0.75
                        sizes[t.size_buckets[-3]] = 0.25
                        self.histogram(t.request_bytes, lab, rate, sizes, t.size_buckets, kept_bounds(self.r, "size"),
                                       since)
                        self.histogram(t.response_bytes, lab, rate, sizes, t.size_buckets,
                                       kept_bounds(self.r, "size"), since)
                # requests the caller's sidecar failed to connect (UF): reported by the caller only, so the
                # callers' view of a service differs from its own
                self.add(t.requests, {**base, "reporter": "source", "response_code": "503", "response_flags": "UF"},
                         1 / 1024, since=since)
                if t.has_grpc_status and w == all_workloads[0]:
                    grpc = {**base, "request_protocol": "grpc", "response_code": "200", "response_flags": "-"}
                    self.add(t.requests, {**grpc, "grpc_response_status": "0"}, 0.5, since=since)
                    self.add(t.requests, {**grpc, "grpc_response_status": "14"}, 0.125, since=since)
                if cls != "sidecar":  # the ztunnel legs to and from the waypoint: no L4 series of the service
                    self.waypoint_legs(w, pod, since)
                elif t.tcp_sent and t.tcp_received and t.tcp_opened and t.tcp_closed:
                    tcp = {k: v for k, v in base.items() if k != "request_protocol"}
                    self.add(t.tcp_sent, tcp, 1024.0, since=since)
                    self.add(t.tcp_received, tcp, 256.0, since=since)
                    self.add(t.tcp_opened, tcp, 0.5, since=since)
                    self.add(t.tcp_closed, tcp, 0.5, since=since)

    def waypoint_of(self, w: Workload) -> tuple[str, str]:
        """(namespace, name) of the waypoint a service is behind: its own entry's, else its namespace's."""
        pl = dataplane.planes(self.r.profile)
        own = [e for e in pl.entries if e.namespace == w.namespace and e.service == w.service]
        for e in own or [e for e in pl.entries if e.namespace == w.namespace and e.service is None]:
            if e.waypoint:
                return e.waypoint
        return (w.namespace, "waypoint")

    def waypoint_pods(self) -> list[tuple[str, str]]:
        """Two pods of every waypoint, named as its Deployment's (<name>-<replicaset hash>-<id>)."""
        return [(ns, f"{name}-7f9c4-x{i}") for ns, name in dataplane.planes(self.r.profile).waypoints
                for i in range(PODS)]

    def ztunnel_labels(self, w: Workload, pod: int, reporter: str) -> dict[str, str]:
        """A ztunnel series' labels: the traffic labels, and the ztunnel pod's own (on the server's node for
        reporter=destination, the client's for source)."""
        node = f"node-{pod}" if reporter == "destination" else f"node-{8 + pod}"  # the client's own node
        return {**self.dest_labels(w), "reporter": reporter, "request_protocol": "tcp",
             "app": "ztunnel", "namespace": self.r.profile.istio.namespace, "pod": f"ztunnel-{node}", "node": node,
             "instance": f"{node}:15020", "job": "kubernetes-pods"}

    def ztunnel_l4(self, w: Workload, pod: int, since: int | None) -> None:
        """One connection stream to an ambient pod, reported by both ztunnels (source and destination)."""
        bad = self.degraded and self.is_victim(w)
        for reporter in ("source", "destination"):
            lab = {**self.ztunnel_labels(w, pod, reporter), "response_flags": "-"}
            lab["destination_workload"] = f"{w.service}-{w.version}"
            self.add("istio_tcp_sent_bytes_total", lab, 1024.0, since=since)
            self.add("istio_tcp_received_bytes_total", lab, 256.0, since=since)
            self.add("istio_tcp_connections_opened_total", lab, 0.5, since=since)
            self.add("istio_tcp_connections_closed_total", lab, 0.25 if bad else 0.5, since=since)
            if bad:
                self.add("istio_tcp_connections_closed_total", {**lab, "response_flags": "CONNECT"}, 0.25, since=since)
            self.add("istio_tcp_connections_failed_total", lab, 0.25 if bad else 1 / 64, since=since)

    def waypoint_legs(self, w: Workload, pod: int, since: int | None) -> None:
        """The two ztunnel legs of a call through the waypoint: client → waypoint (reported by the client's
        ztunnel, destination_workload the waypoint) and waypoint → server (the server's, source_workload it)."""
        name = (waypoint_names(self.r) or ["waypoint"])[0]
        to_wp = {**self.ztunnel_labels(w, pod, "source"), "destination_workload": name, "response_flags": "-"}
        from_wp = {**self.ztunnel_labels(w, pod, "destination"), "source_workload": name, "response_flags": "-"}
        for lab in (to_wp, from_wp):
            self.add("istio_tcp_sent_bytes_total", lab, 2048.0, since=since)
            self.add("istio_tcp_connections_opened_total", lab, 1.0, since=since)
            self.add("istio_tcp_connections_closed_total", lab, 1.0, since=since)

    def ztunnel_health(self) -> None:
        if not is_ambient(self.r):
            return
        bad = self.degraded
        for n in range(PODS):
            node = f"node-{n}"
            zt = {"app": "ztunnel", "namespace": self.r.profile.istio.namespace, "pod": f"ztunnel-{node}",
                  "node": node, "instance": f"{node}:15020", "job": "kubernetes-pods"}
            self.add("istio_build", {**zt, "component": "ztunnel", "tag": self.r.release.version + ".0"}, gauge=1.0)
            self.add("workload_manager_active_proxy_count", zt, gauge=4.0 + n)
            self.add("workload_manager_pending_proxy_count", zt, gauge=1.0 if bad else 0.0)
            for reason, rate in (("Reconnect", 0.0625), ("ConnectionError", 0.25 if bad else 0.0)):
                self.add("istio_xds_connection_terminations_total", {**zt, "reason": reason}, rate)
            self.add("istio_dns_requests_total", {**zt, "request_query_type": "A", "request_protocol": "udp"}, 2.0)
            self.add("istio_tcp_sockets_open", {**zt, "reporter": "source"}, gauge=16.0)
            self.add("process_open_fds", zt, gauge=64.0)

    def gateway(self) -> None:
        gw = self.r.profile.istio.ingress_gateway
        ambient = is_ambient(self.r)
        seen: set[tuple[str, str]] = set()
        for w in workloads(self.r):
            if (w.namespace, w.service) in seen:  # the gateway routes to each service's first version
                continue
            seen.add((w.namespace, w.service))
            lab = {
                "reporter": "source", "source_workload": gw.workload,
                "source_workload_namespace": self.r.gateway_namespace,
                "destination_service_name": w.service, "destination_service_namespace": w.namespace,
                "destination_workload": f"{w.service}-{w.version}", "destination_workload_namespace": w.namespace,
                "pod": "istio-ingressgateway-0", "instance": "10.0.9.9:15090", "job": "envoy-stats",
                **self.gateway_pod_labels(),
            }
            if ambient:  # selected by destination_service where data-plane modes differ
                lab["destination_service"] = f"{w.service}.{w.namespace}.svc.cluster.local"
            broken = self.degraded and (w.namespace, w.service) == self.bad
            codes = {"200": 0.5, "503": 0.5} if broken else {"200": 2.0, "503": 1 / 256}
            for code, rate in codes.items():
                self.add(self.tel.requests, {**lab, "response_code": code}, rate)
                if code == "200":
                    self.histogram(self.tel.duration, {**lab, "response_code": code}, rate, self.latency(w),
                                   self.tel.duration_buckets, kept_bounds(self.r, "latency"))

    def control_plane(self) -> None:
        cp = self.r.release.control_plane

        def matcher(family: str) -> dict[str, str]:
            m = dict(self.flavour.control_plane_matcher(family))
            m.setdefault("job", "istiod")
            m.setdefault("instance", "10.0.0.1:15014")
            return m

        m, inj = matcher("pilot"), matcher("injection")
        bad = self.degraded
        for typ, rate in (("cds", 0.5), ("eds", 2.0), ("lds", 0.5), ("rds", 0.5), ("eds_senderr", 0.25 if bad else 0)):
            self.add("pilot_xds_pushes", {**m, "type": typ}, rate)
        conv = {0.1: 0.5, 30: 0.5} if bad else {0.1: 0.75, 0.5: 0.25}
        self.histogram("pilot_proxy_convergence_time", m, 1.0, conv, (0.1, 0.5, 1, 3, 5, 10, 20, 30))
        self.add("pilot_total_xds_rejects", m, 0.125 if bad else 0.0)
        self.add(cp.injection_success, inj, 0.25)
        self.add(cp.injection_failure, inj, 0.125 if bad else 0.0)
        for name in cp.csr_failures:
            self.add(name, matcher("csr"), 0.0625 if bad else 0.0)
        self.add("pilot_xds", {**m, "version": "1"}, gauge=8.0)
        self.add("up", m, gauge=0.0 if bad else 1.0)


    # saturation -------------------------------------------------------------------------------
    def cpu_per_request(self, w: Workload) -> float:
        """Application CPU seconds per request: 1/8, and a degraded candidate 3/8 (three times its baseline's)."""
        cand = (w.namespace, w.service, w.version) in self.candidates
        return 0.375 if self.degraded and cand else 0.125

    def saturation(self) -> None:
        """cAdvisor's container series of every pod (its application container, its istio-proxy, the pod's own
        cgroup row and the pause container, which the rules must leave out), of a pod no Istio series names,
        and of the gateway's pods; requests rejected with flag UO; Envoy's overflow counters.  Each pod's CPU is
        proportional to its requests (the second pod serves no more but uses twice the CPU); the degraded victim
        uses 2 cores and 1.5 GiB, its proxy 1 core and 512 MiB, and its callers' proxies reject requests."""
        p = self.r.profile
        if "saturation" not in p.rules.sets:
            return
        from istiogen.catalog import saturation as satcat

        src = satcat.source(self.flavour.name, self.r.delivery)
        job = p.saturation.cadvisor_job or (src.cadvisor_job if src else "kubernetes-cadvisor")
        extra = dict(src.matchers) if src and not p.saturation.cadvisor_job else {}
        t = self.tel

        def containers(ns: str, pod: str, node: int, app: tuple[float, float] | None, proxy: tuple[float, float]
                       ) -> None:
            common = {"namespace": ns, "pod": pod, "job": job, "instance": f"node-{node}",
                      "id": f"/kubepods/burstable/pod-{pod}", **extra}
            total_cpu, total_mem = proxy[0] + (app[0] if app else 0) + 1 / 1024, proxy[1] + (app[1] if app else 0)
            rows = [("istio-proxy", proxy), ("POD", (1 / 1024, 1048576.0)), ("", (total_cpu, total_mem))]
            if app is not None:
                rows.append(("app", app))
            for container, (cpu, mem) in rows:
                lab = {**common, "container": container, "image": f"{container or 'pod'}:1"}
                self.add(satcat.CPU, lab, cpu)
                self.add(satcat.MEMORY, lab, gauge=mem)

        first = workloads(self.r)[0]
        for w in workloads(self.r):
            victim = self.degraded and self.is_victim(w)
            # the requests its destination sidecar reports (the gRPC ones data_plane gives the first workload)
            req = sum(self.codes(w).values()) + (0.625 if t.has_grpc_status and w == first else 0.0)
            for pod in range(PODS):
                labels = self.pod_labels(w, pod)
                name = labels.get(src.pod_labels[1] if src and src.pod_labels else "pod", f"{w.service}-{w.version}")
                cpu = 2.0 if victim else self.cpu_per_request(w) * req * (1 + pod)
                mem = 1610612736.0 if victim else 67108864.0 * (1 + pod)
                proxy = (1.0, 536870912.0) if victim else (req / 32, 33554432.0)
                containers(w.namespace, name, pod, (cpu, mem), proxy)
                # requests the callers' sidecars rejected (no upstream host: destination version unknown); a
                # counter that exists and stays flat while healthy
                base = {**self.dest_labels(w), **self.pod_labels(w, pod), "reporter": "source",
                        "destination_workload": "unknown", "destination_version": "unknown",
                        "request_protocol": "http", "response_code": "503", "response_flags": "UO"}
                if self.tel.has_canonical:
                    base["destination_canonical_revision"] = "unknown"
                self.add(t.requests, base, 0.25 if victim else 0.0)
                self.add(t.requests, {**base, "response_flags": "URX,UO"}, 0.0625 if victim else 0.0)  # retried
                if p.saturation.envoy_overflow:
                    cluster = f"outbound|80||{w.service}.{w.namespace}.svc.cluster.local"
                    caller = {"namespace": w.namespace, "pod": f"client-{pod}", "job": "envoy-stats"}
                    for kind_rate, metric in ((0.25, "envoy_cluster_upstream_rq_pending_overflow"),
                                              (0.125, "envoy_cluster_upstream_cx_overflow"),
                                              (0.0, "envoy_cluster_upstream_rq_retry_overflow")):
                        self.add(metric, {**caller, "cluster_name": cluster}, kind_rate if victim else 0.0)
                        self.add(metric, {**caller, "cluster_name": "inbound|8080||"}, 1 / 64)
        # a pod no Istio series names (no sidecar, or never called): not counted
        containers("default", "batch-job-0", 0, (1.0, 268435456.0), (1 / 64, 16777216.0))
        if is_ambient(self.r):  # ztunnel on each node, and the waypoints' pods (their proxy only)
            for n in range(PODS):
                containers(self.r.profile.istio.namespace, f"ztunnel-node-{n}", n, None,
                           (0.125 * (1 + n), 67108864.0 * (1 + n)))
            for ns, name in self.waypoint_pods():
                containers(ns, name, 0, None, (0.25 if name.endswith("0") else 0.5, 134217728.0))
        gw_pod = "istio-ingressgateway-0"
        containers(self.r.gateway_namespace, gw_pod, 0, None, (1.0 if self.degraded else 0.25, 134217728.0))

    def gateway_pod_labels(self) -> dict[str, str]:
        """The flavour's per-pod labels of the gateway's pod, where the saturation rules map it."""
        if "saturation" not in self.r.profile.rules.sets:
            return {}
        from istiogen.catalog import saturation as satcat

        src = satcat.source(self.flavour.name, self.r.delivery)
        if src is None or src.pod_labels is None:
            return {}
        return {src.pod_labels[0]: self.r.gateway_namespace, src.pod_labels[1]: "istio-ingressgateway-0"}


def dataset(r: Resolved, *, degraded: bool) -> list[Series]:
    b = _Builder(r, degraded)
    b.data_plane()
    b.gateway()
    b.control_plane()
    b.ztunnel_health()
    b.saturation()
    return b.series
