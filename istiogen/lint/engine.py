"""Running every check over every bundle, then applying the exclusions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from istiogen.lint.checks.base import Finding
from istiogen.lint.config import Exclusion
from istiogen.lint.context import Context
from istiogen.lint.model import Bundle
from istiogen.lint.registry import CHECKS
from istiogen.problems import Problem, sort_problems


@dataclass
class Result:
    problems: list[Problem] = field(default_factory=list)
    excluded: int = 0
    notes: list[str] = field(default_factory=list)
    bundles: int = 0

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.level == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for p in self.problems if p.level == "warning")


def lint_bundle(bundle: Bundle, *, scrape_interval: timedelta | None = None) -> list[Finding]:
    ctx = Context(bundle, scrape_interval=scrape_interval)
    findings: list[Finding] = []
    for check in CHECKS:
        findings += check.run(ctx)
    return findings


def lint(bundles: Sequence[Bundle], *, exclusions: Sequence[Exclusion] = (),
         scrape_interval: timedelta | None = None) -> Result:
    res = Result(bundles=len(bundles))
    kept: list[Problem] = []
    for b in bundles:
        if not b.federation and (b.alerts or b.has_dashboards):
            res.notes.append(f"{b.name}: no federation job (a /federate scrape config with match[]): "
                             "federation checks skipped")
        for f in lint_bundle(b, scrape_interval=scrape_interval):
            hit = next((x for x in exclusions if x.applies(f)), None)
            if hit is not None:
                hit.used += 1
                res.excluded += 1
            else:
                kept.append(f.problem)
    res.problems = sort_problems(kept)
    return res
