"""Constrained string types with clear error messages (Kubernetes names, label names, durations)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

# Every pattern is matched with ``fullmatch`` (never ``match`` with ``$``, which also matches before a
# trailing newline: "x\n" would pass); the patterns are those of Kubernetes (apimachinery validation)
# and Prometheus (model.LabelNameRE, model.MetricNameRE, model.ParseDuration).
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_NAME_PART = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_PROM_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_PROM_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_CONFIGMAP_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_DURATION = re.compile(r"(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?")
_FRACTIONAL = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w|y)?")
_UNITS = {"y": 365 * 86400.0, "w": 7 * 86400.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def int_range(lo: int, hi: int) -> Any:
    """The range of an integer field (every number in a profile has one: see :data:`Count`)."""
    return Field(ge=lo, le=hi)


def float_range(lo: float, hi: float, *, above: bool = False, below: bool = False) -> Any:
    """The range of a number field: finite (no .inf or .nan), ``lo``..``hi`` (exclusive with ``above``/``below``)."""
    return Field(ge=None if above else lo, gt=lo if above else None, le=None if below else hi,
                 lt=hi if below else None, allow_inf_nan=False)


def _err(kind: str, msg: str, **ctx: object) -> PydanticCustomError:
    if "value" in ctx:
        ctx["value"] = _err_value(ctx["value"])
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


def _check_k8s_name(v: str, limit: int, pattern: re.Pattern[str], what: str, rule: str, allowed: str,
                    check: Callable[[str], str]) -> str:
    if len(v) > limit:
        raise _too_long("k8s_name", v, limit, what)
    if not pattern.fullmatch(v):
        raise _err("k8s_name", "'{value}' is not a valid " + what.removeprefix("a ") + f": {rule}", value=v,
                   suggest=_suggest(v, rf"[^{allowed}]+", "-", check, lower=True))
    return v


def check_dns_label(v: str) -> str:
    return _check_k8s_name(v, 63, _DNS_LABEL, "a Kubernetes name", "at most 63 lowercase letters, digits and '-', "
                           "starting and ending with a letter or digit", "a-z0-9-", check_dns_label)


def check_dns_subdomain(v: str) -> str:
    return _check_k8s_name(v, 253, _DNS_SUBDOMAIN, "a Kubernetes object name", "lowercase letters, digits, '-' and "
                           "'.', starting and ending with a letter or digit", "a-z0-9.-", check_dns_subdomain)


def check_label_key(v: str) -> str:
    prefix, _, name = v.rpartition("/")
    if (prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix))) or len(name) > 63 or not (
        _LABEL_NAME_PART.fullmatch(name)
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
    if not _LABEL_VALUE.fullmatch(v):
        raise _err(
            "k8s_label_value",
            "'{value}' is not a valid Kubernetes label value: at most 63 letters, digits, '-', '_' or '.'",
            value=v,
        )
    return v


def check_prom_label(v: str) -> str:
    if not _PROM_LABEL.fullmatch(v):
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
    if not _PROM_METRIC.fullmatch(v):
        raise _err(
            "prom_metric",
            "'{value}' is not a valid Prometheus metric name: letters, digits, '_' and ':', "
            "not starting with a digit",
            value=v,
            suggest=_suggest(v, r"[^a-zA-Z0-9_:]+", "_", check_prom_metric),
        )
    return v


# The range of every duration in a profile: Prometheus takes 1ms to 292 years (64-bit nanoseconds),
# istiogen more than 0 and at most a day (rate windows, intervals, `for`, unit-test spans: a longer
# one is a typo, and the generated unit tests would simulate it sample by sample).
MAX_DURATION_S = 86400.0
MAX_DURATION = "1d"


def duration_seconds(v: str) -> float:
    """Seconds of a Prometheus duration; ValueError when ``v`` is not one (or has absurdly long numbers)."""
    m = _DURATION.fullmatch(v)
    if not v or not m or len(v) > 64:
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
            value=_shown(v),
            suggest=_duration_suggestion(v),
        ) from None
    if secs <= 0:
        raise _err("duration", "'{value}': the duration must be greater than zero", value=v)
    if secs > MAX_DURATION_S:
        raise _err("duration", "'{value}' is longer than {limit}, the longest duration a profile takes",
                   value=_shown(v), limit=MAX_DURATION)
    return v


def _shown(v: str, limit: int = 40) -> str:
    """``v`` for a message: at most ``limit`` characters."""
    return v if len(v) <= limit else v[:limit] + "..."


def _err_value(v: object) -> object:
    """A value quoted in a message: long ones cut, control characters escaped (``x\\n``)."""
    if not isinstance(v, str):
        return v
    from istiogen.problems import one_line

    return one_line(_shown(v, 80))


def _duration_suggestion(v: str) -> str | None:
    """``1.5m`` -> ``1m30s``, ``90`` -> ``90s``: what was probably meant."""
    m = _FRACTIONAL.fullmatch(v.strip()) if len(v) <= 32 else None
    if not m:
        return None
    if not m.group(2):
        return f"{m.group(1)}s" if m.group(1).isdigit() else None
    seconds = float(m.group(1)) * _UNITS[m.group(2)]
    return format_duration(seconds) if seconds >= 0.001 else None


def check_configmap_key(v: str) -> str:
    if len(v) > 253 or not _CONFIGMAP_KEY.fullmatch(v) or v in (".", ".."):
        raise _err("configmap_key", "'{value}' is not a valid ConfigMap key: letters, digits, '-', '_' and '.'",
                   value=_shown(v))
    return v


def check_version(v: str) -> str:
    """A workload version as Istio labels it (the ``version`` pod label): a non-empty label value."""
    if not v:
        raise _err("version", "the version is empty (it is the value of the pods' version label, e.g. v1)")
    return check_label_value(v)


_AGENT_VERSION = re.compile(r"(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){0,2}")


def check_agent_version(v: str) -> str:
    """A Sysdig agent release: MAJOR, MAJOR.MINOR or MAJOR.MINOR.PATCH (e.g. 14.7.4)."""
    if not _AGENT_VERSION.fullmatch(v):
        raise _err("agent_version", "{value} is not a Sysdig agent version: MAJOR[.MINOR[.PATCH]], e.g. 14.7.4",
                   value=v)
    return v


# query parameters whose value is a credential (api_key=, access_token=, X-Amz-Signature=, ...)
_SECRET_PARAM = re.compile(
    r"(?i).*(token|key|secret|passw(or)?d|pwd|auth|credential|signature|sig|session|bearer)s?")
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def _check_url(v: str, fix: str) -> str:
    """An http(s) URL without credentials: no user or password, no token-like query parameter.

    The URL is never quoted back (it may hold the credential)."""
    from urllib.parse import parse_qsl, urlsplit

    bare = _PLACEHOLDER.sub("x", v)  # templates: {alert}, {service}, ...
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in v):
        raise _err("url", "the URL holds whitespace or control characters")
    try:
        u = urlsplit(bare)
        host = u.hostname
        u.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise _err("url", "not an http(s) URL (e.g. https://example.com/path)") from None
    if u.scheme not in ("http", "https") or not host:
        raise _err("url", "not an http(s) URL (e.g. https://example.com/path)")
    secret = "@" in u.netloc or any(_SECRET_PARAM.fullmatch(k) for k, _ in parse_qsl(u.query, keep_blank_values=True))
    if secret:  # a user or password before '@', or a query parameter such as token= or api_key=
        raise _err("secret_in_url", "the URL carries a credential: " + fix)
    return v


def check_remote_url(v: str) -> str:
    return _check_url(v, "put it in a Secret (remote_write.secret)")


def check_alertmanager_url(v: str) -> str:
    return _check_url(v, "configure Alertmanager authentication in Prometheus, not in the URL")


def check_link_url(v: str) -> str:
    return _check_url(v, "an alert's links are shown to everyone who sees the alert")


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
ConfigMapKey = Annotated[str, AfterValidator(check_configmap_key)]
Version = Annotated[str, AfterValidator(check_version)]
AgentVersion = Annotated[str, AfterValidator(check_agent_version)]
RemoteUrl = Annotated[str, AfterValidator(check_remote_url)]
LinkUrl = Annotated[str, AfterValidator(check_link_url)]  # a template: {alert}, {service}, ... are filled in

# Numbers: every numeric field of the profile is one of these (tests/profile checks that none is unbounded).
Port = Annotated[int, int_range(1, 65535)]
Count = Annotated[int, int_range(1, 1_000_000_000)]  # limits, batch sizes
Index = Annotated[int, int_range(0, 99)]  # a position in a pod's container list
Ratio = Annotated[float, float_range(0, 1)]
Floor = Annotated[float, float_range(0, 1, above=True)]  # a ratio that must be above 0
Quantile = Annotated[float, float_range(0, 1, above=True, below=True)]
Factor = Annotated[float, float_range(0, 1000, above=True)]  # candidate/baseline factors
Rate = Annotated[float, float_range(0, 1e9)]  # requests per second
Millis = Annotated[float, float_range(0, 86_400_000, above=True)]  # latency thresholds, histogram bounds
Seconds = Annotated[float, float_range(0, 86_400, above=True)]
Bound = Annotated[float, float_range(0, 1e12, above=True)]  # histogram bounds (bytes or the version's unit)
Cores = Annotated[float, float_range(0, 1e6, above=True)]  # CPU cores (CPU seconds per second)
Bytes = Annotated[float, float_range(0, 1e15, above=True)]  # memory
Sample = Annotated[float, float_range(-1e300, 1e300)]  # an expected sample value of a unit test


def format_duration(seconds: float) -> str:
    """Seconds back to the shortest Prometheus duration (90 -> ``1m30s``)."""
    ms = round(seconds * 1000)
    out = ""
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        if ms >= size:
            out += f"{ms // size}{unit}"
            ms %= size
    return out or "0s"
