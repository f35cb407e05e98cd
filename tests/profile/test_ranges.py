"""Every number a profile holds has a finite, documented range (istiogen.profile.types.int_range/float_range).

Checked on the published JSON Schema (``istiogen schema``), which is what editors and users read: a
numeric field without both bounds would accept 10**40 or, for floats, .inf and .nan.
"""

from __future__ import annotations

from typing import Any

from istiogen.cli.schema import schema_text


def _numbers(node: Any, path: str, out: list[tuple[str, dict[str, Any]]]) -> None:
    if isinstance(node, dict):
        if node.get("type") in ("integer", "number"):
            out.append((path, node))
        for k, v in node.items():
            _numbers(v, f"{path}/{k}", out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _numbers(v, f"{path}/{i}", out)


def test_every_numeric_field_has_both_bounds() -> None:
    import json

    found: list[tuple[str, dict[str, Any]]] = []
    _numbers(json.loads(schema_text()), "", found)
    assert len(found) >= 20  # ports, limits, ratios, thresholds, factors, buckets, quantiles, ...
    unbounded = [p for p, n in found
                 if not ({"minimum", "exclusiveMinimum"} & set(n) and {"maximum", "exclusiveMaximum"} & set(n))]
    assert unbounded == []


def test_floats_refuse_infinity_and_nan(tmp_path: Any) -> None:
    from istiogen.errors import ProfileError
    from istiogen.profile.loader import load_profile
    from tests.conftest import write_profile

    path = write_profile(tmp_path, """
        name: x
        istio: {version: "1.22"}
        alerts: {services: {min_request_rate: .inf, error_ratio_5xx: .nan}}
        """)
    try:
        load_profile(path)
    except ProfileError as e:
        rules = sorted((p.path, p.rule) for p in e.problems)
    else:
        raise AssertionError("accepted")
    assert rules == [("alerts.services.error_ratio_5xx", "finite-number"),
                     ("alerts.services.min_request_rate", "finite-number")]
