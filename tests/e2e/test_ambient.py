"""Istio ambient mode end to end: a synthetic ambient mesh (ambient_mesh.py) scraped by an Istio Prometheus
loading the rules rendered for a profile that says which namespaces are ambient and which have a waypoint,
federated with the rendered match[] by a second Prometheus, as the Sysdig agent would.

Each query of the rendered queries.yaml is asked of the federated side and must equal two answers, neither
produced by istiogen, within 5%: the flows' rates by the contract's definitions (``Truth``: each request and
each connection once, plain Python) and PromQL over the raw series written here from the same definitions
(``raw_query``).  ``promtool`` checks the rendered rules and runs their unit tests.
"""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from istiogen.pipeline import Rendered
from tests.conftest import materialize, render_text, run, tool
from tests.e2e.ambient_mesh import (
    AMBIENT_SIGNALS,
    FLOWS,
    L4_SIGNALS,
    L7_SIGNALS,
    NODES,
    SERVICES,
    VERSIONS,
    ZTUNNEL_SIGNALS,
    AmbientMesh,
    Key,
    Truth,
)
from tests.e2e.conftest import federating_config, federation_job, source_config, wait_for_federation
from tests.e2e.mesh import MeshServer
from tests.e2e.prom import Prometheus
from tests.e2e.servers import RENDER, Servers, server
from tests.e2e.test_federation import parse_exposition

pytestmark = pytest.mark.e2e

PROFILE = """
name: e2e-ambient
istio:
  version: "1.30"
  data_plane:
    mode: sidecar
    nodes: 3  # ambient_mesh.NODES: bounds the per-node ztunnel records in the series estimate
    namespaces:
      - {name: amb, mode: ambient}
      - {name: wp, mode: ambient, waypoint: waypoint}
prometheus:
  flavour: samples-1.22
  scrape_interval: 1s
rules:
  window: 20s
  interval: 1s
sysdig: {mode: promscrape-v2}
services:  # ambient_mesh.SERVICES
  - {name: amb-0, namespace: amb, versions: [v1, v2]}
  - {name: amb-1, namespace: amb, versions: [v1, v2]}
  - {name: wp-0, namespace: wp, versions: [v1, v2]}
  - name: wp-1
    namespace: wp
    versions: [v1, v2]
    data_plane: {mode: ambient, waypoint: waypoint, ingress_use_waypoint: true}
  - {name: shop-0, namespace: shop, versions: [v1, v2]}
  - {name: shop-1, namespace: shop, versions: [v1, v2]}
  - {name: amb-2, namespace: amb, versions: [v1, v2], data_plane: {mode: ambient, waypoint: amb-2-wp}}
"""


@dataclass
class Ambient:
    rendered: Rendered
    tree: Path
    mesh: AmbientMesh
    source: Prometheus
    federated: Prometheus
    match: list[str]
    float_form: bool


def _ambient(work: Path, *, float_form: bool) -> Iterator[Ambient]:
    """``float_form``: the source stores ``le`` in the float form Prometheus 3 stores (conftest.PROM3_FLOAT_FORM)."""
    binary = tool("prometheus")
    with RENDER:
        rendered = render_text(work, PROFILE)
    tree = materialize(rendered, work / "tree")
    job = federation_job(tree)
    mesh = AmbientMesh()
    with MeshServer(mesh) as mesh_server:
        source = Prometheus(binary, source_config(tree, mesh_server.port, float_form=float_form), work, "source")
        federated = Prometheus(binary, federating_config(job, source.port), work, "federated")
        try:
            source.start()
            federated.start()
            source.wait_ready()
            federated.wait_ready()
            wait_for_federation(source, federated)
            yield Ambient(rendered, tree, mesh, source, federated, job["params"]["match[]"], float_form)
        finally:
            federated.stop()
            source.stop()


@server("ambient")
def _ambient_servers(work: Path) -> Iterator[Ambient]:
    yield from _ambient(work, float_form=False)


@server("ambient_prom3_le")
def _ambient_prom3_le_servers(work: Path) -> Iterator[Ambient]:
    yield from _ambient(work, float_form=True)


@pytest.fixture(scope="module", params=["ambient", "ambient_prom3_le"], ids=["envoy-le", "prom3-le"])
def ambient(request: pytest.FixtureRequest, servers: Servers) -> Iterator[Ambient]:
    """Started with every e2e fixture's servers (conftest.servers); each variant stopped after its tests."""
    name: str = request.param
    yield servers.get(name)
    servers.stop(name)


# ---- the raw side: the same questions over the raw series, written from the contract ----------------

W = "20s"
SIDECAR_SERVICES = 'destination_service_namespace="shop"'  # the profile's sidecar services
L4_ONLY_SERVICES = 'destination_service_namespace="amb",destination_service_name!="amb-2"'  # ambient, no waypoint
WAYPOINT_SERVICES = 'destination_service=~"wp-[01][.]wp[.]svc[.]cluster[.]local|amb-2[.]amb[.]svc[.]cluster[.]local"'
NOT_WAYPOINT_LEG = 'source_workload!~"waypoint|amb-2-wp",destination_workload!~"waypoint|amb-2-wp"'
ZT = 'app="ztunnel"'
ENVOY = 'app!="ztunnel"'
GATEWAY = 'source_workload="istio-ingressgateway",source_workload_namespace="istio-system"'


def by(labels: list[str]) -> str:
    return f"by ({', '.join(labels)})" if labels else ""


def l7(metric: str, extra: str = "") -> str:
    """Every request once: sidecar servers' own reports; behind the waypoint its reports plus the Envoy
    clients' (sidecars, the gateway) that bypass it, less the gateway's to the service whose ingress uses it."""
    side = f'{metric}{{reporter="destination",{ENVOY},{SIDECAR_SERVICES}{extra}}}'
    wayp = f'{metric}{{reporter="waypoint"{extra}}}'
    bypass = f'{metric}{{reporter="source",{ENVOY},{WAYPOINT_SERVICES}{extra}}}'
    wp1 = 'destination_service_namespace="wp",destination_service_name="wp-1"'  # ingress_use_waypoint: true
    via = f'{metric}{{reporter="source",{GATEWAY},{wp1}{extra}}}'
    return f"rate({side}[{W}]) or rate({wayp}[{W}]) or (rate({bypass}[{W}]) unless rate({via}[{W}]))"


def l4(metric: str, extra: str = "", ztunnel_only: bool = False) -> str:
    """Every connection once: the sidecar server's report, or the server ztunnel's (reporter destination),
    waypoint legs left out."""
    zt = f"rate({metric}{{{ZT},reporter=\"destination\",{L4_ONLY_SERVICES},{NOT_WAYPOINT_LEG}{extra}}}[{W}])"
    if ztunnel_only:
        return zt
    return f'rate({metric}{{reporter="destination",{ENVOY},{SIDECAR_SERVICES}{extra}}}[{W}]) or {zt}'


def raw_query(signal: str, labels: list[str]) -> str | None:
    b, bl = by(labels), by([*labels, "le"])
    five, four, failing = ',response_code=~"5.."', ',response_code=~"4.."', ',response_flags!="-"'
    closed = "istio_tcp_connections_closed_total"
    table = {
        "requests.rate": f"sum {b} ({l7('istio_requests_total')})",
        "errors.ratio_5xx": f"sum {b} ({l7('istio_requests_total', five)})"
                            f" / sum {b} ({l7('istio_requests_total')})",
        "errors.ratio_4xx": f"sum {b} ({l7('istio_requests_total', four)})"
                            f" / sum {b} ({l7('istio_requests_total')})",
        "tcp.sent_bytes.rate": f"sum {b} ({l4('istio_tcp_sent_bytes_total')})",
        "tcp.received_bytes.rate": f"sum {b} ({l4('istio_tcp_received_bytes_total')})",
        "tcp.connections_opened.rate": f"sum {b} ({l4('istio_tcp_connections_opened_total')})",
        "tcp.connections_closed.rate": f"sum {b} ({l4('istio_tcp_connections_closed_total')})",
        "tcp.connections_failed.rate": f"sum {b} ({l4('istio_tcp_connections_failed_total', ztunnel_only=True)})",
        "tcp.errors.ratio": f"sum {b} ({l4(closed, failing)}) / sum {b} ({l4(closed)})",
        "ztunnel.active_proxies": f"sum {b} (workload_manager_active_proxy_count{{{ZT}}})",
        "ztunnel.pending_proxies": f"sum {b} (workload_manager_pending_proxy_count{{{ZT}}})",
        "ztunnel.xds_terminations.rate": f"sum {b} (rate(istio_xds_connection_terminations_total{{{ZT}}}[{W}]))",
        "ztunnel.dns_requests.rate": f"sum {b} (rate(istio_dns_requests_total{{{ZT}}}[{W}]))",
        "ztunnel.connections_opened.rate":
            f'sum {b} (rate(istio_tcp_connections_opened_total{{{ZT},reporter="source"}}[{W}]))',
        "ztunnel.sent_bytes.rate": f'sum {b} (rate(istio_tcp_sent_bytes_total{{{ZT},reporter="source"}}[{W}]))',
        "ztunnel.received_bytes.rate":
            f'sum {b} (rate(istio_tcp_received_bytes_total{{{ZT},reporter="source"}}[{W}]))',
        "ztunnel.open_sockets": f"sum {b} (istio_tcp_sockets_open{{{ZT}}})",
        "ztunnel.open_fds": f"sum {b} (process_open_fds{{{ZT}}})",
        "ztunnel.up": f'count {b} (istio_build{{{ZT},component="ztunnel"}})',
        "ztunnel.versions": f'count {b} (istio_build{{{ZT},component="ztunnel"}})',
    }
    for qv in (50, 95, 99):
        table[f"latency.p{qv}"] = (f"histogram_quantile({qv / 100}, sum {bl} "
                                   f"({l7('istio_request_duration_milliseconds_bucket')}))")
    return table.get(signal)


# ---- what the contract asks the catalog for ---------------------------------------------------------

DATA_PLANE_SCOPES = ("service", "service_version", "workload")
REQUIRED = ([(s, sc) for s in (*L7_SIGNALS, *L4_SIGNALS) for sc in DATA_PLANE_SCOPES]
            + [(s, "ztunnel") for s in ZTUNNEL_SIGNALS if s not in ("ztunnel.up", "ztunnel.versions")]
            + [("ztunnel.up", "mesh"), ("ztunnel.versions", "mesh")])
SCOPE_LABELS = {  # the contract's; service_version may use the canonical labels, which the mesh sets equal
    "service": [("destination_service_namespace", "destination_service_name")],
    "service_version": [("destination_workload_namespace", "destination_app", "destination_version"),
                        ("destination_workload_namespace", "destination_canonical_service",
                         "destination_canonical_revision")],
    "workload": [("destination_workload_namespace", "destination_workload")],
    "ztunnel": [("node",), ("ztunnel_node",)],  # ztunnel_node: the lead's update (a copy of the scrape's node)
    "mesh": [(), ("tag",)],
}


@dataclass(frozen=True)
class CatalogQuery:
    signal: str
    scope: str
    labels: tuple[str, ...]
    expr: str


def shipped_catalog(tree: Path) -> list[CatalogQuery]:
    """The queries as the rendered queries.yaml ships them (what dashboards and users read)."""
    doc = yaml.safe_load((tree / "queries.yaml").read_text())
    return [CatalogQuery(sig, scope, tuple(q["by"]), q["query"])
            for sig, entry in doc["signals"].items() for scope, q in entry["scopes"].items()]


def _fmt(d: dict[Key, float]) -> str:
    return "{" + ", ".join(f"{'/'.join(v for _, v in k) or '-'}: {x:.4g}" for k, x in sorted(d.items())) + "}"


def test_the_truth_counts_each_request_and_connection_once() -> None:
    """The hand-computed truth, against the flows' definition (no Prometheus): the catalog's L4 totals
    for an ambient service are its connections, and the mesh reports each of them twice (both ztunnels)."""
    truth = Truth(FLOWS)
    opened = truth.answer("tcp.connections_opened.rate", ["destination_service_name"])
    amb0 = [f for f in FLOWS if f.service.name == "amb-0"]
    assert {f.client.workload for f in amb0} == {"loadgen", "cron"}
    assert math.isclose(opened[(("destination_service_name", "amb-0"),)], sum(f.connections for f in amb0))
    mesh = AmbientMesh().exposition(10.0)
    zt_amb0 = [ln for ln in mesh.splitlines() if ln.startswith("istio_tcp_connections_opened_total{")
               and 'app="ztunnel"' in ln and 'destination_service_name="amb-0"' in ln]
    legs = [ln for ln in zt_amb0 if 'source_workload="waypoint"' in ln]  # the waypoint's route to amb-0
    own = [ln for ln in zt_amb0 if ln not in legs]
    assert legs and all('reporter="destination"' in ln for ln in legs)
    assert {('reporter="source"' in ln) for ln in own} == {True, False}
    assert math.isclose(sum(float(ln.rsplit(" ", 1)[1]) for ln in own), 2 * 10.0 * sum(f.connections for f in amb0))
    # no L7 answer for ambient services without a waypoint, no L4 one for services behind it
    served = {k[0][1] for k in truth.answer("requests.rate", ["destination_service_name"])}
    assert served == {"wp-0", "wp-1", "shop-0", "shop-1", "amb-2"}  # amb-2: its own waypoint (service override)
    assert {k[0][1] for k in opened} == {"amb-0", "amb-1", "shop-0", "shop-1"}
    # the waypoint service behind a gateway that uses it: every request once (gateway's own report left out)
    wp1 = [f for f in FLOWS if f.service.name == "wp-1"]
    assert math.isclose(truth.answer("requests.rate", ["destination_service_name"])[
        (("destination_service_name", "wp-1"),)], sum(f.requests for f in wp1))
    assert truth.answer("ztunnel.up", []) == {(): 3.0}
    assert len(truth.answer("ztunnel.active_proxies", ["node"])) == len(NODES)
    assert {(s.name, v) for s in SERVICES for v in VERSIONS} >= {(f.service.name, f.version) for f in FLOWS}


@pytest.fixture(scope="module")
def ambient_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("e2e-ambient-tree")
    with RENDER:  # the servers' threads render too (conftest.servers)
        rendered = render_text(work, PROFILE)
    return materialize(rendered, work / "tree")


def test_rendered_rules_pass_promtool_check_and_their_unit_tests(ambient_tree: Path, tmp_path: Path) -> None:
    """promtool's unit tests of this profile take about 30 s of CPU and run beside every e2e fixture's servers
    (conftest.servers starts them all at the first e2e test): a timeout of 10 minutes, not run()'s 2."""
    promtool = tool("promtool")
    prom = ambient_tree / "prometheus"
    res = run([promtool, "check", "rules", str(prom / "rules.yaml"), str(prom / "alerts.yaml")], check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    # the unit tests on the same profile at the default timings (1 m windows, 15 s evaluation): at the e2e's 1 s
    # evaluation they hold ten minutes of one-second samples (about 30 s of CPU)
    default_timings = PROFILE.replace("  scrape_interval: 1s\n", "").replace("rules:\n  window: 20s\n  interval: 1s\n",
                                                                             "")
    assert "window" not in default_timings and "scrape_interval" not in default_timings
    with RENDER:
        tree = materialize(render_text(tmp_path, default_timings), tmp_path / "tree")
    test = subprocess.run([promtool, "test", "rules", "rules.test.yaml"], cwd=tree / "prometheus",
                          capture_output=True, text=True, timeout=600, env={"PATH": "/usr/bin:/bin"}, check=False)
    assert test.returncode == 0, test.stdout + test.stderr


def test_every_ambient_catalog_query_on_federated_series_equals_the_truth_and_the_raw_answer(
        ambient: Ambient) -> None:
    by_le = ambient.source.query("count by (le) (istio_request_duration_milliseconds_bucket)")
    les = {s["metric"]["le"] for s in by_le}
    assert ("100.0" in les) is ambient.float_form and ("100" in les) is not ambient.float_form, sorted(les)
    queries = [q for q in shipped_catalog(ambient.tree) if q.signal in AMBIENT_SIGNALS]
    have = {(q.signal, q.scope) for q in queries}
    missing = [r for r in REQUIRED if r not in have]
    truth = Truth(ambient.mesh.flows)
    at = time.time() - 3.0
    problems: list[str] = []
    agreed: list[str] = []
    for query in queries:
        labels = list(query.labels)
        name = f"{query.signal}/{query.scope}"
        if query.scope in SCOPE_LABELS and tuple(labels) not in SCOPE_LABELS[query.scope]:
            problems.append(f"{name}: result labels {labels}, the contract says {SCOPE_LABELS[query.scope]}")
        # raw series carry the node as `node`: asked by it, the federated keys renamed
        ask = ["node" if lab == "ztunnel_node" else lab for lab in labels]
        raw_expr = raw_query(query.signal, ask)
        assert raw_expr is not None
        got = ambient.federated.vector(query.expr, at)
        raw = ambient.source.vector(raw_expr, at)
        if ask != labels:
            got = {tuple(sorted(("node" if k == "ztunnel_node" else k, v) for k, v in key)): x
                   for key, x in got.items()}
        try:
            want = truth.answer(query.signal, ask)
        except (AssertionError, KeyError) as e:
            problems.append(f"{name}: no truth for result labels {labels} ({e!r})")
            continue
        bad = []
        if set(raw) != set(want):
            bad.append(f"raw keys {_fmt(raw)} vs truth {_fmt(want)} (the test's own raw query disagrees)")
        if set(got) != set(want):
            bad.append(f"federated keys {_fmt(got)} vs truth {_fmt(want)}")
        for k, w in want.items():
            for side, d in (("federated", got), ("raw", raw)):
                if k in d and not math.isclose(d[k], w, rel_tol=0.05, abs_tol=1e-9):
                    bad.append(f"{side} {'/'.join(v for _, v in k)}: {d[k]:.6g} vs truth {w:.6g}")
        if bad:
            problems.append(f"{name}: " + "; ".join(bad) + f"\n    catalog: {query.expr}")
        else:
            agreed.append(f"{name} ({len(want)} series)")
    print("agree:", *agreed, sep="\n  ")
    assert not missing and not problems, (
        f"missing from the catalog: {missing}\n" + "\n".join(problems) + f"\nagreeing: {agreed}")


def test_l7_has_no_answer_for_l4_only_services_and_l4_totals_are_not_doubled(ambient: Ambient) -> None:
    """The catalog's request rate has no series for an ambient service without a waypoint (but one for the
    service of that namespace that the profile puts behind its own waypoint); its L4
    connection rate is the connections once, although both ztunnels report each (raw: twice as much)."""
    at = time.time() - 3.0
    queries = {(q.signal, q.scope): q for q in shipped_catalog(ambient.tree)}
    req = queries[("requests.rate", "service")]
    got = ambient.federated.vector(req.expr, at)
    assert got, req.expr
    in_amb = {dict(k)["destination_service_name"] for k in got if ("destination_service_namespace", "amb") in k}
    assert in_amb == {"amb-2"}, _fmt(got)  # amb-0, amb-1: L4 only; amb-2 behind its own waypoint
    opened = queries[("tcp.connections_opened.rate", "service")]
    got = ambient.federated.vector(opened.expr, at)
    sel = f"{ZT},{L4_ONLY_SERVICES},{NOT_WAYPOINT_LEG}"  # both reporters
    both = ambient.source.vector(f"sum by (destination_service_namespace, destination_service_name) "
                                 f"(rate(istio_tcp_connections_opened_total{{{sel}}}[{W}]))", at)
    truth = Truth(ambient.mesh.flows).answer("tcp.connections_opened.rate", list(opened.labels))
    for svc in ("amb-0", "amb-1"):
        k = (("destination_service_name", svc), ("destination_service_namespace", "amb"))
        # an ambient client's connection is reported by both ztunnels, a sidecar client's by the server's only
        twice = sum(f.connections * (2 if f.client.kind == "ambient" else 1) for f in FLOWS if f.service.name == svc)
        assert math.isclose(both[k], twice, rel_tol=0.05), (svc, both[k], twice)
        assert twice > 1.5 * truth[k]
        assert math.isclose(got[k], truth[k], rel_tol=0.05), f"{svc}: federated {got[k]} vs once {truth[k]}"


def test_the_series_estimate_bounds_what_the_agent_federates(ambient: Ambient) -> None:
    """The estimate istiogen prints, against what a real Prometheus federates from this mesh with the rendered
    match[]: no record above its bound.  (An upper bound: the mesh does not call every listed service version
    with every response code, so how tight it is is printed, not asserted.)"""
    est = ambient.rendered.estimate
    assert est is not None and not est.unbounded
    per_record = {x["metric"]["__name__"]: int(x["value"][1])
                  for x in ambient.federated.query('count by (__name__) ({sysdig="true"})')}
    bounds = dict(est.records)
    assert set(per_record) <= set(bounds), sorted(set(per_record) - set(bounds))
    over = {rec: (n, bounds[rec]) for rec, n in per_record.items() if n > bounds[rec]}
    assert not over, f"records above their bound (federated, bound): {over}"
    ingested = sum(per_record.values())
    assert ingested <= est.series
    print(f"estimate {est.series} vs federated {ingested} ({est.series / ingested:.2f}x)")


RAW_FAMILIES = ("istio_", "workload_manager_", "process_", "pilot_", "citadel_", "sidecar_injection_")


def test_federation_delivers_recorded_series_only(ambient: Ambient) -> None:
    body = ambient.source.get("/federate", [("match[]", m) for m in ambient.match]).decode()
    series = parse_exposition(body)
    names = {n for n, _ in series}
    assert series
    assert not [n for n in names if n.startswith(RAW_FAMILIES)], "raw series federated"
    assert all(":" in n for n in names), names
    assert all(lab.get("sysdig") == "true" for _, lab in series)
    for _, lab in series:
        assert not {"pod", "pod_template_hash", "controller_revision_hash"} & set(lab), lab
    recorded = {s["metric"]["__name__"] for s in ambient.source.query('count by (__name__) ({sysdig="true"})')}
    assert recorded == names
    raw = sum(ambient.source.vector('count({__name__=~"istio_.*|workload_manager_.*|process_.*"})').values())
    assert raw == ambient.mesh.raw_series_count()
    assert len(series) * 3 < raw, (len(series), raw)


# ztunnel's metrics by release (the notes' A1 inventory, from `git grep register` at each ztunnel tag)
SINCE = {"tcp.connections_failed.rate": (1, 29), "ztunnel.open_sockets": (1, 29), "ztunnel.open_fds": (1, 28)}


@pytest.mark.parametrize("version", ["1.24", "1.27", "1.28", "1.29", "1.30"])
def test_signals_of_newer_ztunnel_metrics_exist_from_their_release_only(tmp_path: Path, version: str) -> None:
    with RENDER:
        rendered = render_text(tmp_path, PROFILE.replace('version: "1.30"', f'version: "{version}"'))
    signals = {q.signal for q in rendered.model.queries}
    have = tuple(int(x) for x in version.split("."))
    assert {"tcp.connections_opened.rate", "ztunnel.active_proxies", "ztunnel.up"} <= signals
    for signal, since in SINCE.items():
        assert (signal in signals) is (have >= since), (version, signal)
    rules = {r.record for r in rendered.model.rules}
    assert any("istio_tcp_connections_failed" in r for r in rules) is (have >= (1, 29)), version
