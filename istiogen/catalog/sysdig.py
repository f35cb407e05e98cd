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
