"""What a check returns: a problem plus the names an exclusion's ``match`` is tested against."""

from __future__ import annotations

from dataclasses import dataclass

from istiogen.lint.model import Loc
from istiogen.problems import Level, Problem


@dataclass(frozen=True)
class Finding:
    problem: Problem
    subjects: tuple[str, ...]  # e.g. the record, alert, series or label the finding is about


def finding(rule: str, level: Level, loc: Loc, message: str, subjects: tuple[str, ...] | str,
            hint: str | None = None) -> Finding:
    subj = (subjects,) if isinstance(subjects, str) else subjects
    return Finding(Problem(loc.file, loc.line, loc.column, loc.path, message, rule, level, hint),
                   tuple(s for s in subj if s))


def where(loc: Loc) -> str:
    return f"{loc.file}:{loc.line}" if loc.line is not None else loc.file
