"""The Sysdig agent's Prometheus facts as data.

A user ``process_filter`` *replaces* the agent's default list, and a user
``prometheus.yaml`` replaces the default scrape jobs, so the renderers re-emit the
defaults below after their own entries (first match wins).
"""

from __future__ import annotations

from typing import Any

MODES = ("promscrape-v1", "promscrape-v2")

ENVOY_PORT = 15090
ENVOY_PATH = "/stats/prometheus"
MERGED_PORT = 15020
# The sidecar's (and Istio gateway's) container: the envoy include is restricted to it, so that
# other envoys (Contour, Emissary, Envoy Gateway) keep their annotation scraping.
ISTIO_PROXY_CONTAINER = "istio-proxy"
# Istio's injector annotates a pod prometheus.io/port: "15020" when it merges the app's and
# envoy's metrics into pilot-agent's endpoint.
MERGED_ANNOTATION = ("prometheus.io/port", str(MERGED_PORT))
RAW_ISTIO = "istio_.*"  # the raw series the recording rules aggregate

# The annotation rules of the agent's default process_filter (dragent.default.yaml),
# in their original order.  Kept verbatim in meaning: the agent compares values as
# strings or wildcards, and templated values must stay quoted.
_POD = "kubernetes.pod.annotation.prometheus.io"
_SVC = "kubernetes.service.annotation.prometheus.io"


def default_process_filter() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [
        {"exclude": {"process.name": "docker-proxy"}},
        {"exclude": {"container.image": "sysdig/agent"}},
        {"exclude": {"appcheck.match": "prometheus"}},
        {
            "include": {
                "container.label.io.prometheus.scrape": "true",
                "conf": {
                    "path": "{container.label.io.prometheus.path}",
                    "port": "{container.label.io.prometheus.port}",
                    "port_filter": [
                        {"exclude": [9092, 9200, 9300]},
                        {"include": "9090-9500"},
                        {"include": [9913, 9984, 24231, 42004]},
                    ],
                },
            }
        },
        {"exclude": {"container.label.io.prometheus.scrape": "false"}},
    ]
    for prefix in (_POD, _SVC):
        rules += [
            {
                "include": {
                    f"{prefix}/scrape": "true",
                    f"{prefix}/scheme": "https",
                    "conf": {"use_https": True, "path": f"{{{prefix}/path}}", "port": f"{{{prefix}/port}}"},
                }
            },
            {
                "include": {
                    f"{prefix}/scrape": "true",
                    "conf": {"path": f"{{{prefix}/path}}", "port": f"{{{prefix}/port}}"},
                }
            },
            {"exclude": {f"{prefix}/scrape": "false"}},
        ]
    return rules


def default_v1_job() -> dict[str, Any]:
    """The agent's default promscrape-v1 job (``prometheus-v1.default.yaml``): every process-filter
    target no ``sysdig_sd_configs`` job selects is scraped under it."""
    return {"job_name": "default", "sample_limit": 40000}


def default_v2_pods_job() -> dict[str, Any]:
    """The agent's default promscrape-v2 ``k8s-pods`` job (annotation-driven, node-local)."""
    return {
        "job_name": "k8s-pods",
        "sample_limit": 40000,
        "tls_config": {"insecure_skip_verify": True},
        "kubernetes_sd_configs": [{"role": "pod"}],
        "relabel_configs": [
            {"action": "keep", "source_labels": ["__meta_kubernetes_pod_host_ip"], "regex": "__HOSTIPS__"},
            {
                "action": "keep",
                "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
                "regex": "true",
            },
            {
                "action": "replace",
                "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scheme"],
                "target_label": "__scheme__",
                "regex": "(https?)",
            },
            {
                "action": "replace",
                "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_path"],
                "target_label": "__metrics_path__",
                "regex": "(.+)",
            },
            {
                "action": "replace",
                "source_labels": ["__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"],
                "regex": "([^:]+)(?::\\d+)?;(\\d+)",
                "replacement": "$1:$2",
                "target_label": "__address__",
            },
            *sysdig_pod_relabels(),
        ],
    }


def sysdig_pod_relabels() -> list[dict[str, Any]]:
    """Attach a scraped series to its pod and container in Sysdig's hierarchy."""
    return [
        {"action": "replace", "source_labels": ["__meta_kubernetes_pod_uid"], "target_label": "sysdig_k8s_pod_uid"},
        {
            "action": "replace",
            "source_labels": ["__meta_kubernetes_pod_container_name"],
            "target_label": "sysdig_k8s_pod_container_name",
        },
    ]


# --- agent versions: which release brings what (docs.sysdig.com, "Collect Prometheus metrics" and
# "(Legacy) Working with Prometheus Metrics"; sysdiglabs/charts@1e57ebb4) -----------------------------

AgentVersion = tuple[int, int, int]

PROMSCRAPE_V2_FROM: AgentVersion = (10, 5, 0)  # prom_service_discovery: native Prometheus service discovery
PROMETHEUS_ON_BY_DEFAULT_FROM: AgentVersion = (12, 0, 0)  # Prometheus collection on by default; v1 is legacy
ANNOTATION_SCRAPE_FROM: AgentVersion = (12, 2, 0)  # prometheus.io/scrape pods and Monitoring Integrations
# The agent the sysdig-deploy chart 1.116.5 installs (subchart agent 2.10.2, appVersion 14.7.4).
DEFAULT_AGENT_VERSION = "14.7.4"


def agent_version(v: str) -> AgentVersion:
    """``"12"``, ``"12.2"`` or ``"12.2.1"`` as a comparable triple (missing parts are 0)."""
    a, b, c = ([int(x) for x in v.split(".")] + [0, 0, 0])[:3]
    return a, b, c


def shown(v: AgentVersion) -> str:
    return ".".join(str(x) for x in v)


def default_mode(v: str) -> str:
    """The mode an agent of version ``v`` gets when the profile names none: promscrape v2 wherever the agent
    runs it (10.5.0 and later; the agent's own default from 12.0.0), v1 only on agents that predate v2."""
    return "promscrape-v2" if supports_promscrape_v2(v) else "promscrape-v1"


def supports_promscrape_v2(v: str) -> bool:
    """An agent of version ``v`` can run promscrape v2 (10.5.0 and later)."""
    return agent_version(v) >= PROMSCRAPE_V2_FROM


# --- Helm charts (sysdiglabs/charts@1e57ebb4: sysdig-deploy 1.116.5, agent 2.10.2, shield 1.49.4) --------------
CHARTS = ("agent", "sysdig-deploy", "shield")
# shield: features.monitor.prometheus.enabled switches the feature on (dragent.yaml prometheus.enabled) and
# writes prometheus_yaml (a map) as the host ConfigMap's prometheus.yaml key (templates/host/configmap.yaml);
# host.additional_settings is merged over the chart's dragent.yaml (mergeOverwrite, _configmap_helpers.tpl).
SHIELD_PROMETHEUS = ("features", "monitor", "prometheus")
SHIELD_SETTINGS = ("host", "additional_settings")

# --- Prometheus remote write into Sysdig (docs.sysdig.com, "Prometheus Remote Write") ---------------------------
# The path on the region's host; the bearer token is a Sysdig API token, not the agent access key.
REMOTE_WRITE_PATH = "/prometheus/remote/write"
REGIONS = {
    "us1": "api.sysdigcloud.com",  # US East
    "us2": "us2.app.sysdig.com",
    "eu1": "eu1.app.sysdig.com",
    "au1": "app.au1.sysdig.com",
}
REGION_NAMES = tuple(REGIONS)


def remote_write_url(region: str) -> str:
    return f"https://{REGIONS[region]}{REMOTE_WRITE_PATH}"


# --- PromQL API limits (docs.sysdig.com, "Prometheus public API service limits") ------------------------------
MAX_METRICS_PER_QUERY = 10  # distinct metric names one query may read
MAX_SERIES_UNAGGREGATED = 1000  # series a query without aggregation may return
