"""Each raw series is read by one generated rule per evaluation (issue 14, rule evaluation).

Every generated recording rule of every example profile is parsed (promql-parser) and walked
(:mod:`istiogen.promast`); every selector of a metric that is not itself recorded is a *raw read*.
Two raw reads of one metric select disjoint series only when a label's matchers contradict each other
(``reporter="destination"`` against ``reporter="source"``, ``source_workload="gw"`` against
``source_workload!="gw"``, ``x=~R`` against ``x!~R``); otherwise Prometheus reads the same raw series
twice.  The expected value follows from that definition: no two raw reads may overlap.  That the rules
still answer what they did is the end-to-end federation test's (tests/e2e/test_federation.py, against
queries over the raw series in a real Prometheus).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser as pp
import pytest

from istiogen.pipeline import Rendered
from istiogen.promast import nodes
from tests.conftest import materialize, render_text, run

Matcher = tuple[str, str, str]


@dataclass(frozen=True)
class Read:
    group: str
    record: str
    metric: str
    matchers: frozenset[Matcher]
    window: float | None  # the range of a range selector (seconds), None for an instant selector


def _matchers(sel: Any) -> tuple[str | None, frozenset[Matcher]]:
    name = sel.name or None
    out = set()
    for m in sel.matchers.matchers:
        op = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}[str(m.op)]
        if m.name == "__name__" and op == "=":
            name = m.value
        else:
            out.add((m.name, op, m.value))
    return name, frozenset(out)


def raw_reads(rendered: Rendered) -> list[Read]:
    recorded = {x.record for x in rendered.model.rules}
    reads = []
    for g in rendered.model.rule_groups:
        for rule in g.rules:
            if rule.rule_set == "custom":  # the profile's own rules read what they choose
                continue
            windows: dict[int, float] = {}
            tree = pp.parse(rule.expr)
            for n in nodes(tree):
                if isinstance(n, pp.MatrixSelector):
                    windows[id(n.vector_selector)] = n.range.total_seconds()
            for n in nodes(tree):
                if isinstance(n, pp.VectorSelector):
                    name, ms = _matchers(n)
                    assert name is not None, f"{rule.record}: a selector without a metric name: {rule.expr}"
                    if name not in recorded:
                        reads.append(Read(g.name, rule.record, name, ms, windows.get(id(n))))
    return reads


def _full(regex: str, value: str) -> bool:
    return re.fullmatch(regex, value) is not None


def disjoint(a: frozenset[Matcher], b: frozenset[Matcher]) -> bool:
    """Whether no series can match both matcher sets (some label's matchers contradict)."""
    for la, opa, va in a:
        for lb, opb, vb in b:
            if la != lb:
                continue
            pair = {(opa, va), (opb, vb)}
            if opa == opb == "=" and va != vb:
                return True
            if ("=", va) in pair and ("!=", va) in pair and va == vb:
                return True
            if {opa, opb} == {"=~", "!~"} and va == vb:
                return True
            for (o1, v1), (o2, v2) in (((opa, va), (opb, vb)), ((opb, vb), (opa, va))):
                if o1 == "=" and o2 == "=~" and not _full(v2, v1):
                    return True
                if o1 == "=" and o2 == "!~" and _full(v2, v1):
                    return True
                # alternations of literal names (namespaces): "=~a|b" and "=~c" share none, "=~a" is in "!~a|b"
                x, y = _literals(v1), _literals(v2)
                if x is not None and y is not None:
                    if o1 == o2 == "=~" and not x & y:
                        return True
                    if o1 == "=~" and o2 == "!~" and x <= y:
                        return True
    return False


def _literals(regex: str) -> set[str] | None:
    """The names of a regex that is an alternation of escaped literals, else None."""
    parts = regex.split("|")
    names = {re.sub(r"\\(.)", r"\1", x) for x in parts}
    return names if all(re.escape(n) == x or n == x for n, x in zip(sorted(names), sorted(parts), strict=False))\
        and all(re.fullmatch(r"[A-Za-z0-9_.-]+", n) for n in names) else None


def overlapping(reads: list[Read], *, per_group: bool) -> list[tuple[Read, Read]]:
    out = []
    for i, a in enumerate(reads):
        for b in reads[i + 1:]:
            if a.metric != b.metric or (per_group and a.group != b.group):
                continue
            if not disjoint(a.matchers, b.matchers):
                out.append((a, b))
    return out


def _describe(pairs: list[tuple[Read, Read]]) -> str:
    return "\n".join(f"{a.metric}: {a.record} {sorted(a.matchers)} and {b.record} {sorted(b.matchers)}"
                     for a, b in pairs)


def test_the_disjointness_check_itself() -> None:
    """The overlap rule against cases that follow from the matchers by hand."""
    dest, src = ("reporter", "=", "destination"), ("reporter", "=", "source")
    gw, not_gw = ("source_workload", "=", "gw"), ("source_workload", "!=", "gw")
    assert disjoint(frozenset({dest}), frozenset({src}))
    assert disjoint(frozenset({src, gw}), frozenset({src, not_gw}))
    assert not disjoint(frozenset({dest}), frozenset({dest, ("request_protocol", "=", "grpc")}))
    assert disjoint(frozenset({("s", "=~", "a|b")}), frozenset({("s", "!~", "a|b")}))
    assert disjoint(frozenset({("s", "=", "c")}), frozenset({("s", "=~", "a|b")}))
    assert not disjoint(frozenset({("s", "=", "a")}), frozenset({("s", "=~", "a|b")}))
    assert not disjoint(frozenset({("s", "!=", "a")}), frozenset({("s", "!=", "b")}))
    assert disjoint(frozenset({("n", "=~", "pay")}), frozenset({("n", "=~", "batch")}))
    assert disjoint(frozenset({("n", "=~", "pay")}), frozenset({("n", "!~", "batch|pay")}))
    assert not disjoint(frozenset({("n", "=~", "pay|batch")}), frozenset({("n", "!~", "batch")}))
    assert not disjoint(frozenset({("n", "=~", "pay.*")}), frozenset({("n", "=~", "batch")}))  # not literals


def test_no_raw_series_is_read_by_two_rules_in_any_example_profile(examples_rendered: dict[str, Rendered]) -> None:
    """Over every group: the example profiles have no service with a window of its own."""
    assert examples_rendered
    for name, rendered in examples_rendered.items():
        reads = raw_reads(rendered)
        assert any(r.metric.startswith("istio_requests") for r in reads), name
        # one rule's own selectors (one per data plane, joined by `or`) are one read: they are disjoint by the
        # services they select (tests/render/test_dataplane.py counts each request once)
        pairs = [pr for pr in overlapping(reads, per_group=False)
                 if pr[0].record != pr[1].record and not gateway_to_a_waypoint_service(*pr)]
        assert not pairs, f"{name}: raw series read by more than one rule:\n{_describe(pairs)}"


def gateway_to_a_waypoint_service(a: Read, b: Read) -> bool:
    """The one known double read (README "Data-plane modes"): the ingress gateway's own reports of its calls to
    a service behind a waypoint are read by the gateway's records and, since the gateway bypasses the waypoint,
    by that service's L7 records (its reporter="source" leg, selected by destination service)."""
    gw = {("reporter", "=", "source"), ("source_workload", "=", "istio-ingressgateway")}
    pair = sorted((a, b), key=lambda x: x.record.startswith("gateway:"))
    leg, gateway = pair
    return (gateway.record.startswith("gateway:") and gw <= gateway.matchers
            and ("reporter", "=", "source") in leg.matchers
            and any(m[0] in ("destination_service", "destination_service_namespace") and m[1] in ("=", "=~")
                    for m in leg.matchers))


V122 = 'istio: {version: "1.22"}\n'
VARIANTS = {
    "edge scope": V122 + "rules: {scopes: [service, service_version, workload, edge]}",
    "edge scope, a service with its own window and one with its own kept labels": V122 + """
rules: {scopes: [service, service_version, workload, edge]}
services:
  - {name: slow, namespace: shop, versions: [v1], window: 10m}
  - {name: wide, namespace: shop, versions: [v1], kept_labels: [request_protocol]}
""",
    "Istio 1.5 (Mixer telemetry, no gRPC status)": 'istio: {version: "1.5"}',
    "requests only": V122 + "rules: {sets: [requests]}",
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_rule_group_reads_each_raw_series_once(tmp_path: Path, variant: str, promtool: str) -> None:
    """Per evaluation, i.e. per rule group.  Services with a window of their own are read at that window in
    their own group; the edge scope (every service, at the profile's window) reads them once more, in the
    default group: a rate over another window is another computation, not a second read of one.

    The shipped unit tests pass under promtool: each record's expected value follows from its definition
    (istiogen.render.definitions, in terms of the raw series), whatever record it now reads in between."""
    rendered = render_text(tmp_path, "name: reads\n" + VARIANTS[variant].strip() + "\n")
    reads = raw_reads(rendered)
    pairs = overlapping(reads, per_group=True)
    assert not pairs, f"raw series read by more than one rule in one group:\n{_describe(pairs)}"
    if "edge" in variant:  # the edge record does not read the raw family itself
        edge = [r for r in rendered.model.rules if r.record.startswith("edge:")]
        assert edge and not [r for r in reads if r.record == edge[0].record]
    tree = materialize(rendered, tmp_path / "tree")
    out = run([promtool, "test", "rules", "rules.test.yaml"], cwd=tree / "prometheus", check=False)
    assert out.returncode == 0 and "SUCCESS" in out.stdout, out.stdout + out.stderr
    assert not [w for w in rendered.warnings if w.rule == "unit-test-coverage"]
