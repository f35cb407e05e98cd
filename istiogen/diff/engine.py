"""Comparing trees of files and single objects; applying ignore rules.

A file identical byte for byte is skipped before anything is parsed, so two
identical trees cost one comparison per file.  Otherwise both sides are parsed
into documents, documents are matched by identity (Kubernetes objects) or
position, and each pair goes through the structural differ.  A file whose
documents hold the same data but whose bytes differ is a formatting change.
``index.json`` only reports what the other files do not already say (its
checksums change with every file).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from istiogen.diff import objects
from istiogen.diff.ignore import Ignore
from istiogen.diff.model import MISSING, Change, Format, Ident, ObjectDiff
from istiogen.diff.structural import Differ, same

INDEX = "index.json"
INDEX_KIND = "index"
UNKNOWN_KIND = "unknown"


@dataclass
class Tree:
    """One side of a comparison: the files of a rendered tree."""

    files: dict[str, bytes]
    kinds: dict[str, str] = field(default_factory=dict)
    modes: dict[str, int] | None = None  # permission bits, when they count (files on disk)
    docs: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # documents already known (never parsed)


def kinds_from_index(files: dict[str, bytes]) -> dict[str, str]:
    """Path -> kind, read from a tree's ``index.json`` (empty when it is missing or unreadable)."""
    raw = files.get(INDEX)
    if raw is None:
        return {}
    try:
        idx = json.loads(raw)
        return {a["path"]: a["kind"] for a in idx["artifacts"] if isinstance(a.get("path"), str)
                and isinstance(a.get("kind"), str)}
    except (ValueError, KeyError, TypeError):
        return {}


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


@dataclass
class _Parsed:
    fmt: Format
    text: str
    docs: list[Any]


def _parse(rel: str, raw: bytes | None, notes: list[str], display: str,
           known: tuple[Any, ...] | None = None) -> _Parsed | None:
    if raw is None:
        return None
    text = decode(raw)
    fmt = objects.file_format(rel)
    if fmt == "text":
        return _Parsed("text", text, [])
    if known is not None:
        return _Parsed(fmt, text, list(known))
    try:
        docs = list(objects.load_documents(text, fmt))
    except objects.ParseError as e:
        notes.append(f"{display}: {e}; compared as text")
        return _Parsed("text", text, [])
    return _Parsed(fmt, text, docs)


def _doc_keys(docs: list[Any]) -> list[tuple[Any, ...]]:
    idents = [objects.identity(d) for d in docs]
    counts: dict[Ident, int] = {}
    for i in idents:
        if i is not None:
            counts[i] = counts.get(i, 0) + 1
    return [("obj", i) if i is not None and counts[i] == 1 else ("doc", n) for n, i in enumerate(idents)]


def compare_objects(old: Any, new: Any) -> list[Change]:
    """The changes between two objects (documents), embedded documents parsed."""
    return Differ(objects.embedded_policy(old, new), objects.parse_embedded).diff(old, new)


def compare_file(rel: str, display: str, kind: str, old: bytes | None, new: bytes | None, *,
                 old_mode: int | None = None, new_mode: int | None = None,
                 names: tuple[str, str] = ("a/", "b/"), on_disk: tuple[bool, bool] = (True, True),
                 notes: list[str] | None = None,
                 known: tuple[tuple[Any, ...] | None, tuple[Any, ...] | None] = (None, None)) -> list[ObjectDiff]:
    """What differs in one file; ``None`` for a side where the file does not exist.  ``known``: the
    documents of either side when they are known already (a rendered file's data)."""
    notes = notes if notes is not None else []
    old_name = f"{names[0]}{display}" if old is not None else "/dev/null"
    new_name = f"{names[1]}{display}" if new is not None else "/dev/null"
    base: dict[str, Any] = {
        "artifact": display, "kind": kind, "old_name": old_name, "new_name": new_name,
        "old_file": display if old is not None and on_disk[0] else None,
        "new_file": display if new is not None and on_disk[1] else None,
    }
    if old is not None and new is not None and old == new:
        if old_mode is not None and new_mode is not None and old_mode != new_mode:
            return [ObjectDiff(label="", status="changed", format="text", old=decode(old), new=decode(new),
                               changes=[Change((), "mode", oct(old_mode), oct(new_mode))], **base)]
        return []
    po, pn = _parse(rel, old, notes, display, known[0]), _parse(rel, new, notes, display, known[1])
    base["old_source"] = po.text if po is not None else None
    base["new_source"] = pn.text if pn is not None else None
    if (po is not None and po.fmt == "text") or (pn is not None and pn.fmt == "text"):
        return [_text_diff(po, pn, base)]
    out: list[ObjectDiff] = []
    odocs = po.docs if po is not None else []
    ndocs = pn.docs if pn is not None else []
    either = pn if pn is not None else po
    fmt: Format = either.fmt if either is not None else "yaml"
    okeys, nkeys = _doc_keys(odocs), _doc_keys(ndocs)
    opos = {k: i for i, k in enumerate(okeys)}
    npos = {k: i for i, k in enumerate(nkeys)}
    multi = max(len(odocs), len(ndocs)) > 1

    def label(k: tuple[Any, ...], i: int) -> str:
        if k[0] == "obj":
            ident: Ident = k[1]
            return ident.label()
        return f"document {i + 1}" if multi else ""

    for k, i in opos.items():
        if k not in npos:
            d = odocs[i]
            out.append(ObjectDiff(label=label(k, i), status="removed", format=fmt, old=d,
                                  changes=[Change((), "removed", d, MISSING)], ident=objects.identity(d),
                                  doc_index=i, secret=objects.is_secret(d), **base))
    for k, j in npos.items():
        d = ndocs[j]
        if k not in opos:
            out.append(ObjectDiff(label=label(k, j), status="added", format=fmt, new=d,
                                  changes=[Change((), "added", MISSING, d)], ident=objects.identity(d),
                                  doc_index=j, secret=objects.is_secret(d), **base))
            continue
        o = odocs[opos[k]]
        policy = objects.embedded_policy(o, d)
        changes = Differ(policy, objects.parse_embedded).diff(o, d)
        if changes:
            out.append(ObjectDiff(label=label(k, j), status="changed", format=fmt, old=o, new=d, changes=changes,
                                  ident=objects.identity(d), doc_index=j,
                                  secret=objects.is_secret(o) or objects.is_secret(d), embedded=policy, **base))
    if not out and po is not None and pn is not None:
        same_data = len(odocs) == len(ndocs) and all(same(a, b) for a, b in zip(odocs, ndocs, strict=True))
        note = "formatting only: the same data" if same_data else \
            "formatting or order only: the same meaning (documents, or list items whose order does not matter)"
        out.append(ObjectDiff(label="", status="changed", format="text", old=po.text, new=pn.text,
                              changes=[Change((), "formatting", po.text, pn.text, note=note)], **base))
    return out


def _text_diff(po: _Parsed | None, pn: _Parsed | None, base: dict[str, Any]) -> ObjectDiff:
    if po is None:
        assert pn is not None
        return ObjectDiff(label="", status="added", format="text", new=pn.text,
                          changes=[Change((), "added", MISSING, pn.text)], **base)
    if pn is None:
        return ObjectDiff(label="", status="removed", format="text", old=po.text,
                          changes=[Change((), "removed", po.text, MISSING)], **base)
    return ObjectDiff(label="", status="changed", format="text", old=po.text, new=pn.text,
                      changes=[Change((), "changed", po.text, pn.text)], **base)


def compare_trees(old: Tree | None, new: Tree | None, root: str, *, names: tuple[str, str] = ("a/", "b/"),
                  on_disk: tuple[bool, bool] = (True, True), notes: list[str] | None = None) -> list[ObjectDiff]:
    """Every object that differs between two trees; ``root`` prefixes the displayed paths."""
    notes = notes if notes is not None else []
    of = old.files if old is not None else {}
    nf = new.files if new is not None else {}
    okinds = (old.kinds if old is not None and old.kinds else kinds_from_index(of))
    nkinds = (new.kinds if new is not None and new.kinds else kinds_from_index(nf))
    out: list[ObjectDiff] = []
    for rel in sorted(set(of) | set(nf)):
        if rel == INDEX:
            continue
        kind = nkinds.get(rel) or okinds.get(rel) or UNKNOWN_KIND
        om = old.modes.get(rel) if old is not None and old.modes is not None else None
        nm = new.modes.get(rel) if new is not None and new.modes is not None else None
        known = (old.docs.get(rel) if old is not None else None, new.docs.get(rel) if new is not None else None)
        out += compare_file(rel, _join(root, rel), kind, of.get(rel), nf.get(rel), old_mode=om, new_mode=nm,
                            names=names, on_disk=on_disk, notes=notes, known=known)
    if INDEX in of or INDEX in nf:
        reported = {o.artifact for o in out}
        for o in compare_file(INDEX, _join(root, INDEX), INDEX_KIND, of.get(INDEX), nf.get(INDEX),
                              names=names, on_disk=on_disk, notes=notes):
            if o.status == "changed" and o.format != "text":
                o.changes = [c for c in o.changes if not _explained(c, root, reported)]
                if not o.changes:
                    continue
            out.append(o)
    return out


def _explained(c: Change, root: str, reported: set[str]) -> bool:
    """An index entry whose file is itself reported (its checksum changes with it), or the index's digest
    when any file is (it seals every checksum)."""
    p = c.path
    if len(p) == 1 and p[0].is_key and p[0].key == "digest":
        return bool(reported)
    return (len(p) >= 2 and p[0].is_key and p[0].key == "artifacts" and p[1].kfield == "path"
            and _join(root, str(p[1].kvalue)) in reported)


def _join(root: str, rel: str) -> str:
    return f"{root.rstrip('/')}/{rel}" if root else rel


def apply_ignore(objs: list[ObjectDiff], ignore: Ignore) -> tuple[list[ObjectDiff], int]:
    """The objects that still differ once ignored changes are dropped, and how many were dropped."""
    if not ignore:
        return objs, 0
    kept: list[ObjectDiff] = []
    dropped = 0
    for o in objs:
        pi = ignore.for_artifact(o.artifact, o.kind)
        if not pi:
            kept.append(o)
            continue
        rest = [c for c in o.changes if not pi(c.path)]
        dropped += len(o.changes) - len(rest)
        if rest:
            o.changes = rest
            kept.append(o)
    return kept, dropped


def sort_objects(objs: list[ObjectDiff]) -> list[ObjectDiff]:
    return sorted(objs, key=lambda o: o.sort_key)
