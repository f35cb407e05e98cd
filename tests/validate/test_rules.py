"""The two validation stages read one way: one module per rule, each with a stable unique ID and a docstring;
every problem a rule reports carries that module's ID; the render stage and the pipeline raise no profile error.

Stage 1 (:mod:`istiogen.validate`) runs over the loaded profile, stage 2 (:mod:`istiogen.verify`) over the
rendered tree.  The runtime check runs every invalid profile of the bad-input corpus (tests/corpus) through
both stages, rule by rule.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import pytest

from istiogen.validate import rules as stage1
from istiogen.verify import rules as stage2

PKG = Path(__file__).resolve().parents[2] / "istiogen"
KEBAB = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


def _modules_on_disk(package: ModuleType) -> set[str]:
    folder = Path(str(package.__file__)).parent
    return {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}


@pytest.mark.parametrize("package", [stage1, stage2], ids=["validate", "verify"])
def test_every_rule_module_is_listed_with_an_id_a_docstring_and_a_check(package: ModuleType) -> None:
    listed = {m.__name__.rpartition(".")[2] for m in package.RULES}
    assert listed == _modules_on_disk(package), "rules/__init__.py must list every module of rules/"
    for m in package.RULES:
        assert isinstance(m.ID, str) and KEBAB.fullmatch(m.ID), m.__name__
        assert (m.__doc__ or "").strip(), f"{m.__name__}: say what the rule checks and why"
        assert callable(m.check), m.__name__
    assert tuple(m.ID for m in package.RULES) == package.IDS


def test_rule_ids_are_unique_across_both_stages() -> None:
    ids = [m.ID for m in (*stage1.RULES, *stage2.RULES)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def _corpus_profiles(tmp_path: Path) -> list[Path]:
    """Every case of the bad-input corpus, written with the files it references."""
    from tests.corpus.test_cases import EXPECTED, case_bytes

    out = []
    for name, spec in EXPECTED.items():
        work = tmp_path / name
        work.mkdir()
        case = work / f"{name}.yaml"
        case.write_bytes(case_bytes(name))
        for rel, text in (spec.get("files") or {}).items():
            extra = work / rel
            extra.parent.mkdir(parents=True, exist_ok=True)
            extra.write_text(text, encoding="utf-8")
        out.append(case)
    return out


def test_every_problem_a_rule_reports_carries_its_module_id(tmp_path: Path) -> None:
    from istiogen.pipeline import render
    from istiogen.profile.loader import read_profile
    from istiogen.profile.resolve import resolve
    from istiogen.validate import Context

    seen: dict[str, int] = {}
    for case in _corpus_profiles(tmp_path):
        loaded, problems = read_profile(case, case.parent)
        if loaded is None:
            continue
        ctx = Context(loaded.model, loaded.doc, loaded.live)
        for m in stage1.RULES:
            for p in m.check(ctx):
                assert p.rule == m.ID, (case.name, m.__name__, p)
                seen[p.rule] = seen.get(p.rule, 0) + 1
                problems.append(p)
        if any(p.level == "error" for p in problems):
            continue
        rendered = render(resolve(loaded))  # the render stage renders what stage 2 refuses, without raising
        for m in stage2.RULES:
            if getattr(m, "HEAVY", False):
                continue
            for p in m.check(rendered):
                assert p.rule == m.ID, (case.name, m.__name__, p)
                seen[p.rule] = seen.get(p.rule, 0) + 1
    assert set(seen) <= set(stage1.IDS) | set(stage2.IDS)
    # the corpus exercises both stages (a guard against a runner that silently checks nothing)
    assert len(set(seen) & set(stage1.IDS)) >= 10, sorted(seen)
    assert {"record-generated", "unknown-rule", "exclude-used", "patch-for-record"} <= set(seen), sorted(seen)


def test_every_rule_id_the_corpus_expects_is_the_loaders_or_a_module_id(tmp_path: Path) -> None:
    """The exact lines the corpus expects of ``istiogen render``: each id is one the loader (the schema) reports
    on the corpus, or a rule module's; no id names both a schema problem and a rule; the generic id the
    cross-field checks once shared is gone."""
    from istiogen.profile.loader import read_profile
    from tests.corpus.test_cases import EXPECTED

    loader_ids = {p.rule for case in _corpus_profiles(tmp_path) for p in read_profile(case, case.parent)[1]}
    modules = set(stage1.IDS) | set(stage2.IDS)
    assert loader_ids & modules == set()
    expected_ids = {m.group(1) for spec in EXPECTED.values() for line in spec["errors"]
                    if (m := re.search(r"\[([a-z0-9-]+)\]$", line))}
    assert expected_ids - loader_ids - modules == set()
    assert len(expected_ids & modules) >= 15
    assert "conflict" not in expected_ids


def test_the_render_stage_and_the_pipeline_raise_no_profile_error() -> None:
    offenders = []
    for folder in ("render", "pipeline"):
        for path in sorted((PKG / folder).rglob("*.py")):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if re.search(r"\b(ProfileError|FatalError)\b", line):
                    offenders.append(f"{path.relative_to(PKG.parent)}:{n}: {line.strip()}")
    assert offenders == []


def test_a_generated_expression_that_does_not_parse_is_reported_by_stage_2_not_raised() -> None:
    from dataclasses import replace

    from istiogen import verify
    from istiogen.pipeline import render
    from istiogen.validate import load

    rendered = render(load(None))
    assert verify.run(rendered) == []
    g = rendered.model.rule_groups[0]
    rendered.model.rule_groups[0] = replace(g, rules=(replace(g.rules[0], expr="sum(("), *g.rules[1:]))
    (problem,) = verify.run(rendered)
    assert problem.rule == "generated-promql" and problem.level == "error"
    assert problem.message.startswith(f"invalid PromQL in the generated record {g.rules[0].record}: ")


def test_an_exclusion_still_read_is_rendered_harmlessly_and_refused_by_the_api(tmp_path: Path) -> None:
    from istiogen import api
    from istiogen.errors import ProfileError
    from istiogen.pipeline import render
    from istiogen.validate import load
    from tests.conftest import write_profile

    path = write_profile(tmp_path, """
        name: x
        istio: {version: "1.22"}
        rules: {exclude: ["destination:istio_requests:rate1m", NoSuchAlert]}
        """)
    rendered = render(load(path))  # the plain pipeline: no stage 2, and no raise
    assert "destination:istio_requests:rate1m" in {x.record for x in rendered.model.rules}  # still read: kept
    with pytest.raises(ProfileError) as e:
        api.render(path)
    rules = sorted({p.rule for p in e.value.problems})
    assert rules == ["exclude-used", "unknown-rule"]
    assert all(p.file.endswith("profile.yaml") and p.line == 3 for p in e.value.problems)
