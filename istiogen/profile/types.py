"""Constrained string types with clear error messages (Kubernetes names, label names, durations)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_PROM_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_PROM_METRIC = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_DURATION = re.compile(r"^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$")
_FRACTIONAL = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w|y)?$")
_UNITS = {"y": 365 * 86400.0, "w": 7 * 86400.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def _err(kind: str, msg: str, **ctx: object) -> PydanticCustomError:
    return PydanticCustomError(kind, msg, dict(ctx))


def _suggest(v: str, bad: str, sep: str, check: Callable[[str], object], *, lower: bool = False) -> str | None:
    """``v`` with the characters matching ``bad`` replaced by ``sep``, if that makes it valid."""
    s = re.sub(f"{re.escape(sep)}{{2,}}", sep, re.sub(bad, sep, v.lower() if lower else v)).strip(sep + ".")
    if not s or s == v:
        return None
    try:
        check(s)
    except PydanticCustomError:
        return None
    return s


def _too_long(kind: str, v: str, limit: int, what: str) -> PydanticCustomError:
    return _err(kind, "'{value}' is {n} characters long, more than the {limit} of " + what, value=v, n=len(v),
                limit=limit)


def check_dns_label(v: str) -> str:
    if len(v) > 63:
        raise _too_long("k8s_name", v, 63, "a Kubernetes name")
    if not _DNS_LABEL.match(v):
        raise _err(
            "k8s_name",
            "'{value}' is not a valid Kubernetes name: at most 63 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit",
            value=v,
            suggest=_suggest(v, r"[^a-z0-9-]+", "-", check_dns_label, lower=True),
        )
    return v


def check_dns_subdomain(v: str) -> str:
    if len(v) > 253:
        raise _too_long("k8s_name", v, 253, "a Kubernetes object name")
    if not _DNS_SUBDOMAIN.match(v):
        raise _err(
            "k8s_name",
            "'{value}' is not a valid Kubernetes object name: lowercase letters, digits, '-' and '.', "
            "starting and ending with a letter or digit",
            value=v,
            suggest=_suggest(v, r"[^a-z0-9.-]+", "-", check_dns_subdomain, lower=True),
        )
    return v


def check_label_key(v: str) -> str:
    prefix, _, name = v.rpartition("/")
    if (prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix))) or len(name) > 63 or not (
        _LABEL_NAME_PART.match(name)
    ):
        raise _err(
            "k8s_label_key",
            "'{value}' is not a valid Kubernetes label or annotation key: an optional DNS prefix and '/', "
            "then at most 63 letters, digits, '-', '_' or '.'",
            value=v,
        )
    return v


def check_label_value(v: str) -> str:
    if len(v) > 63:
        raise _too_long("k8s_label_value", v, 63, "a Kubernetes label value")
    if not _LABEL_VALUE.match(v):
        raise _err(
            "k8s_label_value",
            "'{value}' is not a valid Kubernetes label value: at most 63 letters, digits, '-', '_' or '.'",
            value=v,
        )
    return v


def check_prom_label(v: str) -> str:
    if not _PROM_LABEL.match(v):
        raise _err(
            "prom_label",
            "'{value}' is not a valid Prometheus label name: letters, digits and '_', not starting with a digit",
            value=v,
            suggest=_suggest(v, r"[^a-zA-Z0-9_]+", "_", check_prom_label),
        )
    if v.startswith("__"):
        raise _err("prom_label", "'{value}': label names starting with '__' are reserved", value=v)
    return v


def check_prom_metric(v: str) -> str:
    if not _PROM_METRIC.match(v):
        raise _err(
            "prom_metric",
            "'{value}' is not a valid Prometheus metric name: letters, digits, '_' and ':', "
            "not starting with a digit",
            value=v,
            suggest=_suggest(v, r"[^a-zA-Z0-9_:]+", "_", check_prom_metric),
        )
    return v


def duration_seconds(v: str) -> float:
    m = _DURATION.match(v)
    if not v or not m:
        raise ValueError(v)
    total = 0.0
    for unit, group in (("y", 2), ("w", 4), ("d", 6), ("h", 8), ("m", 10), ("s", 12), ("ms", 14)):
        if m.group(group):
            total += int(m.group(group)) * _UNITS[unit]
    return total


def check_duration(v: str) -> str:
    try:
        secs = duration_seconds(v)
    except ValueError:
        raise _err(
            "duration",
            "'{value}' is not a Prometheus duration such as 30s, 1m or 1h30m",
            value=v,
            suggest=_duration_suggestion(v),
        ) from None
    if secs <= 0:
        raise _err("duration", "'{value}': the duration must be greater than zero", value=v)
    return v


def _duration_suggestion(v: str) -> str | None:
    """``1.5m`` -> ``1m30s``, ``90`` -> ``90s``: what was probably meant."""
    m = _FRACTIONAL.match(v.strip())
    if not m:
        return None
    if not m.group(2):
        return f"{m.group(1)}s" if m.group(1).isdigit() else None
    seconds = float(m.group(1)) * _UNITS[m.group(2)]
    return format_duration(seconds) if seconds >= 0.001 else None


def _clean_abs_path(v: str) -> bool:
    return v.startswith("/") and "\n" not in v and "//" not in v.rstrip("/") and ".." not in v.split("/")


def check_abs_path(v: str) -> str:
    if not _clean_abs_path(v):
        suggest = "/" + v if _clean_abs_path("/" + v) else None
        raise _err("abs_path", "'{value}' is not a clean absolute path inside the container", value=v,
                   suggest=suggest)
    return v


DnsLabel = Annotated[str, AfterValidator(check_dns_label)]
DnsSubdomain = Annotated[str, AfterValidator(check_dns_subdomain)]
LabelKey = Annotated[str, AfterValidator(check_label_key)]
LabelValue = Annotated[str, AfterValidator(check_label_value)]
PromLabel = Annotated[str, AfterValidator(check_prom_label)]
PromMetric = Annotated[str, AfterValidator(check_prom_metric)]
Duration = Annotated[str, AfterValidator(check_duration)]
AbsPath = Annotated[str, AfterValidator(check_abs_path)]


def format_duration(seconds: float) -> str:
    """Seconds back to the shortest Prometheus duration (90 -> ``1m30s``)."""
    ms = round(seconds * 1000)
    out = ""
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        if ms >= size:
            out += f"{ms // size}{unit}"
            ms %= size
    return out or "0s"
