"""Crafted bad bundles under tests/lint/bundles/: each defect class found, at its exact file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

BUNDLES = REPO / "tests/lint/bundles"

Expected = set[tuple[str, str, str, int]]  # (rule, level, file, line)


def findings(cli: Any, bundle: str, *extra: str) -> tuple[int, Expected, list[dict[str, Any]]]:
    files = sorted(str(p.relative_to(BUNDLES)) for p in (BUNDLES / bundle).iterdir())
    res = cli("lint", "--format", "json", *files, *extra, cwd=BUNDLES)
    assert res.code in (0, 1), res.err
    data = json.loads(res.out)
    return res.code, {(d["rule"], d["level"], d["file"], d["line"]) for d in data}, data


CASES: dict[str, Expected] = {
    "duplicate-name": {
        ("duplicate-name", "error", "duplicate-name/rules.yaml", 14),  # record pasted twice, same labels
        ("duplicate-name", "error", "duplicate-name/rules.yaml", 30),  # alert pasted twice, same labels
        ("duplicate-name", "error", "duplicate-name/rules.yaml", 40),  # group name reused in the file
    },
    "invalid-promql": {
        ("invalid-promql", "error", "invalid-promql/rules.yaml", 6),  # unclosed parenthesis
        ("invalid-promql", "error", "invalid-promql/rules.yaml", 8),  # two by clauses (block scalar)
        ("invalid-promql", "error", "invalid-promql/rules.yaml", 14),  # empty expression
        ("invalid-promql", "error", "invalid-promql/prometheus.yaml", 11),  # match[] is an expression
        ("invalid-promql", "error", "invalid-promql/prometheus.yaml", 12),  # match[] does not parse
    },
    "invalid-name": {
        ("invalid-name", "error", "invalid-name/rules.yaml", 5),  # record name with '-'
        ("invalid-name", "error", "invalid-name/rules.yaml", 10),  # label name with '.' and '/'
        ("invalid-name", "error", "invalid-name/rules.yaml", 11),  # empty alert name
        ("invalid-name", "error", "invalid-name/rules.yaml", 16),  # annotation name with '-'
        ("unused-record", "warning", "invalid-name/rules.yaml", 5),  # nothing can read an invalid name
    },
    "unknown-series": {
        # a rule inside a rules ConfigMap: the line is the embedded rule's, mapped into the file
        ("unknown-series", "error", "unknown-series/rules-configmap.yaml", 17),
        # a target inside a collapsed row of a Grafana dashboard
        ("unknown-series", "error", "unknown-series/dashboard.json", 26),
    },
    "not-federated": {
        ("not-federated", "error", "not-federated/dashboard.json", 23),  # a record without the federation label
        ("not-federated", "error", "not-federated/dashboard.json", 27),  # a raw metric
    },
    "label-aggregated-away": {
        ("label-aggregated-away", "error", "label-aggregated-away/dashboard.json", 10),  # variable's label_values
        ("label-aggregated-away", "error", "label-aggregated-away/dashboard.json", 26),  # sum by (response_code)
        ("label-aggregated-away", "error", "label-aggregated-away/dashboard.json", 33),  # response_code!~"5.."
        ("label-aggregated-away", "error", "label-aggregated-away/dashboard.json", 40),  # =~"$namespace" on no label
        ("label-aggregated-away", "error", "label-aggregated-away/dashboard.json", 47),  # labeldrop'ed namespace
        ("label-aggregated-away", "error", "label-aggregated-away/rules.yaml", 14),  # a rule reading a record
        ("label-aggregated-away", "error", "label-aggregated-away/rules.yaml", 20),  # histogram_quantile sans le
    },
    "unused-record": {
        ("unused-record", "warning", "unused-record/rules.yaml", 9),
    },
    "quantile-mismatch": {
        ("quantile-mismatch", "error", "quantile-mismatch/grafana.json", 8),  # title p99, query 0.95
        ("quantile-mismatch", "error", "quantile-mismatch/grafana.json", 21),  # legend p90, record p50
        ("quantile-mismatch", "error", "quantile-mismatch/rules.yaml", 9),  # record named p95 computes 0.99
        ("quantile-mismatch", "error", "quantile-mismatch/rules.yaml", 13),  # alert ...P99High computes 0.9
        ("quantile-mismatch", "error", "quantile-mismatch/rules.yaml", 20),  # "95th percentile" reads that record
        ("quantile-mismatch", "error", "quantile-mismatch/sysdig.json", 15),  # Sysdig legend
        ("quantile-mismatch", "error", "quantile-mismatch/queries.yaml", 8),  # catalog title p95, query 0.99
        ("quantile-mismatch", "error", "quantile-mismatch/queries.yaml", 14),  # catalog `quantile: 0.95`
    },
    "quantile-aggregation": {
        ("quantile-aggregation", "warning", "quantile-aggregation/dashboard.json", 10),  # max across the mTLS split
        ("quantile-aggregation", "warning", "quantile-aggregation/dashboard.json", 17),  # avg(histogram_quantile())
        ("quantile-aggregation", "warning", "quantile-aggregation/dashboard.json", 31),  # p99 + p99
        ("quantile-aggregation", "warning", "quantile-aggregation/dashboard.json", 38),  # sum without (quantile)
    },
    "short-rate-window": {
        ("short-rate-window", "error", "short-rate-window/rules.yaml", 6),  # rate [1m] at 30s
        ("short-rate-window", "error", "short-rate-window/rules.yaml", 10),  # increase [90s] at 30s
        ("short-rate-window", "error", "short-rate-window/dashboard.json", 12),  # irate [1m] at 30s
    },
    "sysdig-metric-limit": {
        ("sysdig-metric-limit", "error", "sysdig-metric-limit/sysdig.json", 12),  # 11 names in one query
        ("sysdig-metric-limit", "error", "sysdig-metric-limit/sysdig.json", 40),  # 6 of them in a __name__ =~ a|b
        # not: 10 names (line 26), 11 split over two queries of a panel (54, 61), 11 in a Grafana panel
    },
    "clean": set(),
}


@pytest.mark.parametrize("bundle", sorted(CASES))
def test_each_defect_is_found_at_its_file_and_line(cli: Any, bundle: str) -> None:
    code, got, _ = findings(cli, bundle)
    assert got == CASES[bundle]
    assert code == (1 if any(level == "error" for _, level, _, _ in got) else 0)


def test_every_rule_has_a_bundle() -> None:
    from istiogen.lint.registry import IDS

    covered = {rule for exp in CASES.values() for rule, *_ in exp}
    assert covered == set(IDS)


def test_findings_carry_column_path_and_a_useful_message(cli: Any) -> None:
    _, _, data = findings(cli, "unknown-series")
    by_file = {d["file"]: d for d in data}
    cm = by_file["unknown-series/rules-configmap.yaml"]
    assert cm["column"] == 15  # the embedded expr's value, past the block scalar's indentation
    assert cm["path"] == 'data["recording.yaml"].groups[0].rules[1].expr'
    assert "workload:istio_request:rate5m" in cm["message"]
    assert cm["hint"] == "did you mean 'workload:istio_requests:rate5m'?"
    dash = by_file["unknown-series/dashboard.json"]
    assert dash["path"] == "panels[1].panels[0].targets[0].expr"
    assert dash["column"] == 23


def test_the_mtls_split_is_recognised_only_where_series_are_combined(cli: Any) -> None:
    _, _, data = findings(cli, "quantile-aggregation")
    msgs = {d["line"]: d["message"] for d in data}
    assert "across mtls" in msgs[10]
    assert 24 not in msgs  # sum by (destination_service, mtls) keeps every series apart


def test_the_scrape_interval_comes_from_the_bundle_unless_given(cli: Any) -> None:
    _, got, data = findings(cli, "short-rate-window")
    assert all("scrape interval 30s" in d["message"] for d in data)
    _, got, _ = findings(cli, "short-rate-window", "--scrape-interval", "15s")
    assert got == set()
    _, got, data = findings(cli, "short-rate-window", "--scrape-interval", "1m")
    assert {(r, line) for r, _, _, line in got} == {
        ("short-rate-window", 6), ("short-rate-window", 8), ("short-rate-window", 10), ("short-rate-window", 12)}
    assert all("from --scrape-interval" in d["message"] for d in data)


def test_a_folder_without_index_is_one_bundle_read_by_content(cli: Any) -> None:
    res = cli("lint", "--format", "json", "not-federated", cwd=BUNDLES)
    assert res.code == 1
    assert {(d["rule"], d["line"]) for d in json.loads(res.out)} == {("not-federated", 23), ("not-federated", 27)}


def test_without_the_federation_job_federation_is_not_checked(cli: Any) -> None:
    res = cli("lint", "not-federated/dashboard.json", "not-federated/prometheus-rule.yaml", cwd=BUNDLES)
    assert res.code == 0, res.out
    assert res.out == ""
    assert "no federation job" in res.err


def test_sysdig_variables_and_scope_parse(cli: Any, tmp_path: Path) -> None:
    from istiogen.lint.promql import dashboard_text, parse

    text, templated = dashboard_text(
        'sum by (a) (rate(x{$__scope,ns=~$namespace}[$__interval])) / on (a) sum by (a) (y{$__scope})')
    assert templated
    assert parse(text)[1] is None
    assert '"$namespace"' in text


def test_without_the_rules_only_what_is_provable_is_not_federated(cli: Any) -> None:
    # the unlabelled record's rule is not in the bundle: it may carry federate="yes"; the raw metric cannot
    res = cli("lint", "--format", "json", "not-federated/dashboard.json", "not-federated/sysdig-agent.yaml",
              cwd=BUNDLES)
    assert [(d["rule"], d["line"]) for d in json.loads(res.out)] == [("not-federated", 27)]
