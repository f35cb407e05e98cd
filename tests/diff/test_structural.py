"""The structural differ and the RFC 6902 patch builder."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from istiogen.diff.engine import compare_objects
from istiogen.diff.model import MISSING, Change
from istiogen.diff.structural import Skip, diff, make_patch_ops, same


def make_patch(a: Any, b: Any, skip: Skip | None = None) -> list[dict[str, Any]]:
    """The RFC 6902 patch of the ops (each op comes with the path of its change)."""
    return [op for op, _ in make_patch_ops(a, b, skip)]


def summary(changes: list[Change]) -> list[tuple[str, str]]:
    return [(c.dotted, c.type) for c in changes]


def test_equal_documents_report_nothing() -> None:
    doc = {"a": [1, {"b": "c"}], "d": {"e": None}}
    assert diff(doc, copy.deepcopy(doc)) == []


def test_types_are_strict() -> None:
    # 1 == 1.0 == True in Python; not in a config file
    assert summary(diff({"a": 1}, {"a": True})) == [("a", "changed")]
    assert summary(diff({"a": [1]}, {"a": [1.0]})) == [("a[0]", "changed")]
    assert summary(diff({"a": {"b": 0}}, {"a": {"b": False}})) == [("a.b", "changed")]
    assert same(float("nan"), float("nan"))


def test_mapping_keys_added_removed_changed() -> None:
    changes = diff({"keep": 1, "gone": 2, "chg": "x"}, {"keep": 1, "chg": "y", "new": 3})
    assert {(c.dotted, c.type, c.old, c.new) for c in changes} == {
        ("gone", "removed", 2, MISSING), ("chg", "changed", "x", "y"), ("new", "added", MISSING, 3),
    }


def test_named_items_are_matched_by_key_and_a_reorder_is_not_a_change() -> None:
    old = {"spec": {"containers": [
        {"name": "prometheus", "volumeMounts": [{"name": "config", "mountPath": "/etc/p"},
                                                 {"name": "certs", "mountPath": "/etc/c"}]},
        {"name": "istio-proxy", "image": "proxy:1"},
    ]}}
    new = copy.deepcopy(old)
    new["spec"]["containers"].reverse()
    new["spec"]["containers"][1]["volumeMounts"].reverse()
    assert diff(old, new) == []
    new["spec"]["containers"][1]["volumeMounts"][0]["mountPath"] = "/etc/certs"
    new["spec"]["containers"][0]["image"] = "proxy:2"
    assert summary(diff(old, new)) == [
        ("spec.containers[name=istio-proxy].image", "changed"),
        ("spec.containers[name=prometheus].volumeMounts[name=certs].mountPath", "changed"),
    ]


def test_rules_match_by_record_or_alert_groups_by_name_jobs_by_job_name() -> None:
    old = {"groups": [{"name": "g", "rules": [{"record": "a", "expr": "x"}, {"alert": "A", "expr": "y"}]}],
           "scrape_configs": [{"job_name": "j1", "metrics_path": "/m"}, {"job_name": "j2"}]}
    new = {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "y2"}, {"record": "a", "expr": "x"},
                                               {"record": "b", "expr": "z"}]}],
           "scrape_configs": [{"job_name": "j2"}, {"job_name": "j1", "metrics_path": "/federate"}]}
    assert summary(diff(old, new)) == [
        ("groups[name=g].rules[alert=A].expr", "changed"),
        ("groups[name=g].rules[record=b]", "added"),
        ("scrape_configs[job_name=j1].metrics_path", "changed"),
    ]


def test_keyed_matching_falls_back_to_positions_when_keys_repeat() -> None:
    old = {"volumeMounts": [{"name": "v", "mountPath": "/a", "subPath": "x"},
                            {"name": "v", "mountPath": "/b", "subPath": "y"}]}
    new = copy.deepcopy(old)
    new["volumeMounts"][1]["subPath"] = "z"
    # names repeat: the mount path is the key
    assert summary(diff(old, new)) == [("volumeMounts[mountPath=/b].subPath", "changed")]


def test_process_filter_order_is_significant_first_match_wins() -> None:
    envoy = {"include": {"process.name": "envoy", "conf": {"port": 15090}}}
    ann = {"include": {"kubernetes.pod.annotation.prometheus.io/scrape": "true"}}
    exclude = {"exclude": {"process.name": "docker-proxy"}}
    old = {"prometheus": {"process_filter": [envoy, exclude, ann]}}
    new = {"prometheus": {"process_filter": [ann, envoy, exclude]}}
    changes = diff(old, new)
    assert [(c.dotted, c.type, c.old, c.new) for c in changes] == [
        ("prometheus.process_filter[0]", "moved", 2, 0)]
    assert "first matching rule wins" in changes[0].note
    # a changed rule in place is a change of its field
    new2 = copy.deepcopy(old)
    new2["prometheus"]["process_filter"][0]["include"]["conf"]["port"] = 15020
    assert summary(diff(old, new2)) == [("prometheus.process_filter[0].include.conf.port", "changed")]


def test_sets_ignore_order() -> None:
    old = {"rule_files": ["/a.yaml", "/b.yaml"], "params": {"match[]": ["x", "y"]}}
    new = {"rule_files": ["/b.yaml", "/a.yaml", "/c.yaml"], "params": {"match[]": ["y", "x"]}}
    assert summary(diff(old, new)) == [("rule_files[2]", "added")]


def test_yaml_in_a_configmap_is_compared_as_data() -> None:
    rules_old = "groups:\n- name: g\n  rules:\n  - record: r1\n    expr: sum(x)\n  - record: r2\n    expr: sum(y)\n"
    rules_new = ("groups:\n- name: g\n  rules:\n  - record: r2\n    expr: sum(y)\n  - record: r1\n"
                 "    expr: sum(rate(x[5m]))\n")
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "rules"}, "data": {"rules.yaml": rules_old}}
    cm2 = copy.deepcopy(cm)
    cm2["data"]["rules.yaml"] = rules_new
    changes = compare_objects(cm, cm2)
    assert [(c.dotted, c.type, c.old, c.new) for c in changes] == [
        ('data["rules.yaml"].groups[name=g].rules[record=r1].expr', "changed", "sum(x)", "sum(rate(x[5m]))")]


def test_a_formatting_only_change_is_reported_as_such() -> None:
    cm = {"kind": "ConfigMap", "metadata": {"name": "p"},
          "data": {"prometheus.yml": "global:\n  scrape_interval: 15s\nrule_files:\n- /a\n"}}
    cm2 = copy.deepcopy(cm)
    cm2["data"]["prometheus.yml"] = "# a comment\nglobal: {scrape_interval: 15s}\nrule_files: [/a]\n"
    changes = compare_objects(cm, cm2)
    assert [(c.dotted, c.type) for c in changes] == [('data["prometheus.yml"]', "formatting")]
    assert "formatting only" in changes[0].note


def test_strings_that_are_not_documents_stay_strings() -> None:
    cm = {"kind": "ConfigMap", "metadata": {"name": "p"}, "data": {"notes.txt": "a: 1", "x.yaml": "just text"}}
    cm2 = {"kind": "ConfigMap", "metadata": {"name": "p"}, "data": {"notes.txt": "a: 2", "x.yaml": "other text"}}
    assert summary(compare_objects(cm, cm2)) == [('data["notes.txt"]', "changed"), ('data["x.yaml"]', "changed")]


def test_a_data_patch_and_a_json_patch_on_a_yaml_key_hold_documents() -> None:
    patch = {"data": {"prometheus.yaml": "scrape_configs:\n- job_name: a\n  metrics_path: /x\n"}}
    patch2 = {"data": {"prometheus.yaml": "scrape_configs:\n- job_name: a\n  metrics_path: /federate\n"}}
    assert summary(compare_objects(patch, patch2)) == [
        ('data["prometheus.yaml"].scrape_configs[job_name=a].metrics_path', "changed")]
    ops = [{"op": "test", "path": "/data/prometheus.yml", "value": "rule_files: [/a]\n"},
           {"op": "replace", "path": "/data/prometheus.yml", "value": "rule_files: [/a, /b]\n"}]
    ops2 = copy.deepcopy(ops)
    ops2[1]["value"] = "rule_files: [/a, /c]\n"
    assert summary(compare_objects(ops, ops2)) == [("[1].value.rule_files[1]", "removed"),
                                                  ("[1].value.rule_files[1]", "added")]


def test_ordered_lists_report_inserted_and_removed_items() -> None:
    old = {"args": ["--a", "--b", "--c"]}
    new = {"args": ["--a", "--x", "--c", "--d"]}
    assert {(c.dotted, c.type) for c in diff(old, new)} == {("args[1]", "changed"), ("args[3]", "added")}


def test_init_containers_are_keyed_and_ordered() -> None:
    old = {"initContainers": [{"name": "a"}, {"name": "b"}]}
    new = {"initContainers": [{"name": "b"}, {"name": "a"}]}
    changes = diff(old, new)
    assert [c.type for c in changes] == ["moved"]
    assert changes[0].dotted in ("initContainers[name=a]", "initContainers[name=b]")


# ------------------------------------------------------------------------------------------ RFC 6902

def apply(a: Any, patch: list[dict[str, Any]]) -> Any:
    return jsonpatch.apply_patch(a, patch, in_place=False)


def strict(x: Any) -> str:
    return json.dumps(x, sort_keys=True)


@pytest.mark.parametrize(("a", "b"), [
    ({"a": 1}, {"a": True}),
    ([1, 2, 3], [3, 1, 2]),
    ({"containers": [{"name": "a", "x": 1}, {"name": "b"}]},
     {"containers": [{"name": "c"}, {"name": "b", "y": 2}, {"name": "a", "x": 3}]}),
    ({"x": [1, 2, 3, 4, 5]}, {"x": [0, 2, 9, 4]}),
    ({"a": {"b": [1]}}, [1]),
    ({"a/b": {"~c": 1}}, {"a/b": {"~c": 2}}),
])
def test_patch_examples(a: Any, b: Any) -> None:
    assert strict(apply(a, make_patch(a, b))) == strict(b)


json_scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False, allow_infinity=False,
                                                                       width=16) | st.text(max_size=3)
json_docs = st.recursive(
    json_scalars,
    lambda kids: st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=3), kids, max_size=5),
    max_leaves=25,
)
# named things under the keys the differ matches by name, to exercise keyed lists and moves
named = st.lists(
    st.fixed_dictionaries({"name": st.sampled_from(["a", "b", "c", "d", "e"])}, optional={"v": json_docs}),
    max_size=5, unique_by=lambda d: d["name"],
)
k8s_like = st.fixed_dictionaries({}, optional={"containers": named, "env": named, "other": json_docs,
                                               "process_filter": st.lists(json_docs, max_size=4)})
documents = json_docs | k8s_like


def _mutate(draw: st.DrawFn, x: Any) -> Any:
    """``x`` with a few random edits: independent documents rarely share structure, edited ones do."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_docs)
    if isinstance(x, dict):
        out = {}
        for k, v in x.items():
            c = draw(st.integers(0, 4))
            if c == 0:
                continue
            out[k] = _mutate(draw, v) if c == 1 else v
        if draw(st.booleans()):
            out[draw(st.text(max_size=3))] = draw(json_docs)
        return out
    if isinstance(x, list):
        out_l = [_mutate(draw, v) if draw(st.integers(0, 3)) == 0 else v for v in x]
        for op, i in draw(st.lists(st.tuples(st.sampled_from(["insert", "delete", "swap", "named"]),
                                             st.integers(0, 6)), max_size=4)):
            if op == "insert":
                out_l.insert(min(i, len(out_l)), draw(json_docs))
            elif op == "named":
                out_l.insert(min(i, len(out_l)), {"name": draw(st.sampled_from("abcdefg"))})
            elif op == "delete" and out_l:
                del out_l[i % len(out_l)]
            elif op == "swap" and len(out_l) > 1:
                j = i % len(out_l)
                out_l[0], out_l[j] = out_l[j], out_l[0]
        return out_l
    return draw(json_scalars) if draw(st.booleans()) else x


@st.composite
def edited_pairs(draw: st.DrawFn) -> tuple[Any, Any]:
    a = draw(documents)
    return a, _mutate(draw, a)


pairs = st.tuples(documents, documents) | edited_pairs()


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs)
def test_property_patch_applied_to_a_gives_b(ab: tuple[Any, Any]) -> None:
    a, b = ab
    patch = make_patch(a, b)
    json.dumps(patch)  # plain JSON
    assert strict(apply(a, patch)) == strict(b)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_property_a_document_diffed_with_itself_reports_nothing(a: Any) -> None:
    assert diff(a, a) == []
    assert diff(a, copy.deepcopy(a)) == []
    assert make_patch(a, copy.deepcopy(a)) == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs)
def test_property_no_change_is_symmetric_and_every_change_is_real(ab: tuple[Any, Any]) -> None:
    a, b = ab
    changes = diff(a, b)
    if strict(a) == strict(b):
        assert changes == []
    assert (changes == []) == (diff(b, a) == [])
    for c in changes:
        assert c.type in ("added", "removed", "changed", "moved")
        assert not (c.type == "changed" and strict(c.old) == strict(c.new))


def test_patch_leaves_out_skipped_paths_and_stays_valid() -> None:
    a = {"metadata": {"annotations": {"x": "1", "checksum": "a"}},
         "containers": [{"name": "p", "image": "1"}, {"name": "q"}], "args": ["a", "b", "c"]}
    b = {"metadata": {"annotations": {"x": "2", "checksum": "b"}},
         "containers": [{"name": "r"}, {"name": "p", "image": "2"}], "args": ["a", "c", "d"]}

    def skip(path: tuple[Any, ...]) -> bool:
        from istiogen.diff.model import dotted

        return dotted(path) in ('metadata.annotations.checksum', "containers[name=q]", "args[1]")

    out = apply(a, make_patch(a, b, skip))
    assert out["metadata"]["annotations"] == {"x": "2", "checksum": "a"}  # checksum left alone
    assert [c["name"] for c in out["containers"]][:2] == ["r", "p"]
    assert {"name": "q"} in out["containers"]  # its removal was skipped
    assert out["containers"][1]["image"] == "2"
    assert out["args"][0] == "a" and "b" in out["args"]


def test_signed_zero_is_a_change() -> None:
    """0.0 and -0.0 are equal numbers but written differently: the patch must turn one into the other."""
    a, b = {"0": {"": 0.0, "x": None}}, {"0": {"": -0.0}}
    assert strict(apply(a, make_patch(a, b))) == strict(b)
