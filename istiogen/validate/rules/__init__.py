"""The cross-field rules of stage 1, one module each (as yamllint's ``rules/*.py``).

Each module has ``ID`` (a stable, unique kebab-case id: the ``[rule]`` of its problems), a docstring saying
what it checks and why, and ``check(ctx) -> Iterable[Problem]`` over a :class:`~istiogen.validate.context.Context`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# the rule modules, by name (each is imported once, here)
NAMES = (
    "alertmanager_delivery", "alertmanager_missing", "alerts_need_requests", "ambient_version",
    "basic_auth_username", "canonical_labels", "cluster_label_taken", "double_collection", "drop_unused",
    "duplicate_exclude", "duplicate_experiment", "duplicate_namespace", "duplicate_patch", "duplicate_rule",
    "duplicate_service", "empty_federation_label", "exclude_patched", "experiment_per_service", "experiment_rules",
    "helm_values_flavour", "kept_pod_label", "label_needed", "live_config_ignored", "live_external_label",
    "missing_secret", "no_rule_set", "output_name", "output_outside", "output_reserved", "patch_promql",
    "projected_no_reloader", "promscrape_v1_legacy", "promscrape_v2_agent", "quantiles_need_latency",
    "remote_write_target", "same_versions", "short_window", "telemetry_api", "unknown_bucket", "unknown_label",
    "unknown_quantile", "unknown_service", "unknown_version", "waypoint_mode",
)
RULES: tuple[ModuleType, ...] = tuple(importlib.import_module(f"{__name__}.{n}") for n in NAMES)
IDS: tuple[str, ...] = tuple(m.ID for m in RULES)
