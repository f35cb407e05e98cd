"""A synthetic mesh whose traffic can be switched at runtime, for alert scenarios in a real Prometheus.

A scenario is only traffic: :class:`Flow` says how many requests per second one caller sends to one
workload, per response code, with which latency distribution, and which sidecars report them
(``destination``, ``source``: both for a normal call; ``source`` only when the destination has no pod
left and the caller's own sidecar answers 503).  Counters are integrated over time (value = the sum of
rate × duration over the phases so far), so switching scenarios never makes a counter go backwards:
Prometheus sees steady rates within a phase and a clean change at the switch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.e2e.mesh import CONVERGENCE_BOUNDS, ENVOY_BOUNDS, _labels, cumulative

FAST = {10.0: 0.6, 25.0: 0.3, 50.0: 0.09, 100.0: 0.01}  # every request within 100 ms
SLOW = {1000.0: 0.2, 2500.0: 0.8}  # every request between 500 ms and 2.5 s
GATEWAY = ("istio-ingressgateway", "istio-system")


@dataclass(frozen=True)
class Flow:
    namespace: str
    service: str
    version: str
    codes: dict[str, float]  # response code -> requests per second
    latency: dict[float, float] = field(default_factory=lambda: dict(FAST))  # share per bucket bound (ms)
    caller: tuple[str, str] | None = None  # (workload, namespace); default: "client" in the same namespace
    reporters: tuple[str, ...] = ("destination", "source")
    flags: str = "-"
    cpu: float = 0.0  # CPU cores the destination pod's application container uses (cAdvisor), 0: no series


@dataclass(frozen=True)
class Istiod:
    mode: str = "up"  # "up": scraped; "down": its endpoint answers 503 (up == 0)
    push_errors: float = 0.0  # eds_senderr pushes per second


def _series(flows: Iterable[Flow]) -> dict[str, float]:
    """Every counter of the flows, as {series text: rate}."""
    out: dict[str, float] = {}
    for f in flows:
        caller, caller_ns = f.caller or ("client", f.namespace)
        workload = f"{f.service}-{f.version}"
        dst = {
            "destination_workload": workload, "destination_workload_namespace": f.namespace,
            "destination_app": f.service, "destination_version": f.version,
            "destination_service": f"{f.service}.{f.namespace}.svc.cluster.local",
            "destination_service_name": f.service, "destination_service_namespace": f.namespace,
            "destination_canonical_service": f.service, "destination_canonical_revision": f.version,
        }
        src = {"source_workload": caller, "source_workload_namespace": caller_ns, "source_app": caller,
               "source_version": "v1"}
        for reporter in f.reporters:
            pod_of = workload if reporter == "destination" else caller
            pod_ns = f.namespace if reporter == "destination" else caller_ns
            pod = {"namespace": pod_ns, "pod": f"{pod_of}-abc0", "node": "node-0", "pod_template_hash": "abc"}
            for code, rate in f.codes.items():
                lab = {"reporter": reporter, **src, **dst, "request_protocol": "http", "response_code": code,
                       "response_flags": f.flags, **pod}
                out[f"istio_requests_total{_labels(lab)}"] = out.get(f"istio_requests_total{_labels(lab)}", 0) + rate
                name = "istio_request_duration_milliseconds"
                for le, share in cumulative(f.latency, ENVOY_BOUNDS):
                    key = f"{name}_bucket{_labels({**lab, 'le': le})}"
                    out[key] = out.get(key, 0) + rate * share
                out[f"{name}_count{_labels(lab)}"] = out.get(f"{name}_count{_labels(lab)}", 0) + rate
        if f.cpu:  # cAdvisor's series of the destination pod's application container
            container = {"namespace": f.namespace, "pod": f"{workload}-abc0", "container": "app"}
            key = f"container_cpu_usage_seconds_total{_labels(container)}"
            out[key] = out.get(key, 0) + f.cpu
    return out


def _istiod_series(istiod: Istiod) -> dict[str, float]:
    out = {f'pilot_xds_pushes{{type="{t}"}}': r for t, r in (("cds", 0.5), ("eds", 2.0), ("lds", 0.5), ("rds", 0.5))}
    out['pilot_xds_pushes{type="eds_senderr"}'] = istiod.push_errors
    for le, share in cumulative({0.1: 0.75, 0.5: 0.25}, CONVERGENCE_BOUNDS):
        out[f'pilot_proxy_convergence_time_bucket{{le="{le}"}}'] = 3.0 * share
    out["pilot_total_xds_rejects"] = 0.0
    out["sidecar_injection_success_total"] = 0.25
    out["sidecar_injection_failure_total"] = 0.0
    out["citadel_server_csr_sign_err_count"] = 0.0
    out["citadel_server_authentication_failure_count"] = 0.0
    return out


class _Counters:
    """Counters whose rates change at phase switches: value = accumulated + rate × time since the switch."""

    def __init__(self) -> None:
        self.rates: dict[str, float] = {}
        self.acc: dict[str, float] = {}
        self.since = time.time()

    def switch(self, rates: dict[str, float], now: float) -> None:
        for k, r in self.rates.items():
            self.acc[k] = self.acc.get(k, 0.0) + r * (now - self.since)
        self.rates, self.since = dict(rates), now

    def exposition(self, now: float) -> str:
        return "".join(f"{k} {self.acc.get(k, 0.0) + r * (now - self.since):.6f}\n" for k, r in self.rates.items())


class ScenarioMesh:
    """Serves ``/mesh`` (sidecars and gateways) and ``/istiod`` on 127.0.0.1; :meth:`switch` changes the traffic."""

    def __init__(self, flows: list[Flow], istiod: Istiod) -> None:
        self.lock = threading.Lock()
        self.mesh, self.cp = _Counters(), _Counters()
        self.istiod = istiod
        self.switch(flows, istiod)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                now = time.time()
                with outer.lock:
                    if self.path.startswith("/mesh"):
                        body = outer.mesh.exposition(now)
                    elif self.path.startswith("/istiod") and outer.istiod.mode == "up":
                        body = outer.cp.exposition(now) + 'pilot_xds{version="1.22.0"} 8\n'
                    else:
                        self.send_error(503 if self.path.startswith("/istiod") else 404)
                        return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def switch(self, flows: list[Flow], istiod: Istiod) -> None:
        now = time.time()
        with self.lock:
            self.mesh.switch(_series(flows), now)
            self.cp.switch(_istiod_series(istiod), now)
            self.istiod = istiod

    def __enter__(self) -> ScenarioMesh:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
