"""``index.json``: the profile, the istiogen version, an input digest, and every file's path, kind and sha256.

The kinds form a fixed vocabulary; tools reading a rendered tree can rely on it.

The ``digest`` seals what the tree was rendered from and what it holds: the istiogen
version, the source of the code that renders (:data:`RENDER_CODE`), the composed
profile (every ``extends`` base merged in), the live ConfigMap it read, and the rest
of the index (every file's sha256).  ``istiogen check`` uses it to prove a tree current
without rendering (:func:`proven_current`): same digest, and every file on disk as
listed, nothing more.  A tree edited by hand fails that and is rendered and compared.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from istiogen import __version__
from istiogen.registry import INDEX, KINDS, file_mode

if TYPE_CHECKING:
    from istiogen.profile.resolve import Resolved

# Every module a render runs (tests/emit/test_check_fast_path.py checks that rendering imports no other istiogen
# module): a change to any of them changes every digest, so check renders again.
RENDER_CODE = ("__init__.py", "errors.py", "jsonmerge.py", "problems.py", "promast.py", "registry.py", "source.py",
               "catalog", "serial", "profile", "validate", "render", "pipeline", "verify")



def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def index(profile: str, source: str, entries: list[tuple[str, str, bytes]], inputs: str) -> dict[str, Any]:
    """``entries``: (path, kind, content) for every file but the index itself; ``inputs``: :func:`input_digest`."""
    for _, kind, _ in entries:
        if kind not in KINDS:
            raise ValueError(f"artifact kind {kind!r} is not in the index vocabulary")
    body: dict[str, Any] = {
        "profile": profile,
        "source": source,
        "istiogen_version": __version__,
        "artifacts": [
            {"path": path, "kind": kind, "sha256": sha256(content)}
            for path, kind, content in sorted(entries, key=lambda e: e[0])
        ],
    }
    return {**{k: body[k] for k in ("profile", "source", "istiogen_version")}, "digest": _seal(inputs, body),
            "artifacts": body["artifacts"]}


def _seal(inputs: str, body: dict[str, Any]) -> str:
    h = hashlib.sha256(inputs.encode())
    h.update(json.dumps(body, sort_keys=True, ensure_ascii=False).encode())
    return h.hexdigest()


@lru_cache(maxsize=1)
def code_digest() -> str:
    """sha256 over the source of every module in :data:`RENDER_CODE` (paths and bytes), once per process."""
    pkg = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for entry in RENDER_CODE:
        top = pkg / entry
        found = [top] if top.is_file() else sorted(
            p for p in top.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
        for f in found:
            data = f.read_bytes()
            h.update(f"{f.relative_to(pkg).as_posix()}\0{len(data)}\0".encode())
            h.update(data)
    return h.hexdigest()


def input_digest(r: Resolved) -> str:
    """What a tree is rendered from: istiogen's version and code, the profile as composed and the files it read.

    The composed document is what the profile model is validated from, so a base profile, a comment or a
    reordering that changes nothing renders the same and keeps the digest; anything else changes it.
    """
    h = hashlib.sha256()
    doc = r.doc.data if r.doc is not None else r.profile.model_dump(mode="json", by_alias=True)
    live = r.live_config
    parts = [__version__, code_digest(), r.source, r.output_dir,
             _canonical(doc),
             "" if live is None else f"{live.path}\0{live.text}"]
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        h.update(f"{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def _canonical(x: Any) -> str:
    """An encoding of plain YAML data that tells every value apart (JSON would confuse ``1`` and ``"1"`` as
    keys, and say nothing of a date)."""
    if isinstance(x, dict):
        return "{" + ",".join(f"{_canonical(k)}:{_canonical(v)}" for k, v in x.items()) + "}"
    if isinstance(x, list):
        return "[" + ",".join(_canonical(v) for v in x) + "]"
    if isinstance(x, str):
        return json.dumps(x, ensure_ascii=False)
    if x is None or isinstance(x, bool):
        return json.dumps(x)
    return f"<{type(x).__name__}:{x!r}>"


def proven_current(folder: Path, inputs: str) -> int | None:
    """How many files ``folder`` holds if it is exactly the tree rendered from ``inputs`` (see
    :func:`input_digest`), proven without rendering: its ``index.json`` carries that digest over its own
    listing, every file on disk has the sha256 and mode listed, and there is no other file.  None whenever
    anything differs or cannot be read; the caller then renders and compares."""
    from istiogen.serial import json_text

    try:
        if folder.is_symlink():
            return None
        raw = (folder / INDEX).read_bytes()
        idx = json.loads(raw)
        if not isinstance(idx, dict) or not isinstance(idx.get("artifacts"), list):
            return None
        body = {k: v for k, v in idx.items() if k != "digest"}
        if idx.get("digest") != _seal(inputs, body) or json_text(idx).encode() != raw:
            return None
        listed = {a["path"]: a["sha256"] for a in idx["artifacts"]}
        seen = 0
        for dirpath, dirnames, filenames in os.walk(folder):  # symlinked folders are listed, never followed
            for name in filenames:
                full = Path(dirpath) / name
                rel = full.relative_to(folder).as_posix()
                if rel == INDEX:
                    continue
                st = full.lstat()
                if rel not in listed or not stat.S_ISREG(st.st_mode) or stat.S_IMODE(st.st_mode) != file_mode(rel):
                    return None
                if sha256(full.read_bytes()) != listed[rel]:
                    return None
                seen += 1
            if any((Path(dirpath) / d).is_symlink() for d in dirnames):
                return None
        index_mode = (folder / INDEX).lstat().st_mode
        if seen != len(listed) or not stat.S_ISREG(index_mode) or stat.S_IMODE(index_mode) != file_mode(INDEX):
            return None
        return seen + 1
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
