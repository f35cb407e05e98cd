"""What the API functions return when a value is not enough: the facts a caller (the CLI) prints.

Nothing here prints; every field is data.  Imported lazily by :mod:`istiogen.api` (``dataclasses`` stays
out of ``istiogen --version``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from istiogen.adopt.importer import ImportResult
    from istiogen.pipeline import Rendered
    from istiogen.problems import Problem

# A stale file's status (as :func:`istiogen.emit.writer.plan` names it) in the words ``istiogen check`` uses
STALE_WORDS = {"created": "missing", "changed": "out of date", "removed": "no longer generated"}


@dataclass
class Batch:
    """Profiles loaded and rendered together (every problem of every profile reported at once)."""

    rendered: list[Rendered]

    @property
    def warnings(self) -> list[Problem]:
        """Every tree's warnings, in profile order (a profile's load warnings included)."""
        return [w for x in self.rendered for w in x.warnings]

    @property
    def files(self) -> int:
        return sum(len(x.files) for x in self.rendered)


@dataclass
class Validation:
    """``istiogen validate``: the profiles rendered, what the object schemas refuse, the warnings."""

    rendered: list[Rendered]
    invalid: list[Problem]  # Kubernetes objects the schema of kubernetes.version refuses (errors)
    warnings: list[Problem]

    @property
    def budgets(self) -> list[tuple[str, str]]:
        """(profile name, series budget line) of every profile with a series estimate."""
        return [(x.name, budget_line(x)) for x in self.rendered if x.estimate is not None]


def budget_line(x: Rendered) -> str:
    """The series estimate, and the agent limit it counts against."""
    est = x.estimate
    assert est is not None
    if not x.resolved.profile.sysdig.federation:
        return f"the Istio Prometheus remote-writes {est.summary()} (outside the agent's limits)"
    return (f"the agent federates {est.summary()}; limit {est.limit} (max_metrics, max_metrics_per_process): "
            f"{est.room()}")


@dataclass(frozen=True)
class Stale:
    """A committed file that is not what rendering writes now."""

    status: str  # created (missing), changed (out of date), removed (no longer generated)
    path: str  # as messages print it (see istiogen.source.display)
    source: str  # the profile it renders from

    @property
    def word(self) -> str:
        return STALE_WORDS[self.status]


@dataclass
class CheckResult:
    """``istiogen check``: are the trees under the output root current with the profiles?"""

    profiles: int  # 0: the profiles folder holds none
    files: int  # files proven or found current
    proven: bool = False  # proven current from every index.json digest, nothing rendered
    invalid: list[Problem] = field(default_factory=list)  # rendered objects the schema refuses
    stale: list[Stale] = field(default_factory=list)  # tree files, in profile and path order
    schema_stale: str | None = None  # the published JSON Schema, when out of date (as printed)
    resealed: int = 0  # index.json files differing in their digest alone (current, sealed by other code)

    @property
    def stale_count(self) -> int:
        return len(self.stale) + (self.schema_stale is not None)

    @property
    def current(self) -> bool:
        return not self.invalid and not self.stale_count


@dataclass
class Imported:
    """``istiogen import``: the profile written, and what the import found."""

    path: Path
    result: ImportResult


@dataclass
class Scaffolded:
    """``istiogen init``: the files written (in order), the rendered tree, what the import could not map."""

    created: list[Path]
    tree: Path
    tree_files: int
    notes: list[str] = field(default_factory=list)
