"""The dashboards istiogen renders, described format-neutrally from the query catalog.

Every catalogued panel query is ``model.query(signal, scope)``, with label
matchers added through :meth:`Query.with_matchers` (template variables, or an
experiment's service and versions).  The only other queries are the experiment
comparisons, read from the federated ``experiment:*`` records the alerts also
use, and the expected traffic split as a constant.  A panel whose signal is not
in the model (its rule set is disabled, or its records excluded) is left out,
and so is a section or dashboard left empty.
"""

from __future__ import annotations

from collections.abc import Sequence

from istiogen.catalog import saturation as satcat
from istiogen.catalog import signals as sigcat
from istiogen.profile.resolve import Resolved
from istiogen.render import dataplane
from istiogen.render import promql as q
from istiogen.render.dashboards.spec import (
    Dashboard,
    Panel,
    PanelKind,
    Section,
    Target,
    Variable,
    by_legend,
    quantile_name,
)
from istiogen.render.model import Query, SignalModel

# Title suffix per scope: the same signal shown at another aggregation level.
SCOPE_SUFFIX = {
    "service": "",
    "service_version": " by version",
    "workload": " by workload",
    "edge": " by source",
    "gateway": " by destination service",
    "mesh": "",
    "control_plane": "",
    "ztunnel": " by node",
    "waypoint": " by waypoint",
    "ingress_gateway": "",
}

# Legend per scope, from the scope's labels in model.scope_labels order.
_LEGENDS = {
    "service": "{1}.{0}",
    "gateway": "{1}.{0}",
    "service_version": "{1}.{0} {2}",
    "workload": "{1}.{0}",
    "edge": "{1}.{0} → {3}.{2}",
    "ztunnel": "{0}",
    "waypoint": "{1}.{0}",
}

DATA_PLANE = ("service", "service_version", "workload", "edge")

PLANE_TEXT = {"sidecar": "sidecar", "waypoint": "ambient + waypoint", "ambient": "ambient (L4 only)"}


def unit_of(query: Query) -> str:
    """The panel unit of a catalogued query: its unit, per second for counted rates."""
    if query.unit == "count" and query.signal.endswith(".rate"):
        return "ops"
    return query.unit


def legend_for(query: Query) -> str:
    """``{{label}}`` placeholders naming one series of the query's result."""
    labels = ["{{" + lab + "}}" for lab in query.labels]
    template = _LEGENDS.get(query.scope)
    if template is not None and len(labels) == template.count("{"):
        return template.format(*labels)
    return " ".join(labels)


class _Builder:
    def __init__(self, r: Resolved, model: SignalModel) -> None:
        self.r = r
        self.m = model
        self.profile = r.name
        self.fed = set(model.federated_records)
        self.variables: tuple[Variable, ...] = ()
        self._exprs = {x.record: x.expr for x in model.rules}
        self._labels: dict[str, frozenset[str]] = {}

    # --- targets and panels from the catalog ------------------------------------------------

    def record_labels(self, record: str) -> frozenset[str]:
        """The labels a recorded series keeps: the ``by`` labels of its rule's outer aggregation."""
        if record not in self._labels:
            self._labels[record] = _outer_by_labels(self._exprs.get(record, ""))
        return self._labels[record]

    def var_matchers(self, query: Query) -> list[q.Matcher]:
        """Matchers for the dashboard variables whose label every series the query reads carries."""
        return [(v.label, "=~", f"${v.name}") for v in self.variables if self.applies(v, query)]

    def applies(self, v: Variable, query: Query) -> bool:
        return all(v.label in self.record_labels(rec) for rec in query.uses)

    def target(self, signal: str, scope: str, matchers: Sequence[q.Matcher] | None = None,
               legend: str | None = None, name: str | None = None) -> Target | None:
        query = self.m.query(signal, scope)
        if query is None:
            return None
        sig = sigcat.BY_ID[signal]
        ms = self.var_matchers(query) if matchers is None else list(matchers)
        text = legend if legend is not None else legend_for(query)
        if sig.quantile is not None:
            text = f"{text} {quantile_name(sig.quantile)}".strip()
        return Target(query.with_matchers(ms), text, name or sig.title, signal, scope, sig.quantile)

    def panel(self, signal: str, scope: str, kind: PanelKind = "timeseries", width: int = 12,
              legend: str | None = None, title: str | None = None) -> Panel | None:
        query = self.m.query(signal, scope)
        t = self.target(signal, scope, legend=legend)
        if query is None or t is None:
            return None
        sig = sigcat.BY_ID[signal]
        description = _description(sig, scope)
        skipped = [f"${v.name}" for v in self.variables if not self.applies(v, query)]
        if skipped:
            description += (f" Not filtered by {', '.join(skipped)}: the recorded series it reads do not carry "
                            "that label.")
        return Panel(title or sig.title + SCOPE_SUFFIX.get(scope, ""), kind, unit_of(query), (t,), width,
                     description)

    def multi(self, title: str, parts: Sequence[tuple[str, str, str]], width: int = 12,
              description: str = "") -> Panel | None:
        """One panel, several catalogued signals: ``parts`` are (signal, scope, legend)."""
        targets = [t for s, sc, leg in parts if (t := self.target(s, sc, legend=leg, name=leg)) is not None]
        if not targets:
            return None
        query = self.m.query(targets[0].signal or "", targets[0].scope or "")
        assert query is not None
        units = {unit_of(x) for s, sc, _ in parts if (x := self.m.query(s, sc)) is not None}
        if len(units) != 1:
            raise AssertionError(f"panel {title!r} mixes units {sorted(units)}")
        return Panel(title, "timeseries", unit_of(query), tuple(targets), width, description)

    # --- dashboards ---------------------------------------------------------------------------

    def dashboard(self, name: str, title: str, description: str,
                  sections: Sequence[tuple[str, Sequence[Panel | None]]],
                  variables: tuple[Variable, ...] = ()) -> Dashboard | None:
        kept = tuple(Section(t, ps) for t, panels in sections if (ps := tuple(p for p in panels if p is not None)))
        if not kept:
            return None
        return Dashboard(
            name, f"{title} ({self.profile})",
            f"{description} Generated by istiogen from profile {self.profile}; every query reads only the "
            "series the Sysdig agent federates (queries.yaml).",
            ("istio", "istiogen", self.profile), kept, variables,
        )

    def overview_variables(self) -> tuple[Variable, ...]:
        primary = next((x for sc in DATA_PLANE for x in self.m.queries if x.scope == sc), None)
        if primary is None:
            return ()
        record = primary.uses[0]
        have = self.record_labels(record)
        ns_v, app, ver = self.m.scope_labels["service_version"]

        def pick(*labels: str) -> str | None:
            return next((lab for lab in labels if lab in have), None)

        out: list[Variable] = []
        for name, title, label in (
            ("namespace", "Namespace", pick("destination_service_namespace", ns_v)),
            ("service", "Service", pick("destination_service_name", app)),
            ("version", "Version", pick(ver)),
        ):
            if label is not None:
                out.append(Variable(name, label, title, record, tuple(out)))
        return tuple(out)

    def data_planes(self) -> list[tuple[str, list[Panel | None]]]:
        """Ambient meshes: which data plane each listed namespace and service has, and what it can answer
        (a text panel), and the L4-only signals of the services without a waypoint."""
        pl = dataplane.planes(self.r.profile)
        if not pl.ambient:
            return []
        have = {x.signal for x in self.m.queries}

        def answers(cls: str) -> str:
            ids = [sg.id for sg in sigcat.SIGNALS if cls in sg.planes and sg.id in have]
            return ", ".join(f"`{i}`" for i in ids) or "none"

        rows = ["| namespace | service | data plane | signals |", "|---|---|---|---|",
                f"| (every other) | | {PLANE_TEXT[pl.default]} | {answers(pl.default)} |"]
        for e in pl.entries:
            what = PLANE_TEXT[e.cls] + (f" `{'/'.join(e.waypoint)}`" if e.waypoint else "")
            rows.append(f"| {e.namespace} | {e.service or '(all)'} | {what} | {answers(e.cls)} |")
        text = "\n".join([
            "Each service's signals come from its data plane: **sidecar** (its own Envoy: L7 and L4), "
            "**waypoint** (ambient behind a waypoint: L7 from the waypoint, no L4 series of its own), "
            "**ambient** (no waypoint: **L4 only** from ztunnel — no request rate, errors or latency).", "",
            *rows])
        text_panel = Panel("Data planes", "text", "count", (), 24,
                           "Which data plane each listed namespace and service has (the profile's "
                           "istio.data_plane and services[].data_plane), and which catalog signals answer for it.",
                           content=text)
        p = self.panel
        l4 = [p("tcp.errors.ratio", "service", width=8), p("tcp.connections_failed.rate", "service", width=8),
              p("tcp.connections_opened.rate", "service", width=8)]
        return [("Data planes", [text_panel]), ("L4 only (ambient, no waypoint: ztunnel)", l4)]

    def service_overview(self) -> Dashboard | None:
        self.variables = self.overview_variables()
        try:
            p = self.panel
            latency = ("latency.p50", "latency.p95", "latency.p99")
            return self.dashboard(
                "service-overview", "Istio services",
                "Golden signals of the mesh's services, by service, version and workload, as the destination "
                "sidecars report them" + (" (or, behind a waypoint, the waypoint)" if dataplane.planes(
                    self.r.profile).ambient else "") + ".",
                [
                    *self.data_planes(),
                    ("Services", [
                        p("requests.rate", "service", width=8),
                        p("errors.ratio_5xx", "service", width=8),
                        p("errors.ratio_4xx", "service", width=8),
                        *(p(s, "service", width=8) for s in latency),
                        p("errors.ratio_grpc", "service", width=8),
                        p("request_size.p95", "service", width=8),
                        p("response_size.p95", "service", width=8),
                    ]),
                    ("TCP", [
                        p("tcp.sent_bytes.rate", "service", width=6),
                        p("tcp.received_bytes.rate", "service", width=6),
                        p("tcp.connections_opened.rate", "service", width=6),
                        p("tcp.connections_closed.rate", "service", width=6),
                    ]),
                    ("By version", [
                        p("requests.rate", "service_version", width=8),
                        p("errors.ratio_5xx", "service_version", width=8),
                        p("errors.ratio_4xx", "service_version", width=8),
                        *(p(s, "service_version", width=8) for s in latency),
                    ]),
                    ("By workload", [
                        p("requests.rate", "workload", width=8),
                        p("errors.ratio_5xx", "workload", width=8),
                        p("latency.p99", "workload", width=8),
                        p("tcp.sent_bytes.rate", "workload", width=12),
                        p("tcp.received_bytes.rate", "workload", width=12),
                    ]),
                    ("By source", [
                        p("requests.rate", "edge", width=12),
                        p("errors.ratio_5xx", "edge", width=12),
                    ]),
                ],
                self.variables,
            )
        finally:
            self.variables = ()

    def ingress_gateway(self) -> Dashboard | None:
        p = self.panel
        gw = self.r.profile.istio.ingress_gateway
        return self.dashboard(
            "ingress-gateway", "Istio ingress gateway",
            f"Traffic entering the mesh through {self.r.gateway_namespace}/{gw.workload}, as the gateway "
            "reports it (reporter=source).",
            [
                ("Ingress gateway", [
                    p("gateway.requests.rate", "mesh", "stat", 8, legend="requests"),
                    p("gateway.errors.ratio_5xx", "mesh", "stat", 8, legend="5xx ratio"),
                    p("gateway.latency.p99", "mesh", "stat", 8, legend="latency"),
                    self.multi("Ingress gateway requests", [
                        ("gateway.requests.rate", "mesh", "requests"),
                        ("gateway.errors.rate_5xx", "mesh", "5xx"),
                    ], description="Requests per second through the gateway, and those answered with 5xx."),
                    p("gateway.latency.p99", "mesh", legend="latency"),
                ]),
                ("By destination service", [
                    p("gateway.requests.rate", "gateway", width=8),
                    p("gateway.errors.rate_5xx", "gateway", width=8),
                    p("gateway.errors.ratio_5xx", "gateway", width=8),
                ]),
            ],
        )

    def control_plane(self) -> Dashboard | None:
        p = self.panel
        cp = "control_plane"
        return self.dashboard(
            "control-plane", "Istio control plane",
            f"istiod in {self.r.profile.istio.namespace}: configuration pushes, proxy convergence, sidecar "
            "injection and certificate signing.",
            [
                ("istiod", [
                    p("istiod.up", cp, "stat", 4, legend="up"),
                    p("istiod.connected_proxies", cp, "stat", 4, legend="proxies"),
                    p("istiod.convergence.p99", cp, "stat", 4, legend="convergence"),
                    p("istiod.push_errors.rate", cp, "stat", 4, legend="push errors"),
                    p("istiod.rejects.rate", cp, "stat", 4, legend="rejects"),
                    p("istiod.csr_failures.rate", cp, "stat", 4, legend="CSR failures"),
                ]),
                ("xDS", [
                    p("istiod.pushes.rate", cp, title="xDS pushes by type"),
                    p("istiod.convergence.p99", cp, legend="convergence"),
                    p("istiod.push_errors.rate", cp, legend="push errors"),
                    p("istiod.rejects.rate", cp, legend="rejects"),
                ]),
                ("Proxies, injection and certificates", [
                    p("istiod.connected_proxies", cp, width=6, legend="proxies"),
                    p("istiod.up", cp, width=6, legend="up"),
                    self.multi("Sidecar injections", [
                        ("istiod.injection_success.rate", cp, "success"),
                        ("istiod.injection_failures.rate", cp, "failures"),
                    ], width=6, description="Sidecar injection webhook calls per second, succeeded and failed."),
                    p("istiod.csr_failures.rate", cp, width=6, legend="CSR failures"),
                ]),
            ],
        )

    def ztunnel(self) -> Dashboard | None:
        """Ambient: ztunnel on every node (Istio's own ztunnel dashboard's rows, over the federated records)."""
        p = self.panel
        z = "ztunnel"
        return self.dashboard(
            "ztunnel", "Istio ztunnel",
            "ztunnel, the ambient data plane's node proxy: one per node, L4 for every ambient pod on it.",
            [
                ("ztunnel", [
                    p("ztunnel.up", "mesh", "stat", 8, legend="ztunnels"),
                    p("ztunnel.versions", "mesh", width=16, legend="{{tag}}", title="ztunnels by version"),
                ]),
                ("Proxies and xDS", [
                    p("ztunnel.active_proxies", z, width=8),
                    p("ztunnel.pending_proxies", z, width=8),
                    p("ztunnel.xds_terminations.rate", z, width=8),
                ]),
                ("Traffic (outbound, per node)", [
                    p("ztunnel.connections_opened.rate", z, width=8),
                    p("ztunnel.sent_bytes.rate", z, width=8),
                    p("ztunnel.received_bytes.rate", z, width=8),
                    p("ztunnel.dns_requests.rate", z, width=12),
                ]),
                ("Resource usage", [
                    p("saturation.ztunnel_cpu", z, width=12),
                    p("saturation.ztunnel_memory", z, width=12),
                    p("ztunnel.open_sockets", z, width=12),
                    p("ztunnel.open_fds", z, width=12),
                ]),
                ("Waypoints", [
                    p("saturation.waypoint_cpu", "waypoint", width=12),
                    p("saturation.waypoint_memory", "waypoint", width=12),
                ]),
            ],
        )

    def experiments(self) -> Dashboard | None:
        """One dashboard for every experiment, chosen with the ``experiment`` variable.

        Experiments are data (``experiment:*info`` series): the baseline and the candidate of the
        chosen experiment are found by joining the federated base series with
        ``experiment:role_info``, so p50/p95/p99, rate and errors compare side by side without a
        dashboard per experiment."""
        if not self.r.profile.experiments:
            return None
        s = "rate" + self.m.window
        fed = self.fed

        def rec(name: str) -> str | None:
            return name if name in fed else None

        var = Variable("experiment", "experiment", "Experiment", "experiment:info")
        self.variables = (var,)
        one: list[q.Matcher] = [("experiment", "=~", "$experiment")]
        req = rec(f"experiment:istio_requests:{s}")
        err = rec(f"experiment:istio_requests_5xx:ratio_{s}")
        share = rec(f"experiment:traffic_share:ratio_{s}")
        err_f = rec("experiment:error_ratio_5xx:candidate_over_baseline")
        lat_f = rec("experiment:latency_p99:candidate_over_baseline")
        ns_l, app_l, ver_l = self.m.scope_labels["service_version"]
        join = (f"on ({ns_l}, {app_l}, {ver_l}) group_left (experiment, role) "
                f"{q.selector('experiment:role_info', one)}")

        def derived(title: str, unit: str, kind: PanelKind, width: int, parts: Sequence[tuple[str, str]],
                    description: str, quantile: float | None = None) -> Panel:
            # experiment records are read bare: aggregated by the legend's labels (Sysdig's API limits)
            targets = tuple(Target(by_legend(expr, legend, unit), legend, legend, quantile=quantile
                                   if quantile is not None else _recorded_quantile(expr)) for expr, legend in parts)
            return Panel(title, kind, unit, targets, width, description)

        compare: list[Panel | None] = []
        if share:
            compare.append(derived("Candidate traffic share", "ratio", "stat", 8,
                                   [(q.selector(share, one), "{{experiment}} candidate share")],
                                   "Share of the service's requests the candidate receives."))
        if err_f:
            compare.append(derived("5xx ratio candidate / baseline", "factor", "stat", 8,
                                   [(q.selector(err_f, one), "{{experiment}} 5xx ratio factor")],
                                   "The candidate's 5xx ratio divided by the baseline's (1: no difference)."))
        if lat_f:
            compare.append(derived("Latency p99 candidate / baseline", "factor", "stat", 8,
                                   [(q.selector(lat_f, one), "{{experiment}} latency p99 factor")],
                                   "The candidate's p99 latency divided by the baseline's (1: no difference)."))
        if share and "experiment:expected_split" in fed:
            compare.append(derived(
                "Traffic share vs expected split", "ratio", "timeseries", 12,
                [(q.selector(share, one), "{{experiment}} candidate share"),
                 (q.selector("experiment:expected_split", one), "{{experiment}} expected split")],
                "Share of the service's requests the candidate receives, against the experiment's expected split.",
            ))
        named = [(r, legend) for r, legend in ((err_f, "5xx ratio"), (lat_f, "latency p99")) if r]
        factors = [(q.selector(r, one), "{{experiment}} " + legend) for r, legend in named]
        if factors:
            compare.append(derived(
                "Candidate / baseline: " + " and ".join(x[1] for x in named), "factor", "timeseries", 12, factors,
                "Candidate over baseline, from the experiment's recorded series (what the alerts evaluate).",
            ))

        side: list[Panel | None] = []
        if req:
            side.append(derived("Request rate", "reqps", "timeseries", 12,
                                [(q.selector(req, one), "{{experiment}} {{role}}")],
                                "Requests per second to the baseline and the candidate."))
        if err:
            side.append(derived("5xx error ratio", "ratio", "timeseries", 12,
                                [(q.selector(err, one), "{{experiment}} {{role}}")],
                                "Share of requests answered with a 5xx code, baseline and candidate."))
        latency = self.m.query("latency.p99", "service_version")
        if latency is not None:
            buckets = " or ".join(latency.uses)
            buckets = buckets if len(latency.uses) == 1 else f"({buckets})"
            unit = unit_of(latency)
            for qv in (0.5, 0.95, 0.99):
                name = quantile_name(qv)
                side.append(derived(
                    f"Latency {name}", unit, "timeseries", 8,
                    [(f"histogram_quantile({q.number(qv)}, sum by (experiment, role, le) ({buckets} * {join}))",
                      f"{{{{experiment}}}} {{{{role}}}} {name}")],
                    f"Latency {name} of the baseline and the candidate, from the federated bucket rates.",
                    quantile=qv,
                ))
        board = self.dashboard(
            "experiments", "Istio experiments",
            "A/B and canary experiments: the chosen experiment's candidate against its baseline, side by side.",
            [("Candidate vs baseline", compare), ("Baseline and candidate", side)],
            (var,),
        )
        self.variables = ()
        return board

    # --- saturation -----------------------------------------------------------------------------

    def agent_containers(self, signal: str, matchers: Sequence[q.Matcher], by: Sequence[str]) -> str | None:
        """The Sysdig agent's own container metric answering a container saturation signal: the busiest (largest)
        pod's, by namespace and deployment (catalog.saturation; the names are unverified against an agent)."""
        metric = {"saturation.cpu": satcat.SYSDIG_CPU, "saturation.proxy_cpu": satcat.SYSDIG_CPU,
                  "saturation.memory": satcat.SYSDIG_MEMORY,
                  "saturation.proxy_memory": satcat.SYSDIG_MEMORY}.get(signal)
        if metric is None:
            return None
        proxy: q.Matcher = (satcat.SYSDIG_CONTAINER, "=" if signal.startswith("saturation.proxy") else "!=",
                            satcat.PROXY_CONTAINER)
        pod = [*by, "kube_pod_name"]
        inner = q.sum_by(pod, q.selector(metric, [*matchers, proxy]))
        return f"max {q.by(by)} ({inner})" if by else f"max({inner})"

    def saturation_panel(self, signal: str, scope: str, width: int = 6) -> Panel | None:
        """A container saturation panel; at the workload scope, Sysdig reads the agent's container metrics by
        deployment (a workload is its Deployment) and namespace instead of the federated records."""
        p = self.panel(signal, scope, width=width)
        if p is None or scope not in ("workload", "ingress_gateway"):
            return p
        if scope == "workload":
            ns_var = [(satcat.SYSDIG_NAMESPACE, "=~", f"${v.name}") for v in self.variables if v.name == "namespace"]
            expr = self.agent_containers(signal, ns_var, [satcat.SYSDIG_NAMESPACE, satcat.SYSDIG_DEPLOYMENT])
        else:
            gw = self.r.profile.istio.ingress_gateway
            expr = self.agent_containers(signal, [(satcat.SYSDIG_NAMESPACE, "=", self.r.gateway_namespace),
                                                  (satcat.SYSDIG_DEPLOYMENT, "=", gw.workload)], [])
        if expr is None:
            return p
        t = p.targets[0]
        legend = (f"{{{{{satcat.SYSDIG_DEPLOYMENT}}}}}.{{{{{satcat.SYSDIG_NAMESPACE}}}}}" if scope == "workload"
                  else t.legend)
        from dataclasses import replace

        metric = satcat.SYSDIG_CPU if signal.endswith("cpu") else satcat.SYSDIG_MEMORY
        return replace(p, targets=(replace(t, sysdig=expr, sysdig_legend=legend),), description=p.description + (
            f" In Sysdig Monitor: the agent's own {metric} by {satcat.SYSDIG_NAMESPACE} and "
            f"{satcat.SYSDIG_DEPLOYMENT} (a workload is its Deployment), not federated."))

    def saturation_sections(self) -> list[tuple[str, Sequence[Panel | None]]]:
        sp = self.saturation_panel
        return [
            ("Saturation by version", [
                sp("saturation.cpu", "service_version"), sp("saturation.memory", "service_version"),
                sp("saturation.proxy_cpu", "service_version"), sp("saturation.proxy_memory", "service_version"),
                self.panel("saturation.overflow", "service", width=12),
                self.panel("saturation.envoy_overflow.rate", "service", width=12),
            ]),
            ("Saturation by workload", [
                sp("saturation.cpu", "workload"), sp("saturation.memory", "workload"),
                sp("saturation.proxy_cpu", "workload"), sp("saturation.proxy_memory", "workload"),
            ]),
        ]

    def gateway_saturation(self) -> Section | None:
        panels = tuple(x for x in (self.saturation_panel("saturation.proxy_cpu", "ingress_gateway", 12),
                                   self.saturation_panel("saturation.proxy_memory", "ingress_gateway", 12))
                       if x is not None)
        return Section("Ingress gateway saturation", panels) if panels else None

    def experiment_saturation(self, board: Dashboard | None) -> Dashboard | None:
        """The experiments dashboard with the candidate's and the baseline's CPU seconds per request."""
        per_req = f"experiment:cpu_seconds_per_request:rate{self.m.window}"
        factor = "experiment:cpu_per_request:candidate_over_baseline"
        if board is None or per_req not in self.fed:
            return board
        one: list[q.Matcher] = [("experiment", "=~", "$experiment")]
        legend = "{{experiment}} {{role}}"
        panels = [Panel("CPU seconds per request", "timeseries", "cores",
                        (Target(by_legend(q.selector(per_req, one), legend, "factor"), legend, legend),), 12,
                        "Application CPU seconds per request of the baseline and the candidate (the containers' "
                        "CPU summed over each version's pods, over its destination-reported requests): comparable "
                        "at any traffic share.")]
        if factor in self.fed:
            fl = "{{experiment}} CPU per request factor"
            panels.append(Panel("CPU per request candidate / baseline", "timeseries", "factor",
                                (Target(by_legend(q.selector(factor, one), fl, "factor"), fl, fl),), 12,
                                "The candidate's CPU seconds per request divided by the baseline's (1: no "
                                "difference); the experiment alert fires above cpu_per_request_factor."))
        from dataclasses import replace

        return replace(board, sections=(*board.sections, Section("CPU per request", tuple(panels))))

    def build(self) -> list[Dashboard]:
        boards = [self.service_overview(), self.ingress_gateway(), self.control_plane(), self.ztunnel()]
        if "saturation" in self.r.profile.rules.sets:  # the fourth golden signal beside the other three
            from dataclasses import replace

            overview, gateway = boards[0], boards[1]
            if overview is not None:
                self.variables = overview.variables
                sections = tuple(Section(t, ps) for t, panels in self.saturation_sections()
                                 if (ps := tuple(x for x in panels if x is not None)))
                self.variables = ()
                boards[0] = replace(overview, sections=(*overview.sections, *sections))
            gw = self.gateway_saturation()
            if gateway is not None and gw is not None:
                boards[1] = replace(gateway, sections=(*gateway.sections, gw))
            boards.append(self.experiment_saturation(self.experiments()))
        else:
            boards.append(self.experiments())
        return [d for d in boards if d is not None]


def _description(sig: sigcat.Signal, scope: str) -> str:
    what = sig.description or sig.title
    return f"{what[0].upper()}{what[1:]}. Catalog signal {sig.id}, scope {scope}."


def _outer_by_labels(expr: str) -> frozenset[str]:
    """``sum by (a, b) (...)`` -> {a, b}; anything else (no grouping, not parseable) -> no labels."""
    import promql_parser

    try:
        node = promql_parser.parse(expr)
    except (ValueError, TypeError):
        return frozenset()
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    modifier = node.modifier if isinstance(node, promql_parser.AggregateExpr) else None
    if modifier is not None and modifier.type == promql_parser.AggModifierType.By:
        return frozenset(modifier.labels)
    return frozenset()


def _threshold(factor: float | None) -> str:
    return f" The experiment alert fires above {factor:g}." if factor is not None else ""


def _recorded_quantile(expr: str) -> float | None:
    import re

    m = re.search(r"_p(\d+(?:_\d+)?):", expr)
    return float(m.group(1).replace("_", ".")) / 100 if m else None


def build(r: Resolved, model: SignalModel) -> list[Dashboard]:
    """Every dashboard of the profile, in output order."""
    return _Builder(r, model).build()
