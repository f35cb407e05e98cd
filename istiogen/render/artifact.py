"""Artifacts as data: what a renderer returns and the emitter serialises.

Renderers never produce text for structured formats: YAML and JSON artifacts hold
plain data, the apply script is a list of steps, the tree README a list of
blocks, a unified diff the two texts it compares.  :mod:`istiogen.emit` turns
them into bytes, deterministically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Format = Literal["yaml", "yaml-multi", "yaml-roundtrip", "json", "shell", "markdown", "diff"]


@dataclass(frozen=True)
class Step:
    """One command of the apply script: what it does and the argv to run."""

    title: str
    argv: tuple[str, ...]
    dry_run: str | None = "--dry-run=server"  # flag appended in dry-run mode; None: skip the step then
    guard: tuple[str, str] | None = None  # (shell condition, message): checked first, stops the script if false
    note: str = ""


@dataclass(frozen=True)
class Script:
    steps: tuple[Step, ...]
    intro: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()  # shell function definitions the steps call (after run())


@dataclass(frozen=True)
class Block:
    kind: Literal["heading", "paragraph", "code", "table", "list"]
    text: str = ""
    level: int = 2
    lang: str = ""
    rows: tuple[tuple[str, ...], ...] = ()
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class TextDiff:
    old: str
    new: str
    old_name: str
    new_name: str


@dataclass(frozen=True)
class RoundTripDoc:
    """A ruamel round-trip document (comments attached) and the indentation it was written with."""

    data: Any
    mapping: int = 2
    sequence: int = 2
    offset: int = 0


@dataclass(frozen=True)
class Artifact:
    path: str  # relative, POSIX
    kind: str  # from istiogen.emit.index.KINDS
    data: Any
    format: Format
    summary: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False)
