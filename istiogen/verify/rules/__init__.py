"""The rules of stage 2, one module each over a :class:`~istiogen.pipeline.Rendered` tree.

Each module has ``ID`` (stable, unique across stage 1 and 2), a docstring saying what it checks and why, and
``check(rendered) -> Iterable[Problem]``; ``HEAVY = True`` marks a rule run only where asked.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# the rule modules, by name (each is imported once, here)
NAMES = (
    "exclude_used", "generated_promql", "kube_schema", "patch_for_record", "record_generated", "unknown_rule",
)
RULES: tuple[ModuleType, ...] = tuple(importlib.import_module(f"{__name__}.{n}") for n in NAMES)
IDS: tuple[str, ...] = tuple(m.ID for m in RULES)
