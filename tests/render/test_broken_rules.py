"""Deliberately broken rules make the shipped unit tests fail under the real promtool.

The expected values of ``rules.test.yaml`` follow from the synthetic input by each record's and
alert's definition, not from the generated expressions; so an expression that no longer does what
its definition says (a wrong regex, grouping, window, selector or comparison) must fail
``promtool test rules``, while the tree as rendered passes.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from istiogen.pipeline import Rendered
from istiogen.profile.types import duration_seconds
from tests.conftest import materialize, run

PROFILES = ("istio-1-5-documented", "operator", "staging")  # Istio 1.5; 1.24; 1.24 with a 2m window (fleet)
EXPERIMENTS = ("bookinfo",)  # an experiment, for the mutations of experiment rules


def _requests(r: Rendered) -> str:
    return f"destination:istio_requests:rate{r.model.window}"


def _requests_reader(r: Rendered) -> str:
    """The rule reading the destination-reported requests: the base record the request records sum, if any."""
    base = f"destination:istio_requests_by_code:rate{r.model.window}"
    return base if any(x.record == base for x in r.model.rules) else _requests(r)


def _label_replace_regex(expr: str, r: Rendered) -> str:
    return expr.replace('"([0-9]).*"', '"([0-9][0-9]).*"')  # response_class "20xx" instead of "2xx"


def _by_label(expr: str, r: Rendered) -> str:
    return expr.replace("destination_service_name, ", "")  # one output label fewer, in both sums


def _rate_window(expr: str, r: Rendered) -> str:
    w = round(duration_seconds(r.model.window))
    return expr.replace(f"[{r.model.window}]", f"[{3 * w}s]")


def _selector(expr: str, r: Rendered) -> str:
    return expr.replace('reporter="destination"', 'reporter="source"')


def _threshold_comparison(expr: str, r: Rendered) -> str:
    return expr.replace(") > on (", ") < on (", 1)


def _client(r: Rendered) -> str:
    return f"client:istio_requests:rate{r.model.window}"


def _client_reporter(expr: str, r: Rendered) -> str:
    return expr.replace('reporter="source"', 'reporter="destination"')  # the destination's view, not the callers'


def _gateway_included(expr: str, r: Rendered) -> str:
    gw = r.resolved.profile.istio.ingress_gateway.workload
    return expr.replace(f'source_workload!="{gw}"', 'source_workload!=""')  # every caller, the gateway too


def _label_set_kept(expr: str, r: Rendered) -> str:
    return expr.replace(" or sum(", " or (")  # up == 0 keeps the record's federation label


def _no_floor(expr: str, r: Rendered) -> str:
    return expr.replace(' or experiment:threshold{threshold="error_ratio_floor"}', "")


Mutation = tuple[str, Callable[[Rendered], str], Callable[[str, Rendered], str]]
# (what is broken, the file, the rule or alert, the mutation)
MUTATIONS: dict[str, Mutation] = {
    "label_replace regex": ("rules.yaml", _requests, _label_replace_regex),
    "missing by label": ("rules.yaml", _requests, _by_label),
    "rate window": ("rules.yaml", _requests_reader, _rate_window),
    "reporter selector": ("rules.yaml", _requests_reader, _selector),
    "alert threshold comparison": ("alerts.yaml", lambda r: "IstioServiceHighErrorRatio5xx", _threshold_comparison),
    "client reporter selector": ("rules.yaml", _client, _client_reporter),
    "client view with the gateway": ("rules.yaml", _client, _gateway_included),
    "IstiodDown label set": ("alerts.yaml", lambda r: "IstiodDown", _label_set_kept),
}
EXPERIMENT_MUTATIONS: dict[str, Mutation] = {
    "experiment 5xx factor without its floor": (
        "rules.yaml", lambda r: "experiment:error_ratio_5xx:candidate_over_baseline", _no_floor),
}
CASES = [(p, what) for p in PROFILES for what in MUTATIONS] + \
    [(p, what) for p in EXPERIMENTS for what in EXPERIMENT_MUTATIONS]


def _mutate(tree: Path, file: str, name: str, fn: Callable[[str], str]) -> None:
    path = tree / "prometheus" / file
    doc = yaml.safe_load(path.read_text())
    found = 0
    for g in doc["groups"]:
        for rule in g["rules"]:
            if rule.get("record", rule.get("alert")) == name:
                broken = fn(rule["expr"])
                assert broken != rule["expr"], (name, rule["expr"])
                rule["expr"] = broken
                found += 1
    assert found, name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _promtool(promtool: str, tree: Path) -> tuple[int, str]:
    out = run([promtool, "test", "rules", "rules.test.yaml"], cwd=tree / "prometheus", check=False)
    return out.returncode, out.stdout + out.stderr


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory, promtool: str,
             examples_rendered: dict[str, Rendered]) -> dict[tuple[str, str], tuple[str, int, str]]:
    """For each profile and mutation, promtool on the mutated tree (two at a time)."""
    base = tmp_path_factory.mktemp("broken")
    todo: dict[tuple[str, str], tuple[str, Path]] = {}
    for i, (profile, what) in enumerate(CASES):
        r = examples_rendered[profile]
        file, target, fn = {**MUTATIONS, **EXPERIMENT_MUTATIONS}[what]
        tree = materialize(r, base / profile / str(i))
        name = target(r)
        _mutate(tree, file, name, lambda e, fn=fn, r=r: fn(e, r))  # type: ignore[misc]
        todo[(profile, what)] = (name, tree)
    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(todo, pool.map(lambda t: _promtool(promtool, t[1]), todo.values()), strict=True))
    return {k: (todo[k][0], *results[k]) for k in todo}


@pytest.mark.parametrize("profile", PROFILES + EXPERIMENTS)
def test_the_rendered_tree_passes(shipped_outcomes: dict[str, tuple[int, str]], profile: str) -> None:
    code, out = shipped_outcomes[profile]
    assert code == 0 and "SUCCESS" in out, out[-3000:]


@pytest.mark.parametrize(("profile", "what"), CASES)
def test_a_broken_rule_fails_the_shipped_unit_tests(outcomes: dict[tuple[str, str], tuple[str, int, str]],
                                                     profile: str, what: str) -> None:
    name, code, out = outcomes[(profile, what)]
    assert code != 0 and "FAILED" in out, out[-3000:]
    assert name in out  # the broken rule itself is what fails
