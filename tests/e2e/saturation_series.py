"""What the saturation rule set reads, for the synthetic mesh of :mod:`tests.e2e.mesh` (``Mesh(saturation=True)``).

* cAdvisor's container series (``namespace``, ``pod``, ``container``) of every mesh pod: the application
  container ``app``, the ``istio-proxy``, the pod's own cgroup row (``container=""``, the sum of the others) and
  the pause container (``POD``); of the gateway's pod (its ``istio-proxy``); and of a pod no Istio series names
  (``batch-0``), which nothing may count.  CPU counters grow at the rates below, working sets are constant.
* Requests rejected with response flag ``UO``: by the destination's sidecar (its own version), and by the
  callers' sidecars (destination version and workload ``unknown``: no upstream host was picked), with flags
  ``UO`` and ``URX,UO``.
* Envoy's overflow counters of the callers' outbound clusters (and an inbound one, which is no service).

Every value is a function of the service, version and pod indexes, so the raw answer is known.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.e2e.mesh import Mesh

OVERFLOW_KINDS = (("pending", "envoy_cluster_upstream_rq_pending_overflow", 0.3),
                  ("connection", "envoy_cluster_upstream_cx_overflow", 0.2),
                  ("retry", "envoy_cluster_upstream_rq_retry_overflow", 0.1))
GATEWAY_POD = ("istio-system", "istio-ingressgateway-xyz")


def app_cpu(s: int, v: int, p: int) -> float:
    """Cores the application container uses: the second pod twice the first, v2 twice v1."""
    return 0.05 * (1 + s) * (1 + v) * (1 + p)


def proxy_cpu(s: int, v: int, p: int) -> float:
    return 0.01 * (1 + s) * (1 + p) + 0.002 * v


def app_memory(s: int, v: int, p: int) -> float:
    return 50e6 * (1 + s) * (1 + 0.5 * p) + 1e6 * v


def proxy_memory(s: int, v: int, p: int) -> float:
    return 30e6 + 1e6 * s + 2e6 * p + 0.5e6 * v


def uo_rate(s: int, v: int, reporter: str) -> float:
    """Requests per second (per pod) rejected with flag UO, by who reports them."""
    return (0.02 if reporter == "destination" else 0.05) * (1 + s) * (1 + v)


def _labels(d: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in d.items()) + "}"


def _containers(out: list[str], ns: str, pod: str, t: float, app: tuple[float, float] | None,
                proxy: tuple[float, float]) -> None:
    rows = [("istio-proxy", proxy), ("POD", (0.001, 1e6))]
    if app is not None:
        rows.append(("app", app))
    rows.append(("", (sum(c for _, (c, _) in rows), sum(m for _, (_, m) in rows))))
    for container, (cpu, mem) in rows:
        lab = {"namespace": ns, "pod": pod, "container": container, "id": f"/kubepods/pod-{pod}/{container}",
               "image": f"{container or 'pause'}:1"}
        out.append(f"container_cpu_usage_seconds_total{_labels(lab)} {cpu * t:.6f}")
        out.append(f"container_memory_working_set_bytes{_labels(lab)} {mem:.1f}")


def exposition(mesh: Mesh, t: float) -> list[str]:
    out: list[str] = []
    ns = mesh.namespace
    for s, v, p in mesh.pods_of():
        svc, ver = mesh.service(s), f"v{v + 1}"
        workload = f"{svc}-{ver}"
        pod = f"{workload}-abc{p}"
        _containers(out, ns, pod, t, (app_cpu(s, v, p), app_memory(s, v, p)),
                    (proxy_cpu(s, v, p), proxy_memory(s, v, p)))
        dst = {"destination_service": f"{svc}.{ns}.svc.cluster.local", "destination_service_name": svc,
               "destination_service_namespace": ns, "destination_workload_namespace": ns,
               "destination_app": svc, "destination_canonical_service": svc}
        common = {"source_workload": "caller-0", "source_workload_namespace": ns, "source_app": "caller-0",
                  "source_version": "v1", "request_protocol": "http", "response_code": "503",
                  "connection_security_policy": "unknown", "grpc_response_status": ""}
        own = {"destination_workload": workload, "destination_version": ver, "destination_canonical_revision": ver}
        unknown = {"destination_workload": "unknown", "destination_version": "unknown",
                   "destination_canonical_revision": "unknown"}
        lab = {"reporter": "destination", **common, **dst, **own, "response_flags": "UO", "namespace": ns,
               "pod": pod}
        out.append(f"istio_requests_total{_labels(lab)} {uo_rate(s, v, 'destination') * t:.6f}")
        caller = {"namespace": ns, "pod": f"caller-0-x{v}{p}"}
        for flags, share in (("UO", 0.75), ("URX,UO", 0.25)):
            lab = {"reporter": "source", **common, **dst, **unknown, "response_flags": flags, **caller}
            out.append(f"istio_requests_total{_labels(lab)} {uo_rate(s, v, 'source') * share * t:.6f}")
        for _, metric, rate in OVERFLOW_KINDS:
            cluster = {"cluster_name": f"outbound|80||{svc}.{ns}.svc.cluster.local", **caller}
            out.append(f"{metric}{_labels(cluster)} {rate * (1 + s) * t:.6f}")
            out.append(f'{metric}{_labels({"cluster_name": "inbound|8080||", "namespace": ns, "pod": pod})} '
                       f"{rate * t:.6f}")
    if mesh.gateway:
        _containers(out, *GATEWAY_POD, t, None, (0.2, 80e6))
    _containers(out, ns, "batch-0", t, (1.5, 900e6), (0.05, 40e6))
    return out
