"""A synthetic Telemetry-v2 mesh served over HTTP, for real Prometheus servers to scrape.

Counters grow linearly (value = rate × seconds since start), so every rate, ratio
and histogram quantile has a known, steady value.  Series carry the labels
Envoy's stats filter sets plus the per-pod labels a samples-1.22 Prometheus adds
(``namespace``, ``pod``, ``node``, ``pod_template_hash``), which the recording
rules must aggregate away.  The same module feeds the benchmark in ``bench/``.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ENVOY_BOUNDS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
                300000, 600000, 1800000, 3600000)
CONVERGENCE_BOUNDS = (0.1, 0.5, 1, 3, 5, 10, 20, 30)
CODES = (("200", 1.0), ("404", 0.08), ("503", 0.03))


def _le(b: float) -> str:
    return f"{b:.32g}"


def _labels(d: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in d.items()) + "}"


def cumulative(weights: dict[float, float], bounds: tuple[float, ...]) -> list[tuple[str, float]]:
    """Share of observations at or below each bound (+Inf last), from weights placed in buckets."""
    total = sum(weights.values())
    out = []
    for b in bounds:
        out.append((_le(b), sum(w for ub, w in weights.items() if ub <= b) / total))
    out.append(("+Inf", 1.0))
    return out


@dataclass
class Mesh:
    services: int = 3
    versions: int = 2
    pods: int = 2
    callers: int = 2
    namespace: str = "shop"
    tcp: bool = True
    gateway: bool = True

    def service(self, s: int) -> str:
        return f"svc-{s}"

    def request_rate(self, s: int, v: int, code: str) -> float:
        """Requests per second, per pod and caller, for one response code."""
        base = dict(CODES)[code]
        return base * (1 + s) * (1.5 if v == 1 and code != "200" else 1.0)

    def latency_weights(self, s: int, v: int) -> dict[float, float]:
        """Observations per bucket (by upper bound), between 10 ms and 2.5 s, no bucket empty.

        Quantiles never fall exactly on a bucket boundary: there histogram_quantile is
        discontinuous and floating-point noise would decide the answer."""
        return {10: 29.3 + s, 25: 24.1, 50: 19.7, 100: 11.9 + 4.3 * v, 250: 7.7, 500: 3.1, 1000: 2.3 + 2.9 * v,
                2500: 1.3}

    def size_weights(self, s: int) -> dict[float, float]:
        return {250: 9.7, 500: 37.9, 1000: 24.3 + s, 2500: 9.1, 5000: 6.7, 10000: 4.9, 30000: 3.3, 60000: 1.9,
                300000: 1.7}

    def pods_of(self) -> Iterator[tuple[int, int, int]]:
        for s in range(self.services):
            for v in range(self.versions):
                for p in range(self.pods):
                    yield s, v, p

    def raw_series_count(self) -> int:
        return sum(1 for line in self.exposition(1.0).splitlines() if line and not line.startswith("#"))

    def exposition(self, t: float, timestamp_ms: int | None = None) -> str:
        """Every sidecar and gateway series at ``t`` seconds after start (each sample stamped with
        ``timestamp_ms`` when given)."""
        end = "\n" if timestamp_ms is None else f" {timestamp_ms}\n"
        return "".join([f"{name} {rate * t * share if share is not None else rate * t:.6f}{end}"
                        for name, rate, share in self._template()])

    def _template(self) -> list[tuple[str, float, float | None]]:
        """Every series once, as (name and labels, rate, share): its value at ``t`` is ``rate * t``, times
        ``share`` when there is one (the same products, in the same order, as writing each value out).
        Built once per mesh: a scrape only formats the values."""
        key = dataclasses.astuple(self)
        cached: tuple[object, list[tuple[str, float, float | None]]] | None = self.__dict__.get("_template_of")
        if cached is not None and cached[0] == key:
            return cached[1]
        out: list[tuple[str, float, float | None]] = []
        ns = self.namespace
        for s, v, p in self.pods_of():
            svc, ver = self.service(s), f"v{v + 1}"
            workload = f"{svc}-{ver}"
            pod = {"namespace": ns, "pod": f"{workload}-abc{p}", "node": f"node-{p % 2}", "pod_template_hash": "abc"}
            for c in range(self.callers):
                src = {"source_workload": f"caller-{c}", "source_workload_namespace": ns, "source_app": f"caller-{c}",
                       "source_version": "v1"}
                dst = {
                    "destination_workload": workload, "destination_workload_namespace": ns,
                    "destination_app": svc, "destination_version": ver,
                    "destination_service": f"{svc}.{ns}.svc.cluster.local",
                    "destination_service_name": svc, "destination_service_namespace": ns,
                    "destination_canonical_service": svc, "destination_canonical_revision": ver,
                }
                for reporter in ("destination", "source"):
                    common = {"reporter": reporter, **src, **dst, "request_protocol": "http",
                              "connection_security_policy": "mutual_tls" if reporter == "destination" else "unknown",
                              **pod}
                    for code, _ in CODES:
                        rate = self.request_rate(s, v, code)
                        lab = {**common, "response_code": code, "response_flags": "-", "grpc_response_status": ""}
                        out.append((f"istio_requests_total{_labels(lab)}", rate, None))
                        self._histogram(out, "istio_request_duration_milliseconds", lab, rate,
                                        self.latency_weights(s, v), ENVOY_BOUNDS, 120.0)
                        self._histogram(out, "istio_request_bytes", lab, rate, self.size_weights(s),
                                        ENVOY_BOUNDS, 900.0)
                        self._histogram(out, "istio_response_bytes", lab, rate, self.size_weights(s + 1),
                                        ENVOY_BOUNDS, 4000.0)
                    if self.tcp:
                        tcp = {"reporter": reporter, **src, **dst, "connection_security_policy": "mutual_tls", **pod}
                        for name, r in (("istio_tcp_sent_bytes_total", 1000.0),
                                        ("istio_tcp_received_bytes_total", 250.0),
                                        ("istio_tcp_connections_opened_total", 0.5),
                                        ("istio_tcp_connections_closed_total", 0.4)):
                            out.append((f"{name}{_labels(tcp)}", r * (1 + s), None))
        if self.gateway:
            gw_pod = {"namespace": "istio-system", "pod": "istio-ingressgateway-xyz", "node": "node-0",
                      "pod_template_hash": "xyz"}
            for s in range(self.services):
                svc = self.service(s)
                for code, base in CODES:
                    lab = {"reporter": "source", "source_workload": "istio-ingressgateway",
                           "source_workload_namespace": "istio-system", "destination_service_name": svc,
                           "destination_service_namespace": ns, "destination_workload": f"{svc}-v1",
                           "destination_workload_namespace": ns, "response_code": code, **gw_pod}
                    rate = base * 2 * (1 + s)
                    out.append((f"istio_requests_total{_labels(lab)}", rate, None))
                    self._histogram(out, "istio_request_duration_milliseconds", lab, rate,
                                    self.latency_weights(s, 0), ENVOY_BOUNDS, 150.0)
        self.__dict__["_template_of"] = (key, out)
        return out

    def _histogram(self, out: list[tuple[str, float, float | None]], name: str, lab: dict[str, str], rate: float,
                   weights: dict[float, float], bounds: tuple[float, ...], mean: float) -> None:
        """A histogram of ``rate`` observations per second: each bucket's count is ``rate * t`` times its share."""
        for le, share in cumulative(weights, bounds):
            out.append((f"{name}_bucket{_labels({**lab, 'le': le})}", rate, share))
        out.append((f"{name}_sum{_labels(lab)}", rate, mean))
        out.append((f"{name}_count{_labels(lab)}", rate, None))

    def istiod(self, t: float, timestamp_ms: int | None = None) -> str:
        out = []
        for typ, r in (("cds", 0.5), ("eds", 2.0), ("lds", 0.5), ("rds", 0.7), ("eds_senderr", 0.02)):
            out.append(f'pilot_xds_pushes{{type="{typ}"}} {r * t:.6f}')
        for le, share in cumulative({0.1: 70.0, 0.5: 20.0, 1: 6.0, 3: 4.0}, CONVERGENCE_BOUNDS):
            out.append(f'pilot_proxy_convergence_time_bucket{{le="{le}"}} {3.0 * share * t:.6f}')
        out.append(f"pilot_total_xds_rejects {0.01 * t:.6f}")
        out.append(f"sidecar_injection_success_total {0.2 * t:.6f}")
        out.append(f"sidecar_injection_failure_total {0.01 * t:.6f}")
        out.append(f"citadel_server_csr_sign_err_count {0.005 * t:.6f}")
        out.append(f"citadel_server_authentication_failure_count {0.003 * t:.6f}")
        out.append(f'pilot_xds{{version="1.22.0"}} {float(self.services * self.versions * self.pods):.1f}')
        end = "\n" if timestamp_ms is None else f" {timestamp_ms}\n"
        return "".join(line + end for line in out)


class MeshServer:
    """Serves ``/mesh`` (sidecars and gateway) and ``/istiod`` on 127.0.0.1, on a free port.

    Every sample carries the timestamp of the instant its value is computed for.  Without one, Prometheus
    stamps a sample with the time its scrape started, while the value is computed when the request is
    handled: on a loaded machine that lag varies by up to a second or more, and a 20 s rate is then off by
    several percent (8% was seen).  With it, each sample is exact however late its scrape is handled
    (Prometheus honours exposed timestamps by default)."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self.start = time.time() - 3600.0  # an hour of history: counters are far from zero
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                now_ms = int(time.time() * 1000)
                t = now_ms / 1000 - outer.start
                if self.path.startswith("/mesh"):
                    body = outer.mesh.exposition(t, now_ms)
                elif self.path.startswith("/istiod"):
                    body = outer.mesh.istiod(t, now_ms)
                else:
                    self.send_error(404)
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

    def __enter__(self) -> MeshServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
