"""Alerts built from the query catalog: per service, ingress gateway, control plane, experiments.

Alert labels are stable while an alert fires: ``severity``, ``signal``, and
``service``/``namespace`` (and ``experiment``) taken from series labels, never from
``$value``.  Per-service thresholds are inlined as a threshold vector
(``label_replace(vector(t), ...)`` per override, the default for every other
service), so one rule per signal covers every service.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from istiogen.profile.resolve import Resolved
from istiogen.render import promql as q
from istiogen.render.model import GROUP_PREFIX, Alert, Group, SignalModel

SVC = ("destination_service_namespace", "destination_service_name")
_SVC_LABELS = (
    ("service", "{{ $labels.destination_service_name }}"),
    ("namespace", "{{ $labels.destination_service_namespace }}"),
)
VALUE = '{{ printf "%.3g" $value }}'
_EXP_LABELS = (("experiment", "{{ $labels.experiment }}"), ("service", "{{ $labels.service }}"),
               ("namespace", "{{ $labels.namespace }}"))


def _label_vector(value: float, labels: Sequence[tuple[str, str]]) -> str:
    expr = f"vector({q.number(value)})"
    for k, v in labels:
        expr = f'label_replace({expr}, "{k}", {q.string(v)}, "", "")'
    return expr


def _unless_disabled(keys: tuple[str, ...], disabled: Sequence[tuple[str, ...]]) -> str:
    """The suffix that keeps an alert from firing for the services whose alerts are disabled ("" if none)."""
    if not disabled:
        return ""
    return f"\nunless {q.on(keys)} (" + " or ".join(
        _label_vector(1, list(zip(keys, k, strict=True))) for k in disabled) + ")"


def per_service(default: float | None, overrides: dict[tuple[str, str], float], ref: str,
                keys: tuple[str, str] = SVC) -> str:
    """A vector holding each service's threshold: its override, else the default (``keys``: the labels naming
    a service, its namespace first)."""
    parts = [_label_vector(v, list(zip(keys, key, strict=True))) for key, v in sorted(overrides.items())]
    if default is not None:
        parts.append(f"({ref} * 0 + {q.number(default)})")
    if not parts:
        return ""
    return f" or {q.on(keys)} ".join(parts) if len(parts) > 1 else parts[0]


class _Alerts:
    def __init__(self, r: Resolved, model: SignalModel) -> None:
        self.r = r
        self.m = model
        self.p = r.profile
        self.groups: dict[str, list[Alert]] = {}

    def url(self, template: str | None, alert: str, signal: str, service: str, namespace: str) -> str | None:
        if template is None:
            return None
        return (
            template.replace("{alert}", alert).replace("{signal}", signal)
            .replace("{service}", service).replace("{namespace}", namespace)
        )

    def add(self, group: str, name: str, expr: str, for_: str, severity: str, signal: str,
            summary: str, description: str, uses: Sequence[str],
            labels: Sequence[tuple[str, str]] = _SVC_LABELS) -> None:
        lab = dict(labels)
        ann = {"summary": summary, "description": description}
        a = self.p.alerts
        for key, tmpl in (("runbook_url", a.runbook_url), ("dashboard_url", a.dashboard_url)):
            url = self.url(tmpl, name, signal, lab.get("service", ""), lab.get("namespace", ""))
            if url:
                ann[key] = url
        all_labels = {"severity": severity, "signal": signal, **lab}
        self.groups.setdefault(group, []).append(
            Alert(name, expr, for_, tuple(sorted(all_labels.items())), tuple(ann.items()), group, signal,
                  tuple(dict.fromkeys(uses)))
        )

    def services(self) -> None:
        g = f"{GROUP_PREFIX}.alerts.services"
        t = self.p.alerts.services
        disabled = [(s.namespace, s.name) for s in self.p.services if s.alerts.disabled]
        unit_scale = 1.0 if self.m.latency_unit == "ms" else 0.001
        min_rate = {(s.namespace, s.name): s.alerts.min_request_rate for s in self.p.services
                    if s.alerts.min_request_rate is not None}
        # each alert's rate gate counts the requests its signal is measured over (the destination's, or the
        # callers' for the client-side signal)
        specs: list[tuple[str, str, str, str, float | None, str, float, str]] = [
            ("IstioServiceHighErrorRatio5xx", "errors.ratio_5xx", "error_ratio_5xx", "critical", t.error_ratio_5xx,
             "5xx error ratio", 1.0, "requests.rate"),
            ("IstioServiceHighClientErrorRatio5xx", "client.errors.ratio_5xx", "error_ratio_5xx", "critical",
             t.error_ratio_5xx, "callers' 5xx error ratio", 1.0, "client.requests.rate"),
            ("IstioServiceHighErrorRatio4xx", "errors.ratio_4xx", "error_ratio_4xx", "warning", t.error_ratio_4xx,
             "4xx error ratio", 1.0, "requests.rate"),
            ("IstioServiceHighLatencyP99", "latency.p99", "latency_p99_ms", "warning", t.latency_p99_ms,
             f"p99 latency ({self.m.latency_unit})", unit_scale, "requests.rate"),
            # L4: the only error signal of an ambient service without a waypoint (ambient meshes only)
            ("IstioServiceHighConnectionErrorRatio", "tcp.errors.ratio", "connection_error_ratio", "warning",
             t.connection_error_ratio, "TCP connection error ratio (L4)", 1.0, "tcp.connections_closed.rate"),
        ]
        for name, signal, field, severity, default, what, scale, rate_signal in specs:
            per = "connections/s" if rate_signal.startswith("tcp.") else "req/s"
            query = self.m.query(signal, "service")
            rate = self.m.query(rate_signal, "service")
            if query is None or rate is None:
                continue
            gate = (f"{q.on(SVC)} ({rate.expr} >= {q.on(SVC)} "
                    f"({per_service(t.min_request_rate, min_rate, rate.expr)}))")
            overrides = {
                (s.namespace, s.name): float(getattr(s.alerts, field)) * scale
                for s in self.p.services if getattr(s.alerts, field) is not None
            }
            thr = per_service(default * scale if default is not None else None, overrides, rate.expr)
            if not thr:
                continue
            expr = f"(\n  {query.expr}\n) > {q.on(SVC)} (\n  {thr}\n)\nand {gate}"
            expr += _unless_disabled(SVC, sorted(disabled))
            shown = f"{default * scale:g}" if default is not None else "per service"
            self.add(
                g, name, expr, t.for_, severity, signal,
                f"{{{{ $labels.destination_service_name }}}}.{{{{ $labels.destination_service_namespace }}}}: "
                f"{what} is high",
                f"The {what} of {{{{ $labels.destination_service_name }}}} in "
                f"{{{{ $labels.destination_service_namespace }}}} is {VALUE}, above its threshold "
                f"(default {shown}), with at least {t.min_request_rate:g} {per}.",
                [*query.uses, *rate.uses],
            )

    def gateway(self) -> None:
        ratio = self.m.query("gateway.errors.ratio_5xx", "gateway")
        rate = self.m.query("gateway.requests.rate", "gateway")
        gw = self.p.alerts.gateway
        if ratio is None or rate is None or gw.error_ratio_5xx is None:
            return
        expr = (f"(\n  {ratio.expr}\n) > {q.number(gw.error_ratio_5xx)}\n"
                f"and {q.on(SVC)} ({rate.expr} >= {q.number(gw.min_request_rate)})")
        self.add(
            f"{GROUP_PREFIX}.alerts.gateway", "IstioIngressGatewayHighErrorRatio5xx", expr, gw.for_, "critical",
            "gateway.errors.ratio_5xx",
            "Ingress gateway: 5xx ratio for {{ $labels.destination_service_name }} is high",
            "The ingress gateway answers {{ $labels.destination_service_name }}."
            "{{ $labels.destination_service_namespace }} "
            f"with 5xx for {VALUE} of requests (threshold {gw.error_ratio_5xx:g}).",
            [*ratio.uses, *rate.uses],
        )

    def control_plane(self) -> None:
        if self.m.query("istiod.up", "control_plane") is None:
            return
        g = f"{GROUP_PREFIX}.alerts.control-plane"
        cpa = self.p.alerts.control_plane
        ns = self.p.istio.namespace
        lab = (("service", self.r.release.control_plane.component), ("namespace", ns))

        def qx(sig: str) -> Any:
            x = self.m.query(sig, "control_plane")
            assert x is not None
            return x

        up = qx("istiod.up")
        upr = up.uses[0]
        # both branches yield the empty label set (sum drops the federation label), so the alert keeps its
        # identity when istiod's targets go from down (up == 0) to gone (no series) and back
        self.add(g, "IstiodDown", f"absent({upr}) or sum({upr}) == 0", "5m", "critical", "istiod.up",
                 "istiod is down", f"No istiod instance in {ns} is up: proxies get no configuration updates.",
                 up.uses, lab)
        for name, sig, what in (
            ("IstiodPushErrors", "istiod.push_errors.rate", "xDS pushes fail to send"),
            ("IstiodXdsRejects", "istiod.rejects.rate", "proxies reject the configuration istiod pushes"),
            ("IstioSidecarInjectionFailures", "istiod.injection_failures.rate", "sidecar injection fails"),
            ("IstioCSRFailures", "istiod.csr_failures.rate", "certificate signing requests fail"),
        ):
            x = qx(sig)
            expr = f"{x.expr.removesuffix(' or vector(0)')} > 0"
            self.add(g, name, expr, cpa.for_, "warning", sig, f"istiod: {what}",
                     f"{what.capitalize()} at {VALUE}/s.", x.uses, lab)
        if cpa.convergence_p99_seconds is not None:
            x = qx("istiod.convergence.p99")
            self.add(g, "IstiodSlowConvergence", f"{x.expr} > {q.number(cpa.convergence_p99_seconds)}", cpa.for_,
                     "warning", "istiod.convergence.p99", "istiod: proxy configuration converges slowly",
                     f"p99 proxy convergence time is {VALUE}s (threshold {cpa.convergence_p99_seconds:g}s).",
                     x.uses, lab)

    def experiments(self) -> None:
        """Generic experiment alerts: thresholds come from the experiment:threshold series.

        One rule per alert and per distinct ``for`` among the experiments."""
        if not self.p.experiments:
            return
        g = f"{GROUP_PREFIX}.alerts.experiments"
        s = "rate" + self.m.window
        dur = f"experiment:{self.r.release.telemetry.duration}_p99:{s}"
        req = f"experiment:istio_requests:{s}"
        err = f"experiment:istio_requests_5xx:ratio_{s}"
        share = f"experiment:traffic_share:ratio_{s}"
        factor = "experiment:error_ratio_5xx:candidate_over_baseline"  # over the experiment's floor
        service = f"experiment:service_requests:{s}"  # every version of the service: the candidate may get none
        on = "on (experiment)"

        def th(name: str) -> str:
            return f'experiment:threshold{{threshold="{name}"}}'

        def role(rec: str, r: str) -> str:
            return f'{rec}{{role="{r}"}}'

        gate = (f"and {on} ({role(req, 'candidate')} >= {on} {th('min_request_rate')})\n"
                f"and {on} ({role(req, 'baseline')} >= {on} {th('min_request_rate')})")
        by_for: dict[str, list[str]] = {}
        for e in self.p.experiments:
            by_for.setdefault(e.for_, []).append(e.name)
        for for_, names in sorted(by_for.items()):
            scope = "" if len(by_for) == 1 else (
                f'\nand {on} experiment:info{{experiment=~"{"|".join(sorted(names))}"}}')
            labels = f"\n) * {on} group_left (namespace, service) experiment:info"
            uses = [req, "experiment:threshold", "experiment:info"]
            self.add(
                g, "IstioExperimentErrorRatioWorse",
                f"(\n  (({role(err, 'candidate')} - {on} {role(err, 'baseline')}) > {on} {th('error_ratio_delta')})\n"
                f"  and {on} ({factor} > {on} {th('error_ratio_factor')})\n  {gate}{scope}{labels}",
                for_, "warning", "errors.ratio_5xx",
                "Experiment {{ $labels.experiment }}: the candidate's 5xx ratio is worse than the baseline's",
                f"In {{{{ $labels.namespace }}}}/{{{{ $labels.service }}}}, the candidate's 5xx error ratio exceeds "
                f"the baseline's by {VALUE}, beyond the experiment's thresholds.",
                [*uses, err, factor], _EXP_LABELS,
            )
            self.add(
                g, "IstioExperimentLatencyWorse",
                f"(\n  {role(dur, 'candidate')} > {on} ({role(dur, 'baseline')} * {on} {th('latency_p99_factor')})\n"
                f"  {gate}{scope}{labels}",
                for_, "warning", "latency.p99",
                "Experiment {{ $labels.experiment }}: the candidate's p99 latency is worse than the baseline's",
                f"In {{{{ $labels.namespace }}}}/{{{{ $labels.service }}}}, the candidate's p99 latency is {VALUE} "
                f"{self.m.latency_unit}, more than the experiment's factor times the baseline's.",
                [*uses, dur], _EXP_LABELS,
            )
            self.add(
                g, "IstioExperimentTrafficSplitOff",
                f"(\n  abs({share} - {on} experiment:expected_split) > {on} {th('split_tolerance')}\n"
                f"  and {on} ({service} >= {on} {th('min_request_rate')}){scope}{labels}",
                for_, "warning", "requests.rate",
                "Experiment {{ $labels.experiment }}: the traffic split is off",
                f"In {{{{ $labels.namespace }}}}/{{{{ $labels.service }}}}, the candidate's share of the traffic is "
                f"{VALUE} away from the expected split, beyond the experiment's tolerance.",
                [*uses, share, service, "experiment:expected_split"], _EXP_LABELS,
            )

    def saturation(self) -> None:
        """Per service version: the busiest pod's CPU and the largest pod's working set (application containers,
        and the istio-proxy), above the service's threshold; per service: requests Envoy's circuit breakers
        rejected, above the service's rate.  A service's thresholds apply to the app (or canonical service) of
        its name in its namespace, as experiments name them."""
        sl = self.m.scope_labels["service_version"]
        app_key = (sl[0], sl[1])  # destination_workload_namespace, the app (or canonical service) label
        t = self.p.alerts.services
        g = f"{GROUP_PREFIX}.alerts.saturation"
        disabled = sorted((s.namespace, s.name) for s in self.p.services if s.alerts.disabled)
        labels = (("service", f"{{{{ $labels.{sl[1]} }}}}"), ("namespace", f"{{{{ $labels.{sl[0]} }}}}"),
                  ("version", f"{{{{ $labels.{sl[2]} }}}}"))
        for name, signal, field, what, unit in (
            ("IstioServiceHighCpu", "saturation.cpu", "cpu_cores", "busiest pod's CPU", "cores"),
            ("IstioServiceHighMemory", "saturation.memory", "memory_bytes", "largest pod's working set", "bytes"),
            ("IstioServiceProxyHighCpu", "saturation.proxy_cpu", "proxy_cpu_cores", "busiest pod's istio-proxy CPU",
             "cores"),
            ("IstioServiceProxyHighMemory", "saturation.proxy_memory", "proxy_memory_bytes",
             "largest pod's istio-proxy working set", "bytes"),
        ):
            query = self.m.query(signal, "service_version")
            if query is None:
                continue
            default = getattr(t, field)
            overrides = {(s.namespace, s.name): float(getattr(s.alerts, field)) for s in self.p.services
                         if getattr(s.alerts, field) is not None}
            ref = f"max {q.by(app_key)} ({query.expr})"
            thr = per_service(default, overrides, ref, app_key)
            if not thr:
                continue
            expr = f"(\n  {query.expr}\n) > {q.on(app_key)} group_left () (\n  {thr}\n)"
            expr += _unless_disabled(app_key, disabled)
            shown = f"{default:g} {unit}" if default is not None else "per service"
            self.add(
                g, name, expr, t.for_, "warning", signal,
                f"{{{{ $labels.{sl[1]} }}}} {{{{ $labels.{sl[2]} }}}} in {{{{ $labels.{sl[0]} }}}}: {what} is high",
                f"The {what} of {{{{ $labels.{sl[1]} }}}} {{{{ $labels.{sl[2]} }}}} in {{{{ $labels.{sl[0]} }}}} is "
                f"{VALUE} {unit}, above its threshold (default {shown}).",
                query.uses, labels,
            )
        query = self.m.query("saturation.overflow", "service")
        if query is None:
            return
        overrides = {(s.namespace, s.name): float(s.alerts.overflow_rate) for s in self.p.services
                     if s.alerts.overflow_rate is not None}
        thr = per_service(t.overflow_rate, overrides, query.expr)
        if not thr:
            return
        expr = f"(\n  {query.expr}\n) > {q.on(SVC)} (\n  {thr}\n)"
        expr += _unless_disabled(SVC, disabled)
        shown = f"{t.overflow_rate:g}/s" if t.overflow_rate is not None else "per service"
        self.add(
            g, "IstioServiceCircuitBreakerOverflow", expr, t.for_, "warning", "saturation.overflow",
            "{{ $labels.destination_service_name }}.{{ $labels.destination_service_namespace }}: requests rejected "
            "by circuit breakers",
            "Envoy rejects {VALUE} requests per second to {{ $labels.destination_service_name }} in "
            "{{ $labels.destination_service_namespace }} (503, response flag UO: a connection pool, pending request "
            f"or retry limit reached), above its threshold (default {shown}).".replace("{VALUE}", VALUE),
            query.uses,
        )

    def saturation_experiments(self) -> None:
        """The candidate's CPU seconds per request over the baseline's, above the experiment's factor."""
        factor = "experiment:cpu_per_request:candidate_over_baseline"
        if not self.p.experiments or factor not in {x.record for x in self.m.rules}:
            return
        g = f"{GROUP_PREFIX}.alerts.experiments"
        s = "rate" + self.m.window
        req = f"experiment:istio_requests:{s}"
        on = "on (experiment)"
        th = 'experiment:threshold{threshold="cpu_per_request_factor"}'
        gate = (f'and {on} ({req}{{role="candidate"}} >= {on} experiment:threshold{{threshold="min_request_rate"}})\n'
                f'and {on} ({req}{{role="baseline"}} >= {on} experiment:threshold{{threshold="min_request_rate"}})')
        by_for: dict[str, list[str]] = {}
        for e in self.p.experiments:
            if e.thresholds.cpu_per_request_factor is not None:
                by_for.setdefault(e.for_, []).append(e.name)
        for for_, names in sorted(by_for.items()):
            scope = "" if len(by_for) == 1 else (
                f'\nand {on} experiment:info{{experiment=~"{"|".join(sorted(names))}"}}')
            self.add(
                g, "IstioExperimentCpuPerRequestWorse",
                f"(\n  ({factor} > {on} {th})\n  {gate}{scope}\n) * {on} group_left (namespace, service) "
                "experiment:info",
                for_, "warning", "saturation.cpu",
                "Experiment {{ $labels.experiment }}: the candidate uses more CPU per request than the baseline",
                f"In {{{{ $labels.namespace }}}}/{{{{ $labels.service }}}}, the candidate's CPU seconds per "
                f"request are {VALUE} times the baseline's, beyond the experiment's factor.",
                [factor, "experiment:threshold", req, "experiment:info"], _EXP_LABELS,
            )

    def build(self) -> list[Group]:
        self.services()
        self.gateway()
        self.control_plane()
        self.saturation()
        self.experiments()
        self.saturation_experiments()
        iv = self.p.rules.interval
        return [Group(name, iv, (), tuple(alerts)) for name, alerts in self.groups.items()]


def build_alerts(r: Resolved, model: SignalModel) -> list[Group]:
    return _Alerts(r, model).build()
