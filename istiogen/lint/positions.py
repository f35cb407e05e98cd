"""Positions in the texts the lint reads: a file, or a document embedded in one (a ConfigMap value).

:class:`Src` maps a line and column of an embedded text back to the file it stands in;
:class:`YamlLoc` and :class:`JsonLoc` find the position of a value by its path.
"""

from __future__ import annotations

import bisect
import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from istiogen.lint.model import Loc
from istiogen.problems import Problem
from istiogen.source import PathT, SourceDoc


def fmt_path(path: PathT) -> str:
    """``("data", "rules.yaml", "groups", 0)`` -> ``data["rules.yaml"].groups[0]``."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p):
            out += ("." if out else "") + p
        else:
            out += f"[{json.dumps(p)}]"
    return out


@dataclass
class Src:
    """A text being read: a file, or a document embedded in one (a ConfigMap value)."""

    file: str
    text: str
    line_offset: int = 0
    col_offset: int = 0
    anchor: tuple[int, int] | None = None  # every position, when the embedding cannot be mapped
    prefix: PathT = ()

    def at(self, line: int | None, column: int | None, path: PathT) -> Loc:
        shown = fmt_path(self.prefix + path)
        if self.anchor is not None:
            return Loc(self.file, self.anchor[0], self.anchor[1], shown)
        if line is None:
            return Loc(self.file, None, None, shown)
        return Loc(self.file, line + self.line_offset, (column or 1) + self.col_offset, shown)

    def embedded(self, text: str, line: int, column: int, prefix: PathT) -> Src:
        """The source of a string value that starts at (line, column) of this text."""
        lines = self.text.splitlines()
        child = Src(self.file, text, prefix=self.prefix + prefix)
        if self.anchor is not None:
            child.anchor = self.anchor
            return child
        here = lines[line - 1] if 0 < line <= len(lines) else ""
        if here[column - 1 : column] in ("|", ">"):
            body = lines[line:]
            first = next((x for x in body if x.strip()), "")
            indent = len(first) - len(first.lstrip(" "))
            content = text.splitlines()
            ok = all(
                (body[i][indent:] if i < len(body) else None) == content[i]
                for i in range(min(len(content), 3))
            )
            if ok:
                child.line_offset = self.line_offset + line
                child.col_offset = self.col_offset + indent
                return child
        child.anchor = (line + self.line_offset, column + self.col_offset)
        return child


class YamlLoc:
    def __init__(self, src: Src, doc: SourceDoc) -> None:
        self.src = src
        self.doc = doc

    def __call__(self, path: PathT, value: object = None, *, key: bool = False) -> Loc:
        mk = self.doc.mark(path, key=key)
        return self.src.at(mk.line if mk else None, mk.column if mk else None, path)


class JsonLoc:
    """Positions in JSON text: every ``"key": "string"`` pair is found in one pass over the text, and each
    lookup takes the next position of that pair in document order (linear in the text, whatever the
    number of lookups: a regex search per lookup was quadratic on large dashboards)."""

    _PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"(?:\s*:\s*"((?:[^"\\]|\\.)*)")?')

    def __init__(self, src: Src) -> None:
        self.src = src
        self.starts = [0]
        for m in re.finditer("\n", src.text):
            self.starts.append(m.end())
        self.pairs: dict[tuple[str, str], deque[int]] = {}
        for m in self._PAIR.finditer(src.text):
            if m.group(2) is None:
                continue
            try:
                key, value = json.loads(f'"{m.group(1)}"'), json.loads(f'"{m.group(2)}"')
            except ValueError:
                continue
            self.pairs.setdefault((key, value), deque()).append(m.start(2) - 1)

    def _find(self, key: str, value: str) -> tuple[int, int] | None:
        found = self.pairs.get((key, value))
        if not found:
            return None
        off = found.popleft()
        line = bisect.bisect_right(self.starts, off)
        return line, off - self.starts[line - 1] + 1

    def __call__(self, path: PathT, value: object = None, *, key: bool = False) -> Loc:
        pos = None
        if path and isinstance(path[-1], str) and isinstance(value, str):
            pos = self._find(path[-1], value)
        return self.src.at(pos[0] if pos else None, pos[1] if pos else None, path)


Locate = Callable[..., Loc]


def moved(p: Problem, src: Src) -> Problem:
    """A problem found in an embedded text, at its position in the file."""
    loc = src.at(p.line, p.column, ())
    return Problem(loc.file, loc.line, loc.column, loc.path, p.message, p.rule, p.level, p.hint)
