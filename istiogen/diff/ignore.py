"""Ignore rules: ``--ignore PATTERN`` and the ``.istiogenignore`` file.

A pattern is a glob on the dotted path of a change, as ``--output semantic``
prints it (``*`` matches any run of characters, dots included; ``?`` one
character; everything else, brackets too, is literal).  It ignores the change at
that path and everything under it::

    metadata.annotations["istiogen.io/rules-checksum"]
    data["rules.yaml"].groups[name=istio.data-plane].rules[record=*].labels
    spec.template.spec.containers[name=*].resources

``FILE::PATH`` limits a pattern to one artifact: FILE is a glob on the artifact's
path (or any trailing part of it: ``README.md``, ``prometheus/rules.yaml``) or an
artifact kind (``prometheus-rules``); ``README.md::*`` ignores the file altogether.

``.istiogenignore`` holds one pattern a line; blank lines and lines starting
with ``#`` are skipped.  Ignored changes are neither printed nor counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from istiogen.diff.model import Seg, prefixes
from istiogen.errors import FatalError

SEP = "::"


def glob_regex(glob: str) -> re.Pattern[str]:
    out = []
    for ch in glob:
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


@dataclass(frozen=True)
class Rule:
    text: str
    file: re.Pattern[str] | None
    path: re.Pattern[str]
    origin: str  # "--ignore" or ".istiogenignore:3"

    def file_matches(self, artifact: str, kind: str) -> bool:
        if self.file is None:
            return True
        if self.file.fullmatch(kind):
            return True
        parts = artifact.split("/")
        return any(self.file.fullmatch("/".join(parts[i:])) for i in range(len(parts)))


def parse_rule(text: str, origin: str) -> Rule:
    t = text.strip()
    if not t:
        raise FatalError(f"{origin}: empty ignore pattern")
    file_glob, sep, path_glob = t.partition(SEP)
    if not sep:
        return Rule(t, None, glob_regex(t), origin)
    if not file_glob:
        raise FatalError(f"{origin}: {t!r}: nothing before '{SEP}' (write FILE::PATH)")
    return Rule(t, glob_regex(file_glob), glob_regex(path_glob), origin)


def read_file(path: Path) -> list[Rule]:
    from istiogen.source import read_file as read_bounded

    if not path.exists():
        return []
    text = read_bounded(path, str(path))  # a regular file of bounded size (a FIFO must not block)
    rules = []
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if s and not s.startswith("#"):
            rules.append(parse_rule(s, f"{path}:{n}"))
    return rules


class Ignore:
    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules

    @classmethod
    def load(cls, patterns: list[str], file: Path | None) -> Ignore:
        rules = [parse_rule(p, "--ignore") for p in patterns]
        if file is not None:
            rules += read_file(file)
        return cls(rules)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def for_artifact(self, artifact: str, kind: str) -> PathIgnore:
        return PathIgnore([r for r in self.rules if r.file_matches(artifact, kind)])


class PathIgnore:
    """The rules that apply to one artifact."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules

    def __bool__(self) -> bool:
        return bool(self.rules)

    def __call__(self, path: tuple[Seg, ...]) -> bool:
        if not self.rules:
            return False
        texts = prefixes(path)
        return any(r.path.fullmatch(t) for r in self.rules for t in texts)
