"""Writing a rendered tree: confined to the output root, staged, swapped in atomically.

* The target folder must lie inside the output root: no ``..``, no absolute path,
  no symlink on the way (checked on the resolved paths).
* Writers of one output root are serialised with ``flock`` on the root folder.
* The new tree is written to a staging folder inside the root, flushed to disk,
  then exchanged with the old one in a single ``renameat2(RENAME_EXCHANGE)``; a
  run killed at any point leaves either the old tree or the new one, never a mix.
  Leftover staging folders are cleaned up by the next run.
* When nothing changed, nothing is touched (not even modification times).
* A refused or failed write (bad output folder, read-only folder, full disk)
  raises :class:`FatalError` naming the path, and leaves the previous tree as it was.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from istiogen.errors import FatalError

RESERVED_PREFIX = ".istiogen-"
STAGE_PREFIX = RESERVED_PREFIX + "stage-"
OLD_PREFIX = RESERVED_PREFIX + "old-"
EXECUTABLE = {"apply.sh"}
LOCK_TIMEOUT = 60.0


@dataclass(frozen=True)
class Change:
    path: str  # relative to the tree
    status: str  # created | changed | ok | removed


def file_mode(rel: str) -> int:
    return 0o755 if Path(rel).name in EXECUTABLE else 0o644


def _check_rel(root: Path, rel: str) -> Path:
    rp = Path(rel)
    if rp.is_absolute() or not rp.parts or ".." in rp.parts or rel.startswith("~"):
        raise FatalError(f"output folder {rel!r} must be a relative path inside {root} without '..'")
    if any(part.startswith(RESERVED_PREFIX) for part in rp.parts):
        raise FatalError(f"output folder {rel!r} uses a name reserved for istiogen's staging folders")
    return rp


def target_dir(root: Path, rel: str) -> Path:
    """``root/rel`` after checking it cannot escape ``root``."""
    rp = _check_rel(root, rel)
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


def plan(folder: Path, files: dict[str, bytes]) -> list[Change]:
    """What writing ``files`` into ``folder`` would do, file by file, sorted by path."""
    existing = read_tree(folder)
    changes = []
    for rel in sorted(set(files) | set(existing)):
        if rel not in files:
            changes.append(Change(rel, "removed"))
        elif rel not in existing:
            changes.append(Change(rel, "created"))
        else:
            content, mode = existing[rel]
            same = content == files[rel] and mode == file_mode(rel)
            changes.append(Change(rel, "ok" if same else "changed"))
    return changes


@contextlib.contextmanager
def locked(root: Path, timeout: float | None = None) -> Iterator[None]:
    """Serialise writers of one output root (flock on the folder itself; nothing is created)."""
    timeout = LOCK_TIMEOUT if timeout is None else timeout
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise FatalError(
                        f"another istiogen run is writing to {root} (waited {timeout:g}s); try again"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def _renameat2_exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths; False when the kernel or libc cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rename_exchange = 2
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reserved_name(prefix: str, rel: str) -> str:
    """A staging name in the root for the tree at ``rel`` (reversible: see :func:`recover`)."""
    return f"{prefix}{quote(rel, safe='')}.{os.getpid()}"


def recover(root: Path) -> None:
    """Finish or undo what a killed run left in ``root``."""
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        name = entry.name
        if name.startswith(OLD_PREFIX):
            # fallback swap interrupted between its two renames: put the old tree back
            target = root / unquote(name[len(OLD_PREFIX):].rsplit(".", 1)[0])
            if not target.exists() and not target.is_symlink() and target.parent.is_dir():
                os.rename(entry, target)
            else:
                shutil.rmtree(entry, ignore_errors=True)
        elif name.startswith(STAGE_PREFIX):
            shutil.rmtree(entry, ignore_errors=True)


def _write_stage(stage: Path, files: dict[str, bytes]) -> None:
    stage.mkdir(mode=0o755)
    os.chmod(stage, 0o755)  # whatever the umask
    for rel in sorted(files):
        dest = stage / rel
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(files[rel])
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                os.fchmod(fd, file_mode(rel))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            raise OSError(e.errno, e.strerror, str(e.filename or dest)) from None
    for dirpath, dirnames, _ in os.walk(stage):
        for d in dirnames:
            os.chmod(Path(dirpath) / d, 0o755)
        _fsync_dir(Path(dirpath))


def _check_root(root: Path) -> None:
    """The output root, or its nearest existing parent, must be a folder."""
    for p in (root, *root.parents):
        if not p.exists() and not p.is_symlink():
            continue
        if p.is_dir():
            return
        what = "a dangling symlink" if not p.exists() else "a file"
        if p == root:
            raise FatalError(f"the output root {root} is {what}, not a folder")
        raise FatalError(f"{p} is {what} where a folder is expected (in the output root {root})")


def _failure(e: OSError, root: Path, target: Path, stage: Path) -> FatalError:
    """A write that failed before the swap: which file, why, and that nothing changed."""
    where = ""
    if e.filename:
        f = Path(e.filename)
        if f != stage:
            try:
                where = f" ({f.relative_to(stage).as_posix()})"
            except ValueError:
                where = f" ({f})"
    hint = ""
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = f" ({root} must be writable: the new tree is written beside the old one, then swapped in)"
    elif e.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = " (free some space: the new tree is written in full before the old one is replaced)"
    elif e.errno == errno.EFBIG:
        hint = " (a file size limit, such as ulimit -f, stopped the write)"
    what = e.strerror or str(e)
    return FatalError(f"cannot write {target}{where}: {what}; the previous output is unchanged{hint}")


def write_tree(root: Path, rel: str, files: dict[str, bytes]) -> list[Change]:
    """Make ``root/rel`` hold exactly ``files``; returns what changed, file by file."""
    _check_rel(root, rel)
    _check_root(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FatalError(f"cannot create the output root {root}: {e.strerror}") from None
    for name in files:
        p = Path(name)
        if p.is_absolute() or ".." in p.parts:
            raise AssertionError(f"artifact path escapes its tree: {name}")
    with locked(root):
        recover(root)
        target = target_dir(root, rel)
        changes = plan(target, files)
        if all(c.status == "ok" for c in changes):
            return changes
        stage = root / _reserved_name(STAGE_PREFIX, rel)
        try:
            try:
                _write_stage(stage, files)
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise _failure(e, root, target, stage) from None
            try:
                if not target.exists():
                    os.rename(stage, target)
                elif not _renameat2_exchange(stage, target):
                    _swap_by_renames(root, rel, stage, target)
            except OSError as e:
                raise FatalError(f"cannot swap in {target}: {e.strerror or e}; the previous output is unchanged") \
                    from None
            with contextlib.suppress(OSError):  # the new tree is in place: too late to say "unchanged"
                _fsync_dir(target.parent)
        finally:
            if stage.exists():
                shutil.rmtree(stage, ignore_errors=True)
        return changes


def _swap_by_renames(root: Path, rel: str, stage: Path, target: Path) -> None:
    """Two renames where the kernel cannot exchange; :func:`recover` finishes a run killed in between."""
    old = root / _reserved_name(OLD_PREFIX, rel)
    os.rename(target, old)
    try:
        os.rename(stage, target)
    except OSError:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
