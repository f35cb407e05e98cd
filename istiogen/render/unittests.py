"""``prometheus/rules.test.yaml``: promtool unit tests covering every recording rule and alert.

Two test cases run the rendered rule files over synthetic input series
(:mod:`istiogen.render.synthetic`): a *healthy* mesh, where every recording rule's
output is asserted and no alert may fire, and a *degraded* one, where every alert
must fire with exactly the expected labels and annotations.  Expected values come
from :mod:`istiogen.render.evaluator`; ``promtool test rules`` compares them with
what Prometheus computes.  Custom rules the evaluator cannot interpret are covered
by the profile's own ``test`` block, or reported as a warning.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from math import gcd
from typing import Any

from istiogen.problems import Problem
from istiogen.profile.resolve import Resolved
from istiogen.profile.types import duration_seconds, format_duration
from istiogen.render import promql as q
from istiogen.render import synthetic
from istiogen.render.artifact import Artifact
from istiogen.render.evaluator import NAME, EvalError, Evaluator, Labels, Series, Unsupported
from istiogen.render.model import Alert, SignalModel

PATH = "prometheus/rules.test.yaml"
# Expected values are compared after rounding to 2^-20: Prometheus extrapolates rates over windows
# that do not start on a sample, in floating point, so the last bit of a rate depends on the window.
# Rounding to a power of two is exact in both Prometheus and Python and absorbs that last bit.
ROUND_TO = "9.5367431640625e-07"
_ROUND_INVERSE = 1048576.0


def _rounded(v: float) -> float:
    """Prometheus's round(v, 2^-20): floor(v * 2^20 + 0.5) / 2^20."""
    return math.floor(v * _ROUND_INVERSE + 0.5) / _ROUND_INVERSE


def _secs(d: str) -> int:
    return max(1, round(duration_seconds(d)))


def _series_text(lab: Labels) -> str:
    name = dict(lab).get(NAME, "")
    rest = [(k, v) for k, v in lab if k != NAME]
    return name + "{" + ",".join(f"{k}={q.string(v)}" for k, v in rest) + "}"


def _num(v: float) -> str:
    return repr(float(v)) if v != int(v) or abs(v) >= 1e15 else str(int(v))


def _input(series: list[Series], step: int, steps: int) -> list[dict[str, str]]:
    out = []
    for s in series:
        if s.gauge is not None:
            values = f"{_num(s.gauge)}+0x{steps}"
        else:
            values = f"0+{_num(s.rate * step)}x{steps}"
        out.append({"series": _series_text(s.labels), "values": values})
    return out


_TEMPLATE = re.compile(r"\{\{\s*(\$labels\.(\w+)|printf \"%\.3g\" \$value|\$value)\s*\}\}")


def _expand(template: str, labels: dict[str, str], value: float) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(2) is not None:
            return labels.get(m.group(2), "<no value>")
        if m.group(1).startswith("printf"):
            return _go_g3(value)
        raise Unsupported("template")

    if "{{" in _TEMPLATE.sub("", template):
        raise Unsupported(f"template {template!r}")
    return _TEMPLATE.sub(sub, template)


def _go_g3(v: float) -> str:
    """Go's fmt %.3g (Python's %g, except for the spellings of infinities and NaN)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return format(v, ".3g")


class _Gen:
    def __init__(self, r: Resolved, model: SignalModel) -> None:
        self.r = r
        self.m = model
        self.warnings: list[Problem] = []
        window, interval = _secs(model.window), _secs(model.interval)
        self.step = gcd(window, interval)
        longest = max([_secs(a.for_) for a in model.alerts] or [0])
        eval_s = longest + window + 300
        unit = self.step * interval // gcd(self.step, interval)
        self.t = math.ceil(max(eval_s, 600) / unit) * unit
        self.steps = self.t // self.step
        self.skipped: set[str] = set()

    def warn(self, msg: str) -> None:
        self.warnings.append(Problem(self.r.source, None, None, "rules", msg, "unit-test-coverage", "warning"))

    def evaluate(self, series: list[Series]) -> tuple[Evaluator, dict[str, list[tuple[Labels, float]]]]:
        ev = Evaluator(series, float(self.t))
        by_record: dict[str, list[tuple[Labels, float]]] = {}
        for g in self.m.rule_groups:
            for rule in g.rules:
                if rule.record in self.skipped or any(u in self.skipped for u in rule.uses):
                    self.skipped.add(rule.record)
                    continue
                try:
                    stored = ev.record(rule.record, ev.eval(rule.expr), dict(rule.labels))
                except (Unsupported, EvalError) as e:
                    self.skipped.add(rule.record)
                    self.warn(f"recording rule {rule.record} is not covered by the generated unit tests ({e}); "
                              "add a test block to it")
                    continue
                by_record.setdefault(rule.record, []).extend(stored.items())
        return ev, by_record

    def alerts(self, ev: Evaluator, alerts: Sequence[Alert]) -> dict[str, list[dict[str, Any]]]:
        fired: dict[str, list[dict[str, Any]]] = {}
        for a in alerts:
            fired.setdefault(a.name, [])
            if a.name in self.skipped:
                continue
            try:
                result = ev.eval(a.expr)
                for lab, value in sorted(result.items()):
                    sample = {k: v for k, v in lab if k != NAME}
                    labels = dict(sample)
                    labels.update({k: _expand(v, sample, value) for k, v in a.labels})
                    ann = {k: _expand(v, sample, value) for k, v in a.annotations}
                    fired[a.name].append({"exp_labels": dict(sorted(labels.items())), "exp_annotations": ann})
            except (Unsupported, EvalError) as e:
                self.skipped.add(a.name)
                self.warn(f"alert {a.name} is not covered by the generated unit tests ({e})")
        return fired

    def build(self) -> dict[str, Any]:
        eval_time = format_duration(self.t)
        healthy = synthetic.dataset(self.r, degraded=False)
        ev, records = self.evaluate(healthy)
        expr_tests = []
        for name in dict.fromkeys(x.record for x in self.m.rules):
            if name in self.skipped:
                continue
            samples = sorted(records.get(name, []))
            if any(math.isnan(v) or math.isinf(v) for _, v in samples):
                self.warn(f"recording rule {name} yields NaN or Inf on the synthetic data; not asserted")
                continue
            expr_tests.append({
                "expr": f"round({name}, {ROUND_TO})",
                "eval_time": eval_time,
                "exp_samples": [{"labels": _series_text(tuple((k, x) for k, x in lab if k != NAME)),
                                 "value": _rounded(v)} for lab, v in samples],
            })
        quiet = self.alerts(ev, self.m.alerts)
        tests: list[dict[str, Any]] = [{
            "name": "healthy mesh: the value of every recording rule; no alert fires",
            "interval": format_duration(self.step),
            "input_series": _input(healthy, self.step, self.steps),
            "promql_expr_test": expr_tests,
            "alert_rule_test": [{"eval_time": eval_time, "alertname": n, "exp_alerts": quiet[n]} for n in quiet],
        }]
        if self.m.alerts:
            degraded = synthetic.dataset(self.r, degraded=True)
            ev2, _ = self.evaluate(degraded)
            fired = self.alerts(ev2, self.m.alerts)
            for name, alerts in fired.items():
                if not alerts and name not in self.skipped:
                    self.warn(f"alert {name} does not fire on the degraded synthetic data: its condition is untested")
            tests.append({
                "name": "degraded mesh: every alert fires, with its labels and annotations",
                "interval": format_duration(self.step),
                "input_series": _input(degraded, self.step, self.steps),
                "alert_rule_test": [{"eval_time": eval_time, "alertname": n, "exp_alerts": fired[n]} for n in fired],
            })
        for c in self.r.profile.rules.custom:
            if c.test is None:
                continue
            tests.append({
                "name": f"custom rule {c.record} (from the profile)",
                "interval": c.test.interval,
                "input_series": [dict(x) for x in c.test.input_series],
                "promql_expr_test": [{"expr": c.record, "eval_time": c.test.eval_time,
                                      "exp_samples": [dict(x) for x in c.test.exp_samples]}],
            })
        files = ["rules.yaml"] + (["alerts.yaml"] if self.m.alerts else [])
        return {"rule_files": files, "evaluation_interval": self.m.interval, "tests": tests}


def render(r: Resolved, model: SignalModel) -> tuple[Artifact, list[Problem]]:
    g = _Gen(r, model)
    data = g.build()
    n_rules = len({x.record for x in model.rules} - g.skipped)
    return (
        Artifact(PATH, "prometheus-rules-test", data, "yaml",
                 f"promtool unit tests: {n_rules} recorded series and {len(model.alerts)} alerts "
                 "(promtool test rules)"),
        g.warnings,
    )
