"""Grafana and Sysdig Monitor dashboards: built from the query catalog, reading only federated series."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest

from istiogen.pipeline import Rendered, render
from istiogen.validate import load
from tests.conftest import REPO, example_profiles, render_text, run, tool

FORMATS = ("grafana", "sysdig")
QUANTILE_WORD = re.compile(r"\bp(\d+(?:\.\d+)?)\b")
RECORDED_QUANTILE = re.compile(r"_p(\d+(?:_\d+)?):")
SYSDIG_VARIABLE = re.compile(r'(=~|!~|!=|=)\$(\w+)')

Json = dict[str, Any]


# --- helpers -------------------------------------------------------------------------------------


def boards(r: Rendered, fmt: str) -> dict[str, Json]:
    prefix = f"dashboards/{fmt}/"
    return {path[len(prefix):-len(".json")]: json.loads(content) for path, content in r.files.items()
            if path.startswith(prefix)}


def all_rendered(examples: dict[str, Rendered], default: Rendered) -> dict[str, Rendered]:
    return {"default": default, **examples}


def requote(expr: str) -> str:
    """Sysdig writes scope variables bare (``label=~$name``); quote them back to parse as PromQL."""
    return SYSDIG_VARIABLE.sub(r'\1"$\2"', expr)


def queries(doc: Json, fmt: str) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """(panel title, [(legend, PromQL)]) for every panel with queries; Sysdig variables quoted back."""
    if fmt == "grafana":
        for p in doc["panels"]:
            if p["type"] not in ("row", "text"):
                yield p["title"], [(t["legendFormat"], t["expr"]) for t in p["targets"]]
    else:
        for p in doc["dashboard"]["panels"]:
            if p["type"] != "text":
                yield p["name"], [(x["displayInfo"]["timeSeriesDisplayNameTemplate"], requote(x["query"]))
                                  for x in p["advancedQueries"]]


def selectors(expr: str) -> list[promql_parser.VectorSelector]:
    found: list[promql_parser.VectorSelector] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def computed_quantiles(expr: str) -> set[float]:
    """Quantiles a query computes: histogram_quantile(q, ...) calls and recorded ``_pNN:`` series."""
    out: set[float] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.Call) and node.func.name == "histogram_quantile":
            out.add(round(float(node.args[0].val), 6))
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            m = RECORDED_QUANTILE.search(node.name)
            if m:
                out.add(round(float(m.group(1).replace("_", ".")) / 100, 6))

    promql_parser.walk(promql_parser.parse(expr), visit)
    return out


def named_quantiles(text: str) -> set[float]:
    return {round(float(m) / 100, 6) for m in QUANTILE_WORD.findall(text)}


def strip_variables(expr: str) -> str:
    """Remove the template-variable matchers with_matchers added: back to the catalog's text."""
    expr = re.sub(r'\w+=~"\$\w+",?', "", expr)
    return expr.replace("{}", "")


def matchers(sel: promql_parser.VectorSelector) -> set[tuple[str, str, str]]:
    ops = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}
    return {(m.name, ops.get(str(m.op), str(m.op)), m.value) for m in sel.matchers.matchers}


def record_labels(rule_expr: str) -> set[str]:
    """The labels a recording rule keeps: its outer ``sum by (...)``."""
    node = promql_parser.parse(rule_expr)
    if isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
        return set(node.modifier.labels)
    return set()


def panels_by_title(doc: Json) -> dict[str, list[Json]]:
    out: dict[str, list[Json]] = {}
    for p in doc["panels"]:
        out.setdefault(p["title"], []).append(p)
    return out


def overlaps(rects: list[tuple[int, int, int, int]]) -> list[tuple[int, int]]:
    bad = []
    for i, (x1, y1, w1, h1) in enumerate(rects):
        for j, (x2, y2, w2, h2) in enumerate(rects[:i]):
            if x1 < x2 + w2 and x2 < x1 + w1 and y1 < y2 + h2 and y2 < y1 + h1:
                bad.append((j, i))
    return bad


# --- what is rendered ------------------------------------------------------------------------------


def test_every_example_renders_the_dashboards_in_both_formats(examples_rendered: dict[str, Rendered]) -> None:
    assert examples_rendered, "no example profiles"
    for name, r in examples_rendered.items():
        expected = {"service-overview", "ingress-gateway", "control-plane"}
        if r.resolved.profile.experiments:
            expected.add("experiments")
        dp = r.resolved.profile.istio.data_plane
        if dp.mode == "ambient" or dp.namespaces:  # ambient somewhere (the examples say so mesh- or namespace-wide)
            expected.add("ztunnel")
        idx = json.loads(r.files["index.json"])
        kinds = {a["path"]: a["kind"] for a in idx["artifacts"]}
        for fmt in FORMATS:
            assert set(boards(r, fmt)) == expected, (name, fmt)
            for board in expected:
                assert kinds[f"dashboards/{fmt}/{board}.json"] == f"{fmt}-dashboard"
    assert "experiments" in boards(examples_rendered["bookinfo"], "grafana")


def test_every_query_parses_and_reads_only_federated_records(examples_rendered: dict[str, Rendered],
                                                             default_rendered: Rendered) -> None:
    checked = 0
    for name, r in all_rendered(examples_rendered, default_rendered).items():
        federated = set(r.model.federated_records)
        for fmt in FORMATS:
            for board, doc in boards(r, fmt).items():
                for title, targets in queries(doc, fmt):
                    assert targets, (name, fmt, board, title)
                    for _, expr in targets:
                        sels = selectors(expr)
                        for sel in sels:
                            assert sel.name in federated, (name, fmt, board, title, sel.name)
                            assert sel.name, f"selector without a metric name in {expr}"
                        assert sels or expr.startswith("vector("), expr
                        checked += 1
    assert checked > 100


def test_titles_and_legends_agree_with_the_quantile_of_the_query(examples_rendered: dict[str, Rendered],
                                                                 default_rendered: Rendered) -> None:
    seen: set[float] = set()
    for name, r in all_rendered(examples_rendered, default_rendered).items():
        for fmt in FORMATS:
            for board, doc in boards(r, fmt).items():
                for title, targets in queries(doc, fmt):
                    union: set[float] = set()
                    for legend, expr in targets:
                        qs = computed_quantiles(expr)
                        assert named_quantiles(legend) == qs, (name, fmt, board, title, legend, expr)
                        union |= qs
                    assert named_quantiles(title) == union, (name, fmt, board, title)
                    seen |= union
    assert {0.5, 0.95, 0.99} <= seen


def test_the_quantile_check_catches_a_mislabelled_panel() -> None:
    expr = "histogram_quantile(0.95, sum by (le) (destination:istio_request_duration_milliseconds_bucket:rate1m))"
    assert computed_quantiles(expr) == {0.95}
    assert named_quantiles("Latency p99") != computed_quantiles(expr)
    assert computed_quantiles('experiment:latency_p99:candidate_over_baseline{experiment="x"}') == {0.99}
    assert named_quantiles("{{destination_version}} p99.9") == {0.999}


def test_catalog_queries_are_used_as_catalogued(examples_rendered: dict[str, Rendered],
                                                default_rendered: Rendered) -> None:
    """Outside experiments, every query is a catalog query plus variable matchers; both formats agree."""
    for name, r in all_rendered(examples_rendered, default_rendered).items():
        catalog = {x.expr for x in r.model.queries}
        grafana, sysdig = boards(r, "grafana"), boards(r, "sysdig")
        for board, doc in grafana.items():
            g = list(queries(doc, "grafana"))
            s = list(queries(sysdig[board], "sysdig"))
            assert g == s, (name, board)
            if board == "experiments":
                continue
            for title, targets in g:
                for _, expr in targets:
                    assert strip_variables(expr) in catalog, (name, board, title, expr)


def test_experiment_queries_read_the_chosen_experiment_only(examples_rendered: dict[str, Rendered]) -> None:
    """Experiment records are filtered by $experiment; base series only through experiment:role_info."""
    r = examples_rendered["bookinfo"]
    doc = boards(r, "grafana")["experiments"]
    for title, targets in queries(doc, "grafana"):
        for _, expr in targets:
            names = {s.name for s in selectors(expr)}
            assert names, (title, expr)
            for sel in selectors(expr):
                if sel.name.startswith("experiment:"):
                    assert ("experiment", "=~", "$experiment") in matchers(sel), (title, expr)
            if any(not n.startswith("experiment:") for n in names):
                assert "experiment:role_info" in names and "group_left (experiment, role)" in expr, (title, expr)


# --- Grafana's own types --------------------------------------------------------------------------

GRAFANA_SCHEMA = REPO / "tests" / "grafana_schema"
TSC_ERROR = re.compile(r"^(?P<file>[^(]+)\((?P<line>\d+),(?P<col>\d+)\): error (?P<code>TS\d+): (?P<msg>.*)$")


def grafana_type_errors(docs: dict[str, Json], work: Path) -> dict[str, list[str]]:
    """Each dashboard compiled as ``const dashboard: Board = <its JSON>`` (tests/grafana_schema/board.ts:
    Grafana's published @grafana/schema types) with ``tsc --strict``: the errors, by dashboard."""
    tsc = GRAFANA_SCHEMA / "node_modules" / "typescript" / "bin" / "tsc"
    if not (tsc.exists() and (GRAFANA_SCHEMA / "node_modules" / "@grafana" / "schema").exists()):
        pytest.fail("@grafana/schema and typescript are not installed: run scripts/test.sh")
    work.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, doc in docs.items():
        f = work / f"{re.sub(r'[^A-Za-z0-9_-]', '_', name)}.ts"
        assert f.name not in files, name
        f.write_text(f'import type {{ Board }} from "{GRAFANA_SCHEMA / "board"}";\n'
                     f"export const dashboard: Board = {json.dumps(doc, indent=1)};\n")
        files[f.name] = name
    res = run([tool("node"), str(tsc), "--noEmit", "--strict", "--pretty", "false", "--target", "es2020",
               "--moduleResolution", "node", *files], cwd=work, check=False)
    errors: dict[str, list[str]] = {name: [] for name in docs}
    for line in res.stdout.splitlines():
        m = TSC_ERROR.match(line)
        if m and m["file"] in files:
            errors[files[m["file"]]].append(f"{m['code']}: {m['msg']}")
        elif line.strip() and not line.startswith(" "):
            raise AssertionError(f"tsc: {line}")
    assert (res.returncode != 0) == any(errors.values()), res.stdout + res.stderr
    return errors


def broken_boards(default: Rendered) -> dict[str, Json]:
    """Rendered boards, each with one thing Grafana's types do not allow."""
    import copy

    overview = boards(default, "grafana")["service-overview"]
    good = boards(default, "grafana")["control-plane"]
    ts = next(i for i, p in enumerate(good["panels"]) if p["type"] == "timeseries")
    st = next(i for i, p in enumerate(good["panels"]) if p["type"] == "stat")
    bad: dict[str, Json] = {}
    for name, change in {
        "top-level-key": lambda d: d.update(refresh_interval="1m"),
        "legend-key": lambda d: d["panels"][ts]["options"]["legend"].update(show=True),
        "custom-key": lambda d: d["panels"][ts]["fieldConfig"]["defaults"]["custom"].update(lineWdth=1),
        "grid-type": lambda d: d["panels"][ts]["gridPos"].update(h="8"),
        "enum-value": lambda d: d["panels"][st]["options"].update(colorMode="colour"),
    }.items():
        doc = copy.deepcopy(good)
        change(doc)
        bad[name] = doc
    bad["variable-key"] = copy.deepcopy(overview)
    bad["variable-key"]["templating"]["list"][1]["definition"] = "label_values(x, y)"
    return bad


@pytest.fixture(scope="module")
def grafana_types(examples_rendered: dict[str, Rendered], default_rendered: Rendered,
                  tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """One tsc run (it takes seconds to load the types): every rendered board, and the broken ones."""
    docs = {f"{name}/{board}": doc for name, r in all_rendered(examples_rendered, default_rendered).items()
            for board, doc in boards(r, "grafana").items()}
    assert {k.split("/")[1] for k in docs} == {"service-overview", "ingress-gateway", "control-plane", "experiments",
                                               "ztunnel"}
    return grafana_type_errors({**docs, **broken_boards(default_rendered)}, tmp_path_factory.mktemp("grafana-types"))


def test_every_grafana_dashboard_has_grafanas_own_types(grafana_types: dict[str, list[str]]) -> None:
    rendered = {k: v for k, v in grafana_types.items() if "/" in k}
    assert len(rendered) >= 30  # nine examples and the default profile, 3 or 4 boards each
    assert {name: errs for name, errs in rendered.items() if errs} == {}


def test_grafanas_types_catch_an_unknown_key_and_a_wrong_type(grafana_types: dict[str, list[str]]) -> None:
    errors = {k: " ".join(v) for k, v in grafana_types.items() if "/" not in k}
    assert "refresh_interval\"' does not exist" in errors["top-level-key"]
    assert "show\"' does not exist" in errors["legend-key"]
    assert "lineWdth\"' does not exist" in errors["custom-key"]
    assert "Type 'string' is not assignable to type 'number'" in errors["grid-type"]
    assert '"colour"' in errors["enum-value"]
    assert "definition\"' does not exist" in errors["variable-key"]
    assert all(len(grafana_types[name]) == 1 for name in errors), grafana_types


def prometheus_query_unknown_keys(target: Json) -> set[str]:
    """Keys of a panel's query that Grafana's Prometheus query type (grafana-foundation-sdk's
    ``prometheus.Dataquery``, the query type @grafana/schema leaves open) does not have: decoded
    and encoded again, what is dropped.  Its decoder checks no types: names only."""
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models import prometheus

    kept = json.loads(json.dumps(prometheus.Dataquery.from_json(target), cls=JSONEncoder))
    assert {k: v for k, v in target.items() if k in kept} == kept
    return set(target) - set(kept)


def test_every_panel_query_has_the_keys_of_grafanas_prometheus_query(examples_rendered: dict[str, Rendered],
                                                                     default_rendered: Rendered) -> None:
    n = 0
    for name, r in all_rendered(examples_rendered, default_rendered).items():
        for board, doc in boards(r, "grafana").items():
            for p in doc["panels"]:
                for t in p.get("targets", []):
                    assert prometheus_query_unknown_keys(t) == set(), (name, board, p["title"])
                    n += 1
    assert n > 100
    assert prometheus_query_unknown_keys({"refId": "A", "expr": "x", "legendFormatt": "{{a}}"}) == {"legendFormatt"}


# --- Grafana and Sysdig shapes ---------------------------------------------------------------------


def test_grafana_dashboards_are_importable_and_stable(examples_rendered: dict[str, Rendered],
                                                     default_rendered: Rendered) -> None:
    uids: set[str] = set()
    for name, r in all_rendered(examples_rendered, default_rendered).items():
        for board, doc in boards(r, "grafana").items():
            assert doc["schemaVersion"] == 39
            assert doc["id"] is None
            full = f"{r.name}-{board}"
            assert doc["uid"] == full if len(full) <= 40 else len(doc["uid"]) == 40
            assert len(doc["uid"]) <= 40 and re.fullmatch(r"[A-Za-z0-9_-]+", doc["uid"])
            assert doc["uid"] not in uids
            uids.add(doc["uid"])
            assert doc["time"] == {"from": "now-1h", "to": "now"}
            ds = doc["templating"]["list"][0]
            assert (ds["name"], ds["type"], ds["query"]) == ("datasource", "datasource", "prometheus")
            ids = [p["id"] for p in doc["panels"]]
            assert len(ids) == len(set(ids))
            rects = []
            for p in doc["panels"]:
                g = p["gridPos"]
                assert g["x"] >= 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, (board, p["title"])
                rects.append((g["x"], g["y"], g["w"], g["h"]))
                if p["type"] == "row":
                    continue
                if p["type"] == "text":  # the data-plane table of ambient meshes: Markdown, no query
                    assert p["options"]["mode"] == "markdown" and p["options"]["content"] and "targets" not in p
                    continue
                assert p["type"] in ("timeseries", "stat")
                assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
                refs = [t["refId"] for t in p["targets"]]
                assert len(refs) == len(set(refs)) and refs
                for t in p["targets"]:
                    assert t["datasource"]["uid"] == "${datasource}"
                    assert "$__" not in t["expr"], "recorded series are rates already"
            assert not overlaps(rects), (name, board)


def test_sysdig_dashboards_have_the_monitor_shape(examples_rendered: dict[str, Rendered],
                                                 default_rendered: Rendered) -> None:
    for name, r in all_rendered(examples_rendered, default_rendered).items():
        for board, doc in boards(r, "sysdig").items():
            d = doc["dashboard"]
            assert d["schema"] == 3 and d["name"] and isinstance(d["scopeExpressionList"], list)
            ids = [p["id"] for p in d["panels"]]
            assert sorted(ids) == sorted(x["panelId"] for x in d["layout"]) and len(ids) == len(set(ids))
            for p in d["panels"]:
                assert p["type"] in ("advancedTimechart", "advancedNumber", "text")
                if p["type"] == "advancedNumber":
                    assert len(p["advancedQueries"]) == 1, (board, p["name"])
                for x in p.get("advancedQueries", []):
                    assert x["enabled"] is True and x["displayInfo"]["type"] == "lines"
                    assert x["format"]["unit"] in ("%", "byte", "byteRate", "number", "numberRate", "relativeTime")
                    assert '"$' not in x["query"], "Sysdig scope variables are written bare"
            for x in d["layout"]:
                assert x["x"] >= 0 and x["x"] + x["w"] <= 24 and x["h"] > 0
            assert not overlaps([(x["x"], x["y"], x["w"], x["h"]) for x in d["layout"]]), (name, board)


def test_service_overview_filters_every_query_by_its_variables(examples_rendered: dict[str, Rendered]) -> None:
    r = examples_rendered["bookinfo"]
    federated = set(r.model.federated_records)
    g = boards(r, "grafana")["service-overview"]
    variables = {v["name"]: v for v in g["templating"]["list"][1:]}
    assert list(variables) == ["namespace", "service", "version"]
    labels = {}
    for name, v in variables.items():
        m = re.fullmatch(r"label_values\(([^{,]+)(\{.*\})?, (\w+)\)", v["query"]["query"])
        assert m, v["query"]["query"]
        assert m.group(1) in federated
        labels[name] = m.group(3)
        assert v["includeAll"] and v["multi"] and v["datasource"]["uid"] == "${datasource}"
    assert labels == {"namespace": "destination_service_namespace", "service": "destination_service_name",
                      "version": "destination_version"}
    assert '{destination_service_namespace=~"$namespace"}' in variables["service"]["query"]["query"]
    s = boards(r, "sysdig")["service-overview"]["dashboard"]
    assert [(x["displayName"], x["operand"]) for x in s["scopeExpressionList"]] == list(labels.items())
    assert all(x["isVariable"] for x in s["scopeExpressionList"])
    kept = {x.record: record_labels(x.expr) for x in r.model.rules}
    filtered = unfiltered = 0
    for title, targets in queries(g, "grafana"):
        for _, expr in targets:
            for sel in selectors(expr):
                got = {(lab, op, v) for lab, op, v in matchers(sel) if v.startswith("$")}
                want = {(lab, "=~", f"${var}") for var, lab in labels.items() if lab in kept[sel.name]}
                assert got == want, (title, expr)
                filtered += len(got)
                unfiltered += len(labels) - len(got)
    assert filtered and unfiltered  # sizes are recorded per service: no version filter there
    for p in s["panels"]:
        for x in p.get("advancedQueries", []):
            assert "destination_service_namespace=~$namespace" in x["query"], p["name"]


def test_units_follow_the_catalog(examples_rendered: dict[str, Rendered], tmp_path: Path) -> None:
    g = boards(examples_rendered["bookinfo"], "grafana")["service-overview"]
    units = {title: ps[0]["fieldConfig"]["defaults"]["unit"] for title, ps in panels_by_title(g).items()
             if ps[0]["type"] != "row"}
    assert units["Latency p99"] == "ms" and units["Request rate"] == "reqps"
    assert units["5xx error ratio"] == "percentunit" and units["Request size p95"] == "bytes"
    assert units["TCP bytes sent"] == "Bps"
    old = render_text(tmp_path, """
        name: mixer
        istio:
          version: "1.4"
        """)
    assert old.model.latency_unit == "s"
    g = boards(old, "grafana")["service-overview"]
    assert panels_by_title(g)["Latency p99"][0]["fieldConfig"]["defaults"]["unit"] == "s"
    s = boards(old, "sysdig")["service-overview"]["dashboard"]
    lat = next(p for p in s["panels"] if p["name"] == "Latency p99")
    assert lat["advancedQueries"][0]["format"]["unit"] == "relativeTime"
    assert lat["advancedQueries"][0]["format"]["inputFormat"] == "s"


# --- experiments -----------------------------------------------------------------------------------


def test_experiment_dashboard_compares_baseline_and_candidate(examples_rendered: dict[str, Rendered]) -> None:
    r = examples_rendered["bookinfo"]
    g = boards(r, "grafana")["experiments"]
    (var,) = [v for v in g["templating"]["list"] if v["name"] == "experiment"]
    assert "label_values(experiment:info" in json.dumps(var)
    by_title = panels_by_title(g)
    for title in ("Request rate", "5xx error ratio", "Latency p50", "Latency p95", "Latency p99"):
        (p,) = by_title[title]
        (t,) = p["targets"]
        # one series per experiment and role: baseline and candidate
        assert t["legendFormat"].startswith("{{experiment}} {{role}}"), title
    for qv, title in ((0.5, "Latency p50"), (0.95, "Latency p95"), (0.99, "Latency p99")):
        (p,) = by_title[title]
        expr = p["targets"][0]["expr"]
        assert expr.startswith(f"histogram_quantile({qv:g}, sum by (experiment, role, le) (")
        assert "destination:istio_request_duration_milliseconds_bucket:rate2m" in expr
    (share,) = by_title["Traffic share vs expected split"]
    exprs = [t["expr"] for t in share["targets"]]
    # aggregated by the legend's label, one series per experiment (Sysdig's API limits: tests/render/
    # test_sysdig_query_limits.py)
    assert exprs == ['max by (experiment) (experiment:traffic_share:ratio_rate2m{experiment=~"$experiment"})',
                     'max by (experiment) (experiment:expected_split{experiment=~"$experiment"})']
    assert share["fieldConfig"]["defaults"]["unit"] == "percentunit"


def test_one_experiments_dashboard_for_any_number_of_experiments(tmp_path: Path) -> None:
    r = render_text(tmp_path, """
        name: exp
        istio:
          version: "1.22"
        rules:
          version_labels: canonical
        services:
          - {name: reviews, namespace: shop}
          - {name: cart, namespace: shop}
        experiments:
          - name: first
            service: reviews
            namespace: shop
            baseline: v1
            candidate: v2
            expected_split: 0.25
          - name: second
            service: cart
            namespace: shop
            baseline: blue
            candidate: green
        """)
    for fmt in FORMATS:
        assert [n for n in boards(r, fmt) if n.startswith("experiment")] == ["experiments"]
    g = boards(r, "grafana")["experiments"]
    (p50,) = panels_by_title(g)["Latency p50"]
    assert ("on (destination_workload_namespace, destination_canonical_service, destination_canonical_revision) "
            "group_left (experiment, role)") in p50["targets"][0]["expr"]
    two_experiments = {"exp": r}
    _assert_every_experiment_query_keeps_the_experiment(two_experiments)


def aggregations(expr: str) -> list[Any]:
    found: list[Any] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.AggregateExpr):
            found.append(node)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def _assert_every_experiment_query_keeps_the_experiment(rendered: dict[str, Rendered]) -> None:
    checked = 0
    for name, r in rendered.items():
        for fmt in FORMATS:
            doc = boards(r, fmt).get("experiments")
            if doc is None:
                continue
            for title, targets in queries(doc, fmt):
                for legend, expr in targets:
                    for agg in aggregations(expr):
                        mod = agg.modifier
                        assert mod is not None and mod.type == promql_parser.AggModifierType.By, (
                            name, fmt, title, expr)
                        assert "experiment" in mod.labels, (name, fmt, title, expr)
                    assert "{{experiment}}" in legend, (name, fmt, title, legend)
                    checked += 1
    assert checked


def test_experiment_panels_keep_the_experiment_in_every_grouping_and_legend(
        examples_rendered: dict[str, Rendered]) -> None:
    """Defect 5: $experiment defaults to All, so a panel grouping by (role, le) alone would add the
    experiments' baselines (and candidates) together.  Every aggregation of every experiments
    panel, in both formats, groups by ``experiment``, and every legend names it."""
    _assert_every_experiment_query_keeps_the_experiment(
        {n: r for n, r in examples_rendered.items() if r.resolved.profile.experiments})


def test_the_experiment_grouping_check_catches_a_mixed_panel() -> None:
    (agg,) = aggregations("histogram_quantile(0.5, sum by (role, le) (x))")
    assert "experiment" not in agg.modifier.labels


# --- profile switches ------------------------------------------------------------------------------


@pytest.mark.parametrize(("grafana", "sysdig"), [(False, True), (True, False), (False, False)])
def test_dashboard_formats_follow_the_profile(tmp_path: Path, grafana: bool, sysdig: bool) -> None:
    r = render_text(tmp_path, f"""
        name: flags
        istio:
          version: "1.20"
        dashboards:
          grafana: {str(grafana).lower()}
          sysdig: {str(sysdig).lower()}
        """)
    assert bool(boards(r, "grafana")) is grafana
    assert bool(boards(r, "sysdig")) is sysdig
    kinds = {a["kind"] for a in json.loads(r.files["index.json"])["artifacts"]}
    assert ("grafana-dashboard" in kinds) is grafana and ("sysdig-dashboard" in kinds) is sysdig


def _titles(r: Rendered, board: str) -> set[str]:
    doc = boards(r, "grafana").get(board)
    return {title for title, _ in queries(doc, "grafana")} if doc else set()


def test_disabled_rule_sets_remove_their_panels(tmp_path: Path, default_rendered: Rendered) -> None:
    full = _titles(default_rendered, "service-overview")
    assert {"Latency p99", "TCP bytes sent", "Request size p95"} <= full
    r = render_text(tmp_path, """
        name: few
        istio:
          version: "1.20"
        rules:
          sets: [requests, gateway]
        """)
    titles = _titles(r, "service-overview")
    assert "Request rate" in titles and "5xx error ratio by version" in titles
    assert not {t for t in titles if "Latency" in t or "TCP" in t or "size" in t}
    assert set(boards(r, "grafana")) == {"service-overview", "ingress-gateway"}
    assert set(boards(r, "sysdig")) == {"service-overview", "ingress-gateway"}

    cp = render_text(tmp_path, """
        name: cp
        istio:
          version: "1.20"
        rules:
          sets: [control_plane]
        """, name="cp.yaml")
    assert set(boards(cp, "grafana")) == {"control-plane"}


def test_excluded_records_remove_the_panels_reading_them(tmp_path: Path) -> None:
    r = render_text(tmp_path, """
        name: ex
        istio:
          version: "1.20"
        rules:
          exclude: ["istiod:citadel_csr_failures:rate1m", IstioCSRFailures]
        """)
    titles = _titles(r, "control-plane")
    assert "CSR failures" not in titles and "xDS pushes by type" in titles
    s = boards(r, "sysdig")["control-plane"]["dashboard"]
    assert "CSR failures" not in {p["name"] for p in s["panels"]}


def test_only_scopes_that_are_enabled_get_sections(tmp_path: Path) -> None:
    r = render_text(tmp_path, """
        name: scopes
        istio:
          version: "1.20"
        rules:
          scopes: [workload, edge]
        """)
    g = boards(r, "grafana")["service-overview"]
    rows = [p["title"] for p in g["panels"] if p["type"] == "row"]
    assert rows == ["By workload", "By source"]
    assert [v["name"] for v in g["templating"]["list"][1:]] == ["namespace"]
    assert "destination_workload_namespace" in g["templating"]["list"][1]["query"]["query"]


# --- determinism ---------------------------------------------------------------------------------


def test_rendering_is_byte_identical(examples_rendered: dict[str, Rendered]) -> None:
    path = next(p for p in example_profiles() if p.stem == "bookinfo")
    again = render(load(path))
    first = examples_rendered["bookinfo"]
    dash = [p for p in first.files if p.startswith("dashboards/")]
    assert len(dash) == 8
    for p in dash:
        assert again.files[p] == first.files[p], p


def test_long_names_give_short_stable_uids(tmp_path: Path) -> None:
    text = """
        name: a-profile-name-long-enough-to-overflow-the-grafana-uid
        istio:
          version: "1.20"
        """
    a = render_text(tmp_path, text)
    b = render_text(tmp_path / "again", text)
    uids = [boards(a, "grafana")[n]["uid"] for n in sorted(boards(a, "grafana"))]
    assert uids == [boards(b, "grafana")[n]["uid"] for n in sorted(boards(b, "grafana"))]
    assert all(len(u) <= 40 for u in uids) and len(set(uids)) == len(uids)
