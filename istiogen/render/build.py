"""The builder of the signal model (:mod:`.model`): a resolved profile in, a :class:`SignalModel` out.

The recording rules per rule set and data-plane group, the gateway and control-plane rules, the experiment
comparisons, the profile's custom rules, the query catalog and the alerts; then ``rules.exclude`` and
``rules.patches`` applied.  What the profile gets wrong here is reported by stage 2 (:mod:`istiogen.verify`):
the builder never raises for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from istiogen.catalog import ambient as ambcat
from istiogen.catalog import saturation as satcat
from istiogen.catalog import signals as sigcat
from istiogen.profile.resolve import Resolved
from istiogen.render import dataplane
from istiogen.render import promql as q
from istiogen.render.labels import (
    DEFAULT_LATENCY_BOUNDS_MS,
    DEFAULT_LATENCY_BOUNDS_S,
    DEFAULT_SIZE_BOUNDS,
    DEFAULT_SIZE_BOUNDS_MIXER,
    DPGroup,
    base_key,
    dp_groups,
    scope_labels,
    size_scopes,
    version_pair,
)
from istiogen.render.model import GROUP_PREFIX, Alert, Group, Query, Rule, SignalModel
from istiogen.render.promql import fam, quantile, ratio

WAYPOINT_SCOPE = ("waypoint_namespace", "waypoint")


class _Builder:
    def __init__(self, r: Resolved) -> None:
        self.r = r
        p = r.profile
        self.p = p
        self.tel = r.release.telemetry
        self.w = p.rules.window
        self.suffix = "rate" + p.rules.window
        self.fed = tuple(sorted(p.rules.federation_label.items()))
        self.model = SignalModel(
            window=p.rules.window,
            interval=p.rules.interval,
            scrape_interval=r.flavour.scrape_interval,
            federation_label=self.fed,
            latency_unit=self.tel.duration_unit,
            base_labels=base_key(r),
            scope_labels={k: v for k, v in scope_labels(r).items()
                          if k not in ("ztunnel", "waypoint") or (k == "ztunnel" and dataplane.planes(p).ambient)},
        )
        self.groups: dict[str, list[Rule]] = {}
        self.alert_groups: dict[str, list[Alert]] = {}
        self.sets = set(p.rules.sets)
        self.scopes = [s for s in sigcat.DATA_PLANE_SCOPES if s in p.rules.scopes]
        self.records: dict[str, list[str]] = {}  # logical name -> the records holding it (one per group)
        self.planes = dataplane.planes(p)

    # rules
    def add(self, group: str, rule_set: str, record: str, expr: str, uses: Sequence[str] = (),
            extra_labels: Sequence[tuple[str, str]] = (), federated: bool = True) -> str:
        labels = tuple(sorted({**dict(extra_labels), **(dict(self.fed) if federated else {})}.items()))
        self.groups.setdefault(group, []).append(Rule(record, expr, labels, group, rule_set, tuple(uses), federated))
        return record

    def add1(self, group: str, rule_set: str, record: str, expr: str) -> list[str]:
        return [self.add(group, rule_set, record, expr)]

    def rate(self, metric: str, matchers: Sequence[q.Matcher]) -> str:
        return f"rate({q.selector(metric, matchers)}[{self.w}])"

    def agg(self, by: Sequence[str], metric: str, matchers: Sequence[q.Matcher]) -> str:
        return q.sum_by(by, self.rate(metric, matchers))

    def l7(self, metric: str, window: str, where: Sequence[q.Matcher] = ()) -> str:
        """The raw L7 series of every service, each request once: what sidecars report as the destination,
        and for services behind a waypoint what the waypoint reports plus what the Envoy clients that bypass
        it (sidecars, the ingress gateway) report as the source (:mod:`.dataplane`)."""
        pl = self.planes
        parts = [self.rate_w(metric, [("reporter", "=", "destination"), *where, *sel], window)
                 for sel in pl.selectors("sidecar")]
        for sel in pl.selectors("waypoint"):
            parts.append(self.rate_w(metric, [("reporter", "=", ambcat.WAYPOINT_REPORTER), *where, *sel], window))
        if ambcat.ENVOY_CLIENTS_BYPASS_WAYPOINT:
            src: list[q.Matcher] = [("reporter", "=", "source"), *where]
            for sel in pl.selectors("waypoint", ingress_through_waypoint=False):
                parts.append(self.rate_w(metric, [*src, *sel], window))
            gw = self.p.istio.ingress_gateway
            for sel in pl.selectors("waypoint", ingress_through_waypoint=True):  # the gateway's calls: the waypoint's
                parts.append(self.rate_w(metric, [*src, *sel, ("source_workload", "!=", gw.workload)], window))
                parts.append(self.rate_w(metric, [*src, *sel, ("source_workload", "=", gw.workload),
                                                  ("source_workload_namespace", "!=", self.r.gateway_namespace)],
                                         window))
        return " or ".join(parts)

    def l4(self, metric: str, window: str, where: Sequence[q.Matcher] = ()) -> str:
        """The raw L4 series of every service, each connection once: the sidecars' as the destination, and for
        ambient services without a waypoint ztunnel's from the server's node, the waypoint legs left out."""
        pl = self.planes
        dest: list[q.Matcher] = [("reporter", "=", "destination"), *where]
        if not pl.ambient:
            return self.rate_w(metric, dest, window)
        parts = [self.rate_w(metric, [*dest, dataplane.not_ztunnel_matcher(), *sel], window)
                 for sel in pl.selectors("sidecar")]
        parts += [self.rate_w(metric, [*dest, dataplane.ztunnel_matcher(), *sel,
                                       *dataplane.waypoint_legs_excluded(pl)], window)
                  for sel in pl.selectors("ambient")]
        return " or ".join(parts)

    def rate_w(self, metric: str, matchers: Sequence[q.Matcher], window: str) -> str:
        return f"rate({q.selector(metric, matchers)}[{window}])"

    def kept(self, bounds: Sequence[float] | None, default: Sequence[float]) -> list[float]:
        return [float(b) for b in (bounds if bounds is not None else default)]

    def data_plane(self) -> None:
        for grp in dp_groups(self.r):
            self.data_plane_group(grp)

    def data_plane_group(self, grp: DPGroup) -> None:
        """Base series of one group of services (the default group, or services with their own window or
        kept labels), recorded under names of their own so nothing is counted twice."""
        t = self.tel
        key = [*self.model.base_labels, *(x for x in grp.extra if x not in self.model.base_labels)]
        g = f"{GROUP_PREFIX}.data-plane" + ("" if grp.default else f".{grp.level}-{grp.window}")
        suffix = "rate" + grp.window
        level = grp.level

        def rec(name: str, rule_set: str, record: str, expr: str, uses: Sequence[str] = ()) -> None:
            self.records.setdefault(name, []).append(self.add(g, rule_set, record, expr, uses))

        def rate(metric: str, matchers: Sequence[q.Matcher]) -> str:
            return f"rate({q.selector(metric, matchers)}[{grp.window}])"

        gm = list(grp.matchers)
        l7 = self.planes.has("sidecar") or self.planes.has("waypoint")
        if "requests" in self.sets and l7:
            reqs, own, uses = self.requests_base(grp, key, g, level, suffix)
            inner = q.sum_by([*key, "response_code"], reqs(own))
            rec("requests", "requests", f"{level}:istio_requests:{suffix}", q.sum_by(
                [*key, "response_class"],
                f'label_replace({inner}, "response_class", "${{1}}xx", "response_code", "([0-9]).*")',
            ), uses)
            if t.has_grpc_status:
                rec("grpc", "requests", f"{level}:istio_grpc_requests:{suffix}",
                    q.sum_by([*key, "grpc_response_status"], reqs([*own, ("request_protocol", "=", "grpc")])), uses)
            if "service" in self.p.rules.scopes and self.planes.has("sidecar"):
                # What the callers' sidecars report (reporter="source"), per destination service: the only
                # trace of a service whose pods are all gone (its callers get 503s from their own sidecars,
                # nothing reports as the destination).  The ingress gateway is left out: its view is the
                # gateway signals.
                gw = self.p.istio.ingress_gateway
                src: list[q.Matcher] = [("reporter", "=", "source"), *grp.matchers]
                ckey = [*scope_labels(self.r)["service"], *grp.extra]
                not_gw: list[q.Matcher] = [("source_workload", "=", gw.workload),
                                           ("source_workload_namespace", "!=", self.r.gateway_namespace)]
                # behind a waypoint, the callers' reports are the service's own L7 (see l7): not read twice
                planes = ([*self.planes.selectors("sidecar"), *self.planes.selectors("ambient")]
                          if self.planes.has("waypoint") else [()])
                calls = " or ".join(f"{rate(t.requests, [*src, *sel, *callers])}" for sel in planes
                                    for callers in ([("source_workload", "!=", gw.workload)], not_gw))
                inner = q.sum_by([*ckey, "response_code"], calls)
                rec("client", "requests", f"{'_'.join(['client', *grp.extra])}:istio_requests:{suffix}", q.sum_by(
                    [*ckey, "response_class"],
                    f'label_replace({inner}, "response_class", "${{1}}xx", "response_code", "([0-9]).*")',
                ))
            if "edge" in self.p.rules.scopes and grp.default:
                ek = list(scope_labels(self.r)["edge"])
                inner = q.sum_by([*ek, "response_code"], reqs([]))
                rec("edge", "requests", f"edge:istio_requests:{self.suffix}", q.sum_by(
                    [*ek, "response_class"],
                    f'label_replace({inner}, "response_class", "${{1}}xx", "response_code", "([0-9]).*")',
                ), uses)
        lat_default = DEFAULT_LATENCY_BOUNDS_MS if t.duration_unit == "ms" else DEFAULT_LATENCY_BOUNDS_S
        size_default = DEFAULT_SIZE_BOUNDS if t.name == "v2" else DEFAULT_SIZE_BOUNDS_MIXER
        hist = (
            ("latency", t.duration, self.p.rules.latency_buckets, lat_default),
            ("request_size", t.request_bytes, self.p.rules.size_buckets, size_default),
            ("response_size", t.response_bytes, self.p.rules.size_buckets, size_default),
        )
        size_key = list(base_key(self.r, size_scopes(self.r)))
        if size_key:
            size_key += [x for x in grp.extra if x not in size_key]
        for set_id, metric, chosen, default in hist:
            if set_id not in self.sets or (set_id != "latency" and not size_key) or not l7:
                continue
            le = ("le", "=~", q.le_regex(self.kept(chosen, default)))
            by = key if set_id == "latency" else size_key
            rec(set_id, set_id, f"{level}:{metric}_bucket:{suffix}", q.sum_by([*by, "le"],
                self.l7(f"{metric}_bucket", grp.window, [*gm, le])))
        if "latency" in self.sets and l7:
            bucket = self.records["latency"][-1]
            for qt in self.p.rules.quantiles:
                rec(f"latency_p{_qname(qt)}", "latency", f"{level}:{t.duration}_p{_qname(qt)}:{suffix}",
                    f"histogram_quantile({q.number(qt)}, {bucket})", uses=[bucket])
        if "tcp" in self.sets and t.tcp_sent:
            tcp: list[tuple[str, str | None]] = [
                ("tcp_sent", t.tcp_sent), ("tcp_received", t.tcp_received),
                ("tcp_opened", t.tcp_opened), ("tcp_closed", t.tcp_closed),
            ]
            ambient_l4 = self.planes.has("ambient")
            for short, counter in tcp:
                if counter is None:
                    continue
                base = counter.removesuffix("_total")
                if short == "tcp_closed" and ambient_l4:
                    # closed connections by result: ztunnel's only error signal is the failure flag
                    inner = q.sum_by([*key, "response_flags"], self.l4(counter, grp.window, gm))
                    rec(short, "tcp", f"{level}:{base}:{suffix}", q.sum_by(
                        [*key, "connection_result"],
                        f'label_replace({inner}, "connection_result", "failed", "response_flags", "[^-].*|-.+")'))
                    continue
                rec(short, "tcp", f"{level}:{base}:{suffix}", q.sum_by(key, self.l4(counter, grp.window, gm)))
            failed = "istio_tcp_connections_failed_total"
            if ambient_l4 and failed in {f.name for f in ambcat.ztunnel_families(self.r.release.version)}:
                rec("tcp_failed", "tcp", f"{level}:istio_tcp_connections_failed:{suffix}", q.sum_by(
                    key, " or ".join(self.rate_w(failed, [("reporter", "=", "destination"),
                                                          dataplane.ztunnel_matcher(), *gm, *sel,
                                                          *dataplane.waypoint_legs_excluded(self.planes)],
                                                 grp.window)
                                     for sel in self.planes.selectors("ambient"))))

    def requests_base(self, grp: DPGroup, key: Sequence[str], g: str, level: str, suffix: str) -> tuple[
            Callable[[Sequence[q.Matcher]], str], list[q.Matcher], list[str]]:
        """What the group's request records read: ``(read, matchers, uses)``, ``read(matchers)`` being the
        requests as :meth:`l7` reads them (each request once, whichever proxy reports it), at the group's window.

        The raw family is read by one rule per evaluation: when more than one record needs it (the gRPC
        statuses, the edge scope), a base record, not federated, keyed by the union of their labels reads it,
        and each of them sums that (a rule reads what an earlier rule of its group recorded at the same
        evaluation).  The edge scope covers every service, also those of other groups: then the base reads them
        all and keeps ``destination_service``, and ``matchers`` are the group's own."""
        t = self.tel
        edge = "edge" in self.p.rules.scopes and grp.default
        if not (t.has_grpc_status or edge):
            return (lambda extra: self.l7(t.requests, grp.window, [*grp.matchers, *extra])), [], []
        everyone = edge and bool(grp.matchers)
        labels = [*key, *(scope_labels(self.r)["edge"] if edge else ()),
                  *(["destination_service"] if everyone else []), "response_code", "request_protocol",
                  *(["grpc_response_status"] if t.has_grpc_status else [])]
        where: list[q.Matcher] = [] if everyone else list(grp.matchers)
        base = self.add(g, "requests", f"{level}:istio_requests_by_code:{suffix}",
                        q.sum_by(list(dict.fromkeys(labels)), self.l7(t.requests, grp.window, where)),
                        federated=False)
        return (lambda extra: q.selector(base, extra)), list(grp.matchers) if everyone else [], [base]

    def gateway(self) -> None:
        if "gateway" not in self.sets:
            return
        t = self.tel
        gw = self.p.istio.ingress_gateway
        src: list[q.Matcher] = [
            ("reporter", "=", "source"),
            ("source_workload", "=", gw.workload),
            ("source_workload_namespace", "=", self.r.gateway_namespace),
        ]
        g = f"{GROUP_PREFIX}.gateway"
        gl = list(scope_labels(self.r)["gateway"])
        self.records["gw_requests"] = self.add1(
            g, "gateway", f"gateway:istio_requests:{self.suffix}",
            self.agg([*gl, "response_code"], t.requests, src),
        )
        lat_default = DEFAULT_LATENCY_BOUNDS_MS if t.duration_unit == "ms" else DEFAULT_LATENCY_BOUNDS_S
        le = ("le", "=~", q.le_regex(self.kept(self.p.rules.latency_buckets, lat_default)))
        self.records["gw_latency"] = self.add1(
            g, "gateway", f"gateway:{t.duration}_bucket:{self.suffix}",
            self.agg(["le"], f"{t.duration}_bucket", [*src, le]),
        )

    def control_plane(self) -> None:
        if "control_plane" not in self.sets:
            return
        cp = self.r.release.control_plane
        m = q.eq(self.r.flavour.control_plane_matcher("pilot"))
        inj = q.eq(self.r.flavour.control_plane_matcher("injection"))
        csr_m = q.eq(self.r.flavour.control_plane_matcher("csr"))
        g = f"{GROUP_PREFIX}.control-plane"
        s = self.suffix
        self.records["pushes"] = self.add1(g, "control_plane", f"istiod:pilot_xds_pushes:{s}",
                                          self.agg(["type"], "pilot_xds_pushes", m))
        self.records["convergence"] = self.add1(
            g, "control_plane", f"istiod:pilot_proxy_convergence_time_bucket:{s}",
            self.agg(["le"], "pilot_proxy_convergence_time_bucket", m),
        )
        self.records["rejects"] = self.add1(g, "control_plane", f"istiod:pilot_total_xds_rejects:{s}",
                                           self.agg([], "pilot_total_xds_rejects", m))
        self.records["inj_ok"] = self.add1(g, "control_plane", f"istiod:sidecar_injection_success:{s}",
                                          self.agg([], cp.injection_success, inj))
        self.records["inj_fail"] = self.add1(g, "control_plane", f"istiod:sidecar_injection_failure:{s}",
                                            self.agg([], cp.injection_failure, inj))
        # one sum per counter: rate() over several names at once would yield duplicate label sets
        csr = " + ".join(f"({self.agg([], name, csr_m)} or vector(0))" for name in cp.csr_failures)
        self.records["csr"] = self.add1(g, "control_plane", f"istiod:citadel_csr_failures:{s}", csr)
        self.records["xds"] = self.add1(g, "control_plane", "istiod:pilot_xds:sum",
                                       q.sum_by([], q.selector("pilot_xds", m)))
        self.records["up"] = self.add1(g, "control_plane", "istiod:up:sum", q.sum_by([], q.selector("up", m)))

    def ztunnel(self) -> None:
        """ztunnel's health per node (ambient meshes): with the control plane, since every ambient pod's
        traffic depends on its node's ztunnel."""
        if "control_plane" not in self.sets or not self.planes.ambient:
            return
        g = f"{GROUP_PREFIX}.ztunnel"
        node = ambcat.RECORD_NODE_LABEL
        zt = dataplane.ztunnel_matcher()
        have = {f.name for f in ambcat.ztunnel_families(self.r.release.version)}
        s = self.suffix

        def per_node(inner: str) -> str:  # the node in a label of its own: the federation drops `node`
            return f'label_replace({inner}, "{node}", "$1", "{ambcat.NODE_LABEL}", "(.*)")'

        def gauge(short: str, metric: str, by: Sequence[str], extra: Sequence[q.Matcher] = ()) -> None:
            if metric in have:
                self.records[short] = self.add1(g, "control_plane", f"ztunnel:{metric}:sum", q.sum_by(
                    by, per_node(q.selector(metric, [zt, *extra]))))

        def counter(short: str, metric: str, by: Sequence[str], extra: Sequence[q.Matcher] = ()) -> None:
            if metric in have:
                self.records[short] = self.add1(g, "control_plane", f"ztunnel:{metric.removesuffix('_total')}:{s}",
                                                q.sum_by(by, per_node(self.rate(metric, [zt, *extra]))))

        gauge("zt_build", "istio_build", [node, "tag"], [("component", "=", "ztunnel")])
        gauge("zt_active", "workload_manager_active_proxy_count", [node])
        gauge("zt_pending", "workload_manager_pending_proxy_count", [node])
        counter("zt_xds_term", "istio_xds_connection_terminations_total", [node, "reason"])
        counter("zt_dns", "istio_dns_requests_total", [node])
        out = [("reporter", "=", "source")]
        counter("zt_opened", "istio_tcp_connections_opened_total", [node], out)
        counter("zt_sent", "istio_tcp_sent_bytes_total", [node], out)
        counter("zt_received", "istio_tcp_received_bytes_total", [node], out)
        gauge("zt_sockets", "istio_tcp_sockets_open", [node])
        gauge("zt_fds", "process_open_fds", [node])

    # queries -------------------------------------------------------------------------------
    def add_query(self, signal: str, scope: str, expr: str, labels: Sequence[str], uses: Sequence[str]) -> None:
        sig = sigcat.BY_ID[signal]
        unit = self.tel.duration_unit if sig.unit == "latency" else sig.unit
        self.model.queries.append(Query(signal, scope, expr, tuple(labels), unit, tuple(uses)))

    def queries(self) -> None:
        sl = scope_labels(self.r)
        rec = self.records
        for scope in [*self.scopes, *(["edge"] if "edge" in rec else [])]:
            labels = list(sl[scope])
            req = rec["edge"] if scope == "edge" else rec.get("requests")
            if req:
                self.add_query("requests.rate", scope, q.sum_by(labels, fam(req)), labels, req)
                for cls in ("5xx", "4xx"):
                    self.add_query(f"errors.ratio_{cls}", scope, ratio(labels, req, [("response_class", "=", cls)]),
                                   labels, req)
            if scope == "edge":
                continue
            if scope == "service" and "client" in rec:
                self.add_query("client.requests.rate", scope, q.sum_by(labels, fam(rec["client"])), labels,
                               rec["client"])
                self.add_query("client.errors.ratio_5xx", scope,
                               ratio(labels, rec["client"], [("response_class", "=", "5xx")]), labels, rec["client"])
            if "grpc" in rec:
                self.add_query("errors.ratio_grpc", scope,
                               ratio(labels, rec["grpc"], [("grpc_response_status", "!=", "0")]), labels, rec["grpc"])
            for set_id, prefix in (("latency", "latency"), ("request_size", "request_size"),
                                   ("response_size", "response_size")):
                if set_id not in rec or (set_id != "latency" and scope not in size_scopes(self.r)):
                    continue
                for sig in sigcat.SIGNALS:
                    if sig.id.startswith(prefix + ".p") and sig.quantile is not None:
                        self.add_query(sig.id, scope, quantile(sig.quantile, labels, rec[set_id]), labels,
                                       rec[set_id])
            for short, sig_id in (("tcp_sent", "tcp.sent_bytes.rate"), ("tcp_received", "tcp.received_bytes.rate"),
                                  ("tcp_opened", "tcp.connections_opened.rate"),
                                  ("tcp_closed", "tcp.connections_closed.rate"),
                                  ("tcp_failed", "tcp.connections_failed.rate")):
                if short in rec:
                    self.add_query(sig_id, scope, q.sum_by(labels, fam(rec[short])), labels, rec[short])
            if "tcp_closed" in rec and self.planes.has("ambient"):
                self.add_query("tcp.errors.ratio", scope,
                               ratio(labels, rec["tcp_closed"], [("connection_result", "=", "failed")]), labels,
                               rec["tcp_closed"])
        for qt in self.p.rules.quantiles:  # precomputed per base key: read as they are
            name = f"latency_p{_qname(qt)}"
            if name in rec:
                labels = list(self.model.base_labels)
                self.add_query(f"latency.p{_qname(qt)}", "precomputed", fam(rec[name]), labels, rec[name])
        if "gw_requests" in rec:
            gwr = rec["gw_requests"]
            for scope in ("gateway", "mesh"):
                labels = list(sl[scope])
                self.add_query("gateway.requests.rate", scope, q.sum_by(labels, fam(gwr)), labels, gwr)
                five = fam(gwr, [("response_code", "=~", "5..")])
                self.add_query("gateway.errors.rate_5xx", scope,
                               f"{q.sum_by(labels, five)} or {q.sum_by(labels, fam(gwr))} * 0", labels, gwr)
                self.add_query("gateway.errors.ratio_5xx", scope, ratio(labels, gwr, [("response_code", "=~", "5..")]),
                               labels, gwr)
            self.add_query("gateway.latency.p99", "mesh", quantile(0.99, [], rec["gw_latency"]), [],
                           rec["gw_latency"])
        if "pushes" in rec:
            cp = "control_plane"
            pushes = rec["pushes"]
            self.add_query("istiod.pushes.rate", cp, q.sum_by(["type"], fam(pushes)), ["type"], pushes)
            err = fam(pushes, [("type", "=~", ".*_senderr")])
            self.add_query("istiod.push_errors.rate", cp, f"{q.sum_by([], err)} or vector(0)", [], pushes)
            for sig_id, key in (("istiod.rejects.rate", "rejects"), ("istiod.injection_success.rate", "inj_ok"),
                                ("istiod.injection_failures.rate", "inj_fail"), ("istiod.csr_failures.rate", "csr"),
                                ("istiod.connected_proxies", "xds"), ("istiod.up", "up")):
                self.add_query(sig_id, cp, q.sum_by([], fam(rec[key])), [], rec[key])
            self.add_query("istiod.convergence.p99", cp, quantile(0.99, [], rec["convergence"]), [],
                           rec["convergence"])
        if "zt_build" in rec:
            build = rec["zt_build"]
            self.add_query("ztunnel.up", "mesh", f"count({fam(build)}) or vector(0)", [], build)
            self.add_query("ztunnel.versions", "mesh", f"count by (tag) ({fam(build)})", ["tag"], build)
            node = [ambcat.RECORD_NODE_LABEL]
            for sig_id, key, by in (("ztunnel.active_proxies", "zt_active", node),
                                    ("ztunnel.pending_proxies", "zt_pending", node),
                                    ("ztunnel.xds_terminations.rate", "zt_xds_term", node),  # record: by reason too
                                    ("ztunnel.dns_requests.rate", "zt_dns", node),
                                    ("ztunnel.connections_opened.rate", "zt_opened", node),
                                    ("ztunnel.sent_bytes.rate", "zt_sent", node),
                                    ("ztunnel.received_bytes.rate", "zt_received", node),
                                    ("ztunnel.open_sockets", "zt_sockets", node),
                                    ("ztunnel.open_fds", "zt_fds", node)):
                if key in rec:
                    self.add_query(sig_id, "ztunnel", q.sum_by(by, fam(rec[key])), by, rec[key])

    # experiments ---------------------------------------------------------------------------
    def experiments(self) -> None:
        """Experiments are data, the comparison rules are generic.

        Each experiment contributes constant *info* series (which service version plays
        which role, its expected split and thresholds); a fixed set of rules joins the base
        series with them.  The rule count does not grow with the number of experiments
        beyond one constant rule per fact, and alerts read thresholds from series.
        """
        if not self.p.experiments:
            return
        app, ver = version_pair(self.r)
        ns = "destination_workload_namespace"
        g = f"{GROUP_PREFIX}.experiments"
        req, lat = self.records["requests"], self.records["latency"]
        s = self.suffix

        def info(record: str, value: str, labels: dict[str, str]) -> None:
            self.add(g, "experiments", record, f"vector({value})", (), tuple(sorted(labels.items())))

        for e in self.p.experiments:
            th = e.thresholds
            info("experiment:info", "1", {"experiment": e.name, "namespace": e.namespace, "service": e.service,
                                          "baseline": e.baseline, "candidate": e.candidate})
            info("experiment:service_info", "1", {"experiment": e.name, ns: e.namespace, app: e.service})
            for role, version in (("baseline", e.baseline), ("candidate", e.candidate)):
                info("experiment:role_info", "1", {"experiment": e.name, "role": role, ns: e.namespace,
                                                   app: e.service, ver: version})
            info("experiment:expected_split", q.number(e.expected_split), {"experiment": e.name})
            thresholds: dict[str, float | None] = {"min_request_rate": th.min_request_rate,
                                                   "latency_p99_factor": th.latency_p99_factor,
                                                   "split_tolerance": th.split_tolerance,
                                                   "error_ratio_floor": th.error_ratio_floor}
            if th.error_ratio_delta is not None or th.error_ratio_factor is not None:
                # an unset half of the error condition always holds
                thresholds["error_ratio_delta"] = th.error_ratio_delta if th.error_ratio_delta is not None \
                    else float("-inf")
                thresholds["error_ratio_factor"] = th.error_ratio_factor or 0.0
            for name, value in sorted(thresholds.items()):
                if value is not None:
                    info("experiment:threshold", "-Inf" if value == float("-inf") else q.number(value),
                         {"experiment": e.name, "threshold": name})

        role_join = f"on ({ns}, {app}, {ver}) group_left (experiment, role) experiment:role_info"
        svc_join = f"on ({ns}, {app}) group_left (experiment) experiment:service_info"
        total = f"experiment:istio_requests:{s}"
        five = f"experiment:istio_requests_5xx:{s}"
        self.add(g, "experiments", total, q.sum_by(["experiment", "role"], f"{fam(req)} * {role_join}"),
                 [*req, "experiment:role_info"])
        self.add(g, "experiments", five, q.sum_by(["experiment", "role"],
                 f"{fam(req, [('response_class', '=', '5xx')])} * {role_join}"), [*req, "experiment:role_info"])
        ratio_rec = f"experiment:istio_requests_5xx:ratio_{s}"
        self.add(g, "experiments", ratio_rec, f"({five} or {total} * 0) / {total}", [five, total])
        p99 = f"experiment:{self.tel.duration}_p99:{s}"
        self.add(g, "experiments", p99,
                 f"histogram_quantile(0.99, {q.sum_by(['experiment', 'role', 'le'], f'{fam(lat)} * {role_join}')})",
                 [*lat, "experiment:role_info"])
        service = f"experiment:service_requests:{s}"
        self.add(g, "experiments", service, q.sum_by(["experiment"], f"{fam(req)} * {svc_join}"),
                 [*req, "experiment:service_info"])
        # a candidate that receives nothing (no series at all) has a share of 0, not no share
        self.add(g, "experiments", f"experiment:traffic_share:ratio_{s}",
                 f'({total}{{role="candidate"}} or on (experiment) {service} * 0) / on (experiment) {service}',
                 [total, service])
        # The 5xx ratios are compared above a floor (the experiment's error_ratio_floor): max(ratio, floor) per
        # role, so two healthy versions read 1 (not 0/0 = NaN) and a clean baseline does not make it +Inf.
        floor = 'experiment:threshold{threshold="error_ratio_floor"}'

        def floored(role: str) -> str:
            return f'max by (experiment) ({ratio_rec}{{role="{role}"}} or {floor})'

        self.add(g, "experiments", "experiment:error_ratio_5xx:candidate_over_baseline",
                 f"{floored('candidate')} / {floored('baseline')}", [ratio_rec, "experiment:threshold"])
        self.add(g, "experiments", "experiment:latency_p99:candidate_over_baseline",
                 f'{p99}{{role="candidate"}} / on (experiment) {p99}{{role="baseline"}}', [p99])

    def custom(self) -> None:
        generated = {x.record for rules in self.groups.values() for x in rules}
        for c in self.p.rules.custom:
            if c.record in generated:  # skipped: stage 2 reports it (istiogen.verify, record-generated)
                continue
            self.add(f"{GROUP_PREFIX}.custom", "custom", c.record, c.expr,
                     extra_labels=tuple(sorted(c.labels.items())))

    # saturation -------------------------------------------------------------------------------
    def saturation_key(self) -> list[str]:
        """The labels container saturation is recorded by: the enabled container scopes' (a pod's owner)."""
        sl = scope_labels(self.r)
        return list(dict.fromkeys(lab for s in sigcat.CONTAINER_SCOPES if s in self.scopes for lab in sl[s]))

    def pod_owners(self, matchers: Sequence[q.Matcher], take: Sequence[str], metric: str | None = None) -> str | None:
        """1 per pod (cAdvisor's ``namespace``, ``pod``) with the labels ``take`` of the Istio series its proxy
        exports (``metric``, default the request counter; catalog.saturation: the mapping and its limits); None
        where the flavour puts no pod label on them."""
        src = satcat.source(self.r.flavour.name, self.r.delivery)
        if src is None or src.pod_labels is None:
            return None
        inner = q.selector(metric or self.tel.requests, matchers)
        for target, label in zip(satcat.CONTAINER_LABELS, src.pod_labels, strict=True):
            if label != target:
                inner = f'label_replace({inner}, "{target}", "$1", "{label}", "(.*)")'
        return f"clamp_max(count {q.by([*satcat.CONTAINER_LABELS, *take])} ({inner}), 1)"

    def container(self, metric: str, proxy: bool, counter: bool) -> str:
        """Per pod (``namespace``, ``pod``): the application containers' or the proxy's CPU rate or working set."""
        src = satcat.source(self.r.flavour.name, self.r.delivery)
        assert src is not None
        job = self.p.saturation.cadvisor_job or src.cadvisor_job
        which: q.Matcher = ("container", "=", satcat.PROXY_CONTAINER) if proxy else \
            ("container", "!~", "|".join(satcat.NOT_APPLICATION))
        extra = [] if self.p.saturation.cadvisor_job else [(k, "=", v) for k, v in src.matchers]
        sel: list[q.Matcher] = [("job", "=", job), *extra, which]
        inner = self.rate(metric, sel) if counter else q.selector(metric, sel)
        return q.sum_by(satcat.CONTAINER_LABELS, inner)

    def saturation(self) -> None:
        """Container CPU and memory per pod owner (the busiest or largest pod of each), the proxies' included,
        the ingress gateway's pods, and the requests Envoy's circuit breakers rejected."""
        if "saturation" not in self.sets:
            return
        g = f"{GROUP_PREFIX}.saturation"
        s = self.suffix
        key = self.saturation_key()
        dest: list[q.Matcher] = [("reporter", "=", "destination")]
        owners = self.pod_owners(dest, key) if key else None
        join = f"* on ({', '.join(satcat.CONTAINER_LABELS)}) group_left ({', '.join(key)})"
        if owners is not None:
            for name, record, metric, proxy, counter in (
                ("sat_cpu", f"destination:container_cpu_usage_seconds:max_{s}", satcat.CPU, False, True),
                ("sat_memory", "destination:container_memory_working_set_bytes:max", satcat.MEMORY, False, False),
                ("sat_proxy_cpu", f"destination:proxy_cpu_usage_seconds:max_{s}", satcat.CPU, True, True),
                ("sat_proxy_memory", "destination:proxy_memory_working_set_bytes:max", satcat.MEMORY, True, False),
            ):
                expr = f"max {q.by(key)} (\n  {self.container(metric, proxy, counter)}\n  {join}\n  {owners}\n)"
                self.records[name] = self.add1(g, "saturation", record, expr)
        gw = self.p.istio.ingress_gateway
        gw_owners = self.pod_owners([("reporter", "=", "source"), ("source_workload", "=", gw.workload),
                                     ("source_workload_namespace", "=", self.r.gateway_namespace)], [])
        if gw_owners is not None:
            gjoin = f"* on ({', '.join(satcat.CONTAINER_LABELS)})"
            for name, record, counter in (
                ("sat_gw_proxy_cpu", f"ingress_gateway:proxy_cpu_usage_seconds:max_{s}", True),
                ("sat_gw_proxy_memory", "ingress_gateway:proxy_memory_working_set_bytes:max", False),
            ):
                expr = f"max (\n  {self.container(satcat.CPU if counter else satcat.MEMORY, True, counter)}\n" \
                       f"  {gjoin}\n  {gw_owners}\n)"
                self.records[name] = self.add1(g, "saturation", record, expr)
        self.ambient_saturation()
        # requests rejected by a circuit breaker, whichever proxy rejected them (the caller's sidecar reports the
        # ones it rejected itself: no upstream host was picked, so their destination version is "unknown")
        base = list(self.model.base_labels)
        flags: list[q.Matcher] = [("response_flags", "=~", satcat.OVERFLOW_FLAGS_REGEX)]
        self.records["sat_overflow"] = self.add1(g, "saturation", f"destination:istio_requests_overflow:{s}",
                                                 self.agg(base, self.tel.requests, flags))
        if self.p.saturation.envoy_overflow:
            parts = []
            for kind, metric in satcat.ENVOY_OVERFLOW:
                inner = self.rate(metric, [("cluster_name", "=~", satcat.OUTBOUND_CLUSTER_REGEX)])
                inner = f'label_replace({inner}, "kind", "{kind}", "", "")'
                for label, group in (("destination_service_name", 1), ("destination_service_namespace", 2)):
                    inner = f'label_replace({inner}, "{label}", "${group}", "cluster_name", ' \
                            f'{q.string(satcat.OUTBOUND_CLUSTER_REGEX)})'
                parts.append(inner)
            self.records["sat_envoy"] = self.add1(
                g, "saturation", f"destination_service:envoy_overflow:{s}",
                q.sum_by(["destination_service_namespace", "destination_service_name", "kind"],
                         "\n  or ".join(parts)))

    def ambient_saturation(self) -> None:
        """Ambient: ztunnel's CPU and memory per node (its pods found by their own istio_build series, which
        name the node), and each waypoint's busiest/largest pod (its pods found by the reporter="waypoint"
        series they export; the waypoint's name from its Deployment's pod names, <name>-<hash>-<id>)."""
        if not self.planes.ambient:
            return
        g, s = f"{GROUP_PREFIX}.saturation", self.suffix
        node, rnode = ambcat.NODE_LABEL, ambcat.RECORD_NODE_LABEL
        zt = self.pod_owners([dataplane.ztunnel_matcher(), ("component", "=", "ztunnel")], [node], "istio_build")
        on = q.on(satcat.CONTAINER_LABELS)
        if zt is not None:
            for short, record, metric, counter in (
                    ("sat_zt_cpu", f"ztunnel:container_cpu_usage_seconds:{s}", satcat.CPU, True),
                    ("sat_zt_memory", "ztunnel:container_memory_working_set_bytes:sum", satcat.MEMORY, False)):
                inner = f"{self.container(metric, True, counter)}\n  * {on} group_left ({node}) {zt}"
                self.records[short] = self.add1(g, "saturation", record, q.sum_by(
                    [rnode], f'label_replace(\n  {inner}\n, "{rnode}", "$1", "{node}", "(.*)")'))
        wp = self.pod_owners([("reporter", "=", ambcat.WAYPOINT_REPORTER)], []) if self.planes.has("waypoint") \
            else None
        if wp is not None:
            for short, record, metric, counter in (
                    ("sat_wp_cpu", f"waypoint:proxy_cpu_usage_seconds:max_{s}", satcat.CPU, True),
                    ("sat_wp_memory", "waypoint:proxy_memory_working_set_bytes:max", satcat.MEMORY, False)):
                inner = f"{self.container(metric, True, counter)}\n  * {on} {wp}"
                named = f'label_replace(\n  {inner}\n, "waypoint", "$1", "pod", {q.string(ambcat.WAYPOINT_POD_REGEX)})'
                named = f'label_replace({named}, "waypoint_namespace", "$1", "namespace", "(.*)")'
                self.records[short] = self.add1(g, "saturation", record, f"max {q.by(WAYPOINT_SCOPE)} ({named})")

    def saturation_queries(self) -> None:
        if "saturation" not in self.sets:
            return
        sl = scope_labels(self.r)
        rec = self.records
        for sig_id, short in (("saturation.cpu", "sat_cpu"), ("saturation.memory", "sat_memory"),
                              ("saturation.proxy_cpu", "sat_proxy_cpu"),
                              ("saturation.proxy_memory", "sat_proxy_memory")):
            if short not in rec:
                continue
            for scope in sigcat.CONTAINER_SCOPES:
                if scope in self.scopes:
                    labels = list(sl[scope])
                    self.add_query(sig_id, scope, f"max {q.by(labels)} ({fam(rec[short])})", labels, rec[short])
        for sig_id, short in (("saturation.proxy_cpu", "sat_gw_proxy_cpu"),
                              ("saturation.proxy_memory", "sat_gw_proxy_memory")):
            if short in rec:
                self.add_query(sig_id, "ingress_gateway", f"max({fam(rec[short])})", [], rec[short])
        for scope in self.scopes:
            labels = list(sl[scope])
            self.add_query("saturation.overflow", scope, q.sum_by(labels, fam(rec["sat_overflow"])), labels,
                           rec["sat_overflow"])
        if "sat_envoy" in rec:
            labels = [*sl["service"], "kind"]
            self.add_query("saturation.envoy_overflow.rate", "service", q.sum_by(labels, fam(rec["sat_envoy"])), labels,
                           rec["sat_envoy"])
        for sig_id, short, scope in (("saturation.ztunnel_cpu", "sat_zt_cpu", "ztunnel"),
                                     ("saturation.ztunnel_memory", "sat_zt_memory", "ztunnel"),
                                     ("saturation.waypoint_cpu", "sat_wp_cpu", "waypoint"),
                                     ("saturation.waypoint_memory", "sat_wp_memory", "waypoint")):
            if short in rec:
                labels = list(sl[scope])
                agg = "sum" if scope == "ztunnel" else "max"
                self.add_query(sig_id, scope, f"{agg} {q.by(labels)} ({fam(rec[short])})", labels, rec[short])
                self.model.scope_labels.setdefault(scope, tuple(labels))
        if "ingress_gateway" not in self.model.scope_labels and any(x.scope == "ingress_gateway"
                                                                    for x in self.model.queries):
            self.model.scope_labels["ingress_gateway"] = ()

    def saturation_experiments(self) -> None:
        """CPU seconds per request of each experiment role (so that it holds at any traffic share), and the
        candidate's over the baseline's; the application containers' CPU summed over the role's pods."""
        if "saturation" not in self.sets or not self.p.experiments:
            return
        app, ver = version_pair(self.r)
        ns = "destination_workload_namespace"
        owners = self.pod_owners([("reporter", "=", "destination")], [ns, app, ver])
        if owners is None:
            return
        g = f"{GROUP_PREFIX}.experiments"
        s = self.suffix
        cpu = f"destination:container_cpu_usage_seconds:{s}"
        join = f"* on ({', '.join(satcat.CONTAINER_LABELS)}) group_left ({ns}, {app}, {ver})"
        # read by the experiment rules only: not federated (no federation label)
        labels: tuple[tuple[str, str], ...] = ()
        self.groups.setdefault(f"{GROUP_PREFIX}.saturation", []).append(Rule(
            cpu, q.sum_by([ns, app, ver], f"\n  {self.container(satcat.CPU, False, True)}\n  {join}\n  {owners}\n"),
            labels, f"{GROUP_PREFIX}.saturation", "saturation", (), federated=False))
        for e in self.p.experiments:
            factor = e.thresholds.cpu_per_request_factor
            if factor is not None:
                self.add(g, "experiments", "experiment:threshold", f"vector({q.number(factor)})", (),
                         (("experiment", e.name), ("threshold", "cpu_per_request_factor")))
        role_join = f"on ({ns}, {app}, {ver}) group_left (experiment, role) experiment:role_info"
        per_req = f"experiment:cpu_seconds_per_request:{s}"
        self.add(g, "experiments", per_req,
                 f"{q.sum_by(['experiment', 'role'], f'{cpu} * {role_join}')}\n"
                 f"/ on (experiment, role) experiment:istio_requests:{s}",
                 [cpu, "experiment:role_info", f"experiment:istio_requests:{s}"])
        self.add(g, "experiments", "experiment:cpu_per_request:candidate_over_baseline",
                 f'{per_req}{{role="candidate"}} / on (experiment) {per_req}{{role="baseline"}}', [per_req])

    def build(self) -> SignalModel:
        self.data_plane()
        self.gateway()
        self.control_plane()
        self.ztunnel()
        self.saturation()
        self.experiments()
        self.saturation_experiments()
        self.custom()
        self.queries()
        self.saturation_queries()
        iv = self.p.rules.interval
        self.model.rule_groups = [Group(name, iv, tuple(rules)) for name, rules in self.groups.items()]
        if self.p.alerts.enabled:
            from istiogen.render.alerts import build_alerts

            self.model.alert_groups = build_alerts(self.r, self.model)
        return self.model


def _qname(v: float) -> str:
    """0.99 -> "99", 0.999 -> "99_9"."""
    return f"{v * 100:g}".replace(".", "_")


def build(r: Resolved) -> SignalModel:
    model = _Builder(r).build()
    model.built_rules, model.built_alerts = tuple(model.rules), tuple(model.alerts)
    return _apply_profile_edits(r, model)


# --- rules.exclude / rules.patches ---------------------------------------------------------------


def _apply_profile_edits(r: Resolved, model: SignalModel) -> SignalModel:
    """The model with ``rules.exclude`` and ``rules.patches`` applied.  What stage 2 refuses (istiogen.verify:
    a name no rule or alert has, an exclusion another rule or alert still reads) is left harmlessly: an unknown
    name changes nothing, and a series still read is kept."""
    rules_spec = r.profile.rules
    if not rules_spec.exclude and not rules_spec.patches:
        return model
    names = {x.record for x in model.rules} | {a.name for a in model.alerts}
    excluded = {name for name in rules_spec.exclude if name in names}
    while True:  # keep what a rule or alert left in still reads
        read = {u for x in model.rules if x.record not in excluded for u in x.uses} | \
               {u for a in model.alerts if a.name not in excluded for u in a.uses}
        if not excluded & read:
            break
        excluded -= read
    patched = {pt.name: pt for pt in rules_spec.patches if pt.name in names}

    def labels_of(current: tuple[tuple[str, str], ...], name: str) -> tuple[tuple[str, str], ...]:
        return tuple(sorted({**dict(current), **(patched[name].labels or {})}.items()))

    def patch_rule(x: Rule) -> Rule:
        if x.record not in patched:
            return x
        return replace(x, expr=patched[x.record].expr or x.expr, labels=labels_of(x.labels, x.record))

    def patch_alert(a: Alert) -> Alert:
        if a.name not in patched:
            return a
        pt = patched[a.name]
        return replace(a, expr=pt.expr or a.expr, for_=pt.for_ or a.for_, labels=labels_of(a.labels, a.name))

    model.rule_groups = [
        replace(g, rules=tuple(patch_rule(x) for x in g.rules if x.record not in excluded))
        for g in model.rule_groups
    ]
    model.rule_groups = [g for g in model.rule_groups if g.rules]
    model.alert_groups = [
        replace(g, alerts=tuple(patch_alert(a) for a in g.alerts if a.name not in excluded))
        for g in model.alert_groups
    ]
    model.alert_groups = [g for g in model.alert_groups if g.alerts]
    dropped = [x for x in model.queries if any(u in excluded for u in x.uses)]
    model.queries = [x for x in model.queries if x not in dropped]
    return model
