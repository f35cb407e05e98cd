"""Checks that span several fields, reported at the exact field path.

pydantic validates each field; these checks know the Istio release and the
Prometheus flavour, so they catch combinations that are each valid alone but
wrong together, and the doubled collection the Sysdig agent would do silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from istiogen.catalog import istio as istio_catalog
from istiogen.catalog.prometheus import FLAVOURS
from istiogen.problems import Problem, did_you_mean
from istiogen.profile.types import duration_seconds
from istiogen.source import PathT, SourceDoc


def check(p: Any, doc: SourceDoc, base_dir: Path | None) -> list[Problem]:
    from istiogen.profile.loader import problem_at

    out: list[Problem] = []

    def err(path: PathT, msg: str, rule: str, hint: str | None = None) -> None:
        out.append(problem_at(doc, path, msg, rule, hint))

    def warn(path: PathT, msg: str, rule: str, hint: str | None = None) -> None:
        out.append(problem_at(doc, path, msg, rule, hint, level="warning"))

    rel = istio_catalog.release(p.istio.version)
    tel = rel.telemetry
    flavour = FLAVOURS[p.prometheus.flavour or rel.default_flavour]
    drop = set(p.prometheus.drop_labels if p.prometheus.drop_labels is not None else flavour.drop_labels)

    if p.rules.version_labels == "canonical" and not tel.has_canonical:
        err(("rules", "version_labels"), f"canonical service labels need Istio 1.5 or later (this is {rel.version})",
            "conflict", "use version_labels: app")

    for i, lab in enumerate(p.rules.kept_labels):
        path = ("rules", "kept_labels", i)
        if lab in drop:
            err(path, f"{lab!r} is added per scrape target (pod/instance): keeping it makes every series grow "
                "with the number of pods", "kept-pod-label", "remove it; aggregation is the point of the rules")
        elif lab not in tel.labels:
            err(path, f"{lab!r} is not a standard Istio {rel.version} metric label", "unknown-label",
                did_you_mean(lab, tel.labels))

    for key, buckets in (("latency_buckets", tel.duration_buckets), ("size_buckets", tel.size_buckets)):
        chosen = getattr(p.rules, key)
        for i, b in enumerate(chosen or []):
            if float(b) not in {float(x) for x in buckets}:
                err(("rules", key, i), f"{b:g} is not a histogram bound of Istio {rel.version}",
                    "unknown-bucket", "bounds: " + ", ".join(f"{x:g}" for x in buckets))

    if p.rules.quantiles and "latency" not in p.rules.sets:
        err(("rules", "quantiles"), "precomputed quantiles need the 'latency' rule set", "conflict")

    scrape = p.prometheus.scrape_interval or flavour.scrape_interval
    if duration_seconds(p.rules.window) < 4 * duration_seconds(scrape):
        warn(("rules", "window"), f"rate window {p.rules.window} is shorter than 4× the scrape interval "
             f"({scrape}): rates will have gaps", "short-window", "use at least " + _times4(scrape))

    seen: dict[str, int] = {}
    for i, r in enumerate(p.rules.custom):
        if r.record in seen:
            err(("rules", "custom", i, "record"),
                f"record {r.record!r} is already defined by rules.custom[{seen[r.record]}]",
                "duplicate-rule")
        seen.setdefault(r.record, i)

    fed = p.rules.federation_label
    if not fed:
        err(("rules", "federation_label"), "the federation label is empty: nothing would be federated", "conflict",
            'e.g. {sysdig: "true"}')

    _unique(p.services, lambda s: f"{s.namespace}/{s.name}", ("services",), "service", err)
    _unique(p.experiments, lambda e: e.name, ("experiments",), "experiment", err)
    for i, e in enumerate(p.experiments):
        if e.baseline == e.candidate:
            err(("experiments", i, "candidate"), f"baseline and candidate are both {e.baseline!r}", "conflict")
    if p.experiments:
        if "service_version" not in p.rules.scopes:
            err(("rules", "scopes"), "experiments compare versions: add 'service_version'", "conflict")
        missing = {"requests", "latency"} - set(p.rules.sets)
        if missing:
            err(("rules", "sets"), f"experiments need the {', '.join(sorted(missing))} rule set(s)", "conflict")

    out_dir = p.output.dir
    if out_dir is not None:
        parts = Path(out_dir).parts
        if Path(out_dir).is_absolute() or ".." in parts or not parts or out_dir.startswith("~"):
            err(("output", "dir"), f"{out_dir!r} must be a relative folder under the output root, without '..'",
                "output-outside", "e.g. dir: my-cluster")

    if p.prometheus.live_config is not None and base_dir is not None:
        lp = (base_dir / p.prometheus.live_config)
        if not lp.is_file():
            err(("prometheus", "live_config"), f"file not found: {p.prometheus.live_config}", "file-read")

    s = p.sysdig
    merging = p.istio.metrics_merging if p.istio.metrics_merging is not None else rel.metrics_merging
    # In v1 the default annotation rules scrape the merged 15020 endpoint of every sidecar; in v2 the
    # default k8s-pods job does too, but istiogen drops its istio_* series when federating.
    merged_scraped = s.keep_default_rules and merging and s.mode == "promscrape-v1"
    if s.envoy_filter and merged_scraped:
        warn(("sysdig", "envoy_filter"),
             "envoy is scraped on 15090 and, with metrics merging on, the default annotation rule also scrapes "
             "the merged endpoint on 15020: every envoy series is collected twice",
             "double-collection",
             "set istio.metrics_merging: false (and disable it in the mesh) or envoy_filter: false")
    if s.federation and (s.envoy_filter or merged_scraped):
        how = "on 15090 (envoy_filter)" if s.envoy_filter else "on their merged 15020 endpoint (annotation rules)"
        warn(("sysdig", "envoy_filter" if s.envoy_filter else "keep_default_rules"),
             f"sidecars are scraped directly {how} and the Istio Prometheus is federated: the agent ingests "
             "the raw istio_* series of every sidecar as well as the recorded ones",
             "double-collection",
             "set envoy_filter: false unless you need raw envoy_* series" if s.envoy_filter
             else "use promscrape-v2 (istiogen drops istio_* from the annotation job) or disable metrics merging")
    if p.alerts.enabled and "requests" not in p.rules.sets:
        warn(("alerts", "enabled"), "alerts on services need the 'requests' rule set; only other alerts are emitted",
             "conflict")
    return out


def _times4(d: str) -> str:
    from istiogen.profile.types import format_duration

    return format_duration(4 * duration_seconds(d))


def _unique(items: list[Any], key: Any, base: PathT, what: str, err: Any) -> None:
    seen: dict[str, int] = {}
    for i, it in enumerate(items):
        k = key(it)
        if k in seen:
            err((*base, i), f"{what} {k!r} is listed twice (also at {base[-1]}[{seen[k]}])", "duplicate")
        seen.setdefault(k, i)


def promql_error(expr: str) -> str | None:
    """The parser's message if ``expr`` is not valid PromQL, else None."""
    import promql_parser

    if not expr.strip():
        return "the expression is empty"
    try:
        promql_parser.parse(expr)
    except (ValueError, TypeError) as e:
        return str(e) or "invalid expression"
    return None
