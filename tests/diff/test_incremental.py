"""The incremental parse of large YAML files gives exactly what a full parse gives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from istiogen.diff import incremental, objects
from istiogen.serial.yaml import dump


def full(text: str) -> Any:
    return objects._load(text, "yaml")[0]


def parse(text: str) -> tuple[Any, ...]:
    return objects._load(text, "yaml")


def strict(x: Any) -> str:
    return json.dumps(x, sort_keys=False)


text_values = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12) | st.sampled_from([
    "sum(rate(x[1m])) * 2", 'x{a!="b"} != 0', "- not an item", "a: b", "multi\nline\n", "  lead", "trail  ",
    "&anchor", "*alias", "!tag", "---", "# hash", "true", "0755", "1:20", "'q'", '"dq"', "",
])
rule = st.fixed_dictionaries({"record": st.text("abc:_", min_size=1, max_size=6), "expr": text_values},
                             optional={"labels": st.dictionaries(st.sampled_from(["sysdig", "x"]), text_values,
                                                                 max_size=2),
                                       "for": st.sampled_from(["5m", "1h"])})
group = st.fixed_dictionaries({"name": st.text("gh-.", min_size=1, max_size=5),
                               "rules": st.lists(rule, max_size=4)},
                              optional={"interval": st.sampled_from(["15s", "1m"])})
documents = st.fixed_dictionaries({"groups": st.lists(group, max_size=6)},
                                  optional={"extra": text_values, "after": st.lists(text_values, max_size=2)})


@st.composite
def edited(draw: st.DrawFn) -> tuple[Any, Any]:
    ref = draw(documents)
    old = json.loads(json.dumps(ref))
    for _ in range(draw(st.integers(0, 4))):
        groups = old["groups"]
        op = draw(st.sampled_from(["expr", "add-rule", "drop-rule", "add-group", "drop-group", "swap", "key"]))
        if op == "add-group" or not groups:
            groups.insert(draw(st.integers(0, len(groups))), draw(group))
            continue
        g = groups[draw(st.integers(0, len(groups) - 1))]
        if op == "expr" and g["rules"]:
            g["rules"][draw(st.integers(0, len(g["rules"]) - 1))]["expr"] = draw(text_values)
        elif op == "add-rule":
            g["rules"].insert(draw(st.integers(0, len(g["rules"]))), draw(rule))
        elif op == "drop-rule" and g["rules"]:
            g["rules"].pop(draw(st.integers(0, len(g["rules"]) - 1)))
        elif op == "drop-group":
            groups.remove(g)
        elif op == "swap" and len(groups) > 1:
            groups.reverse()
        elif op == "key":
            g["interval"] = draw(st.sampled_from(["30s", "2m"]))
    return old, ref


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edited())
def test_incremental_parse_equals_a_full_parse(pair: tuple[Any, Any]) -> None:
    old, ref = pair
    old_text, ref_text = "# header\n" + dump(old), "# header\n" + dump(ref)
    got = incremental.load(old_text, ref_text, full(ref_text), parse)
    if got is not None:
        assert strict(got) == strict(full(old_text))


def test_it_applies_to_rendered_rule_files_and_parses_only_what_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    groups = [{"name": f"g{g}", "interval": "15s", "rules": [
        {"record": f"r:{g}:{i}", "expr": f"sum(rate(x{{shard=\"{i}\"}}[1m]))", "labels": {"sysdig": "true"}}
        for i in range(20)]} for g in range(50)]
    ref = {"groups": groups}
    old = json.loads(json.dumps(ref))
    old["groups"][3]["rules"][5]["expr"] = "sum(y)"
    old["groups"].pop(7)
    old_text, ref_text = dump(old), dump(ref)
    parsed: list[str] = []

    def counting(text: str) -> tuple[Any, ...]:
        parsed.append(text)
        return parse(text)

    got = incremental.load(old_text, ref_text, ref, counting)
    assert got is not None and strict(got) == strict(full(old_text))
    assert sum(len(t) for t in parsed) < len(old_text) / 20  # one rule and the group head, not the file
    assert got["groups"][0] is ref["groups"][0]  # shared: the same text is the same data


def test_it_steps_aside_when_it_cannot_be_sure() -> None:
    ref = {"groups": [{"name": "a", "rules": [{"record": "r", "expr": "x"}]}]}
    for old_text in ("groups: &g\n- name: a\n  rules: []\nother: *g\n", "%YAML 1.2\n---\ngroups:\n- name: a\n",
                     "groups: [{name: a}]\n", "other: 1\n"):
        assert incremental.load(old_text, dump(ref), ref, parse) is None, old_text
    assert incremental.load("groups:\n- name: [unclosed\n", dump(ref), ref, parse) is None


def test_load_documents_uses_a_remembered_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(incremental, "MIN_SIZE", 0)
    objects.clear_cache()
    ref = {"groups": [{"name": f"g{g}", "rules": [{"record": f"r{g}", "expr": "x"}]} for g in range(5)]}
    objects.remember(dump(ref), "yaml", (ref,))
    old = json.loads(json.dumps(ref))
    old["groups"][2]["rules"][0]["expr"] = "y"
    (doc,) = objects.load_documents(dump(old), "yaml")
    assert doc == old and doc["groups"][0] is ref["groups"][0]
    objects.clear_cache()
