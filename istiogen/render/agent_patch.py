"""``patch.yaml`` for the ``sysdig-agent`` ConfigMap: only the ``prometheus.yaml`` key.

A strategic-merge patch replaces each ``data`` key whole, so the patch carries
``prometheus.yaml`` alone and leaves ``dragent.yaml`` untouched.  The federation
job's ``match[]`` comes from the signal model (the federated records), never
from a second hand-kept list.

A user ``prometheus.yaml`` replaces the agent's default file, so its default job
is re-emitted (v1 ``default``, v2 ``k8s-pods``).  Whenever the recorded series reach
Sysdig (federated by the agent or remote-written by the Istio Prometheus), every job
that scrapes sidecars directly drops the raw ``istio_*`` series those records
aggregate: the agent never ingests them on top of the recorded ones.  In v2 the
envoy job skips pods whose metrics Istio merges: ``k8s-pods`` scrapes their merged
endpoint, which serves envoy's stats already.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from istiogen.catalog import ambient, sysdig
from istiogen.profile.resolve import Resolved
from istiogen.registry import Artifact
from istiogen.render import dataplane, remote_write
from istiogen.render.model import SignalModel
from istiogen.serial.yaml import dump

if TYPE_CHECKING:
    from istiogen.render.context import Context

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
    # a label a federated record carries by definition is kept (experiment:info's ``namespace``:
    # the experiment alerts read it, in Sysdig too); recorded series carry no per-pod label
    carried = {k for rule in model.rules if rule.federated for k, _ in rule.labels}
    pod_labels = [x for x in pod_labels if x not in carried]
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
    if r.sysdig_mode == "promscrape-v1":
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


def recorded_reach_sysdig(r: Resolved) -> bool:
    """The recorded series reach Sysdig: federated by the agent, or remote-written."""
    return bool(r.profile.sysdig.federation or remote_write.enabled(r))


def drop_raw_istio() -> list[dict[str, Any]]:
    return [{"action": "drop", "source_labels": ["__name__"], "regex": sysdig.RAW_ISTIO}]


def ambient_pods_left_out(r: Resolved) -> list[dict[str, Any]]:
    """Ambient meshes, when the recorded series reach Sysdig: the ztunnel and waypoint pods are not scraped
    at all (their istio_*, workload_manager_*, process_* and Envoy series are what the records deliver;
    the annotations of both charts would otherwise make the default job ingest them raw)."""
    if not (dataplane.planes(r.profile).ambient and recorded_reach_sysdig(r)):
        return []
    return [{"action": "drop", "source_labels": [_sd_label(k)], "regex": _re2_literal(v)}
            for k, v in (ambient.ZTUNNEL.pod_label, ambient.WAYPOINT.pod_label)]


def envoy_job(r: Resolved) -> dict[str, Any]:
    """promscrape v2: every sidecar's envoy on 15090, scraped by the agent on its node only.

    Pods whose metrics Istio merges are left to the annotation job when it is kept."""
    scrape = "__meta_kubernetes_pod_annotation_prometheus_io_scrape"
    port = "__meta_kubernetes_pod_annotation_" + re.sub(r"[^a-zA-Z0-9_]", "_", sysdig.MERGED_ANNOTATION[0])
    merged = [{"action": "drop", "source_labels": [scrape, port], "regex": f"true;{sysdig.MERGED_ANNOTATION[1]}"}] \
        if r.profile.sysdig.keep_default_rules else []
    job: dict[str, Any] = {
        "job_name": "istio-envoy",
        "metrics_path": sysdig.ENVOY_PATH,
        "kubernetes_sd_configs": [{"role": "pod"}],
        "relabel_configs": [
            {"action": "keep", "source_labels": ["__meta_kubernetes_pod_host_ip"], "regex": "__HOSTIPS__"},
            {"action": "keep", "source_labels": ["__meta_kubernetes_pod_container_port_name"],
             "regex": ".*-envoy-prom"},
            *merged,
            *ambient_pods_left_out(r),
            {"action": "replace", "source_labels": ["__address__"], "regex": "([^:]+)(?::\\d+)?",
             "replacement": f"$1:{sysdig.ENVOY_PORT}", "target_label": "__address__"},
            *sysdig.sysdig_pod_relabels(),
        ],
    }
    if recorded_reach_sysdig(r):
        job["metric_relabel_configs"] = drop_raw_istio()
    return job


def prometheus_yaml(r: Resolved, model: SignalModel) -> dict[str, Any]:
    s = r.profile.sysdig
    jobs: list[dict[str, Any]] = []
    if s.federation:
        jobs.append(federation_job(r, model))
    if r.sysdig_mode == "promscrape-v2":
        if s.envoy_filter:
            jobs.append(envoy_job(r))
        default = sysdig.default_v2_pods_job() if s.keep_default_rules else None
        if default is not None:
            default["relabel_configs"][1:1] = ambient_pods_left_out(r)
    else:
        # every process-filter target no sysdig_sd_configs job selects: envoy, pilot-agent's merged endpoint
        default = sysdig.default_v1_job()
    if default is not None:
        if recorded_reach_sysdig(r):
            # sidecars' (merged or envoy) endpoints carry the raw istio_* series the records aggregate
            default["metric_relabel_configs"] = drop_raw_istio()
        jobs.append(default)
    return {"global": {"scrape_interval": s.scrape_interval}, "scrape_configs": jobs}


def patch(r: Resolved, model: SignalModel) -> dict[str, Any]:
    return {"data": {DATA_KEY: dump(prometheus_yaml(r, model))}}


def render(r: Resolved, model: SignalModel) -> Artifact:
    s = r.profile.sysdig
    return Artifact(PATH, "sysdig-agent-patch", patch(r, model), "yaml",
                    f"patch for ConfigMap {s.namespace}/{s.config_map}: sets only {DATA_KEY} "
                    f"(kubectl patch --patch-file)")


def artifacts(ctx: Context) -> list[Artifact]:
    return [render(ctx.r, ctx.model)]
