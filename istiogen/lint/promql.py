"""PromQL helpers for the lint: parsing, template variables, durations, regexes, quantile names.

``promql_parser`` is imported lazily: ``istiogen --help`` and the other verbs never load it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache
from typing import Any

# A range written as a template variable (`[$__rate_interval]`) is replaced by this
# duration: long enough that no window check ever fires on it.
VARIABLE_RANGE = "999w"
# A template variable where PromQL needs a number (`topk($n, ...)`): out of any
# quantile's range, so it is never read as a quantile.
VARIABLE_NUMBER = "1234567"
VAR_PREFIX = "__var_"

_VAR = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]")
_SCOPE = re.compile(r"\{\s*\$__scope\s*\}|,\s*\$__scope\b|\$__scope\s*,?")


def parse(text: str) -> tuple[Any, str | None]:
    """(ast, None) or (None, the parser's message)."""
    import promql_parser

    if not text.strip():
        return None, "the expression is empty"
    try:
        return promql_parser.parse(text), None
    except (ValueError, TypeError, RuntimeError) as e:
        return None, str(e).strip() or "invalid expression"


def _outside_strings(text: str) -> list[tuple[bool, str]]:
    """Split PromQL text into (is_string_literal, chunk) pieces."""
    out: list[tuple[bool, str]] = []
    i, start, n = 0, 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'`":
            if start < i:
                out.append((False, text[start:i]))
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" and c != "`" else 1
            out.append((True, text[i : j + 1]))
            i = start = j + 1
            continue
        if c == "#":  # a comment runs to the end of the line
            j = text.find("\n", i)
            j = n if j < 0 else j
            if start < i:
                out.append((False, text[start:i]))
            out.append((True, text[i:j]))
            i = start = j
            continue
        i += 1
    if start < n:
        out.append((False, text[start:]))
    return out


def has_template(text: str) -> bool:
    return bool(_VAR.search(text))


def substitute(text: str, *, numbers: bool = False) -> str:
    """Dashboard PromQL with template variables made parseable.

    Inside string literals nothing changes (``{ns=~"$namespace"}`` is valid PromQL).
    Outside them: Sysdig's ``$__scope`` filter is dropped; a variable used as a
    matcher's value (Sysdig writes ``{ns=~$namespace}``) becomes the string
    ``"$namespace"``; one used as a range or step becomes :data:`VARIABLE_RANGE`;
    any other becomes the identifier ``__var_NAME`` (a label or metric name), or,
    with ``numbers``, the number :data:`VARIABLE_NUMBER`.
    """
    pieces = []
    depth = 0  # inside {...}
    for is_str, chunk in _outside_strings(text):
        if is_str:
            pieces.append(chunk)
            continue
        chunk = _SCOPE.sub(lambda m: "{}" if m.group(0).startswith("{") else "", chunk)
        out = ""
        pos = 0
        for m in _VAR.finditer(chunk):
            head = chunk[pos : m.start()]
            depth += head.count("{") - head.count("}")
            out += head
            pos = m.end()
            name = m.group(1) or m.group(2) or m.group(3)
            before = out.rstrip()
            after = chunk[m.end() :].lstrip()[:1]
            if depth > 0 and before.endswith(("=", "~")):
                out += '"' + m.group(0).replace("\\", "\\\\").replace('"', '\\"') + '"'
            elif before[-1:] in ("[", ":") and after in ("]", ":"):
                out += VARIABLE_RANGE
            else:
                out += VARIABLE_NUMBER if numbers else VAR_PREFIX + name
        tail = chunk[pos:]
        depth += tail.count("{") - tail.count("}")
        pieces.append(out + tail)
    return "".join(pieces)


def dashboard_text(text: str) -> tuple[str, bool]:
    """The text to parse for a dashboard query, and whether variables were substituted."""
    if "$" not in text and "[[" not in text:
        return text, False
    sub = substitute(text)
    if parse(sub)[1] is not None:
        alt = substitute(text, numbers=True)
        if parse(alt)[1] is None:
            return alt, True
    return sub, sub != text


# --- durations -----------------------------------------------------------------------------------

_DUR = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")


def duration(text: str) -> timedelta | None:
    """A Prometheus duration (``1m30s``), or None if ``text`` is not one."""
    m = _DUR.fullmatch(text.strip()) if isinstance(text, str) and len(text) < 64 else None
    if not m or not text.strip() or not any(m.groups()):
        return None
    y, w, d, h, mi, s, ms = (int(g) if g else 0 for g in m.groups())
    return timedelta(days=365 * y + 7 * w + d, hours=h, minutes=mi, seconds=s, milliseconds=ms)


def show_duration(td: timedelta) -> str:
    secs = int(td.total_seconds())
    ms = round(td.total_seconds() * 1000) - secs * 1000
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if secs >= size:
            out += f"{secs // size}{unit}"
            secs %= size
    if ms:
        out += f"{ms}ms"
    return out or "0s"


# --- regexes -------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _compile(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def matches(op: str, pattern: str, value: str) -> bool | None:
    """Whether a label matcher accepts ``value`` (regexes fully anchored); None if unknown."""
    if op == "=":
        return value == pattern
    if op == "!=":
        return value != pattern
    rx = _compile(pattern)
    if rx is None:
        return None
    hit = rx.fullmatch(value) is not None
    return hit if op == "=~" else not hit


def op_text(op: Any) -> str:
    """``promql_parser.MatchOp`` to ``=``, ``!=``, ``=~``, ``!~``."""
    name = str(op).rsplit(".", 1)[-1]
    return {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}.get(name, name)


# --- quantile names ------------------------------------------------------------------------------

_TEXT_QUANTILE = (
    # p50, P99, p99.9, p999 (also "LatencyP99" in CamelCase names)
    re.compile(r"(?<![A-Za-z0-9_])[pP](\d{2,3})(?:[._](\d+))?(?![0-9A-Za-z])"),
    re.compile(r"(?<=[a-z])P(\d{2,3})(?:_(\d+))?(?![0-9a-z])"),
)
_PERCENTILE = re.compile(r"(?<![\d.])(\d{1,2}(?:\.\d+)?)\s*(?:th|st|nd|rd)?\s*(?:-\s*)?percentile", re.IGNORECASE)
_MEDIAN = re.compile(r"\bmedian\b", re.IGNORECASE)
_DECIMAL_Q = re.compile(
    r"(?:quantile|percentile|φ)\s*[=:(]?\s*(0?\.\d+)|(?<![\d.])(0\.\d+)\s*(?:quantile|percentile)", re.IGNORECASE
)
_NAME_QUANTILE = re.compile(
    r"(?:(?<=[_:])|^)(?:p|histogram|quantile|percentile)_?(\d{2,3})(?:_(\d+))?(?=$|[_:])", re.IGNORECASE
)


def _digits(main: str, frac: str | None) -> float | None:
    if len(main) == 3 and main.startswith("1"):
        return None  # p100 is not a quantile
    return float("0." + main + (frac or ""))


def text_quantiles(text: str) -> set[float]:
    """The quantiles a title, legend or description names: p99, 99th percentile, median, 0.99 quantile."""
    found: set[float] = set()
    if not text:
        return found
    text = re.sub(r"\{\{[^}]*\}\}", " ", text)  # legend templates name labels, not quantiles
    for rx in _TEXT_QUANTILE:
        for m in rx.finditer(text):
            v = _digits(m.group(1), m.group(2))
            if v is not None:
                found.add(v)
    for m in _PERCENTILE.finditer(text):
        v = float(m.group(1)) / 100
        if 0 < v < 1:
            found.add(round(v, 6))
    if _MEDIAN.search(text):
        found.add(0.5)
    for m in _DECIMAL_Q.finditer(text):
        v = float(m.group(1) or m.group(2))
        if 0 <= v <= 1:
            found.add(v)
    return found


def name_quantile(name: str) -> float | None:
    """The quantile a series name suggests: ``..._p99:rate5m``, ``...:histogram95``, ``..._p99_9``."""
    found = {v for m in _NAME_QUANTILE.finditer(name) if (v := _digits(m.group(1), m.group(2))) is not None}
    return found.pop() if len(found) == 1 else None


def show_quantile(v: float) -> str:
    return f"{v:g}"


def same_quantile(a: float, b: float) -> bool:
    return abs(a - b) < 1e-9


# matched with fullmatch: with match and "$", a trailing newline would pass
NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
