"""``patch.yaml`` for the ``sysdig-agent`` ConfigMap: only the ``prometheus.yaml`` key.

A strategic-merge patch replaces each ``data`` key whole, so the patch carries
``prometheus.yaml`` alone and leaves ``dragent.yaml`` untouched.  The federation
job's ``match[]`` comes from the signal model (the federated records), never
from a second hand-kept list.
"""

from __future__ import annotations

import re
from typing import Any

from istiogen.catalog import sysdig
from istiogen.emit.yaml import dump
from istiogen.profile.resolve import Resolved
from istiogen.render.artifact import Artifact
from istiogen.render.model import SignalModel

PATH = "sysdig/sysdig-agent-patch.yaml"
DATA_KEY = "prometheus.yaml"


def _sd_label(k: str) -> str:
    return "__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", k)


def _re2_literal(v: str) -> str:
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", v)


def federation_job(r: Resolved, model: SignalModel) -> dict[str, Any]:
    s = r.profile.sysdig
    pod_labels = [x for x in r.flavour.drop_labels if x not in ("instance", "job")] if r.delivery != "operator" \
        else ["namespace", "pod"]
    job: dict[str, Any] = {
        "job_name": s.job_name,
        "honor_labels": True,
        "metrics_path": "/federate",
        "params": {"match[]": model.match_selectors()},
    }
    if pod_labels:
        job["metric_relabel_configs"] = [{"action": "labeldrop", "regex": "|".join(pod_labels)}]
    t = r.target
    ns = t.namespace
    if s.mode == "promscrape-v1":
        tags = {"namespace": ns, "pod": t.federated_pod} if t.federated_pod else {"namespace": ns, t.kind: t.workload}
        job["sysdig_sd_configs"] = [{"tags": tags}]
        return job
    relabel: list[dict[str, Any]] = [
        {"action": "keep", "source_labels": ["__meta_kubernetes_pod_host_ip"], "regex": "__HOSTIPS__"},
    ]
    for k, v in t.pod_labels:
        relabel.append({"action": "keep", "source_labels": [_sd_label(k)], "regex": _re2_literal(v)})
    if t.federated_pod:  # one replica (see Target.federated_pod)
        relabel.append({"action": "keep", "source_labels": ["__meta_kubernetes_pod_name"],
                        "regex": _re2_literal(t.federated_pod)})
    relabel.append(
        {"action": "keep", "source_labels": ["__meta_kubernetes_pod_container_port_number"], "regex": str(t.port)}
    )
    relabel += sysdig.sysdig_pod_relabels()
    job["kubernetes_sd_configs"] = [{"role": "pod", "namespaces": {"names": [ns]}}]
    job["relabel_configs"] = relabel
    return job


def envoy_job() -> dict[str, Any]:
    """promscrape v2: every sidecar's envoy on 15090, scraped by the agent on its node only."""
    return {
        "job_name": "istio-envoy",
        "metrics_path": sysdig.ENVOY_PATH,
        "kubernetes_sd_configs": [{"role": "pod"}],
        "relabel_configs": [
            {"action": "keep", "source_labels": ["__meta_kubernetes_pod_host_ip"], "regex": "__HOSTIPS__"},
            {"action": "keep", "source_labels": ["__meta_kubernetes_pod_container_port_name"],
             "regex": ".*-envoy-prom"},
            {"action": "replace", "source_labels": ["__address__"], "regex": "([^:]+)(?::\\d+)?",
             "replacement": f"$1:{sysdig.ENVOY_PORT}", "target_label": "__address__"},
            *sysdig.sysdig_pod_relabels(),
        ],
    }


def prometheus_yaml(r: Resolved, model: SignalModel) -> dict[str, Any]:
    s = r.profile.sysdig
    jobs: list[dict[str, Any]] = []
    if s.federation:
        jobs.append(federation_job(r, model))
    if s.mode == "promscrape-v2":
        if s.envoy_filter:
            jobs.append(envoy_job())
        if s.keep_default_rules:
            pods = sysdig.default_v2_pods_job()
            if s.federation:
                # sidecars' merged endpoints carry the raw istio_* series the federation delivers aggregated
                pods["metric_relabel_configs"] = [
                    {"action": "drop", "source_labels": ["__name__"], "regex": "istio_.*"}
                ]
            jobs.append(pods)
    return {"global": {"scrape_interval": s.scrape_interval}, "scrape_configs": jobs}


def patch(r: Resolved, model: SignalModel) -> dict[str, Any]:
    return {"data": {DATA_KEY: dump(prometheus_yaml(r, model))}}


def render(r: Resolved, model: SignalModel) -> Artifact:
    s = r.profile.sysdig
    return Artifact(PATH, "sysdig-agent-patch", patch(r, model), "yaml",
                    f"patch for ConfigMap {s.namespace}/{s.config_map}: sets only {DATA_KEY} "
                    f"(kubectl patch --patch-file)")
