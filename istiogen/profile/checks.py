"""Checks that span several fields, reported at the exact field path.

pydantic validates each field; these checks know the Istio release and the
Prometheus flavour, so they catch combinations that are each valid alone but
wrong together, and the doubled collection the Sysdig agent would do silently.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from istiogen.catalog import istio as istio_catalog
from istiogen.catalog.prometheus import FLAVOURS
from istiogen.problems import Problem, did_you_mean
from istiogen.profile.types import duration_seconds
from istiogen.registry import RESERVED_PREFIX
from istiogen.source import PathT, SourceDoc

_FOLDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")  # a portable file name (POSIX), at most 255 bytes


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
                err(("rules", key, i), f"{_bound(b)} is not a histogram bound of Istio {rel.version}",
                    "unknown-bucket", "bounds: " + ", ".join(_bound(x) for x in buckets))

    if p.rules.quantiles and "latency" not in p.rules.sets:
        err(("rules", "quantiles"), "precomputed quantiles need the 'latency' rule set", "conflict",
            "add latency to rules.sets, or remove rules.quantiles")
    for i, qt in enumerate(p.rules.quantiles):
        if qt not in (0.5, 0.95, 0.99):
            err(("rules", "quantiles", i), f"{qt:g} is not a latency quantile of the signal catalog",
                "unknown-quantile", "0.5, 0.95 or 0.99; any other is computable from the federated bucket rates")
    for i, svc in enumerate(p.services):
        for j, lab in enumerate(svc.kept_labels):
            kpath: PathT = ("services", i, "kept_labels", j)
            if lab in drop:
                err(kpath, f"{lab!r} is added per scrape target (pod/instance): keeping it makes the service's series "
                    "grow with the number of pods", "kept-pod-label")
            elif lab not in tel.labels:
                err(kpath, f"{lab!r} is not a standard Istio {rel.version} metric label", "unknown-label",
                    did_you_mean(lab, tel.labels))
        if svc.window is not None and duration_seconds(svc.window) < 4 * duration_seconds(
                p.prometheus.scrape_interval or flavour.scrape_interval):
            warn(("services", i, "window"), f"rate window {svc.window} is shorter than 4× the scrape interval",
                 "short-window")

    scrape = p.prometheus.scrape_interval or flavour.scrape_interval
    if duration_seconds(p.rules.window) < 4 * duration_seconds(scrape):
        warn(("rules", "window"), f"rate window {p.rules.window} is shorter than 4× the scrape interval "
             f"({scrape}): rates will have gaps", "short-window", "use at least " + _times4(scrape))

    if not p.rules.sets:
        err(("rules", "sets"), "no rule set: nothing would be recorded, and the federation would select nothing",
            "conflict", "e.g. sets: [requests, latency]")
    patched: dict[str, int] = {}
    for i, pt in enumerate(p.rules.patches):
        if pt.name in patched:
            err(("rules", "patches", i, "name"), f"{pt.name!r} is already patched by rules.patches[{patched[pt.name]}]",
                "duplicate-patch", "merge the two patches into one")
        patched.setdefault(pt.name, i)
    excluded: dict[str, int] = {}
    for i, name in enumerate(p.rules.exclude):
        if name in excluded:
            err(("rules", "exclude", i), f"{name!r} is listed twice (also at exclude[{excluded[name]}])", "duplicate")
        elif name in patched:
            err(("rules", "exclude", i), f"{name!r} is excluded and patched (rules.patches[{patched[name]}])",
                "conflict", "remove the patch or the exclusion")
        excluded.setdefault(name, i)
    seen: dict[str, int] = {}
    for i, r in enumerate(p.rules.custom):
        if r.record in seen:
            err(("rules", "custom", i, "record"),
                f"record {r.record!r} is already defined by rules.custom[{seen[r.record]}]",
                "duplicate-rule", "rename one of them: two rules recording one series conflict")
        seen.setdefault(r.record, i)

    fed = p.rules.federation_label
    if not fed:
        err(("rules", "federation_label"), "the federation label is empty: nothing would be federated", "conflict",
            'e.g. {sysdig: "true"}')

    _unique(p.services, lambda s: f"{s.namespace}/{s.name}", ("services",), "service", err)
    _unique(p.experiments, lambda e: e.name, ("experiments",), "experiment", err)
    declared = {(s.namespace, s.name): s for s in p.services}
    for i, e in enumerate(p.experiments):
        if e.baseline == e.candidate:
            err(("experiments", i, "candidate"), f"baseline and candidate are both {e.baseline!r}", "conflict")
        svc = declared.get((e.namespace, e.service))
        if svc is None:
            err(("experiments", i, "service"), f"service {e.namespace}/{e.service} is not declared in services",
                "unknown-service", did_you_mean(f"{e.namespace}/{e.service}", [f"{k[0]}/{k[1]}" for k in declared])
                or f"add it: services: [{{name: {e.service}, namespace: {e.namespace}, versions: "
                f"[{e.baseline}, {e.candidate}]}}]")
            continue
        for role in ("baseline", "candidate"):
            version = getattr(e, role)
            if svc.versions and version not in svc.versions:
                err(("experiments", i, role), f"{e.namespace}/{e.service} declares no version {version!r} "
                    f"(its versions: {', '.join(svc.versions)})", "unknown-version",
                    did_you_mean(version, svc.versions) or "add it to the service's versions")
    running: dict[tuple[str, str], int] = {}
    for i, e in enumerate(p.experiments):
        svc_key = (e.namespace, e.service)
        if svc_key in running:
            err(("experiments", i, "service"), f"{e.namespace}/{e.service} is already in experiment "
                f"{p.experiments[running[svc_key]].name!r}: one experiment per service at a time",
                "conflict", "end the other experiment, or compare more versions one pair at a time")
        running.setdefault(svc_key, i)
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
        elif any(part.startswith(RESERVED_PREFIX) for part in parts):
            err(("output", "dir"), f"{out_dir!r}: folder names starting with {RESERVED_PREFIX!r} are reserved for "
                "istiogen's staging folders", "output-reserved", "e.g. dir: my-cluster")
        elif not all(_FOLDER.fullmatch(part) for part in parts):
            err(("output", "dir"), f"{out_dir!r} is not a folder path of portable names: letters, digits, '.', "
                "'_' and '-' between '/', each starting with a letter or digit", "output-name",
                "e.g. dir: team/my-cluster")

    s = p.sysdig
    # No check for sidecars scraped twice: the rendered agent config prevents it (see
    # render/dragent.py and render/agent_patch.py): envoy is skipped where its stats are merged,
    # and the raw istio_* are dropped from sidecar scrapes whenever the records reach Sysdig.
    delivery = p.prometheus.delivery or flavour.delivery
    if delivery == "projected" and flavour.reloader is None and p.prometheus.delivery is not None:
        err(("prometheus", "delivery"), f"flavour {flavour.name} has no config reloader: projected rules would "
            "only load on a restart", "conflict", "use delivery: mount (a checksum rolls the pod)")
    if delivery == "helm-values" and not flavour.name.startswith("samples-"):
        err(("prometheus", "delivery"), f"flavour {flavour.name} is not the prometheus-community Helm chart",
            "conflict", "use delivery: mount, or a samples-* flavour")
    if delivery in ("helm-values", "operator") and p.prometheus.live_config is not None:
        warn(("prometheus", "live_config"), f"ignored with delivery {delivery}: the rules do not go through "
             "the Prometheus ConfigMap", "ignored")
    am = p.alerts.alertmanager
    if am is not None:
        if delivery == "operator" and am.urls:
            err(("alerts", "alertmanager", "urls"), "with delivery operator, the Prometheus resource names "
                "Alertmanager Services, not URLs", "conflict", "use services: [{namespace, name, port}]")
        if delivery != "operator" and am.services:
            err(("alerts", "alertmanager", "services"), f"Alertmanager Services are for delivery operator "
                f"(this is {delivery})", "conflict", "use urls: [http://alertmanager.monitoring:9093]")
        if delivery == "helm-values":
            err(("alerts", "alertmanager"), "istiogen does not write the chart's alerting settings with delivery "
                "helm-values", "conflict", "set them in your chart values")
        if not am.urls and not am.services:
            err(("alerts", "alertmanager"), "no Alertmanager given", "missing-key", "add urls (or services)")
    rw = p.remote_write
    if rw is not None and rw.enabled:
        if rw.auth != "none" and rw.secret is None:
            err(("remote_write", "secret"), f"{rw.auth} auth needs the Secret holding the credential",
                "missing-secret", "secret: {name: sysdig-remote-write, key: token}")
        if rw.auth == "basic" and not rw.username:
            err(("remote_write", "username"), "basic auth needs a username", "missing-key")
        if s.federation:
            warn(("remote_write", "enabled"), "the recorded series are both remote-written and federated by the "
                 "agent: they would be ingested twice", "double-collection", "set sysdig.federation: false")
    c = p.cluster
    if c is not None:
        taken = {**dict.fromkeys(fed, "the federation label"), **dict.fromkeys(tel.labels, "an Istio metric label"),
                 **dict.fromkeys(p.rules.kept_labels, "a kept label"), "le": "a histogram bound label",
                 "response_class": "a label of the recorded series"}
        if c.label in taken:
            err(("cluster", "label"), f"{c.label!r} is {taken[c.label]}: the recorded series carry it, and Prometheus "
                "adds an external label only to series without it", "conflict", "e.g. label: cluster")
    t = p.istio.telemetry
    if t is not None:
        if not rel.telemetry_api:
            err(("istio", "telemetry"), f"the Telemetry API needs Istio 1.12 or later (this is {rel.version})",
                "conflict")
        needed = _needed_labels(p, rel)
        for i, rm in enumerate(t.remove_labels):
            if rm.label in needed:
                warn(("istio", "telemetry", "remove_labels", i, "label"),
                     f"{rm.label!r} is needed by the recording rules, dashboards or alerts ({needed[rm.label]}): "
                     "removing it at the source breaks them", "label-needed")
            elif rm.label not in tel.labels:
                warn(("istio", "telemetry", "remove_labels", i, "label"),
                     f"{rm.label!r} is not a standard Istio {rel.version} metric label", "unknown-label",
                     did_you_mean(rm.label, tel.labels))
    if p.alerts.enabled and "requests" not in p.rules.sets:
        warn(("alerts", "enabled"), "alerts on services need the 'requests' rule set; only other alerts are emitted",
             "conflict")
    return out


def _needed_labels(p: Any, rel: Any) -> dict[str, str]:
    """Istio labels the generated rules read, and what for."""
    needed: dict[str, str] = {"reporter": "every rule", "response_code": "error ratios",
                              "le": "latency and size quantiles"}
    app = ("destination_canonical_service", "destination_canonical_revision") \
        if p.rules.version_labels == "canonical" else ("destination_app", "destination_version")
    scopes = {
        "service": ("destination_service_namespace", "destination_service_name"),
        "service_version": ("destination_workload_namespace", *app),
        "workload": ("destination_workload_namespace", "destination_workload"),
        "edge": ("source_workload_namespace", "source_workload"),
    }
    for scope in p.rules.scopes:
        for lab in scopes[scope]:
            needed.setdefault(lab, f"the {scope} scope")
    for lab in p.rules.kept_labels:
        needed.setdefault(lab, "rules.kept_labels")
    if "gateway" in p.rules.sets:
        for lab in ("source_workload", "source_workload_namespace"):
            needed.setdefault(lab, "the ingress gateway rules")
    if rel.telemetry.has_grpc_status and "requests" in p.rules.sets:
        needed.setdefault("grpc_response_status", "the gRPC error ratio")
        needed.setdefault("request_protocol", "the gRPC error ratio")
    return needed


def _bound(x: float) -> str:
    """A histogram bound as written in a profile: ``1800000``, ``0.005`` (never ``1.8e+06``)."""
    return f"{x:.15g}" if abs(x) < 1e15 else f"{x:g}"


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


MAX_PROMQL = 16_384  # characters of one expression a profile gives (a bound on input; Prometheus has none)


def promql_error(expr: str, *, instant: bool = False, max_len: int | None = MAX_PROMQL) -> str | None:
    """The parser's message if ``expr`` is not valid PromQL, else None.  With ``instant``, also an
    expression a rule cannot record or alert on: its result must be an instant vector or a scalar
    (Prometheus fails such a rule at every evaluation: "rule result is not a vector or scalar")."""
    import promql_parser

    if not expr.strip():
        return "the expression is empty"
    if max_len is not None and len(expr) > max_len:
        return f"the expression is {len(expr)} characters long, more than {max_len}"
    try:
        ast = promql_parser.parse(expr)
    except (ValueError, TypeError, RecursionError) as e:
        return str(e) or "invalid expression"
    if instant:
        kind = value_type(ast)
        if kind in ("matrix", "string"):
            what = "a range vector" if kind == "matrix" else "a string"
            return f"the expression yields {what}; a rule needs an instant vector or a scalar"
    return None


def value_type(ast: Any) -> str:
    """The PromQL type of a parsed expression: ``vector``, ``scalar``, ``matrix`` or ``string``."""
    import promql_parser as pq

    while isinstance(ast, pq.ParenExpr | pq.UnaryExpr):
        ast = ast.expr
    if isinstance(ast, pq.MatrixSelector | pq.SubqueryExpr):
        return "matrix"
    if isinstance(ast, pq.StringLiteral):
        return "string"
    if isinstance(ast, pq.NumberLiteral):
        return "scalar"
    if isinstance(ast, pq.Call):
        rt = ast.func.return_type
        for vt, name in ((pq.ValueType.Matrix, "matrix"), (pq.ValueType.Scalar, "scalar"),
                         (pq.ValueType.String, "string")):
            if rt == vt:
                return name
        return "vector"
    if isinstance(ast, pq.BinaryExpr):
        sides = {value_type(ast.lhs), value_type(ast.rhs)}
        return "scalar" if sides == {"scalar"} else "vector"
    return "vector"
