"""``prometheus.drop_unused``: what the series dropped at ingestion take from Istio's dashboards and Kiali, and
where the setting has nothing to land on.

The render drops, in the Istio scrape job's ``metric_relabel_configs``, every raw ``istio_*`` series no
generated rule, alert or panel reads (istiogen.render.drop).  istiogen's own signals are unaffected, but
Istio's Grafana dashboards and Kiali read the raw series directly: they lose the histograms' ``_sum`` and
``_count`` (averages), the buckets outside the kept bounds (their quantiles get coarser), the families of the
rule sets that are off, and every family istiogen never reads (gRPC message counts, ``istio_build``).  A
warning says so.  With delivery ``helm-values`` there is no Istio job istiogen renders or patches (the chart's
scrape jobs are one list values cannot amend), and a live config without the flavour's Istio job has none
to patch: a warning says nothing is dropped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "drop-unused"


def lost(ctx: Context) -> list[str]:
    """What the drop takes, by family, from the profile's rule sets and the release's metric names."""
    t, sets = ctx.tel, set(ctx.profile.rules.sets)
    histograms = [("latency", t.duration), ("request_size", t.request_bytes), ("response_size", t.response_bytes)]
    out = [f"{m}_sum and {m}_count" for _, m in histograms]
    sized = [s for s in ctx.profile.rules.size_scopes if s in ctx.profile.rules.scopes]
    for set_id, m in histograms:
        if set_id not in sets:
            out.append(f"{m}_bucket (rule set {set_id} off)")
        elif set_id != "latency" and not sized:
            out.append(f"{m}_bucket (no size scope)")
        else:
            out.append(f"{m}_bucket outside the kept bounds")
    if "tcp" not in sets:
        out.append("istio_tcp_* (rule set tcp off)")
    if "requests" not in sets and "gateway" not in sets:
        out.append(f"{t.requests} (rule sets requests and gateway off)")
    out.append("every other istio_* family (istio_request_messages_total, istio_response_messages_total, "
               "istio_build, ...)")
    return out


def _jobs(config_text: str) -> set[str]:
    from ruamel.yaml import YAML

    try:
        cfg: Any = YAML(typ="safe").load(config_text)
    except Exception:  # the loader checked the export
        return set()
    jobs = cfg.get("scrape_configs") if isinstance(cfg, dict) else None
    return {str(j.get("job_name")) for j in jobs or [] if isinstance(j, dict)}


def check(ctx: Context) -> Iterator[Problem]:
    if not ctx.profile.prometheus.drop_unused:
        return
    path = ("prometheus", "drop_unused")
    if ctx.delivery == "helm-values":
        yield ctx.warning(ID, path, "no effect with delivery helm-values: the chart's scrape jobs are one list in "
                          "serverFiles that values cannot amend, so nothing is dropped",
                          "use delivery operator (the PodMonitor drops them) or mount/projected")
        return
    jobs = ctx.flavour.istio_jobs
    if ctx.live is not None and ctx.delivery in ("mount", "projected") and not set(jobs) & _jobs(ctx.live.config_text):
        yield ctx.warning(ID, path, f"{ctx.live.display}: the live config has no job {' or '.join(jobs)}, the Istio "
                          f"scrape job of flavour {ctx.flavour.name}: nothing is dropped",
                          "export the ConfigMap that holds the Istio job, or leave drop_unused off")
        return
    yield ctx.warning(ID, path, "drops at ingestion the raw istio_* series no generated rule, alert or panel "
                      "reads: " + "; ".join(lost(ctx)) + ". Istio's Grafana dashboards and Kiali read them: their "
                      "averages, their quantiles at the dropped bounds, the size, TCP and gRPC-message charts of what "
                      "is dropped go empty or coarser",
                      "leave drop_unused off for a Prometheus that Kiali or Istio's dashboards read")
