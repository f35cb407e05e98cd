"""Secrets are never printed.

A value is sensitive when it belongs to a ``Secret`` (anything under ``data`` or
``stringData``), when a key on its path names a credential (``password``,
``token``, ``secret``, ``key``, ``bearer``, ``auth``, ...: matched on the words of
the key, so ``apiKey``, ``access_key`` and ``basic_auth`` count and ``monkey``
does not), or when it is the ``value`` of an ``env`` entry whose name does.
Keys that name *where* a credential is kept are references, not credentials:
``secretName``, ``secretKeyRef``, ``bearer_token_file``, and the bare ``key`` of
volume ``items`` and of ``*KeyRef`` selectors.  Sensitive values print as ``(sensitive value)``, or ``(sensitive value
changed)`` on the new side of a change; key names stay visible.

Text (README-like files, multi-line strings, command-line flags) is scrubbed
line by line: ``password: x``, ``--token=x`` and ``Bearer x`` lose their values.
"""

from __future__ import annotations

import re
from typing import Any

from istiogen.diff.model import MISSING, Seg

HIDDEN = "(sensitive value)"
CHANGED = "(sensitive value changed)"

WORDS = frozenset({
    "password", "passwords", "passwd", "passphrase", "token", "tokens", "secret", "secrets", "key", "keys",
    "apikey", "bearer", "auth", "authorization", "authentication", "authn", "authz", "oauth", "oauth2",
    "credential", "credentials", "privatekey", "accesskey",
})
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def words(name: str) -> list[str]:
    return [w.lower() for w in _SPLIT.split(name) if w]


REFERENCE_WORDS = frozenset({"ref", "refs", "name", "names", "file", "path", "selector"})


def sensitive_name(name: Any) -> bool:
    """Does this key name a credential?  ``secretName``, ``secretKeyRef``, ``key_file`` name where one is
    kept, not the credential: they do not count."""
    if not isinstance(name, str):
        return False
    ws = words(name)
    if len(ws) > 1 and ws[-1] in REFERENCE_WORDS:
        return False
    return any(w in WORDS for w in ws)


def _reference_key(path: tuple[Seg, ...], i: int) -> bool:
    """A bare ``key`` that names a key of a ConfigMap or Secret (volume ``items``, ``secretKeyRef``), or the
    ``secret`` source of a volume (which names a Secret)."""
    if path[i].key == "secret" and i >= 2 and path[i - 1].is_item and path[i - 2].key in ("volumes", "sources"):
        return True
    if path[i].key != "key" or i == 0:
        return False
    parent = path[i - 1]
    if parent.is_item:
        return i >= 2 and path[i - 2].is_key and path[i - 2].key == "items"
    return isinstance(parent.key, str) and parent.key.endswith(("KeyRef", "keyRef", "key_ref"))


def sensitive_path(path: tuple[Seg, ...], secret: bool = False) -> bool:
    """Is the value at ``path`` (or everything under it) a secret?"""
    if secret and len(path) >= 2 and path[0].is_key and path[0].key in ("data", "stringData"):
        return True
    for i, s in enumerate(path):
        if s.is_key and sensitive_name(s.key) and not _reference_key(path, i):
            return True
        if (s.kfield == "name" and sensitive_name(s.kvalue) and i + 1 < len(path) and path[i + 1].is_key
                and path[i + 1].key == "value"):
            return True
    return False


def mask_value(value: Any, path: tuple[Seg, ...], secret: bool, placeholder: str = HIDDEN) -> Any:
    """``value`` (found at ``path``) with every sensitive leaf replaced; keys stay."""
    if value is MISSING:
        return value
    if sensitive_path(path, secret):
        return _blank(value, placeholder)
    if isinstance(value, dict):
        return {k: mask_value(v, (*path, Seg(key=k)), secret, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        out = []
        for i, v in enumerate(value):
            seg = Seg(old=i, new=i)
            if isinstance(v, dict) and isinstance(v.get("name"), str):
                seg = Seg(kfield="name", kvalue=v["name"], old=i, new=i)
            out.append(mask_value(v, (*path, seg), secret, placeholder))
        return out
    if isinstance(value, str):
        return scrub(value)
    return value


def _blank(value: Any, placeholder: str) -> Any:
    if isinstance(value, dict):
        return {k: _blank(v, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank(v, placeholder) for v in value]
    return placeholder


def mask_pair(old: Any, new: Any, path: tuple[Seg, ...], secret: bool) -> tuple[Any, Any]:
    """The old and new value of one change, masked; a changed secret shows as changed."""
    if sensitive_path(path, secret):
        o = _blank(old, HIDDEN) if old is not MISSING else MISSING
        n = _blank(new, CHANGED if old is not MISSING else HIDDEN) if new is not MISSING else MISSING
        return o, n
    o, n = mask_value(old, path, secret), mask_value(new, path, secret)
    if isinstance(old, str) and isinstance(new, str) and old != new and o == n:
        n = scrub(new, CHANGED)
    return o, n


# ------------------------------------------------------------------------------------------------ text

_FLAG = re.compile(r"(?P<head>(?<![\w-])--?(?P<name>[A-Za-z0-9][\w.-]*)[= ])(?P<value>[^\s\"']+)")
_BEARER = re.compile(r"(?i)(?P<head>\bbearer\s+)(?P<value>[A-Za-z0-9._~+/=-]{6,})")
_LINE = re.compile(
    r"^(?P<head>\s*(?:-\s+)?(?:export\s+)?[\"']?(?P<name>[A-Za-z_][\w.-]*)[\"']?\s*[:=]\s*)(?P<value>\S.*)$"
)


_URL_USER = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<value>[^/\s@?#]+)@")
_QUERY = re.compile(r"(?P<head>[?&](?P<name>[A-Za-z0-9_.-]+)=)(?P<value>[^&#\s\"']+)")


def scrub(text: str, placeholder: str = HIDDEN) -> str:
    """Credential-looking values in free text replaced by ``placeholder``."""
    if not text:
        return text
    lines = text.split("\n")
    out = []
    for line in lines:
        m = _LINE.match(line)
        if m and sensitive_name(m["name"]) and not m["value"].startswith(("|", ">")):
            line = m["head"] + placeholder
        else:
            line = _FLAG.sub(lambda f: f["head"] + placeholder if sensitive_name(f["name"]) else f[0], line)
            line = _BEARER.sub(lambda f: f["head"] + placeholder, line)
        # credentials inside URLs: user:password@ and token-like query parameters
        line = _URL_USER.sub(lambda f: f["head"] + placeholder + "@", line)
        line = _QUERY.sub(lambda f: f["head"] + placeholder if sensitive_name(f["name"]) else f[0], line)
        out.append(line)
    return "\n".join(out)


def scrub_pair(old: str, new: str) -> tuple[str, str]:
    """Scrub two versions of a text; a line whose secret changed says so on the new side."""
    o = scrub(old)
    n_lines = []
    old_lines = set(old.split("\n"))
    for raw, masked in zip(new.split("\n"), scrub(new).split("\n"), strict=True):
        if masked != raw and raw not in old_lines:
            masked = scrub(raw, CHANGED)
        n_lines.append(masked)
    return o, "\n".join(n_lines)
