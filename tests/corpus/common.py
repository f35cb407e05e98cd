"""Shared by the corpus tests: a previous good render to protect, and exact snapshots of a folder."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

# The good profile whose render every bad case must leave untouched; the cases use the same name,
# so a render that got through would write into its folder.
GOOD_PROFILE = """\
name: corpus
istio: {version: "1.22"}
sysdig: {mode: promscrape-v2}
"""

Entry = tuple[str, bytes, int, int]  # kind ("file", "dir", "link"), content or link target, mode, mtime_ns


def snapshot(folder: Path) -> dict[str, Entry]:
    """Every file, folder and symlink under ``folder``: content, permission bits and mtime (ns)."""
    out: dict[str, Entry] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            st = p.lstat()
            rel = p.relative_to(folder).as_posix()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", str(p.readlink()).encode(), 0, st.st_mtime_ns)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", b"", stat.S_IMODE(st.st_mode), st.st_mtime_ns)
            else:
                out[rel] = ("file", p.read_bytes(), stat.S_IMODE(st.st_mode), st.st_mtime_ns)
    return out


def render_good(root: Path, text: str = GOOD_PROFILE) -> Path:
    """Render ``text`` into ``root/<name>`` with the real writer; returns the tree."""
    from istiogen.emit.writer import write_tree
    from istiogen.profile.resolve import load
    from istiogen.render import render

    src = root.parent / ".good-profile.yaml"
    src.write_text(text, encoding="utf-8")
    try:
        rendered = render(load(src))
    finally:
        src.unlink()
    write_tree(root, rendered.resolved.output_dir, rendered.files)
    return root / rendered.resolved.output_dir


def copy_tree(src: Path, dest: Path) -> None:
    """A copy with the same contents, modes and mtimes (so a snapshot tells any later change)."""
    shutil.copytree(src, dest, symlinks=True, copy_function=shutil.copy2)


def differences(before: dict[str, Entry], after: dict[str, Entry]) -> list[str]:
    """What changed between two snapshots, one line per path (empty when identical)."""
    out = []
    for rel in sorted(set(before) | set(after)):
        a, b = before.get(rel), after.get(rel)
        if a is None:
            out.append(f"created {rel}")
        elif b is None:
            out.append(f"removed {rel}")
        elif a[:3] != b[:3]:
            out.append(f"changed {rel}")
        elif a[3] != b[3]:
            out.append(f"touched {rel} (mtime)")
    return out
