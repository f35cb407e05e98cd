"""Profile composition: ``extends`` with a deep merge that keeps source positions.

Mappings merge key by key; lists of named things (items with ``name``, ``record``,
``alert`` or ``job_name``, plus ``namespace`` where present) merge by that
identity, keeping the base's order and appending new items; any other list, and
any scalar, is replaced by the extending profile's value.
"""

from __future__ import annotations

from typing import Any

from istiogen.source import Mark, PathT, SourceDoc

IDENTITY_KEYS = ("name", "namespace", "record", "alert", "job_name")


def identity(item: Any) -> tuple[tuple[str, Any], ...] | None:
    if not isinstance(item, dict):
        return None
    ident = tuple((k, item[k]) for k in IDENTITY_KEYS if k in item and isinstance(item[k], str | int))
    return ident or None


def _keyed(items: list[Any]) -> bool:
    idents = [identity(i) for i in items]
    return all(i is not None for i in idents) and len(set(idents)) == len(idents)


class _Merger:
    def __init__(self, base: SourceDoc, child: SourceDoc) -> None:
        self.base = base
        self.child = child
        self.values: dict[PathT, Mark] = {}
        self.keys: dict[PathT, Mark] = {}
        self.ambiguous: set[PathT] = set()

    def copy_positions(self, doc: SourceDoc, src: PathT, dst: PathT) -> None:
        n = len(src)
        for table, out in ((doc.values, self.values), (doc.keys, self.keys)):
            for p, m in table.items():
                if p[:n] == src:
                    out[dst + p[n:]] = m
        for p in doc.yaml11_ambiguous:
            if p[:n] == src:
                self.ambiguous.add(dst + p[n:])

    def take(self, doc: SourceDoc, value: Any, src: PathT, dst: PathT) -> Any:
        self.copy_positions(doc, src, dst)
        return value

    def merge(self, b: Any, bpath: PathT, c: Any, cpath: PathT, out: PathT) -> Any:
        if isinstance(b, dict) and isinstance(c, dict):
            if cpath in self.child.values:
                self.values[out] = self.child.values[cpath]
            if cpath in self.child.keys:
                self.keys[out] = self.child.keys[cpath]
            result: dict[str, Any] = {}
            for k, bv in b.items():
                if k in c:
                    result[k] = self.merge(bv, (*bpath, k), c[k], (*cpath, k), (*out, k))
                else:
                    result[k] = self.take(self.base, bv, (*bpath, k), (*out, k))
            for k, cv in c.items():
                if k not in b:
                    result[k] = self.take(self.child, cv, (*cpath, k), (*out, k))
            return result
        if isinstance(b, list) and isinstance(c, list) and b and c and _keyed(b) and _keyed(c):
            if cpath in self.child.values:
                self.values[out] = self.child.values[cpath]
            cidx = {identity(item): i for i, item in enumerate(c)}
            merged: list[Any] = []
            used: set[int] = set()
            for bi, bitem in enumerate(b):
                ci = cidx.get(identity(bitem))
                dst = (*out, len(merged))
                if ci is None:
                    merged.append(self.take(self.base, bitem, (*bpath, bi), dst))
                else:
                    used.add(ci)
                    merged.append(self.merge(bitem, (*bpath, bi), c[ci], (*cpath, ci), dst))
            for ci, citem in enumerate(c):
                if ci not in used:
                    merged.append(self.take(self.child, citem, (*cpath, ci), (*out, len(merged))))
            return merged
        return self.take(self.child, c, cpath, out)


def merge_docs(base: SourceDoc, child: SourceDoc) -> SourceDoc:
    """``child`` deep-merged over ``base``; positions point into whichever file set each value."""
    m = _Merger(base, child)
    data = m.merge(base.data, (), child.data, (), ())
    return SourceDoc(file=child.file, data=data, values=m.values, keys=m.keys, yaml11_ambiguous=m.ambiguous)


def deep_merge(base: Any, child: Any) -> Any:
    """The same merge on plain data (no positions)."""
    return merge_docs(SourceDoc("", base), SourceDoc("", child)).data
