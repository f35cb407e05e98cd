"""Parsing a large YAML file by reusing a similar file whose data is known.

Comparing a rendered tree with the one on disk means parsing the files on disk.
For a rule file of 20,000 rules that takes seconds, and it is almost always a
slightly older version of the rendered file, whose data is in memory.  So the
text is cut into the items of its big block sequence (rule groups, then the
rules of a group whose text changed); an item whose text is the same as an item
of the known file *is* that item (the same source text gives the same data),
and only the other items are parsed.

It applies only where that reasoning holds: block sequences written the way
istiogen and kubectl write them (``- `` at the indentation of their key), no
anchors, aliases, tags, directives or document markers.  Anything else falls
back to a full parse (``None``); the result is checked against a full parse
in the tests.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MIN_SIZE = 256 * 1024  # smaller files are parsed whole: it is cheap
# anchors, aliases and tags (``&a``, ``*a``, ``!tag``; not PromQL's ``!=``, ``!~`` or ``x * 2``), directives and
# document markers: the same item text might not mean the same data.  (Searched for from the rare character:
# a pattern starting with a character class that holds whitespace would try every position.)
_NODE_PROPERTY = re.compile(r"[&*!][^\s,\]}=~]")
_MARKERS = ("\n---", "\n...", "\n%")


def _unsafe(text: str) -> bool:
    if text.startswith(("&", "*", "!", "---", "...", "%")) or any(m in text for m in _MARKERS):
        return True
    return any(m.start() > 0 and text[m.start() - 1] in " \t\n[{," for m in _NODE_PROPERTY.finditer(text))


Parse = Callable[[str], tuple[Any, ...]]


@dataclass
class _Split:
    """A text cut around one block sequence: the text before (ending with ``key:``), its items, the text after."""

    head: str
    key: str
    items: list[str]
    tail: str


@lru_cache(maxsize=8)
def _patterns(indent: int) -> tuple[re.Pattern[str], re.Pattern[str]]:
    pad = " " * indent
    key = re.compile(rf"{pad}(?P<key>[A-Za-z_][\w.-]*):[ \t]*")
    # the first line that is neither an item, nor inside one, nor blank, nor a comment ends the sequence
    end = re.compile(rf"\n(?!{pad}- |{pad} |[ \t]*(?:\n|#|\Z))")
    return key, end


def _split(text: str, indent: int) -> _Split | None:
    """The longest block sequence whose key is at ``indent`` and whose items (``- ``) are at ``indent`` too."""
    key_re, end_re = _patterns(indent)
    marker = "\n" + " " * indent + "- "
    best: tuple[int, int, str] | None = None  # (first item, end, key)
    pos = 0
    while (i := text.find(marker, pos)) >= 0:
        line_start = text.rfind("\n", 0, i) + 1
        m = key_re.fullmatch(text, line_start, i)
        if m is None:
            pos = i + 1
            continue
        e = end_re.search(text, i + 1)
        end = e.start() + 1 if e is not None else len(text)
        if best is None or end - i > best[1] - best[0]:
            best = (i + 1, end, m["key"])
        pos = end
    if best is None:
        return None
    first, end, key = best
    starts = [first]
    at = first
    while (at := text.find(marker, at, end)) >= 0:
        at += 1
        starts.append(at)
    bounds = [*starts, end]
    items = [text[a:b] for a, b in itertools.pairwise(bounds)]
    if not items[-1].endswith("\n"):
        items[-1] += "\n"
    return _Split(text[:first], key, items, text[end:])


def _assemble(head_tail: str, key: str, value: list[Any], parse: Parse, in_item: bool) -> Any:
    """Parse what surrounds the sequence and put the sequence back under its key."""
    docs = parse(head_tail)
    if len(docs) != 1:
        return None
    outer = docs[0]
    if in_item:
        if not isinstance(outer, list) or len(outer) != 1:
            return None
        outer = outer[0]
    if not isinstance(outer, dict) or key not in outer or outer[key] is not None:
        return None
    outer[key] = value
    return outer


def _parse_items(texts: list[str], known: dict[str, list[Any]], parse: Parse) -> list[Any] | None:
    """Items whose text is known are the known items; the rest are parsed, all in one go."""
    out: list[Any] = [None] * len(texts)
    todo: list[int] = []
    for i, t in enumerate(texts):
        hit = known.get(t)
        if hit:
            out[i] = hit[0]
        else:
            todo.append(i)
    if todo:
        docs = parse("".join(texts[i] for i in todo))
        if len(docs) != 1 or not isinstance(docs[0], list) or len(docs[0]) != len(todo):
            return None
        for i, v in zip(todo, docs[0], strict=True):
            out[i] = v
    return out


def prepare(text: str) -> _Split | None:
    """``text`` cut into the items of its big block sequence, when the shortcut may apply to it at all."""
    if len(text) < MIN_SIZE or _unsafe(text):
        return None
    return _split(text, 0)


def load(text: str, ref_text: str, ref_doc: Any, parse: Parse, old: _Split | None = None) -> Any:
    """``text``'s one document, reusing the items it shares with ``ref_text`` (which parses to ``ref_doc``);
    None when this shortcut does not apply (or ``parse`` raises ``ValueError`` on a piece).  ``old``: what
    :func:`prepare` gave for ``text``, when it was called already."""
    try:
        return _load(text, ref_text, ref_doc, parse, old)
    except ValueError:
        return None


def _load(text: str, ref_text: str, ref_doc: Any, parse: Parse, old: _Split | None) -> Any:
    if not isinstance(ref_doc, dict) or _unsafe(ref_text):
        return None
    if old is None:
        if _unsafe(text):
            return None
        old = _split(text, 0)
    ref = _split(ref_text, 0)
    ref_items = _ref_items(old, ref, ref_doc)
    if old is None or ref is None or ref_items is None:
        return None
    known: dict[str, list[Any]] = {}
    by_head: dict[str, list[int]] = {}
    for i, t in enumerate(ref.items):
        known.setdefault(t, []).append(ref_items[i])
        by_head.setdefault(t.split("\n", 1)[0], []).append(i)
    items: list[Any] = [None] * len(old.items)
    rest: list[int] = []
    for i, t in enumerate(old.items):
        hit = known.get(t)
        if hit:
            items[i] = hit[0]
            continue
        # the same item (by its first line) with some lines changed: reuse what is the same inside it
        cands = by_head.get(t.split("\n", 1)[0], [])
        sub = _item(t, ref.items[cands[0]], ref_items[cands[0]], parse) if len(cands) == 1 else None
        if sub is None:
            rest.append(i)
        else:
            items[i] = sub
    if rest:
        parsed = _parse_items([old.items[i] for i in rest], {}, parse)
        if parsed is None:
            return None
        for i, v in zip(rest, parsed, strict=True):
            items[i] = v
    return _assemble(old.head + old.tail, old.key, items, parse, in_item=False)


def _ref_items(old: _Split | None, ref: _Split | None, ref_data: dict[str, Any]) -> list[Any] | None:
    """The parsed items of ``ref``'s sequence, when ``old`` cuts into the same sequence and ``ref_data``
    holds one item for each of ``ref``'s texts."""
    if old is None or ref is None or old.key != ref.key:
        return None
    ref_items = ref_data.get(ref.key)
    if not isinstance(ref_items, list) or len(ref_items) != len(ref.items):
        return None
    return ref_items


def _item(text: str, ref_text: str, ref_item: Any, parse: Parse) -> Any:
    """One changed item of the big sequence (a rule group): its own inner sequence (the rules) reused."""
    if not isinstance(ref_item, dict):
        return None
    old, ref = _split(text, 2), _split(ref_text, 2)
    ref_items = _ref_items(old, ref, ref_item)
    if old is None or ref is None or ref_items is None:
        return None
    known: dict[str, list[Any]] = {}
    for t, v in zip(ref.items, ref_items, strict=True):
        known.setdefault(t, []).append(v)
    items = _parse_items(old.items, known, parse)
    if items is None:
        return None
    return _assemble(old.head + old.tail, old.key, items, parse, in_item=True)
