"""Data-plane modes (README "Data-plane modes"): each request and each connection counted once, whichever
proxies report it.

The truth here is the definition of what each proxy reports (Istio's facts, written by hand below), not
istiogen: hand-written raw series of one mixed mesh go through the generated recording rules in promtool, and
the query catalog's answers are compared with values worked out by hand from those series.

* a sidecar service: its sidecars report each request as the destination; the calling sidecar's own
  ``reporter="source"`` copy must not count again;
* a service behind a waypoint: the waypoint reports the requests through it (``reporter="waypoint"``); a
  sidecar client calls the pods directly (only its ``source`` report exists); with ``ingress_use_waypoint``
  the gateway goes through the waypoint, so its ``source`` report is a second copy;
* an ambient service without a waypoint: L4 only; ztunnel reports each connection twice (``source`` on the
  client's node, ``destination`` on the server's); the ztunnel legs to and from a waypoint belong to no
  service's L4 total.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from istiogen.errors import ProfileError
from tests.conftest import load_text, materialize, render_text, run

PROFILE = """
name: dp
istio:
  version: "1.29"
  data_plane:
    mode: sidecar
    namespaces:
      - {name: pay, mode: ambient, waypoint: wp, ingress_use_waypoint: true}
      - {name: batch, mode: ambient}
prometheus: {flavour: samples-1.22}
rules: {window: 1m}
alerts: {enabled: false}
services:
  - {name: ledger, namespace: pay, data_plane: {mode: ambient}}
"""


def svc(ns: str, name: str, **extra: str) -> str:
    labels = {"destination_service": f"{name}.{ns}.svc.cluster.local", "destination_service_namespace": ns,
              "destination_service_name": name, "destination_workload": f"{name}-v1",
              "destination_workload_namespace": ns, "destination_app": name, "destination_version": "v1", **extra}
    return ",".join(f'{k}="{v}"' for k, v in labels.items())


def counter(metric: str, labels: str, per_second: float) -> dict[str, str]:
    """A counter sampled every 15 s growing ``per_second``."""
    return {"series": f"{metric}{{{labels}}}", "values": f"0+{per_second * 15:g}x80"}


GW = 'source_workload="istio-ingressgateway",source_workload_namespace="istio-system"'
ZT = 'app="ztunnel",namespace="istio-system"'
SERIES = [
    # cart (sidecar): 1 req/s; the calling sidecar's source copy must not count
    counter("istio_requests_total", svc("shop", "cart", reporter="destination", response_code="200", app="cart"), 1),
    counter("istio_requests_total", svc("shop", "cart", reporter="source", response_code="200",
                                        source_workload="web"), 1),
    # checkout (behind waypoint wp): 2 req/s through the waypoint (ambient clients and the gateway), 0.5 req/s
    # from a sidecar client directly; the gateway's own 3 req/s report is the same requests as the waypoint's
    counter("istio_requests_total", svc("pay", "checkout", reporter="waypoint", response_code="200"), 1.5),
    counter("istio_requests_total", svc("pay", "checkout", reporter="waypoint", response_code="503"), 0.5),
    counter("istio_requests_total", svc("pay", "checkout", reporter="source", response_code="200",
                                        source_workload="cart-v1", source_workload_namespace="shop"), 0.5),
    counter("istio_requests_total", svc("pay", "checkout", reporter="source", response_code="200") + "," + GW, 3),
    # ... and its ztunnel legs: client -> waypoint (source) and waypoint -> server (destination)
    counter("istio_tcp_sent_bytes_total", svc("pay", "checkout", reporter="source", destination_workload="wp")
            + "," + ZT + ',node="n1"', 500),
    counter("istio_tcp_sent_bytes_total", svc("pay", "checkout", reporter="destination", source_workload="wp")
            + "," + ZT + ',node="n2"', 500),
    # cart's sidecar TCP: 50 B/s
    counter("istio_tcp_sent_bytes_total", svc("shop", "cart", reporter="destination", app="cart"), 50),
    # reports and ledger (ambient, no waypoint): 100 and 10 B/s, each reported by both ztunnels
    *(counter("istio_tcp_sent_bytes_total", svc(ns, name, reporter=rep) + "," + ZT + f',node="{node}"', rate)
      for ns, name, rate in (("batch", "reports", 100), ("pay", "ledger", 10))
      for rep, node in (("source", "n1"), ("destination", "n2"))),
    # reports' closed connections: 0.75/s clean, 0.25/s refused (CONNECT), reported by both ztunnels
    *(counter("istio_tcp_connections_closed_total", svc("batch", "reports", reporter=rep, response_flags=flags)
              + "," + ZT + f',node="{node}"', rate)
      for flags, rate in (("-", 0.75), ("CONNECT", 0.25)) for rep, node in (("source", "n1"), ("destination", "n2"))),
    # two ztunnels, one per node
    *({"series": f'istio_build{{{ZT},component="ztunnel",tag="1.29.0",node="{n}"}}', "values": "1x80"}
      for n in ("n1", "n2")),
    {"series": f'workload_manager_active_proxy_count{{{ZT},node="n1"}}', "values": "3x80"},
    {"series": f'workload_manager_active_proxy_count{{{ZT},node="n2"}}', "values": "5x80"},
]

# signal, scope -> {label values of the answer: value}, worked out by hand from SERIES
EXPECTED: dict[tuple[str, str], dict[tuple[str, ...], float]] = {
    ("requests.rate", "service"): {("shop", "cart"): 1.0, ("pay", "checkout"): 2.5},
    ("errors.ratio_5xx", "service"): {("shop", "cart"): 0.0, ("pay", "checkout"): 0.2},
    ("tcp.sent_bytes.rate", "service"): {("shop", "cart"): 50.0, ("batch", "reports"): 100.0,
                                         ("pay", "ledger"): 10.0},
    ("tcp.connections_closed.rate", "service"): {("batch", "reports"): 1.0},
    ("tcp.errors.ratio", "service"): {("batch", "reports"): 0.25},
    ("ztunnel.up", "mesh"): {(): 2.0},
    ("ztunnel.versions", "mesh"): {("1.29.0",): 2.0},
    ("ztunnel.active_proxies", "ztunnel"): {("n1",): 3.0, ("n2",): 5.0},
}


def catalog_answers(tmp_path: Path, promtool: str, profile: str, series: list[dict[str, str]],
                    expected: dict[tuple[str, str], dict[tuple[str, ...], float]]) -> None:
    """promtool runs the rules rendered for ``profile`` over ``series``; each catalog query (signal, scope)
    must answer ``expected`` (label values in the query's ``by`` order: value) at 15 minutes."""
    rendered = render_text(tmp_path, profile)
    tree = materialize(rendered, tmp_path / "out")
    catalog = yaml.safe_load(rendered.files["queries.yaml"])
    tests = []
    for (signal, scope), answer in expected.items():
        entry = catalog["signals"][signal]["scopes"][scope]
        tests.append({"expr": entry["query"], "eval_time": "15m", "exp_samples": [
            {"labels": "{" + ",".join(f'{k}="{v}"' for k, v in zip(entry["by"], key, strict=True)) + "}",
             "value": value} for key, value in answer.items()]})
    (tree / "prometheus/by-hand.test.yaml").write_text(yaml.safe_dump({
        "rule_files": ["rules.yaml"], "evaluation_interval": "15s",
        "tests": [{"interval": "15s", "input_series": series, "promql_expr_test": tests}]}))
    out = run([promtool, "test", "rules", "by-hand.test.yaml"], cwd=tree / "prometheus", check=False)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_every_request_and_connection_is_counted_once(tmp_path: Path, promtool: str) -> None:
    catalog_answers(tmp_path, promtool, PROFILE, SERIES, EXPECTED)


def test_the_check_fails_when_a_copy_is_counted_twice(tmp_path: Path, promtool: str) -> None:
    """The same check, with the gateway's copy counted as well (what ``reporter=~"waypoint|source"`` would
    do): promtool fails it, so the test above can fail."""
    rendered = render_text(tmp_path, PROFILE)
    tree = materialize(rendered, tmp_path / "out")
    entry = yaml.safe_load(rendered.files["queries.yaml"])["signals"]["requests.rate"]["scopes"]["service"]
    (tree / "prometheus/dp.test.yaml").write_text(yaml.safe_dump({
        "rule_files": ["rules.yaml"], "evaluation_interval": "15s",
        "tests": [{"interval": "15s", "input_series": SERIES, "promql_expr_test": [{
            "expr": entry["query"], "eval_time": "15m", "exp_samples": [
                {"labels": '{destination_service_namespace="pay",destination_service_name="checkout"}',
                 "value": 5.5},
                {"labels": '{destination_service_namespace="shop",destination_service_name="cart"}',
                 "value": 1.0}]}]}]}))
    out = run([promtool, "test", "rules", "dp.test.yaml"], cwd=tree / "prometheus", check=False)
    assert out.returncode != 0 and "5.5E+00" in out.stdout + out.stderr


def test_an_ambient_service_without_a_waypoint_has_no_request_signal(tmp_path: Path) -> None:
    """L4 only: the catalog's request queries read no series of it, and its entries say so."""
    rendered = render_text(tmp_path, PROFILE)
    rules = yaml.safe_load(rendered.files["prometheus/rules.yaml"])
    req = next(r["expr"] for g in rules["groups"] for r in g["rules"]
               if 'istio_requests_total{reporter="destination"' in r.get("expr", ""))  # the raw read
    assert 'destination_service_namespace!~"batch|pay"' in req  # neither reporter reads batch's services
    catalog = yaml.safe_load(rendered.files["queries.yaml"])
    assert catalog["signals"]["tcp.errors.ratio"]["data_planes"] == ["sidecar", "ambient"]
    assert catalog["signals"]["requests.rate"]["data_planes"] == ["sidecar", "waypoint"]
    planes = {(e["namespace"], e.get("service")): e for e in catalog["data_planes"]["entries"]}
    assert planes[("batch", None)]["class"] == "ambient"
    assert "requests.rate" not in planes[("batch", None)]["signals"]
    assert "tcp.errors.ratio" in planes[("batch", None)]["signals"]
    assert planes[("pay", "ledger")]["class"] == "ambient"
    assert planes[("pay", None)]["class"] == "waypoint" and planes[("pay", None)]["waypoint"] == "pay/wp"


def test_a_sidecar_mesh_renders_what_it_did_before_modes_existed(tmp_path: Path) -> None:
    """No ambient anywhere: one sidecar selector with no matchers (the example trees in output/ are the
    byte-for-byte check); here, that no ztunnel record or data-plane section appears."""
    rendered = render_text(tmp_path, 'name: s\nistio: {version: "1.29"}\n')
    assert b"ztunnel" not in rendered.files["prometheus/rules.yaml"]
    assert "data_planes" not in yaml.safe_load(rendered.files["queries.yaml"])


@pytest.mark.parametrize(("text", "expected"), [
    ('name: m\nistio: {version: "1.22", data_plane: {mode: ambient}}\n',
     [("ambient-version", "istio.data_plane.mode",
       "ambient mode needs Istio 1.24 or later (istio.version is 1.22)")]),
    ('name: m\nistio: {version: "1.30", data_plane: {namespaces: [{name: a, mode: sidecar, waypoint: w}]}}\n',
     [("waypoint-mode", "istio.data_plane.namespaces[0].waypoint",
       "waypoint needs mode: ambient (a sidecar service has no waypoint): set mode: ambient or remove it")]),
    ('name: m\nistio: {version: "1.30"}\nservices: [{name: s, namespace: a, data_plane: {mode: ambient, '
     'ingress_use_waypoint: true}}]\n',
     [("waypoint-mode", "services[0].data_plane.ingress_use_waypoint",
       "ingress_use_waypoint needs a waypoint: name it in waypoint, or remove the setting")]),
    ('name: m\nistio: {version: "1.30", data_plane: {namespaces: [{name: a, mode: ambient}, '
     '{name: a, mode: sidecar}]}}\n',
     [("duplicate-namespace", "istio.data_plane.namespaces[1]",
       "namespace 'a' is listed twice (also at istio.data_plane.namespaces[0])")]),
])
def test_data_plane_settings_that_cannot_hold_are_errors(tmp_path: Path, text: str,
                                                         expected: list[tuple[str, str, str]]) -> None:
    with pytest.raises(ProfileError) as e:
        load_text(tmp_path, text)
    assert [(p.rule, p.path, p.message) for p in e.value.problems] == expected
    assert all(p.line and p.column for p in e.value.problems)


def test_the_estimate_bounds_ztunnels_per_node_series_by_the_nodes(tmp_path: Path) -> None:
    """One ztunnel per node: with ``nodes`` given, each per-node record has at most that many series (two
    ztunnel versions during an upgrade, four xDS termination reasons); without it they are not bounded."""
    text = 'name: nodes\nistio: {version: "1.30", data_plane: {mode: ambient, nodes: 3}}\n'
    est = dict(render_text(tmp_path, text).estimate.records)
    assert est["ztunnel:workload_manager_active_proxy_count:sum"] == 3
    assert est["ztunnel:istio_build:sum"] == 6
    assert est["ztunnel:istio_xds_connection_terminations:rate1m"] == 12
    free = render_text(tmp_path, 'name: nodes\nistio: {version: "1.30", data_plane: {mode: ambient}}\n').estimate
    assert "ztunnel:workload_manager_active_proxy_count:sum" in free.unbounded


SAT_PROFILE = """
name: dp-sat
istio:
  version: "1.30"
  data_plane:
    mode: ambient
    namespaces: [{name: pay, mode: ambient, waypoint: wp}]
prometheus: {flavour: samples-1.22}
rules:
  window: 1m
  sets: [requests, latency, tcp, gateway, control_plane, saturation]
alerts: {enabled: false}
"""
CAD = 'job="kubernetes-nodes-cadvisor"'


def gauge(metric: str, labels: str, value: float) -> dict[str, str]:
    return {"series": f"{metric}{{{labels}}}", "values": f"{value!r}x80"}


SAT_SERIES = [
    # two ztunnels, each naming its node in its own istio_build series (as the addon's scrape labels it)
    *(gauge("istio_build", f'{ZT},component="ztunnel",tag="1.30.0",pod="ztunnel-{n}",node="node-{n}"', 1)
      for n in ("a", "b")),
    # their containers as cAdvisor rows them: istio-proxy 0.25 and 0.5 cores, 64 and 96 MiB; the pod's own
    # cgroup row (container="") must not count twice
    *(counter("container_cpu_usage_seconds_total",
              f'{CAD},namespace="istio-system",pod="ztunnel-{n}",container="{c}"', cpu)
      for n, base in (("a", 0.25), ("b", 0.5)) for c, cpu in (("istio-proxy", base), ("", base + 0.01))),
    *(gauge("container_memory_working_set_bytes",
            f'{CAD},namespace="istio-system",pod="ztunnel-{n}",container="istio-proxy"', mem)
      for n, mem in (("a", 67108864), ("b", 100663296))),
    # waypoint wp's two pods (Deployment wp: wp-<hash>-<id>), each exporting its reporter="waypoint" series
    *(counter("istio_requests_total", svc("pay", "checkout", reporter="waypoint", response_code="200")
              + f',namespace="pay",pod="wp-6d5f7c-{i}"', 1) for i in ("x1", "x2")),
    *(counter("container_cpu_usage_seconds_total", f'{CAD},namespace="pay",pod="wp-6d5f7c-{i}",container="istio-proxy"',
              cpu) for i, cpu in (("x1", 0.125), ("x2", 0.375))),
    *(gauge("container_memory_working_set_bytes",
            f'{CAD},namespace="pay",pod="wp-6d5f7c-{i}",container="istio-proxy"', mem)
      for i, mem in (("x1", 134217728), ("x2", 67108864))),
    # an application pod nobody's series name: not a ztunnel, not a waypoint
    counter("container_cpu_usage_seconds_total", f'{CAD},namespace="pay",pod="batch-7f-x",container="istio-proxy"', 2),
]
SAT_EXPECTED: dict[tuple[str, str], dict[tuple[str, ...], float]] = {
    ("saturation.ztunnel_cpu", "ztunnel"): {("node-a",): 0.25, ("node-b",): 0.5},
    ("saturation.ztunnel_memory", "ztunnel"): {("node-a",): 67108864.0, ("node-b",): 100663296.0},
    ("saturation.waypoint_cpu", "waypoint"): {("pay", "wp"): 0.375},  # the busiest pod
    ("saturation.waypoint_memory", "waypoint"): {("pay", "wp"): 134217728.0},  # the largest pod
}


def test_ztunnel_and_waypoint_saturation_by_hand(tmp_path: Path, promtool: str) -> None:
    """Ambient saturation through promtool over hand-written cAdvisor and Istio series, against values worked
    out by hand: ztunnel's istio-proxy per node (the pod's own cgroup row left out), each waypoint's busiest
    and largest pod, a pod no Istio series names left out."""
    catalog_answers(tmp_path, promtool, SAT_PROFILE, SAT_SERIES, SAT_EXPECTED)
