"""``prometheus/rules.test.yaml``: promtool unit tests covering every recording rule and alert.

Two test cases run the rendered rule files over synthetic input series
(:mod:`istiogen.render.synthetic`): a *healthy* mesh, where every recording rule's
output is asserted and no alert may fire, and a *degraded* one, where every alert
must fire with exactly the expected labels and annotations.

Expected values follow from the synthetic input by each record's and alert's
definition (:mod:`istiogen.render.definitions`, computed by
:mod:`istiogen.render.expected`), never from the generated expressions: ``promtool
test rules`` then checks that the expressions do what their definitions say.  A
generated record or alert without a definition fails the render
(:class:`~istiogen.render.definitions.MissingDefinition`).  Custom rules
(``rules.custom``) have no definition: the profile's own ``test`` block covers them,
or a warning says they are not covered; so does a rule whose expression
``rules.patches`` replaces, and every rule or alert reading it.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from math import gcd
from typing import TYPE_CHECKING, Any

from istiogen.problems import Problem
from istiogen.profile.resolve import Resolved
from istiogen.profile.types import format_duration
from istiogen.registry import Artifact
from istiogen.render import definitions, expected, synthetic
from istiogen.render import promql as q
from istiogen.render.model import SignalModel
from istiogen.render.synthetic import NAME, Labels, Series, secs

if TYPE_CHECKING:
    from istiogen.render.context import Context

PATH = "prometheus/rules.test.yaml"
# Expected values are compared after rounding to 2^-20: Prometheus extrapolates rates over windows
# that do not start on a sample, in floating point, so the last bit of a rate depends on the window.
# Rounding to a power of two is exact in both Prometheus and Python and absorbs that last bit.
ROUND_TO = "9.5367431640625e-07"
_ROUND_INVERSE = 1048576.0


def _rounded(v: float) -> float:
    """Prometheus's round(v, 2^-20): floor(v * 2^20 + 0.5) / 2^20."""
    return math.floor(v * _ROUND_INVERSE + 0.5) / _ROUND_INVERSE


@lru_cache(maxsize=65536)
def _pair(k: str, v: str) -> str:
    """``k="v"`` (a synthetic mesh repeats few label pairs over many series: each is quoted once)."""
    return f"{k}={q.string(v)}"


def _series_text(lab: Labels) -> str:
    name = ""
    rest = []
    for k, v in lab:
        if k == NAME:
            name = v
        else:
            rest.append(_pair(k, v))
    return name + "{" + ",".join(rest) + "}"


def _num(v: float) -> str:
    return repr(float(v)) if v != int(v) or abs(v) >= 1e15 else str(int(v))


def _input(series: list[Series], step: int, steps: int) -> list[dict[str, str]]:
    out = []
    for s in series:
        if s.gauge is not None:
            values = f"{_num(s.gauge)}+0x{steps}"
        elif s.early is not None and s.since:
            k = steps - s.since // step  # the sample where the rate changes
            values = (f"0+{_num(s.early * step)}x{k} "
                      f"{_num(s.early * step * k + s.rate * step)}+{_num(s.rate * step)}x{steps - k - 1}")
        else:
            values = f"0+{_num(s.rate * step)}x{steps}"
        out.append({"series": _series_text(s.labels), "values": values})
    return out


class _Uncovered(Exception):
    pass


_TEMPLATE = re.compile(r"\{\{\s*(\$labels\.(\w+)|printf \"%\.3g\" \$value|\$value)\s*\}\}")


def _expand(template: str, labels: dict[str, str], value: float) -> str:
    """Prometheus's expansion of the templates istiogen writes ($labels.x, printf "%.3g" $value)."""
    def sub(m: re.Match[str]) -> str:
        if m.group(2) is not None:
            return labels.get(m.group(2), "<no value>")
        if m.group(1).startswith("printf"):
            return _go_g3(value)
        raise _Uncovered("template {{ $value }}")

    if "{{" in _TEMPLATE.sub("", template):
        raise _Uncovered(f"template {template!r}")
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
        self.defs = definitions.Definitions(definitions.records(r), definitions.alerts(r))
        self.warnings: list[Problem] = []
        windows = [secs(model.window), *(secs(s.window) for s in r.profile.services if s.window)]
        interval = secs(model.interval)
        self.step = gcd(*windows, interval)
        longest = max([secs(a.for_) for a in model.alerts] or [0])
        # every alert has had its window filled and its `for` elapsed, with two evaluations to spare; the
        # healthy scenario's rate change (one window and one interval back) is in the past
        eval_s = longest + max(windows) + 2 * interval
        unit = self.step * interval // gcd(self.step, interval)
        self.t = math.ceil(eval_s / unit) * unit
        self.steps = self.t // self.step
        self.skipped = self._uncovered()

    def warn(self, msg: str) -> None:
        self.warnings.append(Problem(self.r.source, None, None, "rules", msg, "unit-test-coverage", "warning"))

    def _uncovered(self) -> set[str]:
        """Custom rules and rules whose expression the profile replaces have no definition; neither has
        anything reading them.  Every other record and alert must have one."""
        p = self.r.profile
        custom = {c.record for c in p.rules.custom}
        replaced = {x.name for x in p.rules.patches if x.expr is not None}
        skipped: set[str] = set()
        for rule in self.m.rules:
            if rule.record in custom:
                skipped.add(rule.record)
                if not any(c.test for c in p.rules.custom if c.record == rule.record):
                    self.warn(f"custom rule {rule.record} is not covered by the generated unit tests "
                              "(it has no definition); add a test block to it")
            elif rule.record in replaced or any(u in skipped for u in rule.uses):
                skipped.add(rule.record)
                why = "rules.patches replaces its expression" if rule.record in replaced else \
                    f"it reads {sorted(set(rule.uses) & skipped)[0]}"
                self.warn(f"recording rule {rule.record} is not covered by the generated unit tests ({why})")
            else:
                self.defs.record(rule.record)  # fails loudly without a definition
        for a in self.m.alerts:
            if a.name in replaced or any(u in skipped for u in a.uses):
                if a.name not in skipped:
                    skipped.add(a.name)
                    self.warn(f"alert {a.name} is not covered by the generated unit tests (rules.patches replaces "
                              "its expression, or it reads a rule that has no definition)")
            else:
                self.defs.alert(a.name)
        return skipped

    def alerts(self, series: list[Series]) -> dict[str, list[dict[str, Any]]]:
        fired: dict[str, list[dict[str, Any]]] = {}
        for a in self.m.alerts:
            if a.name in self.skipped or a.name in fired:
                continue
            fired[a.name] = []
            try:
                for f in expected.alert(self.defs.alert(a.name), series):
                    ann = {k: _expand(v, f.series_labels, f.value) for k, v in a.annotations}
                    fired[a.name].append({"exp_labels": f.labels, "exp_annotations": ann})
            except _Uncovered as e:
                del fired[a.name]
                self.skipped.add(a.name)
                self.warn(f"alert {a.name} is not covered by the generated unit tests ({e})")
        return fired

    def build(self) -> dict[str, Any]:
        eval_time = format_duration(self.t)
        healthy = synthetic.dataset(self.r, degraded=False)
        expr_tests = []
        for name in dict.fromkeys(x.record for x in self.m.rules):
            if name in self.skipped:
                continue
            samples = expected.record(self.defs.record(name), healthy)
            if any(math.isnan(x.value) or math.isinf(x.value) for x in samples):
                self.warn(f"recording rule {name} yields NaN or Inf on the synthetic data; not asserted")
                continue
            expr_tests.append({
                "expr": f"round({name}, {ROUND_TO})",
                "eval_time": eval_time,
                "exp_samples": [{"labels": _series_text(x.labels), "value": _rounded(x.value)} for x in samples],
            })
        quiet = self.alerts(healthy)
        tests: list[dict[str, Any]] = [{
            "name": "healthy mesh: the value of every recording rule; no alert fires",
            "interval": format_duration(self.step),
            "input_series": _input(healthy, self.step, self.steps),
            "promql_expr_test": expr_tests,
            "alert_rule_test": [{"eval_time": eval_time, "alertname": n, "exp_alerts": quiet[n]} for n in quiet],
        }]
        if self.m.alerts:
            degraded = synthetic.dataset(self.r, degraded=True)
            fired = self.alerts(degraded)
            for name, alerts in fired.items():
                if not alerts:
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


def artifacts(ctx: Context) -> list[Artifact]:
    art, warnings = render(ctx.r, ctx.model)
    ctx.warnings += warnings
    return [art]
