"""The output folder on disk: where a tree goes (never outside its root) and what a tree holds.

A leaf library: the writer (:mod:`istiogen.emit.writer`) writes through it, the
diff (:mod:`istiogen.diff`) and ``istiogen check`` read through it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from istiogen.errors import FatalError
from istiogen.registry import RESERVED_PREFIX


def check_rel(root: Path, rel: str) -> Path:
    rp = Path(rel)
    if rp.is_absolute() or not rp.parts or ".." in rp.parts or rel.startswith("~"):
        raise FatalError(f"output folder {rel!r} must be a relative path inside {root} without '..'")
    if any(part.startswith(RESERVED_PREFIX) for part in rp.parts):
        raise FatalError(f"output folder {rel!r} uses a name reserved for istiogen's staging folders")
    return rp


def target_dir(root: Path, rel: str) -> Path:
    """``root/rel`` after checking it cannot escape ``root``."""
    rp = check_rel(root, rel)
    cur = root
    for part in rp.parts:
        cur = cur / part
        if cur.is_symlink():
            raise FatalError(f"output folder {cur} is a symlink: refusing to write through it")
        if cur.exists() and not cur.is_dir():
            raise FatalError(f"{cur} is a file where a folder is expected")
    try:
        cur.resolve().relative_to(root.resolve())
    except ValueError:
        raise FatalError(f"output folder {cur} resolves outside the output root {root}") from None
    return cur


def read_tree(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every regular file under ``folder``: relative path -> (content, permission bits)."""
    out: dict[str, tuple[bytes, int]] = {}
    if not folder.is_dir():
        return out
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for fn in sorted(filenames):
            full = Path(dirpath) / fn
            rel = full.relative_to(folder).as_posix()
            st = full.lstat()
            if stat.S_ISREG(st.st_mode):
                out[rel] = (full.read_bytes(), stat.S_IMODE(st.st_mode))
            else:
                out[rel] = (b"", -1)
    return out
