"""Istio releases as data: metric names, units, labels, buckets, defaults.

A new Istio release is a data change: extend the ``last`` minor of the newest
:data:`ERAS` entry, or add an era when something really changed.  Everything the
renderers need to know about a version comes from :func:`release`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

# Envoy's default histogram bounds, used by Telemetry v2 for durations (ms) and sizes (bytes).
ENVOY_BUCKETS: tuple[float, ...] = (
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
    300000, 600000, 1800000, 3600000,
)
# Mixer's explicit duration bounds (seconds) and its exponential size bounds (1, 10, ... 1e8).
MIXER_DURATION_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
MIXER_SIZE_BUCKETS: tuple[float, ...] = tuple(float(10**i) for i in range(9))
CONVERGENCE_BUCKETS: tuple[float, ...] = (0.1, 0.5, 1, 3, 5, 10, 20, 30)

_MIXER_LABELS = frozenset(
    {
        "reporter", "source_app", "source_principal", "source_workload", "source_workload_namespace",
        "source_version", "destination_app", "destination_principal", "destination_workload",
        "destination_workload_namespace", "destination_version", "destination_service",
        "destination_service_name", "destination_service_namespace", "request_protocol",
        "response_code", "response_flags", "permissive_response_code", "permissive_response_policyid",
        "connection_security_policy",
    }
)
_TV2_LABELS = frozenset(
    (_MIXER_LABELS - {"permissive_response_code", "permissive_response_policyid"})
    | {
        "source_canonical_service", "source_canonical_revision", "destination_canonical_service",
        "destination_canonical_revision", "grpc_response_status",
    }
)
_TV2_LABELS_CLUSTER = _TV2_LABELS | {"source_cluster", "destination_cluster"}


@dataclass(frozen=True)
class Telemetry:
    """How the mesh's standard metrics are produced and named."""

    name: str  # "mixer" or "v2"
    requests: str
    duration: str  # histogram base name (``_bucket`` is appended)
    duration_unit: str  # "s" or "ms"
    request_bytes: str
    response_bytes: str
    tcp_sent: str | None
    tcp_received: str | None
    tcp_opened: str | None
    tcp_closed: str | None
    duration_buckets: tuple[float, ...]
    size_buckets: tuple[float, ...]
    labels: frozenset[str]

    @property
    def has_canonical(self) -> bool:
        return "destination_canonical_service" in self.labels

    @property
    def has_grpc_status(self) -> bool:
        return "grpc_response_status" in self.labels


MIXER = Telemetry(
    name="mixer",
    requests="istio_requests_total",
    duration="istio_request_duration_seconds",
    duration_unit="s",
    request_bytes="istio_request_bytes",
    response_bytes="istio_response_bytes",
    tcp_sent="istio_tcp_sent_bytes_total",
    tcp_received="istio_tcp_received_bytes_total",
    tcp_opened="istio_tcp_connections_opened_total",
    tcp_closed="istio_tcp_connections_closed_total",
    duration_buckets=MIXER_DURATION_BUCKETS,
    size_buckets=MIXER_SIZE_BUCKETS,
    labels=_MIXER_LABELS,
)
# Telemetry v2 keeps Mixer's metric names but for the duration, now in milliseconds
TELEMETRY_V2 = replace(
    MIXER,
    name="v2",
    duration="istio_request_duration_milliseconds",
    duration_unit="ms",
    duration_buckets=ENVOY_BUCKETS,
    size_buckets=ENVOY_BUCKETS,
    labels=_TV2_LABELS,
)
TELEMETRY_V2_CLUSTER = replace(TELEMETRY_V2, labels=_TV2_LABELS_CLUSTER)


@dataclass(frozen=True)
class ControlPlane:
    """Where control-plane metrics come from in a release."""

    component: str  # "istiod" or "pilot"
    service: str  # Kubernetes Service exposing the monitoring port
    port: int
    port_name: str
    injection_success: str
    injection_failure: str
    csr_failures: tuple[str, ...]


_CP_ISTIOD = ControlPlane(
    component="istiod",
    service="istiod",
    port=15014,
    port_name="http-monitoring",
    injection_success="sidecar_injection_success_total",
    injection_failure="sidecar_injection_failure_total",
    csr_failures=("citadel_server_csr_sign_err_count", "citadel_server_authentication_failure_count"),
)
_CP_15 = replace(_CP_ISTIOD, service="istio-pilot")
_CP_MIXER = replace(_CP_ISTIOD, component="pilot", service="istio-pilot")


@dataclass(frozen=True)
class Era:
    """A range of minor releases (1.first to 1.last) that share every fact below."""

    first: int
    last: int
    telemetry: Telemetry
    control_plane: ControlPlane
    default_flavour: str
    metrics_merging: bool  # meshConfig.enablePrometheusMerge default
    telemetry_api: bool  # telemetry.istio.io Telemetry resource available


ERAS: tuple[Era, ...] = (
    Era(0, 4, MIXER, _CP_MIXER, "helm-1.4", False, False),
    Era(5, 5, TELEMETRY_V2, _CP_15, "istioctl-1.5", False, False),
    Era(6, 6, TELEMETRY_V2, _CP_ISTIOD, "istioctl-1.5", False, False),
    Era(7, 8, TELEMETRY_V2, _CP_ISTIOD, "samples-1.7", True, False),
    Era(9, 11, TELEMETRY_V2_CLUSTER, _CP_ISTIOD, "samples-1.7", True, False),
    Era(12, 13, TELEMETRY_V2_CLUSTER, _CP_ISTIOD, "samples-1.7", True, True),
    Era(14, 21, TELEMETRY_V2_CLUSTER, _CP_ISTIOD, "samples-1.14", True, True),
    Era(22, 30, TELEMETRY_V2_CLUSTER, _CP_ISTIOD, "samples-1.22", True, True),
)


@dataclass(frozen=True)
class Release:
    version: str  # "1.22"
    minor: int
    telemetry: Telemetry
    control_plane: ControlPlane
    default_flavour: str
    metrics_merging: bool
    telemetry_api: bool


@dataclass(frozen=True)
class ReleaseNotes:
    """One Istio minor release's facts that matter for monitoring (istio/istio tags and release notes;
    samples/addons/prometheus.yaml's image at the tag)."""

    minor: int
    date: str  # the tag's date
    addon_prometheus: str  # the samples addon's Prometheus image version
    changes: tuple[str, ...] = ()

    @property
    def prometheus_major(self) -> int:
        return int(self.addon_prometheus.lstrip("v").split(".")[0])


# Istio 1.24 onwards, a data entry per release (older releases: ERAS and the flavours).
NOTES: tuple[ReleaseNotes, ...] = (
    ReleaseNotes(24, "2024-11-07", "v2.54.1", (
        "ambient mode GA (ztunnel per node, waypoints with reporter=\"waypoint\")",
        "Telemetry API customization per waypoint (targetRefs)",
    )),
    ReleaseNotes(25, "2025-03-03", "v3.1.0", (
        "the addon ships Prometheus 3: le and quantile stored in float form (\"100\" -> \"100.0\"), range "
        "selectors left-open",
        "ztunnel locality labels (source_/destination_ region and zone)",
        "service.istio.io/workload-name overrides the reported workload name",
    )),
    ReleaseNotes(26, "2025-05-08", "v3.2.1"),
    ReleaseNotes(27, "2025-08-11", "v3.4.2", ("Lightstep and OpenCensus providers removed",)),
    ReleaseNotes(28, "2025-11-05", "v3.5.0", (
        "metric expiry settings METRIC_ROTATION_INTERVAL and METRIC_GRACEFUL_DELETION_INTERVAL removed: use the "
        "pod annotations sidecar.istio.io/statsEvictionInterval and statsFlushInterval",
        "ztunnel exports process_open_fds",
    )),
    ReleaseNotes(29, "2026-02-16", "v3.8.1", (
        "ztunnel exports istio_tcp_connections_failed_total and istio_tcp_sockets_open",
        "circuit-breaker remaining stats no longer tracked by default",
    )),
    ReleaseNotes(30, "2026-05-18", "v3.10.0", (
        "source_app/destination_app fall back from app to app.kubernetes.io/name to "
        "service.istio.io/canonical-name",
        "Envoy's stats endpoint compressed by default (statsCompression, by Accept-Encoding)",
        "ztunnel dashboard gains a resource-usage row (open connections, descriptors, sockets)",
    )),
)


def notes(version: str) -> ReleaseNotes | None:
    minor = parse_version(version)
    return next((n for n in NOTES if n.minor == minor), None)


def parse_version(text: str) -> int | None:
    """``"1.22"`` or ``"1.22.3"`` -> 22; ``None`` when it is not a 1.x version (exactly: no padding, no
    trailing newline, ASCII digits only)."""
    m = re.fullmatch(r"1\.([0-9]{1,3})(?:\.[0-9]{1,4})?", text)
    return int(m.group(1)) if m else None


def release(version: str) -> Release:
    minor = parse_version(version)
    for era in ERAS:
        if minor is not None and era.first <= minor <= era.last:
            return Release(
                version=f"1.{minor}",
                minor=minor,
                telemetry=era.telemetry,
                control_plane=era.control_plane,
                default_flavour=era.default_flavour,
                metrics_merging=era.metrics_merging,
                telemetry_api=era.telemetry_api,
            )
    raise KeyError(version)


def version_range() -> str:
    return f"1.{ERAS[0].first}–1.{ERAS[-1].last}"
