"""The diff engine's data: paths, changes, object diffs and the result of a comparison.

A *path* is a tuple of :class:`Seg`: a mapping key, a keyed list item
(``containers[name=prometheus]``), or a list position.  Each list step records
the item's index on both sides, so the same path can be walked in the old and
the new document, turned into an RFC 6902 pointer, or printed in dotted notation.
A segment flagged ``embedded`` holds a string that was parsed (YAML held in a
ConfigMap): the path goes on inside the parsed document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:
    from istiogen.diff.ignore import Ignore

ChangeType = Literal["added", "removed", "changed", "moved", "formatting", "mode"]
Status = Literal["added", "removed", "changed"]
Format = Literal["yaml", "json", "text"]


class _Missing:
    """The value on the side where there is none (an added key has no old value)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_BARE_VALUE = re.compile(r"[^\[\]\"=\s]+\Z")


@dataclass(frozen=True, slots=True)
class Seg:
    """One step of a path."""

    key: Any = None  # mapping key (kind "key")
    kfield: str | None = None  # keyed list item: the field holding the key ("name", "record", ...)
    kvalue: Any = None  # keyed list item: its key value
    old: int | None = None  # list item: index in the old document (None: not there)
    new: int | None = None  # list item: index in the new document
    embedded: bool = False  # the value here is a string parsed as a document; the path continues inside

    @property
    def is_key(self) -> bool:
        return self.old is None and self.new is None and self.kfield is None

    @property
    def is_item(self) -> bool:
        return not self.is_key

    def index(self, side: Literal["old", "new"]) -> int | None:
        return self.old if side == "old" else self.new

    def text(self) -> str:
        """This step in dotted notation (without the leading dot of a key)."""
        if self.is_key:
            k = self.key
            if isinstance(k, str) and _IDENT.match(k):
                return k
            if isinstance(k, str):
                return "[" + json.dumps(k, ensure_ascii=False) + "]"
            return "[" + json.dumps(k, default=str) + "]"
        if self.kfield is not None:
            v = self.kvalue
            shown = v if isinstance(v, str) and _BARE_VALUE.match(v) else json.dumps(v, ensure_ascii=False, default=str)
            return f"[{self.kfield}={shown}]"
        i = self.new if self.new is not None else self.old
        return f"[{i}]"


def key(k: Any) -> Seg:
    return Seg(key=k)


def dotted(path: Iterable[Seg]) -> str:
    """``spec.template.spec.containers[name=prometheus].volumeMounts[name=config-rules]``."""
    out = ""
    for s in path:
        t = s.text()
        if s.is_key and not t.startswith("["):
            out += ("." if out else "") + t
        else:
            out += t
    return out


def prefixes(path: tuple[Seg, ...]) -> list[str]:
    """The dotted text of ``path`` and of every ancestor, longest first (the root is ``""``)."""
    return [dotted(path[:n]) for n in range(len(path), -1, -1)]


def pointer(path: Iterable[Seg], side: Literal["old", "new"]) -> tuple[str | int, ...] | None:
    """Keys and list indexes of ``path`` in one document, up to the first embedded segment (inclusive).

    None when the path does not exist on that side."""
    out: list[str | int] = []
    for s in path:
        if s.is_key:
            out.append(s.key)
        else:
            i = s.index(side)
            if i is None:
                return None
            out.append(i)
        if s.embedded:
            break
    return tuple(out)


@dataclass(frozen=True)
class Ident:
    """A Kubernetes object's identity."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @property
    def group(self) -> str:
        return self.api_version.rsplit("/", 1)[0] if "/" in self.api_version else ""

    def label(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"

    def as_dict(self) -> dict[str, str]:
        return {"apiVersion": self.api_version, "kind": self.kind, "namespace": self.namespace, "name": self.name}


@dataclass(frozen=True)
class Change:
    path: tuple[Seg, ...]
    type: ChangeType
    old: Any = MISSING
    new: Any = MISSING
    note: str = ""

    @property
    def dotted(self) -> str:
        return dotted(self.path)


@dataclass
class ObjectDiff:
    """One object (a Kubernetes object, a document, or a whole file) that differs."""

    artifact: str  # the file the object comes from, as displayed
    kind: str  # the artifact kind (istiogen.pipeline.index.KINDS), "index" or "unknown"
    label: str  # "Deployment istio-system/prometheus", or "" for a file's only document
    status: Status
    changes: list[Change]
    old: Any = MISSING  # the whole old object (data, or text for text files)
    new: Any = MISSING
    format: Format = "yaml"
    ident: Ident | None = None
    old_name: str = ""  # file names for the unified diff headers
    new_name: str = ""
    old_file: str | None = None  # path of the file on disk holding the old side (github annotations)
    new_file: str | None = None
    old_source: str | None = None  # the text of the file each side was read from (for line numbers)
    new_source: str | None = None
    doc_index: int = 0  # which document of a multi-document file
    secret: bool = False  # a Kubernetes Secret: every value under data/stringData is masked
    # which strings of this object are documents (see istiogen.diff.objects.embedded_policy)
    embedded: Callable[[tuple[Seg, ...]], bool] | None = field(default=None, repr=False, compare=False)

    @property
    def sort_key(self) -> tuple[str, str, int]:
        return (self.artifact, self.label, self.doc_index)


@dataclass
class Summary:
    add: int = 0
    change: int = 0
    remove: int = 0
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.add + self.change + self.remove

    def line(self) -> str:
        return f"{self.add} to add, {self.change} to change, {self.remove} to remove"

    @staticmethod
    def kind_line(counts: dict[str, int]) -> str:
        return f"{counts['add']} to add, {counts['change']} to change, {counts['remove']} to remove"

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.line(), "add": self.add, "change": self.change, "remove": self.remove,
                "by_kind": {k: dict(v) for k, v in self.by_kind.items()}}


_COUNTER = {"added": "add", "changed": "change", "removed": "remove"}


def summarize(objects: Iterable[ObjectDiff]) -> Summary:
    s = Summary()
    for o in objects:
        slot = _COUNTER[o.status]
        setattr(s, slot, getattr(s, slot) + 1)
        counts = s.by_kind.setdefault(o.kind, {"add": 0, "change": 0, "remove": 0})
        counts[slot] += 1
    s.by_kind = dict(sorted(s.by_kind.items()))
    return s


@dataclass
class Result:
    """What a comparison found: the objects that differ (ignored changes already dropped)."""

    objects: list[ObjectDiff]
    notes: list[str] = field(default_factory=list)
    title: str = ""  # "rendered vs output/ on disk"
    ignored: int = 0  # changes dropped by ignore rules
    ignore: Ignore | None = field(default=None, compare=False, repr=False)  # the rules that dropped them

    @property
    def summary(self) -> Summary:
        return summarize(self.objects)

    @property
    def differs(self) -> bool:
        return bool(self.objects)
