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
            elif not stat.S_ISREG(st.st_mode):  # a FIFO or a socket: never opened
                out[rel] = ("other", b"", stat.S_IMODE(st.st_mode), st.st_mtime_ns)
            else:
                out[rel] = ("file", p.read_bytes(), stat.S_IMODE(st.st_mode), st.st_mtime_ns)
    return out


def render_files(text: str, name: str = "profile.yaml") -> tuple[str, dict[str, bytes]]:
    """Render ``text`` as the CLI does for ``istiogen render NAME`` run from NAME's folder.

    Returns the output folder and the files (index.json records the profile as ``NAME``).
    """
    import tempfile

    from istiogen.pipeline import render
    from istiogen.validate import load

    cwd = Path.cwd()
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / name).write_text(text, encoding="utf-8")
        os.chdir(d)
        try:
            rendered = render(load(Path(name)))
        finally:
            os.chdir(cwd)
    return rendered.resolved.output_dir, rendered.files


def render_good(root: Path, text: str = GOOD_PROFILE) -> Path:
    """Render ``text`` into ``root/<name>`` with the real writer, as ``istiogen render profile.yaml`` would."""
    from istiogen.emit.writer import write_tree

    rel, files = render_files(text)
    write_tree(root, rel, files)
    return root / rel


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
