"""The structural differ: two documents in, the changes between them out.

Fast path first: equal subtrees are skipped with one ``==`` (C speed) plus a type
check, so two 20,000-rule documents that differ in 1% of the rules cost little
more than walking the 1% (``benchmarks: bench/diff_bench.py``).  Then:

* mappings are compared key by key;
* lists of named things are matched by key (containers, volumes, env by
  ``name``, rule groups by ``name``, rules by ``record``/``alert``, scrape
  configs by ``job_name``): a reorder is not a change;
* a few lists are sets (``rule_files``, federation ``match[]``): a reorder is not
  a change, and no item is "moved";
* every other list is a sequence where order has meaning (container ``args``,
  relabelling steps, the Sysdig agent's ``process_filter`` where the first match
  wins): a reorder is reported as a move;
* a string the caller marks as a document (YAML held in a ConfigMap) is parsed
  and compared as data, so a changed rule shows as that rule's ``expr``
  changing; the same data written differently is a ``formatting`` change.

:func:`make_patch_ops` turns two documents into an RFC 6902 patch with the same
list matching (so an ignored path can be left out of the patch as well).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import replace
from difflib import SequenceMatcher
from typing import Any

import jsonpointer

from istiogen.diff.model import MISSING, Change, Seg

Path = tuple[Seg, ...]
Embedded = Callable[[Path], bool]
Parse = Callable[[str], Any]  # parsed data, or MISSING when the string is not a document

# Lists of named things: field name of the list -> candidate key specs, tried in order.  A spec is a
# tuple of fields; an item's key is the first of them it has.  A spec applies only when every item on
# both sides has a scalar key and keys are unique on each side.
LIST_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "containers": (("name",),),
    "initContainers": (("name",),),
    "ephemeralContainers": (("name",),),
    "volumes": (("name",),),
    "volumeMounts": (("name",), ("mountPath",)),
    "volumeDevices": (("name",), ("devicePath",)),
    "env": (("name",),),
    "imagePullSecrets": (("name",),),
    "ports": (("name",), ("containerPort",), ("port",)),
    "groups": (("name",),),
    "rules": (("record", "alert"),),
    "scrape_configs": (("job_name",),),
    "artifacts": (("path",),),  # index.json
}
# Keyed lists whose order has meaning: a reorder is reported as moves.
ORDERED_KEYED = frozenset({"initContainers"})
# Lists whose order has no meaning and whose items have no name: compared as multisets.
UNORDERED = frozenset({"match[]", "rule_files", "finalizers", "names", "targets"})
# Why order matters, for the notes of "moved" changes.
ORDER_NOTES: dict[str, str] = {
    "process_filter": "order matters: the first matching rule wins",
    "relabel_configs": "order matters: relabelling steps run in order",
    "metric_relabel_configs": "order matters: relabelling steps run in order",
    "initContainers": "order matters: init containers run in order",
    "args": "order matters",
    "command": "order matters",
}


def same(a: Any, b: Any) -> bool:
    """Equal as JSON-like data: ``1``, ``1.0`` and ``True`` differ, so do ``0.0`` and ``-0.0`` (they are
    written differently); NaN equals NaN; key order is ignored."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if a != b:
        return isinstance(a, float) and a != a and b != b
    if isinstance(a, float):
        return _same_zero(a, b)
    if isinstance(a, dict | list):
        return _types_match(a, b)
    return True


def _same_zero(a: float, b: float) -> bool:
    return a != 0 or math.copysign(1.0, a) == math.copysign(1.0, b)


def _types_match(a: Any, b: Any) -> bool:
    """``a == b`` holds; check that no ``1 == True == 1.0`` hides inside."""
    if isinstance(a, dict):
        for k, v in a.items():
            w = b[k]
            if type(v) is not type(w) or (isinstance(v, float) and not _same_zero(v, w)):
                return False
            if isinstance(v, dict | list) and v is not w and not _types_match(v, w):
                return False
        return True
    for v, w in zip(a, b, strict=True):
        if type(v) is not type(w) or (isinstance(v, float) and not _same_zero(v, w)):
            return False
        if isinstance(v, dict | list) and v is not w and not _types_match(v, w):
            return False
    return True


def canon(x: Any) -> str:
    """A hashable form of a value that tells ``1``, ``1.0`` and ``True`` apart and ignores key order."""
    if isinstance(x, str):
        return "s" + x
    if x is None or isinstance(x, bool | int | float):
        return type(x).__name__[0] + repr(x)
    try:
        return "j" + json.dumps(x, sort_keys=True, default=repr, ensure_ascii=False)
    except TypeError:  # keys of mixed types cannot be sorted
        return "r" + repr(x)


def list_name(path: Path) -> str | None:
    if path and path[-1].is_key and isinstance(path[-1].key, str):
        return str(path[-1].key)
    return None


def _keys(items: list[Any], spec: tuple[str, ...]) -> list[tuple[str, Hashable]] | None:
    out: list[tuple[str, Hashable]] = []
    for it in items:
        if not isinstance(it, dict):
            return None
        for f in spec:
            if f in it:
                v = it[f]
                break
        else:
            return None
        if v is None or not isinstance(v, str | int | float | bool):
            return None
        out.append((f, (type(v).__name__, v)))
    if len(set(out)) != len(out):
        return None
    return out


def keyed(name: str | None, a: list[Any], b: list[Any]) -> tuple[list[tuple[str, Hashable]],
                                                                 list[tuple[str, Hashable]]] | None:
    """The item keys of both lists when ``name`` is a list of named things and the keys are usable."""
    if name is None or name not in LIST_KEYS:
        return None
    for spec in LIST_KEYS[name]:
        ka = _keys(a, spec)
        if ka is None:
            continue
        kb = _keys(b, spec)
        if kb is not None:
            return ka, kb
    return None


def item_seg(k: tuple[str, Hashable], old: int | None, new: int | None) -> Seg:
    f, tv = k
    assert isinstance(tv, tuple)
    return Seg(kfield=f, kvalue=tv[1], old=old, new=new)


class Differ:
    """Collects the changes between two documents (see the module docstring)."""

    def __init__(self, embedded: Embedded | None = None, parse: Parse | None = None) -> None:
        self.embedded = embedded
        self.parse = parse
        self.changes: list[Change] = []

    def diff(self, a: Any, b: Any, path: Path = ()) -> list[Change]:
        self._walk(a, b, path)
        return self.changes

    def _walk(self, a: Any, b: Any, path: Path) -> None:
        if same(a, b):
            return
        if isinstance(a, dict) and isinstance(b, dict):
            self._dict(a, b, path)
        elif isinstance(a, list) and isinstance(b, list):
            self._list(a, b, path)
        elif (isinstance(a, str) and isinstance(b, str) and self.embedded is not None and self.parse is not None
              and path and self.embedded(path)):
            self._document(a, b, path)
        else:
            self.changes.append(Change(path, "changed", a, b))

    def _dict(self, a: dict[Any, Any], b: dict[Any, Any], path: Path) -> None:
        for k, v in a.items():
            if k not in b:
                self.changes.append(Change((*path, Seg(key=k)), "removed", v, MISSING))
            elif not same(v, b[k]):
                self._walk(v, b[k], (*path, Seg(key=k)))
        for k, v in b.items():
            if k not in a:
                self.changes.append(Change((*path, Seg(key=k)), "added", MISSING, v))

    def _document(self, a: str, b: str, path: Path) -> None:
        assert self.parse is not None
        pa, pb = self.parse(a), self.parse(b)
        if pa is MISSING or pb is MISSING:
            self.changes.append(Change(path, "changed", a, b))
            return
        epath = (*path[:-1], replace(path[-1], embedded=True))
        if same(pa, pb):
            self.changes.append(Change(epath, "formatting", a, b, note="formatting only: the same data"))
            return
        self._walk(pa, pb, epath)

    def _list(self, a: list[Any], b: list[Any], path: Path) -> None:
        name = list_name(path)
        k = keyed(name, a, b)
        if k is not None:
            self._keyed(a, b, k[0], k[1], path, name in ORDERED_KEYED, name)
        elif name in UNORDERED:
            self._unordered(a, b, path)
        else:
            self._ordered(a, b, path, name)

    def _keyed(self, a: list[Any], b: list[Any], ka: list[tuple[str, Hashable]], kb: list[tuple[str, Hashable]],
               path: Path, ordered: bool, name: str | None) -> None:
        pos_a = {k: i for i, k in enumerate(ka)}
        pos_b = {k: j for j, k in enumerate(kb)}
        for i, k in enumerate(ka):
            if k not in pos_b:
                self.changes.append(Change((*path, item_seg(k, i, None)), "removed", a[i], MISSING))
        for j, k in enumerate(kb):
            at = pos_a.get(k)
            if at is None:
                self.changes.append(Change((*path, item_seg(k, None, j)), "added", MISSING, b[j]))
            elif not same(a[at], b[j]):
                self._walk(a[at], b[j], (*path, item_seg(k, at, j)))
        if ordered:
            common_a = [k for k in ka if k in pos_b]
            common_b = [k for k in kb if k in pos_a]
            if common_a != common_b:
                sm = SequenceMatcher(None, common_a, common_b, autojunk=False)
                kept = {common_b[blk.b + n] for blk in sm.get_matching_blocks() for n in range(blk.size)}
                for k in common_b:
                    if k not in kept:
                        i, j = pos_a[k], pos_b[k]
                        self.changes.append(Change((*path, item_seg(k, i, j)), "moved", i, j,
                                                   note=ORDER_NOTES.get(name or "", "order matters")))

    def _unordered(self, a: list[Any], b: list[Any], path: Path) -> None:
        ca, cb = [canon(x) for x in a], [canon(x) for x in b]
        left = Counter(cb)
        for i, c in enumerate(ca):
            if left[c] > 0:
                left[c] -= 1
            else:
                self.changes.append(Change((*path, Seg(old=i)), "removed", a[i], MISSING))
        left = Counter(ca)
        for j, c in enumerate(cb):
            if left[c] > 0:
                left[c] -= 1
            else:
                self.changes.append(Change((*path, Seg(new=j)), "added", MISSING, b[j]))

    def _ordered(self, a: list[Any], b: list[Any], path: Path, name: str | None) -> None:
        ca, cb = [canon(x) for x in a], [canon(x) for x in b]
        ops = SequenceMatcher(None, ca, cb, autojunk=False).get_opcodes()
        # items on one side only; equal ones on both sides are moves
        gone: dict[str, list[int]] = {}
        came: dict[str, list[int]] = {}
        for tag, i1, i2, j1, j2 in ops:
            if tag != "equal":
                for i in range(i1, i2):
                    gone.setdefault(ca[i], []).append(i)
                for j in range(j1, j2):
                    came.setdefault(cb[j], []).append(j)
        moved_old: set[int] = set()
        moved_new: set[int] = set()
        moves: list[tuple[int, int]] = []
        for c, olds in gone.items():
            news = came.get(c, [])
            for i, j in zip(olds, news, strict=False):
                moves.append((i, j))
                moved_old.add(i)
                moved_new.add(j)
        note = ORDER_NOTES.get(name or "", "order matters")
        pending: list[tuple[int, Change | None, tuple[Any, Any, Path] | None]] = []  # (new index, change, walk)
        for tag, i1, i2, j1, j2 in ops:
            if tag == "equal":
                continue
            olds = [i for i in range(i1, i2) if i not in moved_old]
            news = [j for j in range(j1, j2) if j not in moved_new]
            n = min(len(olds), len(news))
            for i, j in zip(olds[:n], news[:n], strict=True):
                seg_path = (*path, Seg(old=i, new=j))
                x, y = a[i], b[j]
                if (isinstance(x, dict) and isinstance(y, dict)) or (isinstance(x, list) and isinstance(y, list)):
                    pending.append((j, None, (x, y, seg_path)))
                else:
                    pending.append((j, Change(seg_path, "changed", x, y), None))
            for i in olds[n:]:
                pending.append((j1, Change((*path, Seg(old=i)), "removed", a[i], MISSING), None))
            for j in news[n:]:
                pending.append((j, Change((*path, Seg(new=j)), "added", MISSING, b[j]), None))
        for i, j in moves:
            pending.append((j, Change((*path, Seg(old=i, new=j)), "moved", i, j, note=note), None))
        pending.sort(key=lambda p: p[0])
        for _, change, walk in pending:
            if change is not None:
                self.changes.append(change)
            elif walk is not None:
                self._walk(*walk)


def diff(a: Any, b: Any, *, embedded: Embedded | None = None, parse: Parse | None = None) -> list[Change]:
    """The changes that turn ``a`` into ``b`` (empty when they are the same data)."""
    return Differ(embedded, parse).diff(a, b)


# ---------------------------------------------------------------------------------------------- RFC 6902

Skip = Callable[[Path], bool]


class Patcher:
    """Builds an RFC 6902 patch, op by op, each op with the path of the change it makes.

    Lists are matched as the differ matches them; ``skip`` leaves out changes at a path (ignored
    changes), which keeps the rest of the patch valid: list edits run from the end of each list
    to its start, so a left-out edit never shifts the index of another."""

    def __init__(self, skip: Skip | None = None) -> None:
        self.skip = skip
        self.ops: list[tuple[dict[str, Any], Path]] = []

    def _emit(self, op: dict[str, Any], path: Path) -> None:
        self.ops.append((op, path))

    def walk(self, a: Any, b: Any, ptr: str, path: Path) -> None:
        if same(a, b):
            return
        if self.skip is not None and self.skip(path):
            return
        if isinstance(a, dict) and isinstance(b, dict) and all(isinstance(k, str) for k in (*a, *b)):
            for k in a:
                if k not in b:
                    p = (*path, Seg(key=k))
                    if self.skip is None or not self.skip(p):
                        self._emit({"op": "remove", "path": f"{ptr}/{jsonpointer.escape(k)}"}, p)
            for k, v in b.items():
                p = (*path, Seg(key=k))
                if k in a:
                    self.walk(a[k], v, f"{ptr}/{jsonpointer.escape(k)}", p)
                elif self.skip is None or not self.skip(p):
                    self._emit({"op": "add", "path": f"{ptr}/{jsonpointer.escape(k)}", "value": v}, p)
            return
        if isinstance(a, list) and isinstance(b, list):
            k = keyed(list_name(path), a, b)
            if k is not None:
                self._keyed(a, b, k[0], k[1], ptr, path)
            else:
                self._sequence(a, b, ptr, path)
            return
        self._emit({"op": "replace", "path": ptr, "value": b}, path)

    def _keyed(self, a: list[Any], b: list[Any], ka: list[tuple[str, Hashable]], kb: list[tuple[str, Hashable]],
               ptr: str, path: Path) -> None:
        pos_a = {k: i for i, k in enumerate(ka)}
        in_b = set(kb)
        cur = list(ka)
        for i in range(len(ka) - 1, -1, -1):
            if ka[i] not in in_b:
                p = (*path, item_seg(ka[i], i, None))
                if self.skip is None or not self.skip(p):
                    self._emit({"op": "remove", "path": f"{ptr}/{i}"}, p)
                    del cur[i]
        pos = 0
        for j, k in enumerate(kb):
            old_at = pos_a.get(k)
            if old_at is None:
                p = (*path, item_seg(k, None, j))
                if self.skip is not None and self.skip(p):
                    continue
                self._emit({"op": "add", "path": f"{ptr}/{pos}", "value": b[j]}, p)
                cur.insert(pos, k)
            else:
                p = (*path, item_seg(k, old_at, j))
                at = cur.index(k, pos)
                if at != pos:
                    self._emit({"op": "move", "from": f"{ptr}/{at}", "path": f"{ptr}/{pos}"}, p)
                    cur.insert(pos, cur.pop(at))
                self.walk(a[old_at], b[j], f"{ptr}/{pos}", p)
            pos += 1

    def _sequence(self, a: list[Any], b: list[Any], ptr: str, path: Path) -> None:
        ca, cb = [canon(x) for x in a], [canon(x) for x in b]
        ops = SequenceMatcher(None, ca, cb, autojunk=False).get_opcodes()
        for tag, i1, i2, j1, j2 in reversed(ops):
            if tag == "equal":
                continue
            n = min(i2 - i1, j2 - j1)
            for i in range(i2 - 1, i1 + n - 1, -1):
                p = (*path, Seg(old=i))
                if self.skip is None or not self.skip(p):
                    self._emit({"op": "remove", "path": f"{ptr}/{i}"}, p)
            at = i1 + n
            for j in range(j1 + n, j2):
                p = (*path, Seg(new=j))
                if self.skip is None or not self.skip(p):
                    self._emit({"op": "add", "path": f"{ptr}/{at}", "value": b[j]}, p)
                    at += 1
            for k in range(n - 1, -1, -1):
                self.walk(a[i1 + k], b[j1 + k], f"{ptr}/{i1 + k}", (*path, Seg(old=i1 + k, new=j1 + k)))


def make_patch_ops(a: Any, b: Any, skip: Skip | None = None) -> list[tuple[dict[str, Any], Path]]:
    """RFC 6902 operations turning ``a`` into ``b``, each with the path of the change it makes."""
    p = Patcher(skip)
    p.walk(a, b, "", ())
    return p.ops
