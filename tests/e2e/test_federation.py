"""End to end, with real Prometheus servers on 127.0.0.1 (see conftest.py)."""

from __future__ import annotations

import math
import re
import time

import pytest

from tests.e2e.conftest import Federation
from tests.e2e.prom import Prometheus

pytestmark = pytest.mark.e2e


def parse_exposition(text: str) -> list[tuple[str, dict[str, str]]]:
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s", line)
        assert m, line
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out.append((m.group(1), labels))
    return out


def test_federate_with_the_generated_match_returns_recorded_series_only(federation: Federation) -> None:
    body = federation.source.get("/federate", [("match[]", m) for m in federation.match]).decode()
    series = parse_exposition(body)
    names = {n for n, _ in series}
    assert series, "nothing federated"
    assert not [n for n in names if n.startswith(("istio_", "pilot_"))], "raw series leaked"
    assert all(":" in n for n in names), names
    assert all(lab.get("sysdig") == "true" for _, lab in series)
    # every record the source Prometheus has is delivered, and nothing per pod
    recorded = {s["metric"]["__name__"] for s in federation.source.query('count by (__name__) ({sysdig="true"})')}
    assert recorded == names
    for _, lab in series:
        assert not {"pod", "node", "pod_template_hash", "namespace"} & set(lab), lab


def test_federated_series_are_far_fewer_than_raw_and_independent_of_pods(federation: Federation) -> None:
    raw = federation.source.vector('count({__name__=~"istio_.*"})')
    fed = federation.federated.vector('count({sysdig="true"})')
    (raw_n,), (fed_n,) = raw.values(), fed.values()
    assert raw_n == federation.mesh.raw_series_count()
    assert fed_n * 10 < raw_n
    # per-pod labels are gone, so the count depends on services, versions and codes only
    per_key = federation.federated.vector('count by (destination_workload) (destination:istio_requests:rate20s)')
    assert set(per_key.values()) == {3.0}  # 2xx, 4xx, 5xx


W = "20s"
DEST = 'reporter="destination"'
GW = 'reporter="source",source_workload="istio-ingressgateway",source_workload_namespace="istio-system"'
CLIENT = 'reporter="source",source_workload!="istio-ingressgateway"'  # the mesh's callers, not the gateway


def by(labels: list[str]) -> str:
    return f"by ({', '.join(labels)})" if labels else ""


def raw_query(signal: str, labels: list[str]) -> str | None:
    """The same question, asked of the raw series in the Istio Prometheus (written independently of istiogen)."""
    b = by(labels)
    bl = by([*labels, "le"])

    def rate(metric: str, sel: str) -> str:
        return f"sum {b} (rate({metric}{{{sel}}}[{W}]))"

    def q(qv: float, metric: str, sel: str) -> str:
        return f"histogram_quantile({qv}, sum {bl} (rate({metric}_bucket{{{sel}}}[{W}])))"

    five, four = ',response_code=~"5.."', ',response_code=~"4.."'
    table = {
        "requests.rate": rate("istio_requests_total", DEST),
        "errors.ratio_5xx": rate("istio_requests_total", DEST + five) + " / " + rate("istio_requests_total", DEST),
        "errors.ratio_4xx": rate("istio_requests_total", DEST + four) + " / " + rate("istio_requests_total", DEST),
        "client.requests.rate": rate("istio_requests_total", CLIENT),
        "client.errors.ratio_5xx": rate("istio_requests_total", CLIENT + five) + " / "
                                   + rate("istio_requests_total", CLIENT),
        "errors.ratio_grpc": rate("istio_requests_total", DEST + ',request_protocol="grpc",grpc_response_status!="0"'),
        "tcp.sent_bytes.rate": rate("istio_tcp_sent_bytes_total", DEST),
        "tcp.received_bytes.rate": rate("istio_tcp_received_bytes_total", DEST),
        "tcp.connections_opened.rate": rate("istio_tcp_connections_opened_total", DEST),
        "tcp.connections_closed.rate": rate("istio_tcp_connections_closed_total", DEST),
        "gateway.requests.rate": rate("istio_requests_total", GW),
        "gateway.errors.rate_5xx": rate("istio_requests_total", GW + ',response_code=~"5.."'),
        "gateway.errors.ratio_5xx": rate("istio_requests_total", GW + five) + " / " + rate("istio_requests_total", GW),
        "gateway.latency.p99": q(0.99, "istio_request_duration_milliseconds", GW),
        "istiod.pushes.rate": rate("pilot_xds_pushes", 'app="istiod"'),
        "istiod.push_errors.rate": f'sum(rate(pilot_xds_pushes{{app="istiod",type=~".*_senderr"}}[{W}]))',
        "istiod.rejects.rate": rate("pilot_total_xds_rejects", 'app="istiod"'),
        "istiod.convergence.p99": q(0.99, "pilot_proxy_convergence_time", 'app="istiod"'),
        "istiod.injection_success.rate": rate("sidecar_injection_success_total", 'app="istiod"'),
        "istiod.injection_failures.rate": rate("sidecar_injection_failure_total", 'app="istiod"'),
        "istiod.csr_failures.rate": f'sum(rate(citadel_server_csr_sign_err_count{{app="istiod"}}[{W}])) + '
                                    f'sum(rate(citadel_server_authentication_failure_count{{app="istiod"}}[{W}]))',
        "istiod.connected_proxies": 'sum(pilot_xds{app="istiod"})',
        "istiod.up": 'sum(up{app="istiod"})',
    }
    for stem, metric in (("latency", "istio_request_duration_milliseconds"), ("request_size", "istio_request_bytes"),
                         ("response_size", "istio_response_bytes")):
        for qv in (0.5, 0.95, 0.99):
            table[f"{stem}.p{round(qv * 100)}"] = q(qv, metric, DEST)
    return table.get(signal)


@pytest.mark.parametrize("variant", ["federation", "federation_prom3_le"])
def test_every_catalog_query_on_federated_series_matches_the_raw_answer(variant: str,
                                                                        request: pytest.FixtureRequest) -> None:
    """Prometheus 2 storing ``le`` as Envoy writes it, and as Prometheus 3 stores it (float form)."""
    federation: Federation = request.getfixturevalue(variant)
    if variant == "federation_prom3_le":  # the float form is what the source stores
        les = {s["metric"]["le"] for s in federation.source.query(
            'count by (le) (istio_request_duration_milliseconds_bucket)')}
        assert "100.0" in les and "100" not in les, sorted(les)
    model = federation.rendered.model
    checked = []
    at = time.time() - 3.0  # both sides at one instant whose scrapes and evaluations are all in
    for query in model.queries:
        raw_expr = raw_query(query.signal, list(query.labels))
        assert raw_expr is not None, f"no raw equivalent written for {query.signal}"
        got = federation.federated.vector(query.expr, at)
        want = federation.source.vector(raw_expr, at)
        if query.signal == "errors.ratio_grpc":  # the synthetic mesh has no gRPC traffic
            assert want == {} and all(math.isnan(v) for v in got.values())
            continue
        assert got, f"{query.signal}/{query.scope}: no federated result for {query.expr}"
        assert set(got) == set(want), f"{query.signal}/{query.scope}: label sets differ"
        for labels, w in want.items():
            g = got[labels]
            assert math.isclose(g, w, rel_tol=0.05, abs_tol=1e-9), (
                f"{query.signal}/{query.scope} {dict(labels)}: federated {g} vs raw {w}\n{query.expr}\n{raw_expr}"
            )
        checked.append((query.signal, query.scope))
    # the required signal ids are all answered, at the data-plane scopes
    required = ["requests.rate", "errors.ratio_5xx", "errors.ratio_4xx", "latency.p50", "latency.p95", "latency.p99"]
    for sig in required:
        for scope in ("service", "service_version", "workload"):
            assert (sig, scope) in checked
    for sig in ("client.requests.rate", "client.errors.ratio_5xx",
                "request_size.p95", "response_size.p95", "tcp.sent_bytes.rate", "gateway.requests.rate",
                "gateway.errors.rate_5xx", "istiod.pushes.rate", "istiod.convergence.p99"):
        assert any(s == sig for s, _ in checked), sig


ESTIMATE_FACTOR = 1.2  # the estimate is an upper bound at most 20% above what a matching mesh federates


def test_the_series_estimate_bounds_what_the_agent_federates(federation: Federation) -> None:
    """The estimate istiogen prints and warns with, against the series a real Prometheus federates with the
    rendered match[] from a mesh that matches the profile (every listed service version has traffic)."""
    mesh, profile = federation.mesh, federation.rendered.resolved.profile
    listed = {(s.namespace, s.name): s.versions for s in profile.services}
    assert listed == {(mesh.namespace, mesh.service(i)): [f"v{v + 1}" for v in range(mesh.versions)]
                      for i in range(mesh.services)}, "the profile lists the mesh's services"
    est = federation.rendered.estimate
    assert est is not None
    body = federation.source.get("/federate", [("match[]", m) for m in federation.match]).decode()
    served = len(parse_exposition(body))
    per_record = {x["metric"]["__name__"]: int(x["value"][1])
                  for x in federation.federated.query('count by (__name__) ({sysdig="true"})')}
    ingested = sum(per_record.values())
    assert ingested == served
    bounds = dict(est.records)
    assert set(per_record) <= set(bounds) and not est.unbounded
    over = {rec: (n, bounds[rec]) for rec, n in per_record.items() if n > bounds[rec]}
    assert not over, f"records above their bound (actual, bound): {over}"
    assert ingested <= est.series <= ESTIMATE_FACTOR * ingested, (est.series, ingested)
    print(f"estimate {est.series} vs federated {ingested} ({est.series / ingested:.3f}x)")


def _by_name_le(prom: Prometheus, selector: str) -> dict[tuple[str, float | None], float]:
    """Series per (metric, le), ``le`` as a number (Prometheus 2 and 3 spell it differently)."""
    out: dict[tuple[str, float | None], float] = {}
    for s in prom.query(f"count by (__name__, le) ({selector})"):
        le = s["metric"].get("le")
        key = (s["metric"]["__name__"], None if le is None else float(le))
        out[key] = out.get(key, 0.0) + float(s["value"][1])
    return out


def test_drop_unused_keeps_exactly_the_raw_series_the_rules_read(federation: Federation,
                                                                 federation_prom3_le: Federation) -> None:
    """prometheus.drop_unused (the Prometheus-3 variant's source) against the source that keeps everything, both
    scraping the same synthetic mesh: what is left is, family by family, exactly what the rules' own selectors
    select there (their ``le`` matchers evaluated by Prometheus; reporter and the other matchers aside, the drop
    is by family and bound) and nothing else of istio_*; every other series (istiod's) is untouched."""
    from tests.render.test_raw_reads import raw_reads

    les: dict[str, set[str] | None] = {}
    for read in raw_reads(federation.rendered):
        if not read.metric.startswith("istio_"):
            continue
        le = [v for lab, op, v in read.matchers if lab == "le" and op == "=~"]
        current = les.get(read.metric, set())
        les[read.metric] = None if not le or current is None else current | set(le)
    assert {"istio_requests_total", "istio_request_duration_milliseconds_bucket"} <= set(les)
    want: dict[tuple[str, float | None], float] = {}
    for metric, regexes in les.items():
        selectors = [f'{{__name__="{metric}"}}'] if regexes is None else \
            [f'{{__name__="{metric}",le=~"{r.replace(chr(92), chr(92) * 2)}"}}' for r in sorted(regexes)]
        for sel in selectors:
            want.update(_by_name_le(federation.source, sel))
    got = _by_name_le(federation_prom3_le.source, '{__name__=~"istio_.*"}')
    assert got == want
    everything = _by_name_le(federation.source, '{__name__=~"istio_.*"}')
    assert len(everything) > len(got)  # something was dropped: the _sum and _count, the unkept bounds
    assert {n for n, _ in everything} - {n for n, _ in got} >= {"istio_request_duration_milliseconds_sum",
                                                               "istio_request_duration_milliseconds_count"}
    istiod = 'count by (__name__) ({__name__=~"pilot_.*|sidecar_.*|citadel_.*"})'
    assert federation_prom3_le.source.vector(istiod) == federation.source.vector(istiod)


def test_every_catalog_query_answers_the_same_with_the_unread_series_dropped(federation: Federation,
                                                                           federation_prom3_le: Federation) -> None:
    """Every catalog query over the series federated from the source that drops (prometheus.drop_unused) and from
    the one that keeps everything: the same label sets, the same values (two copies of one synthetic mesh,
    constant rates), within the tolerance of the comparison with the raw answers."""
    queries = federation.rendered.model.queries
    assert [q.expr for q in queries] == [q.expr for q in federation_prom3_le.rendered.model.queries]
    at = time.time() - 3.0
    answered = 0
    for query in queries:
        kept = federation.federated.vector(query.expr, at)
        dropped = federation_prom3_le.federated.vector(query.expr, at)
        assert set(kept) == set(dropped), f"{query.signal}/{query.scope}: label sets differ"
        for labels, v in kept.items():
            if math.isnan(v):
                assert math.isnan(dropped[labels])
                continue
            # the two sources scrape and evaluate on timers of their own: on a loaded machine a late scrape moves
            # a 20 s rate by a few tenths of a percent; the tolerance is the raw-answer comparison's, above
            assert math.isclose(dropped[labels], v, rel_tol=0.05, abs_tol=1e-9), (query.signal, query.scope, labels,
                                                                                  dropped[labels], v)
            answered += 1
    assert answered > 100
