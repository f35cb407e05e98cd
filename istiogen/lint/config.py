"""The lint configuration: exclusions, each with the reason it is acceptable.

``.istiogen-lint.yaml`` (or ``--config FILE``)::

    exclude:
      - rule: unused-record              # a rule ID (required)
        path: "output/*/prometheus/*"    # glob on the reported file (optional)
        match: "istiod:*"                # glob on the record, alert, series or label (optional)
        reason: consumed by team X's dashboards   # required, non-empty

An exclusion without a reason, with an unknown rule ID or an unknown key is an
error of the configuration (exit 2), reported at its line and column.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from istiogen.errors import FatalError, ProfileError
from istiogen.lint.checks.base import Finding
from istiogen.lint.model import Loc
from istiogen.problems import Problem, did_you_mean

DEFAULT = ".istiogen-lint.yaml"
KEYS = ("rule", "path", "match", "reason")
RULE = "lint-config"


@dataclass
class Exclusion:
    rule: str
    reason: str
    path: str | None = None
    match: str | None = None
    loc: Loc | None = None
    used: int = 0

    def applies(self, f: Finding) -> bool:
        p = f.problem
        if p.rule != self.rule:
            return False
        if self.path is not None and not fnmatch.fnmatchcase(p.file, self.path):
            return False
        return self.match is None or any(fnmatch.fnmatchcase(s, self.match) for s in f.subjects)


@dataclass
class Config:
    exclusions: list[Exclusion] = field(default_factory=list)
    source: str | None = None


def load(path: Path | None, rule_ids: tuple[str, ...]) -> Config:
    """The config at ``path``, or at :data:`DEFAULT` if it exists, or an empty one."""
    from istiogen.source import load_yaml, read_file

    explicit = path is not None
    p = path or Path(DEFAULT)
    if not p.exists():
        if explicit:
            raise FatalError(f"{p}: no such lint configuration file")
        return Config()
    shown = str(p)
    doc = load_yaml(read_file(p, shown), shown)
    problems: list[Problem] = []

    def bad(at: tuple[str | int, ...], message: str, hint: str | None = None, *, key: bool = False) -> None:
        mk = doc.mark(at, key=key)
        from istiogen.source import dotted

        problems.append(Problem(shown, mk.line if mk else None, mk.column if mk else None, dotted(at), message,
                                RULE, "error", hint))

    cfg = Config(source=shown)
    data = doc.data
    if data is None:
        return cfg
    if not isinstance(data, dict):
        bad((), "the lint configuration must be a mapping with an 'exclude' list")
        raise ProfileError(problems)
    for k in data:
        if k != "exclude":
            bad((k,), f"unknown key {k!r}", did_you_mean(k, ["exclude"]), key=True)
    items = data.get("exclude")
    if items is None:
        items = []
    if not isinstance(items, list):
        bad(("exclude",), "'exclude' must be a list of {rule, path, match, reason}")
        items = []
    for i, item in enumerate(items):
        at: tuple[str | int, ...] = ("exclude", i)
        if not isinstance(item, dict):
            bad(at, "an exclusion must be a mapping with rule, reason and optionally path and match")
            continue
        for k in item:
            if k not in KEYS:
                bad((*at, k), f"unknown key {k!r}", did_you_mean(k, KEYS), key=True)
        rule = item.get("rule")
        if not isinstance(rule, str) or not rule:
            bad(at if rule is None else (*at, "rule"), "an exclusion needs the 'rule' it excludes",
                f"one of: {', '.join(rule_ids)}")
        elif rule not in rule_ids:
            bad((*at, "rule"), f"unknown rule {rule!r}", did_you_mean(rule, rule_ids) or
                f"one of: {', '.join(rule_ids)}")
        reason = item.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            bad(at if "reason" not in item else (*at, "reason"), "an exclusion needs a non-empty 'reason'",
                "say why this finding is acceptable, so the next reader knows")
        for k in ("path", "match"):
            if k in item and not isinstance(item[k], str):
                bad((*at, k), f"'{k}' must be a glob pattern (a string)")
        if isinstance(rule, str) and isinstance(reason, str):
            mk = doc.mark(at)
            loc = Loc(shown, mk.line if mk else None, mk.column if mk else None, f"exclude[{i}]")
            cfg.exclusions.append(Exclusion(rule, reason, _opt(item.get("path")), _opt(item.get("match")), loc))
    if problems:
        raise ProfileError(problems)
    return cfg


def _opt(v: object) -> str | None:
    return v if isinstance(v, str) else None


def from_cli(values: list[str], rule_ids: tuple[str, ...]) -> list[Exclusion]:
    """``--exclude RULE=REASON`` (every finding of RULE) or ``--exclude RULE:GLOB=REASON`` (matching GLOB)."""
    out = []
    for v in values:
        head, sep, reason = v.partition("=")
        rule, _, match = head.partition(":")
        if not sep or not reason.strip():
            raise FatalError(f"--exclude {v!r}: give a reason, as RULE=REASON or RULE:GLOB=REASON")
        if rule not in rule_ids:
            hint = did_you_mean(rule, rule_ids)
            raise FatalError(f"--exclude {v!r}: unknown rule {rule!r}" + (f"; {hint}" if hint else ""))
        out.append(Exclusion(rule, reason.strip(), None, match or None))
    return out
