"""The ambient catalog against Istio's own ztunnel dashboard (istio/istio 1.30.3, verbatim in
tests/fixtures/upstream): every ztunnel series that dashboard reads is a family the catalog gives
ztunnel at 1.30, and the release gates hold (1.29's failed connections and open sockets, 1.28's fds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import promql_parser

from istiogen.catalog import ambient

UPSTREAM = Path(__file__).resolve().parents[1] / "fixtures" / "upstream"


def _exprs(x: Any) -> list[str]:
    if isinstance(x, dict):
        return [v for k, v in x.items() if k == "expr"] + [e for k, v in x.items() if k != "expr" for e in _exprs(v)]
    if isinstance(x, list):
        return [e for v in x for e in _exprs(v)]
    return []


def _selected(expr: str) -> set[str]:
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            found.add(node.name)

    promql_parser.walk(promql_parser.parse(expr.replace("$__rate_interval", "5m")), visit)
    return found


def test_every_ztunnel_series_istios_dashboard_reads_is_in_the_catalog() -> None:
    board = json.loads((UPSTREAM / "istio-1.30.3-ztunnel-dashboard.gen.json").read_text())
    read = {n for e in _exprs(board) for n in _selected(e)}
    ztunnel_own = {n for n in read if not n.startswith("container_")}  # container_*: cAdvisor, not ztunnel
    assert len(ztunnel_own) >= 10
    assert ztunnel_own <= {f.name for f in ambient.ztunnel_families("1.30")}


def test_release_gates() -> None:
    at = {v: {f.name for f in ambient.ztunnel_families(v)} for v in ("1.22", "1.24", "1.28", "1.29")}
    assert at["1.22"] == set()  # before ambient's GA
    assert "istio_tcp_connections_opened_total" in at["1.24"]
    assert "istio_tcp_connections_failed_total" not in at["1.28"] and "process_open_fds" in at["1.28"]
    assert {"istio_tcp_connections_failed_total", "istio_tcp_sockets_open"} <= at["1.29"]
    assert "destination_zone" not in ambient.traffic_labels("1.24")
    assert "destination_zone" in ambient.traffic_labels("1.25")
