"""The registry of checks: modules of :mod:`istiogen.lint.checks`, each with ID, LEVEL, DESCRIPTION and run(ctx).

The order here is the order of ``istiogen lint --list-rules`` and of ``docs/lint.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Protocol, cast

from istiogen.lint.checks import (
    duplicate_name,
    invalid_name,
    invalid_promql,
    label_aggregated_away,
    not_federated,
    quantile_aggregation,
    quantile_mismatch,
    short_rate_window,
    sysdig_metric_limit,
    unknown_series,
    unused_record,
)
from istiogen.lint.checks.base import Finding
from istiogen.lint.context import Context
from istiogen.problems import Level


class Check(Protocol):
    ID: str
    LEVEL: Level
    DESCRIPTION: str
    run: Callable[[Context], Iterable[Finding]]


_MODULES: tuple[ModuleType, ...] = (
    duplicate_name,
    invalid_promql,
    invalid_name,
    unknown_series,
    not_federated,
    label_aggregated_away,
    unused_record,
    quantile_mismatch,
    quantile_aggregation,
    short_rate_window,
    sysdig_metric_limit,
)
CHECKS: tuple[Check, ...] = tuple(cast(Check, m) for m in _MODULES)
IDS: tuple[str, ...] = tuple(c.ID for c in CHECKS)
