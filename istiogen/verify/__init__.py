"""Stage 2: the checks that need the rendered output (after the pipeline, before writing or diffing).

Stage 1 (:mod:`istiogen.validate`) checks what the profile alone tells; the rules of :mod:`.rules` check a
:class:`~istiogen.pipeline.Rendered` tree: the generated expressions parse, the profile's ``rules.custom``,
``rules.exclude`` and ``rules.patches`` agree with the rules and alerts istiogen generates, and (only where
asked, as ``istiogen validate`` and ``check`` do: it loads heavy packages) every Kubernetes object is valid
for its schema.  The render stage never raises for these: it renders harmlessly, and :func:`run` reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from istiogen.problems import Problem

if TYPE_CHECKING:
    from istiogen.pipeline import Rendered

__all__ = ["run", "schema_rules"]


def run(rendered: Rendered, rules: Sequence[ModuleType] | None = None) -> list[Problem]:
    """Every problem the ``rules`` find in ``rendered`` (default: every rule that is not heavy), rule by rule."""
    from istiogen.verify.rules import RULES

    chosen = [m for m in RULES if not getattr(m, "HEAVY", False)] if rules is None else rules
    return [p for m in chosen for p in m.check(rendered)]


def schema_rules() -> tuple[ModuleType, ...]:
    """The heavy rules (the Kubernetes schema check): run by ``istiogen validate`` and ``check`` only."""
    from istiogen.verify.rules import RULES

    return tuple(m for m in RULES if getattr(m, "HEAVY", False))
