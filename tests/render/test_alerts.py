"""Alert defects found in review, each checked by promtool over hand-written series, and a property of every
generated alert: the branches of an ``or`` yield the same label set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from istiogen.pipeline import Rendered
from tests.conftest import materialize, render_text, run


def promtool_alert_test(promtool: str, tree: Path, input_series: list[dict[str, str]], eval_time: str,
                        expected: dict[str, list[dict[str, object]]], interval: str = "15s") -> str:
    """Run the rendered rules and alerts over ``input_series`` and compare the firing alerts with ``expected``
    (written by hand), through promtool; returns promtool's output, having asserted it passed."""
    doc = {
        "rule_files": ["rules.yaml", "alerts.yaml"],
        "evaluation_interval": interval,
        "tests": [{
            "interval": interval,
            "input_series": input_series,
            "alert_rule_test": [{"eval_time": eval_time, "alertname": name, "exp_alerts": alerts}
                                for name, alerts in expected.items()],
        }],
    }
    (tree / "prometheus" / "hand.test.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    out = run([promtool, "test", "rules", "hand.test.yaml"], cwd=tree / "prometheus", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def cp_alert(name: str, signal: str, service: str, description: str, summary: str) -> dict[str, object]:
    return {"exp_labels": {"severity": "warning", "signal": signal, "service": service, "namespace": "istio-system"},
            "exp_annotations": {"summary": summary, "description": description}}


def test_mixer_era_csr_and_injection_alerts_read_the_citadel_and_injector_jobs(tmp_path: Path, promtool: str) -> None:
    """The Mixer-era Helm chart (Istio 1.0–1.4) scrapes Citadel and the sidecar injector in jobs of their own
    (``citadel``, ``sidecar-injector``); their failures must reach the alerts.  The series are written the way
    that chart's Prometheus stores them: 6 failures a minute is 0.1/s."""
    r = render_text(tmp_path, """
        name: mixer
        istio: {version: "1.4"}
        rules: {window: 1m, interval: 15s}
        """)
    tree = materialize(r, tmp_path / "tree")
    series = [
        {"series": 'up{job="pilot",instance="10.0.0.2:15014"}', "values": "1+0x200"},
        {"series": 'pilot_xds_pushes{job="pilot",instance="10.0.0.2:15014",type="cds"}', "values": "0+15x200"},
        {"series": 'citadel_server_csr_sign_err_count{job="citadel",instance="10.0.0.3:15014"}',
         "values": "0+1.5x200"},
        {"series": 'sidecar_injection_success_total{job="sidecar-injector",instance="10.0.0.4:15014"}',
         "values": "0+15x200"},
        {"series": 'sidecar_injection_failure_total{job="sidecar-injector",instance="10.0.0.4:15014"}',
         "values": "0+1.5x200"},
    ]
    promtool_alert_test(promtool, tree, series, "30m", {
        "IstioCSRFailures": [cp_alert("IstioCSRFailures", "istiod.csr_failures.rate", "pilot",
                                      "Certificate signing requests fail at 0.1/s.",
                                      "istiod: certificate signing requests fail")],
        "IstioSidecarInjectionFailures": [cp_alert("IstioSidecarInjectionFailures", "istiod.injection_failures.rate",
                                                   "pilot", "Sidecar injection fails at 0.1/s.",
                                                   "istiod: sidecar injection fails")],
        "IstiodDown": [],
        "IstiodPushErrors": [],
    })


# --- every branch of an ``or`` yields the same label set ------------------------------------------------------
#
# An alert's identity is its label set.  ``absent(x) or x == 0`` fires with {} from one branch and with x's
# labels from the other: moving between them mid-incident resolves the alert and fires a new one.  The check
# below infers, from the PromQL alone (Prometheus's label rules, written here independently of istiogen), the
# label names each branch of every ``or`` yields, restricted to the labels that reach the result (under
# ``sum by (a)`` only ``a`` matters; on the matching side of ``on (a)`` only ``a``).  Series read by name are
# looked up among the rendered recording rules (their expression's labels plus the rule's own labels).

Labels = frozenset[str]


class Raw:
    """The labels of a raw metric: unknown, but the same for every selector of that metric."""

    def __init__(self, metric: str) -> None:
        self.metric = metric

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Raw) and other.metric == self.metric

    def __hash__(self) -> int:
        return hash(self.metric)

    def __repr__(self) -> str:
        return f"<labels of {self.metric}>"


Inferred = Labels | Raw | None  # None: a scalar


class LabelChecker:
    def __init__(self, rules: dict[str, list[tuple[str, dict[str, str]]]]) -> None:
        self.rules = rules  # record -> [(expr, labels)]
        self.cache: dict[str, Labels | Raw] = {}
        self.problems: list[str] = []
        self.where = ""

    def record(self, name: str) -> Labels | Raw:
        if name not in self.rules:
            return Raw(name)
        if name not in self.cache:
            outs = set()
            for expr, labels in self.rules[name]:
                outer, self.where = self.where, f"record {name}"
                got = self.expr(expr)
                self.where = outer
                assert not isinstance(got, Raw) and got is not None, (name, got)
                outs.add(got | frozenset(labels))
            assert len(outs) == 1, f"{name}: rules of one name with different labels {outs}"
            self.cache[name] = outs.pop()
        return self.cache[name]

    def expr(self, text: str) -> Inferred:
        import promql_parser

        return self.infer(promql_parser.parse(text), None)

    @staticmethod
    def project(x: Inferred, keep: Labels | None) -> Inferred:
        if keep is None or x is None:
            return x
        return keep if isinstance(x, Raw) else x & keep

    def infer(self, n: Any, keep: Labels | None) -> Inferred:
        kind = type(n).__name__
        a = n
        if kind in ("NumberLiteral", "StringLiteral"):
            return None
        if kind in ("ParenExpr", "UnaryExpr"):
            return self.infer(a.expr, keep)
        if kind == "VectorSelector":
            return self.record(str(a.name))
        if kind == "MatrixSelector":
            return self.infer(a.vector_selector, keep)
        if kind == "Call":
            f, args = a.func.name, list(a.args)
            if f in ("vector", "time"):
                return frozenset()
            if f == "absent":
                if type(args[0]).__name__ != "VectorSelector":
                    return frozenset()
                return frozenset(m.name for m in args[0].matchers.matchers
                                 if str(m.op).rsplit(".", 1)[-1] == "Equal" and m.name != "__name__")
            if f == "label_replace":
                dst, src = (str(x.val) for x in (args[1], args[3]))
                inner = self.infer(args[0], None if keep is None else keep | {src})
                return inner if isinstance(inner, Raw) or inner is None else inner | {dst}
            if f == "histogram_quantile":
                inner = self.infer(args[1], None if keep is None else keep | {"le"})
                return inner if isinstance(inner, Raw) or inner is None else inner - {"le"}
            vector_args = [x for x in args if type(x).__name__ not in ("NumberLiteral", "StringLiteral")]
            return self.infer(vector_args[0], keep)
        if kind == "AggregateExpr":
            mod = a.modifier
            if mod is None:
                self.infer(a.expr, frozenset())
                return frozenset()
            names = frozenset(mod.labels)
            if str(mod.type).endswith("By"):
                self.infer(a.expr, names if keep is None else names & keep)
                return names
            inner = self.infer(a.expr, None if keep is None else keep - names)
            return inner if isinstance(inner, Raw) or inner is None else inner - names
        if kind == "BinaryExpr":
            return self.binary(a, keep)
        raise AssertionError(f"unhandled node {kind}")

    def binary(self, n: Any, keep: Labels | None) -> Inferred:
        op = str(n.op)
        mod = n.modifier
        matching = getattr(mod, "matching", None) if mod is not None else None
        on = frozenset(matching.labels) if matching is not None and str(matching.type).endswith("Include") else None
        ignoring = frozenset(matching.labels) if matching is not None and on is None else frozenset()
        lhs_n, rhs_n = n.lhs, n.rhs
        if op in ("and", "unless"):
            self.infer(rhs_n, on)
            return self.infer(lhs_n, keep)
        if op == "or":
            lhs, rhs = self.infer(lhs_n, keep), self.infer(rhs_n, keep)
            pl, pr = self.project(lhs, keep), self.project(rhs, keep)
            if pl != pr:
                self.problems.append(f"{self.where}: `or` branches yield {pl} and {pr}")
            return lhs
        card = str(getattr(mod, "card", "OneToOne")).rsplit(".", 1)[-1] if mod is not None else "OneToOne"
        group = frozenset(getattr(mod, "group_labels", None) or []) if mod is not None else frozenset()
        if card == "OneToMany":
            lhs_n, rhs_n = rhs_n, lhs_n
        if card in ("ManyToOne", "OneToMany"):
            lhs = self.infer(lhs_n, keep)
            rhs = self.infer(rhs_n, (on or frozenset()) | group)
            if lhs is None or rhs is None:
                return lhs if rhs is None else rhs
            return lhs if isinstance(lhs, Raw) else lhs | group
        if on is not None:
            lhs = self.infer(lhs_n, on if keep is None else on & keep)
            rhs = self.infer(rhs_n, on)
        else:
            lhs = self.infer(lhs_n, keep)
            rhs = self.infer(rhs_n, keep)
        if lhs is None or rhs is None:  # vector and scalar: the vector's labels
            return lhs if rhs is None else rhs
        if isinstance(lhs, Raw):
            return lhs
        return lhs & on if on is not None else lhs - ignoring


def label_problems(files: dict[str, bytes]) -> list[str]:
    rules: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for g in yaml.safe_load(files["prometheus/rules.yaml"])["groups"]:
        for x in g["rules"]:
            rules.setdefault(x["record"], []).append((x["expr"], x.get("labels") or {}))
    checker = LabelChecker(rules)
    for record in rules:
        checker.record(record)
    for g in yaml.safe_load(files.get("prometheus/alerts.yaml", b"groups: []"))["groups"]:
        for x in g["rules"]:
            checker.where = f"alert {x['alert']}"
            checker.expr(x["expr"])
    return checker.problems


def test_the_label_checker_follows_prometheus_label_rules() -> None:
    """The checker itself, on expressions whose label sets are known (hand-derived from Prometheus's rules)."""
    rules = {"r:x": [("sum by (a, b) (rate(x[1m]))", {"fed": "1"})]}
    c = LabelChecker(rules)
    assert c.expr("r:x") == {"a", "b", "fed"}
    assert c.expr("sum by (a) (r:x) > on (a) r:x") == {"a"}
    assert c.expr("r:x > ignoring (b) r:x") == {"a", "fed"}
    assert c.expr("r:x * on (a) group_left (z) r:y") == {"a", "b", "fed", "z"}
    assert c.expr('label_replace(vector(1), "a", "v", "", "")') == {"a"}
    assert c.expr("histogram_quantile(0.9, sum by (a, le) (r:x))") == {"a"}
    assert c.expr('absent(r:x{a="1", b=~"2"})') == {"a"}
    assert c.problems == []
    c.expr("absent(r:x) or r:x == 0")
    c.expr("sum by (a) (r:x or sum by (a) (r:x))")  # only `a` reaches the result: fine
    c.expr("r:x > on (a) (sum by (a) (r:x) or sum by (a, b) (r:x))")  # only `a` is matched on: fine
    c.expr("r:x + on (a) group_left (b) (sum by (a) (r:x) or sum by (a, b) (r:x))")  # `b` is copied: not fine
    assert len(c.problems) == 2, c.problems


def generated_profiles() -> list[str]:
    """Profiles covering the options that change alert expressions: versions (Mixer, 1.5, istiod), per-service
    thresholds, disabled services, services with their own window or kept labels, experiments with one or
    several `for`, scopes, version labels, rule sets."""
    out = []
    versions = ["1.4", "1.5", "1.9", "1.22"]
    for i in range(8):
        version = versions[i % 4]
        services = []
        if i % 2:
            services.append('{name: web, namespace: prod, versions: [v1, v2], alerts: {error_ratio_5xx: 0.02, '
                            'latency_p99_ms: 300, min_request_rate: 1}}')
        if i % 3 == 0:
            services.append("{name: api, namespace: prod, alerts: {disabled: true}}")
        if i % 4 in (1, 2):
            services.append("{name: batch, namespace: jobs, window: 5m, kept_labels: [request_protocol]}")
        experiments = []
        if i % 3 != 2:
            experiments.append("{name: web-canary, service: web, namespace: prod, baseline: v1, candidate: v2, "
                               "expected_split: 0.25}")
            if not i % 2:  # an experiment's service is declared, with the versions it compares
                services.append("{name: web, namespace: prod, versions: [v1, v2]}")
        if i % 4 == 1:
            experiments.append("{name: pay-ab, service: pay, namespace: prod, baseline: a, candidate: b, "
                               "for: 3m, thresholds: {error_ratio_delta: null}}")
            services.append("{name: pay, namespace: prod, versions: [a, b]}")
        scopes = "[service, service_version, workload, edge]" if i % 2 == 0 else "[service, service_version]"
        canonical = ', version_labels: canonical' if version == "1.22" and i % 8 == 3 else ""
        sets = "" if i % 6 != 5 else ", sets: [requests, latency, control_plane]"
        out.append(f"""
            name: gen-{i}
            istio: {{version: "{version}"}}
            rules: {{window: 2m, scopes: {scopes}, quantiles: [0.99]{canonical}{sets}}}
            services: [{", ".join(services)}]
            experiments: [{", ".join(experiments)}]
            """)
    return out


def test_every_or_in_every_alert_yields_one_label_set(tmp_path: Path, examples_rendered: dict[str, Rendered]) -> None:
    problems = []
    for name, r in examples_rendered.items():
        problems += [f"{name}: {p}" for p in label_problems(r.files)]
    for i, text in enumerate(generated_profiles()):
        r = render_text(tmp_path / str(i), text)
        problems += [f"gen-{i}: {p}" for p in label_problems(r.files)]
    assert problems == []


def test_the_experiment_5xx_factor_is_one_for_two_healthy_versions_and_finite_for_a_clean_baseline(
        tmp_path: Path, promtool: str) -> None:
    """candidate/baseline of the 5xx ratio, each raised to the floor (0.001 by default): both clean read 1 (was
    0/0 = NaN); a candidate at 1% against a clean baseline reads 0.01 / 0.001 = 10 (was +Inf)."""
    r = render_text(tmp_path, """
        name: exp
        istio: {version: "1.22"}
        rules: {window: 1m, interval: 15s}
        services:
          - {name: web, namespace: prod, versions: [v1, v2]}
        experiments:
          - {name: web-canary, service: web, namespace: prod, baseline: v1, candidate: v2}
        """)
    tree = materialize(r, tmp_path / "tree")

    def requests(version: str, code: str, per_15s: float) -> dict[str, str]:
        return {"series": 'istio_requests_total{reporter="destination",destination_service_namespace="prod",'
                          'destination_service_name="web",destination_workload_namespace="prod",'
                          f'destination_workload="web-{version}",destination_app="web",destination_version="{version}",'
                          f'response_code="{code}"}}', "values": f"0+{per_15s}x100"}

    factor = "round(experiment:error_ratio_5xx:candidate_over_baseline, 0.001)"
    labels = '{experiment="web-canary",sysdig="true"}'
    doc = {"rule_files": ["rules.yaml"], "evaluation_interval": "15s", "tests": [
        {"interval": "15s", "input_series": [requests("v1", "200", 15), requests("v2", "200", 15)],
         "promql_expr_test": [{"expr": factor, "eval_time": "10m", "exp_samples": [{"labels": labels, "value": 1}]}]},
        {"interval": "15s",
         "input_series": [requests("v1", "200", 15), requests("v2", "200", 14.85), requests("v2", "503", 0.15)],
         "promql_expr_test": [{"expr": factor, "eval_time": "10m", "exp_samples": [{"labels": labels, "value": 10}]}]},
    ]}
    (tree / "prometheus" / "hand.test.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    out = run([promtool, "test", "rules", "hand.test.yaml"], cwd=tree / "prometheus", check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_many_per_service_thresholds_render(tmp_path: Path) -> None:
    """Per-service thresholds are inlined in the alert expressions, which grow with them: 300 overrides give
    expressions past the bound on a profile's own PromQL (16,384 characters), and they are still rendered
    (the bound is on input; Prometheus has none)."""
    services = "\n".join(f"  - {{name: s{i}, namespace: shop, alerts: {{error_ratio_5xx: 0.02}}}}" for i in range(300))
    r = render_text(tmp_path, f'name: many\nistio: {{version: "1.22"}}\nservices:\n{services}\n')
    (alert,) = [a for a in r.model.alerts if a.name == "IstioServiceHighErrorRatio5xx"]
    assert len(alert.expr) > 16_384
    assert alert.expr.count('"s299"') == 1
