"""Comparing trees and files: what is parsed, matched and reported."""

from __future__ import annotations

import json

import yaml

from istiogen.diff import objects
from istiogen.diff.engine import Tree, compare_file, compare_trees
from istiogen.diff.sources import rendered_tree
from istiogen.diff.structural import same
from istiogen.pipeline import Rendered


def test_rendered_data_is_what_parsing_the_rendered_files_gives(default_rendered: Rendered,
                                                                 examples_rendered: dict[str, Rendered]) -> None:
    """Rendered trees are compared from their data, never parsed: that data must be the parsed text."""
    checked = 0
    for r in (default_rendered, *examples_rendered.values()):
        t = rendered_tree(r)
        assert t.docs, r.name
        for path, docs in t.docs.items():
            text = r.files[path].decode()
            assert same(list(objects._load(text, objects.file_format(path))), list(docs)), (r.name, path)
            checked += 1
    assert checked > 20


def test_identical_trees_parse_nothing(default_rendered: Rendered) -> None:
    objects.clear_cache()
    files = dict(default_rendered.files)
    assert compare_trees(Tree(files), Tree({k: bytes(v) for k, v in files.items()}), "out") == []
    assert not objects._CACHE


def test_documents_of_a_file_are_matched_by_identity() -> None:
    a = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}, "data": {"k": "1"}}
    b = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "n"}, "data": {"k": "1"}}
    old = (yaml.safe_dump(a) + "---\n" + yaml.safe_dump(b)).encode()
    swapped = (yaml.safe_dump(b) + "---\n" + yaml.safe_dump(a)).encode()
    (o,) = compare_file("m.yaml", "m.yaml", "k", old, swapped)
    assert o.changes[0].type == "formatting" and "order only" in o.changes[0].note  # the same objects, reordered
    b2 = {**b, "data": {"k": "2"}}
    (o,) = compare_file("m.yaml", "m.yaml", "k", old, (yaml.safe_dump(b2) + "---\n" + yaml.safe_dump(a)).encode())
    assert (o.label, [c.dotted for c in o.changes]) == ("ConfigMap n/b", ["data.k"])
    c = {**a, "metadata": {"name": "c", "namespace": "n"}}
    out = compare_file("m.yaml", "m.yaml", "k", old, (yaml.safe_dump(a) + "---\n" + yaml.safe_dump(c)).encode())
    assert sorted((x.label, x.status) for x in out) == [("ConfigMap n/b", "removed"), ("ConfigMap n/c", "added")]


def test_index_json_reports_only_what_the_files_do_not(default_rendered: Rendered) -> None:
    new = dict(default_rendered.files)
    old = dict(new)
    old["queries.yaml"] = old["queries.yaml"].replace(b"window: 1m", b"window: 2m")
    idx = json.loads(old["index.json"])
    for entry in idx["artifacts"]:
        if entry["path"] == "queries.yaml":
            entry["sha256"] = "0" * 64
    old["index.json"] = json.dumps(idx).encode()
    assert [o.artifact for o in compare_trees(Tree(old), Tree(new), "out")] == ["out/queries.yaml"]
    idx["source"] = "elsewhere.yaml"
    old["index.json"] = json.dumps(idx).encode()
    objs = compare_trees(Tree(old), Tree(new), "out")
    assert [(o.artifact, [c.dotted for c in o.changes]) for o in objs] == [
        ("out/queries.yaml", ["window"]), ("out/index.json", ["source"])]


def test_unparsable_files_are_compared_as_text() -> None:
    notes: list[str] = []
    (o,) = compare_file("x.yaml", "x.yaml", "k", b"a: [1\n", b"a: [2]\n", notes=notes)
    assert o.format == "text" and o.changes[0].type == "changed"
    assert notes and "compared as text" in notes[0]
