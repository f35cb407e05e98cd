"""Problems as data (file, line, column, field path, rule, level, message, hint).

Validation, the loader and the lint all report through this one type, and one
formatter turns a list of problems into ``text``, ``json`` or ``github`` output.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

Level = Literal["error", "warning"]
FORMATS = ("text", "json", "github")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    column: int | None
    path: str
    message: str
    rule: str
    level: Level = "error"
    hint: str | None = None

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line or 0, self.column or 0, self.path, self.message)

    @property
    def location(self) -> str:
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.column or 1}"

    def text(self) -> str:
        """One line, whatever the values quoted in it hold (control characters are escaped)."""
        where = f"{self.path}: " if self.path else ""
        hint = f" ({self.hint})" if self.hint else ""
        return one_line(f"{self.location}: {self.level}: {where}{self.message}{hint} [{self.rule}]")

    def github(self) -> str:
        props: list[tuple[str, object]] = [("file", self.file)]
        if self.line is not None:
            props += [("line", self.line), ("col", self.column or 1)]
        props.append(("title", self.rule))
        where = f"{self.path}: " if self.path else ""
        hint = f" ({self.hint})" if self.hint else ""
        return workflow_command(self.level, props, where + self.message + hint)


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(32), 127)} | {10: "\\n", 13: "\\r", 9: "\\t"}


def one_line(s: str) -> str:
    """``s`` with control characters escaped as in Python (``\\n``): a value cannot start a new line."""
    return s.translate(_CONTROL)


def gh_data(s: str) -> str:
    """A GitHub Actions workflow command's message, escaped: a newline in a value cannot start a command."""
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def gh_prop(s: str) -> str:
    """A workflow command's property value, escaped (also ',' and ':', which end a property)."""
    return gh_data(s).replace(":", "%3A").replace(",", "%2C")


def workflow_command(cmd: str, props: Sequence[tuple[str, object]], message: str) -> str:
    """``::cmd k=v,...::message`` with every property and the message escaped: the one place any
    machine-readable GitHub output is formatted."""
    shown = ",".join(f"{k}={gh_prop(str(v))}" for k, v in props)
    return f"::{cmd}{' ' if shown else ''}{shown}::{gh_data(message)}"


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(set(problems), key=Problem.sort_key)


def format_problems(problems: Sequence[Problem], fmt: str) -> str:
    """Render problems in one of :data:`FORMATS`; ``""`` when there are none (text/github)."""
    if fmt == "json":
        return json.dumps([asdict(p) for p in problems], indent=2) + "\n"
    if not problems:
        return ""
    if fmt == "github":
        return "".join(p.github() + "\n" for p in problems)
    return "".join(p.text() + "\n" for p in problems)


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A "did you mean 'x'?" hint for the closest candidate, if any is close."""
    import difflib

    cands = sorted(set(candidates))
    close = difflib.get_close_matches(word, cands, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in cands}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f"did you mean {close[0]!r}?" if close else None


def kind_of(v: Any) -> str:
    """What a value is, without quoting it (an input may hold credentials): for messages."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int | float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "a list" if v else "an empty list"
    if isinstance(v, dict):
        return "a mapping"
    return type(v).__name__
