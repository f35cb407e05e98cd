"""Every tree istiogen renders from profiles/ lints clean, and so does output/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from istiogen.pipeline import Rendered
from tests.conftest import REPO, example_profiles, materialize


@pytest.mark.parametrize("name", [p.stem for p in example_profiles()])
def test_a_rendered_example_lints_clean(name: str, examples_rendered: dict[str, Rendered], tmp_path: Path,
                                        cli: Any) -> None:
    tree = materialize(examples_rendered[name], tmp_path / name)
    res = cli("lint", "--format", "json", "--strict", str(tree))
    assert json.loads(res.out) == []
    assert res.code == 0


def test_the_lint_reads_every_kind_of_a_rendered_tree(examples_rendered: dict[str, Rendered], tmp_path: Path) -> None:
    from istiogen.lint import loader

    rendered = examples_rendered["bookinfo"]
    tree = materialize(rendered, tmp_path / "bookinfo")
    (bundle,) = loader.load([tree])
    kinds = {a["path"]: a["kind"] for a in json.loads(rendered.files["index.json"])["artifacts"]}
    read = {str(Path(f).relative_to(tree)) for f in bundle.files}
    # not the rules ConfigMap (nor any other form of the same rules): it holds the rule files the tree has
    assert read == {p for p, k in kinds.items() if k in (
        "prometheus-rules", "prometheus-alerts", "sysdig-agent-patch", "query-catalog", "grafana-dashboard",
        "sysdig-dashboard")}
    assert len(bundle.records) == len(rendered.model.rules)
    assert len(bundle.alerts) == len(rendered.model.alerts)
    assert [s.expr.text for j in bundle.fed_jobs for s in j.selectors] == rendered.model.match_selectors()
    assert len(bundle.catalog) == len(rendered.model.queries)
    assert any(k == "grafana-dashboard" for k in kinds.values()), "dashboards are part of the tree"
    assert bundle.has_dashboards and bundle.dashboards


def test_output_lints_clean(cli: Any) -> None:
    if not (REPO / "output").is_dir():
        pytest.skip("no output/ in this checkout")
    res = cli("lint", "--strict", cwd=REPO)
    assert res.out == ""
    assert res.code == 0, res.err


def test_a_tree_lints_in_one_walk_of_each_expression(examples_rendered: dict[str, Rendered], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The lint's work is linear in the tree: every check asks the same context, which walks each PromQL
    expression once, and each expression is parsed at most twice (itself, and a dashboard query's form with
    its variables substituted).  How long it takes is a figure of bench/run.py (5.), not a test."""
    from istiogen.lint import context, engine, loader, promql

    walked: list[int] = []
    parsed: list[str] = []
    walk, parse = context.walk, promql.parse

    def counting_walk(records: Any, ast: Any, federated: bool) -> Any:
        walked.append(id(ast))
        return walk(records, ast, federated)

    def counting_parse(text: str) -> Any:
        parsed.append(text)
        return parse(text)

    monkeypatch.setattr(context, "walk", counting_walk)
    monkeypatch.setattr(promql, "parse", counting_parse)
    tree = materialize(examples_rendered["bookinfo"], tmp_path / "bookinfo")
    (bundle,) = loader.load([tree])
    assert engine.lint([bundle]).problems == []
    expressions = context.Context(bundle).expressions()
    selectors = [s for j in bundle.fed_jobs + bundle.catalog_fed for s in j.selectors]
    assert len(expressions) > 100 and selectors  # the tree has dashboards, rules, alerts and a federation job
    assert len(walked) == len(set(walked)) == len(expressions)
    assert 0 < len(parsed) <= 2 * (len(expressions) + len(selectors))


def _tree(folder: Path, files: dict[str, tuple[str, str]]) -> Path:
    folder.mkdir(parents=True)
    for rel, (_, text) in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    index = {"artifacts": [{"path": rel, "kind": kind} for rel, (kind, _) in files.items()]}
    (folder / "index.json").write_text(json.dumps(index))
    return folder


RULES = """
groups:
- name: g
  rules:
  - record: svc:requests:rate2m
    expr: sum by (svc) (rate(requests_total[2m]))
    labels: {federate: "yes"}
  - alert: Busy
    expr: sum(svc:requests:rate2m) > 10
"""


def test_a_tree_with_its_rules_in_several_forms_reads_them_once(tmp_path: Path, cli: Any) -> None:
    import textwrap

    rules = textwrap.dedent(RULES)
    cr = "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: x}\nspec:\n" + \
        textwrap.indent(rules.strip(), "  ") + "\n"
    tree = _tree(tmp_path / "t", {
        "prometheus/rules.yaml": ("prometheus-rules", rules),
        "operator/prometheusrule.yaml": ("prometheus-rule", cr),
        "helm/values.yaml": ("helm-values-prometheus", "serverFiles:\n  rules.yml:\n" +
                             textwrap.indent(rules.strip(), "    ") + "\n"),
    })
    res = cli("lint", "--format", "json", str(tree))
    assert (res.code, json.loads(res.out)) == (0, [])
    from istiogen.lint import loader

    (bundle,) = loader.load([tree])
    assert [r.name for r in bundle.records] == ["svc:requests:rate2m"]


def test_helm_values_are_read_by_content(tmp_path: Path, cli: Any) -> None:
    import textwrap

    rules = textwrap.dedent(RULES)
    tree = _tree(tmp_path / "t", {
        "helm/values.yaml": ("helm-values-prometheus", "serverFiles:\n  rules.yml:\n" +
                             textwrap.indent(rules.strip(), "    ") + "\n"),
        "sysdig/values.yaml": ("sysdig-helm-values", textwrap.dedent("""
            agent:
              prometheus:
                file: true
                yaml:
                  scrape_configs:
                  - job_name: federation
                    metrics_path: /federate
                    params:
                      match[]: ['{federate="no"}']
        """)),
    })
    res = cli("lint", "--format", "json", str(tree))
    got = [(d["rule"], d["file"].rsplit("/", 2)[-2:], d["line"]) for d in json.loads(res.out)]
    # the alert reads a record the federation (match[] {federate="no"}) does not select
    assert got == [("not-federated", ["helm", "values.yaml"], 10)]  # the alert's expr


DELIVERIES = """
name: {name}
istio: {{version: "1.22"}}
prometheus: {{delivery: {delivery}}}
rules:
  scopes: [service, service_version, workload, edge]
  version_labels: canonical
  kept_labels: [connection_security_policy]
sysdig: {{mode: promscrape-v2, helm_values: [agent, sysdig-deploy]}}
services:
  - {{name: reviews, namespace: shop}}
experiments:
  - {{name: canary, service: reviews, namespace: shop, baseline: v1, candidate: v2, expected_split: 0.2}}
"""


@pytest.mark.parametrize("delivery", ["operator", "helm-values", "projected"])
def test_other_deliveries_lint_clean(delivery: str, tmp_path: Path, cli: Any) -> None:
    from tests.conftest import render_text

    rendered = render_text(tmp_path, DELIVERIES.format(name=f"d-{delivery}", delivery=delivery))
    tree = materialize(rendered, tmp_path / "tree")
    res = cli("lint", "--format", "json", "--strict", str(tree))
    assert (res.code, json.loads(res.out)) == (0, [])
