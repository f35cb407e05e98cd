"""The alerts in Sysdig Monitor's form (sysdig/alerts.json) and the apply.sh step that posts them.

The JSON shape is checked against a JSON Schema written from the Sysdig Terraform provider's
Go types for ``POST /api/v2/alerts`` (tests/fixtures/sysdig/alert-v2-prometheus.schema.json says
where each field comes from).  The apply step runs for real against an HTTP stand-in on
127.0.0.1 that records what it is sent; kubectl is a stub that records its calls, since the
step under test is the Sysdig one.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import promql_parser
import pytest
import yaml

from istiogen.pipeline import Rendered
from tests.conftest import REPO, materialize, render_text
from tests.recorder import Recorder

SCHEMA = json.loads((REPO / "tests/fixtures/sysdig/alert-v2-prometheus.schema.json").read_text())
FOR_SECONDS = {"5m": 300, "10m": 600, "15m": 900, "1m": 60}  # Prometheus durations, by definition
SEVERITY = {"critical": "high", "warning": "medium"}

OPERATOR = """
name: ops
istio: {version: "1.22"}
prometheus: {delivery: operator}
sysdig: {mode: promscrape-v2}
services:
  - {name: reviews, namespace: shop, versions: [v1, v2]}
experiments:
  - {name: reviews-canary, service: reviews, namespace: shop, baseline: v1, candidate: v2}
"""


def sysdig_alerts(r: Rendered) -> list[dict[str, Any]]:
    return json.loads(r.files["sysdig/alerts.json"])  # type: ignore[no-any-return]


def selectors(expr: str) -> list[Any]:
    found: list[Any] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def matchers(sel: Any) -> set[tuple[str, str, str]]:
    ops = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}
    return {(m.name, ops.get(str(m.op), str(m.op)), m.value) for m in sel.matchers.matchers}


def federated_names(r: Rendered) -> set[str]:
    """Metric names that reach Sysdig: those the rendered federation job asks /federate for (its
    match[]), or, with remote write instead, the records carrying the label it keeps."""
    patch = yaml.safe_load(r.files["sysdig/sysdig-agent-patch.yaml"])
    jobs = [j for j in yaml.safe_load(patch["data"]["prometheus.yaml"])["scrape_configs"]
            if j.get("metrics_path") == "/federate"]
    if jobs:
        return {s.name for m in jobs[0]["params"]["match[]"] for s in selectors(m)}
    assert r.resolved.profile.remote_write is not None
    rules = [x for g in yaml.safe_load(r.files["prometheus/rules.yaml"])["groups"] for x in g["rules"]]
    return {x["record"] for x in rules if x.get("labels", {}).get("sysdig") == "true"}


def everything(examples: dict[str, Rendered], default: Rendered) -> dict[str, Rendered]:
    return {"default": default, **examples}


# --- the artifact --------------------------------------------------------------------------------


def test_sysdig_alerts_have_the_shape_of_the_alerts_api(examples_rendered: dict[str, Rendered],
                                                        default_rendered: Rendered) -> None:
    for name, r in everything(examples_rendered, default_rendered).items():
        doc = sysdig_alerts(r)
        assert doc, name
        jsonschema.validate(doc, SCHEMA)
        kinds = {a["path"]: a["kind"] for a in json.loads(r.files["index.json"])["artifacts"]}
        assert kinds["sysdig/alerts.json"] == "sysdig-alerts"
        names = [a["alert"]["name"] for a in doc]
        assert len(set(names)) == len(names), name  # Sysdig keeps alert names unique
        assert all(n.endswith(f"({r.name})") for n in names), name  # profiles sharing an account do not clash


def test_the_schema_rejects_what_the_api_does_not_document() -> None:
    good = {"alert": {"name": "x", "type": "PROMETHEUS", "severity": "high", "enabled": True,
                      "notificationChannelConfigList": [], "links": [], "config": {"query": "up", "duration": 60}}}
    jsonschema.validate([good], SCHEMA)
    for bad in ({**good["alert"], "severity": "critical"}, {**good["alert"], "for": "5m"},
                {**good["alert"], "config": {"query": "up", "duration": "5m"}}, {**good["alert"], "type": "MANUAL"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate([{"alert": bad}], SCHEMA)


def test_one_sysdig_alert_per_prometheus_alert(examples_rendered: dict[str, Rendered],
                                               default_rendered: Rendered) -> None:
    """Read from the rendered alerts.yaml: same alerts, same for (in seconds), severity mapped."""
    for name, r in everything(examples_rendered, default_rendered).items():
        prom = [a for g in yaml.safe_load(r.files["prometheus/alerts.yaml"])["groups"] for a in g["rules"]]
        sysdig = sysdig_alerts(r)
        assert len(sysdig) == len(prom), name
        for p, s in zip(prom, sysdig, strict=True):
            a = s["alert"]
            assert a["labels"]["alert"] == p["alert"]
            assert a["config"]["duration"] == FOR_SECONDS[p["for"]], (name, p["alert"])
            assert a["severity"] == SEVERITY[p["labels"]["severity"]]
            assert a["labels"]["signal"] == p["labels"]["signal"]
            assert "{{" not in json.dumps(a["labels"]) + a["description"]  # no Prometheus templates


def test_every_sysdig_query_parses_and_reads_only_federated_series(examples_rendered: dict[str, Rendered],
                                                                   default_rendered: Rendered) -> None:
    """Every selector names a record of the rendered match[] and carries the federation label.

    This proves consistency with the rendered federation job; that the series are really there
    in a Prometheus federating the Istio one is tests/e2e/test_alert_destinations.py."""
    for name, r in everything(examples_rendered, default_rendered).items():
        fed = federated_names(r)
        for s in sysdig_alerts(r):
            query = s["alert"]["config"]["query"]
            sels = selectors(query)
            assert sels, query
            for sel in sels:
                assert sel.name in fed, (name, sel.name)
                assert ("sysdig", "=", "true") in matchers(sel), (name, query)
            assert len({sel.name for sel in sels}) <= 10  # Sysdig's PromQL API: 10 metric names per query


def test_the_scope_is_added_to_every_series(tmp_path: Path) -> None:
    r = render_text(tmp_path, OPERATOR + "alerts: {sysdig: {scope: {kube_cluster_name: prod-eu}}}\n")
    doc = sysdig_alerts(r)
    assert any("experiment" in s["alert"]["name"].lower() for s in doc)
    for s in doc:
        for sel in selectors(s["alert"]["config"]["query"]):
            assert {("sysdig", "=", "true"), ("kube_cluster_name", "=", "prod-eu")} <= matchers(sel)


def test_the_sysdig_form_can_be_turned_off(tmp_path: Path) -> None:
    r = render_text(tmp_path, OPERATOR + "alerts: {sysdig: {enabled: false}}\n")
    assert "sysdig/alerts.json" not in r.files
    assert "SYSDIG" not in r.files["apply.sh"].decode()


def test_an_alert_reading_raw_series_is_left_out(tmp_path: Path) -> None:
    from dataclasses import replace

    from istiogen.render import sysdig_alerts as sa
    from istiogen.render.model import Alert, Group

    r = render_text(tmp_path, OPERATOR)
    raw = Alert("RawRequests", "sum(rate(istio_requests_total[1m])) > 0", "5m", (("severity", "warning"),),
                (), "istio.alerts.raw", "requests.rate", ("istio_requests_total",))
    model = replace(r.model, alert_groups=[*r.model.alert_groups, Group("istio.alerts.raw", "15s", (), (raw,))])
    assert set(sa.omitted(model)) == {"RawRequests"}
    assert "RawRequests" not in {b["alert"]["labels"]["alert"] for b in sa.bodies(r.resolved, model)}


# --- apply.sh ----------------------------------------------------------------------------------


@pytest.fixture
def applied(tmp_path: Path) -> tuple[Path, Path, Rendered]:
    """A rendered operator tree, and a PATH whose kubectl records its arguments and succeeds."""
    r = render_text(tmp_path, OPERATOR)
    tree = materialize(r, tmp_path / "tree")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(f'#!/bin/sh\necho "$*" >> {tmp_path / "kubectl.log"}\n')
    kubectl.chmod(0o755)
    return tree, tmp_path / "kubectl.log", r


def apply(tree: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SYSDIG_")}
    return subprocess.run(["sh", str(tree / "apply.sh"), *args], capture_output=True, text=True, timeout=120,
                          env={**base, **env}, check=False)


def test_apply_posts_every_alert_with_the_token_from_the_environment(applied: tuple[Path, Path, Rendered]) -> None:
    tree, log, r = applied
    want = sysdig_alerts(r)
    with Recorder() as sysdig:
        path = str(log.parent / "bin") + os.pathsep + os.environ["PATH"]
        out = apply(tree, env={"PATH": path, "SYSDIG_API_TOKEN": "t0k3n", "SYSDIG_URL": sysdig.url + "/"})
        assert out.returncode == 0, out.stderr
        got = sysdig.posted()
    assert [x.path for x in got] == ["/api/v2/alerts"] * len(want)
    assert [json.loads(x.body) for x in got] == want
    assert {x.headers["Authorization"] for x in got} == {"Bearer t0k3n"}
    assert {x.headers["Content-Type"] for x in got} == {"application/json"}
    assert out.stdout.count("created in Sysdig Monitor:") == len(want)
    assert "t0k3n" not in out.stdout + out.stderr
    assert "patch prometheus" in log.read_text()


def test_apply_dry_run_prints_the_alerts_and_sends_nothing(applied: tuple[Path, Path, Rendered]) -> None:
    tree, log, r = applied
    with Recorder() as sysdig:
        path = str(log.parent / "bin") + os.pathsep + os.environ["PATH"]
        out = apply(tree, "--dry-run", env={"PATH": path})  # no token needed to look
        assert out.returncode == 0, out.stderr
        assert sysdig.posted() == []
    printed = [line for line in out.stdout.splitlines() if line.startswith("POST $SYSDIG_URL/api/v2/alerts ")]
    assert [json.loads(line.split(" ", 2)[2]) for line in printed] == sysdig_alerts(r)


@pytest.mark.parametrize("env", [{}, {"SYSDIG_URL": "https://eu1.app.sysdig.com"}, {"SYSDIG_API_TOKEN": "x"}])
def test_apply_without_the_sysdig_settings_fails_before_touching_the_cluster(
        applied: tuple[Path, Path, Rendered], env: dict[str, str]) -> None:
    tree, log, _ = applied
    out = apply(tree, env={"PATH": str(log.parent / "bin") + os.pathsep + os.environ["PATH"], **env})
    assert out.returncode == 1
    assert "set SYSDIG_API_TOKEN" in out.stderr and "SYSDIG_URL" in out.stderr
    assert not log.exists()  # kubectl was never run


def test_apply_reports_an_alert_sysdig_refuses(applied: tuple[Path, Path, Rendered]) -> None:
    tree, log, r = applied
    with Recorder(status=409) as sysdig:
        path = str(log.parent / "bin") + os.pathsep + os.environ["PATH"]
        out = apply(tree, env={"PATH": path, "SYSDIG_API_TOKEN": "t", "SYSDIG_URL": sysdig.url})
        assert len(sysdig.posted()) == len(sysdig_alerts(r))  # every alert is tried
    assert out.returncode != 0
    assert "Sysdig Monitor refused" in out.stderr and "HTTP 409" in out.stderr


def test_the_federation_keeps_the_namespace_experiment_info_carries(tmp_path: Path) -> None:
    """The agent drops the per-pod labels of federated series, but experiment:info's ``namespace``
    is the experiment's, which the experiment alerts copy (group_left): it must reach Sysdig."""
    def labeldrop(text: str) -> str:
        r = render_text(tmp_path, text, name=f"p{len(text)}.yaml")
        patch = yaml.safe_load(r.files["sysdig/sysdig-agent-patch.yaml"])
        job = next(j for j in yaml.safe_load(patch["data"]["prometheus.yaml"])["scrape_configs"]
                   if j.get("metrics_path") == "/federate")
        (relabel,) = job["metric_relabel_configs"]
        assert relabel["action"] == "labeldrop"
        return str(relabel["regex"])

    plain = 'name: plain\nistio: {version: "1.22"}\nsysdig: {mode: promscrape-v2}\n'
    assert labeldrop(plain).split("|") == ["namespace", "pod", "node", "pod_template_hash"]
    exp = plain + ("services:\n  - {name: reviews, namespace: shop, versions: [v1, v2]}\n"
                   "experiments:\n  - {name: c, service: reviews, namespace: shop, baseline: v1, candidate: v2}\n")
    assert labeldrop(exp).split("|") == ["pod", "node", "pod_template_hash"]
