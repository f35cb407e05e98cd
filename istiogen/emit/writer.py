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
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from istiogen.errors import FatalError
from istiogen.registry import RESERVED_PREFIX, file_mode
from istiogen.trees import check_rel, read_tree, target_dir

STAGE_PREFIX = RESERVED_PREFIX + "stage-"
OLD_PREFIX = RESERVED_PREFIX + "old-"
JOURNAL_PREFIX = RESERVED_PREFIX + "journal-"
# The only names recovery acts on: a prefix and the random id of the run that made them. Anything else
# in the root, even under the reserved prefix, is never touched (and never turned into a path).
_OURS = re.compile(r"\.istiogen-(stage|old|journal)-([0-9a-f]{32})")
_MAX_JOURNAL = 4096
LOCK_TIMEOUT = 60.0


@dataclass(frozen=True)
class Change:
    path: str  # relative to the tree
    status: str  # created | changed | ok | removed


def check_targets(root: Path, rels: list[str]) -> None:
    """Refuse, before anything is written, any output folder :func:`write_tree` would refuse, and two
    folders of which one holds the other (a render of several profiles writes all of them or none)."""
    for rel in rels:
        check_rel(root, rel)
    _check_root(root)
    if root.is_dir():
        for rel in rels:
            target_dir(root, rel)
    norm = sorted((Path(rel).parts, rel) for rel in rels)
    for (a, ra), (b, rb) in itertools.pairwise(norm):
        if b[: len(a)] == a:
            raise FatalError(f"output folder {rb!r} is inside output folder {ra!r}: each tree is replaced whole, "
                             "so one would remove the other (set output.dir)")


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


def _run_id() -> str:
    return secrets.token_hex(16)


def _lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _read_journal(root_fd: int, name: str) -> str | None:
    """The output folder a journal names, if the journal is one istiogen wrote (a small regular file
    holding a valid relative folder); None otherwise."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=root_fd)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_JOURNAL:
            return None
        raw = os.read(fd, _MAX_JOURNAL + 1)
    finally:
        os.close(fd)
    try:
        rel = json.loads(raw.decode("utf-8")).get("target")
    except (ValueError, AttributeError):
        return None
    if not isinstance(rel, str):
        return None
    try:
        check_rel(Path("."), rel)
    except FatalError:
        return None
    parts = rel.split("/")
    if any(p in ("", ".", "..") or "\0" in p for p in parts):
        return None
    return rel


def _open_parent(root_fd: int, rel: str) -> tuple[int, str] | None:
    """A descriptor of the folder holding ``rel`` (walked from the root one name at a time, refusing
    symlinks), and the last name; None when a folder on the way is missing or not a real folder."""
    parts = rel.split("/")
    fd = os.dup(root_fd)
    try:
        for part in parts[:-1]:
            nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = nxt
    except OSError:
        os.close(fd)
        return None
    return fd, parts[-1]


def recover(root: Path) -> None:
    """Finish or undo what a killed run left in ``root``.

    Only entries named ``.istiogen-{stage,old,journal}-<32 hex>`` are looked at, every operation is
    relative to a descriptor of the root and never follows a symlink, and an old tree is put back only
    where the journal written before the swap says it came from, after checking that path as an output
    folder (relative, inside the root, through real folders only)."""
    if not root.is_dir():
        return
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        entries = {}
        for name in sorted(os.listdir(root_fd)):
            m = _OURS.fullmatch(name)
            if m:
                entries[name] = (m.group(1), m.group(2))
        for name, (kind, run) in entries.items():
            if kind != "journal":
                continue
            old = OLD_PREFIX + run
            st = _lstat_at(root_fd, old)
            rel = _read_journal(root_fd, name)
            if st is not None and stat.S_ISDIR(st.st_mode) and rel is not None:
                # a fallback swap was interrupted: put the old tree back if nothing took its place
                where = _open_parent(root_fd, rel)
                if where is not None:
                    parent_fd, last = where
                    try:
                        if _lstat_at(parent_fd, last) is None:
                            os.rename(old, last, src_dir_fd=root_fd, dst_dir_fd=parent_fd)
                    finally:
                        os.close(parent_fd)
            _remove_ours(root, root_fd, old)
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=root_fd)
        for name, (kind, _) in entries.items():
            if kind == "stage":
                _remove_ours(root, root_fd, name)
    finally:
        os.close(root_fd)


def _remove_ours(root: Path, root_fd: int, name: str) -> None:
    """Remove the folder ``name`` of the root if it is a real folder (shutil.rmtree never follows links)."""
    st = _lstat_at(root_fd, name)
    if st is not None and stat.S_ISDIR(st.st_mode):
        shutil.rmtree(name, ignore_errors=True, dir_fd=root_fd)


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


class _Signals:
    """SIGINT while a tree is written: KeyboardInterrupt until the swap (the ``finally`` clauses remove the
    staging folder and the previous tree stays), ignored from the swap on (it is never left half-done, and
    once the new tree is in, the run goes on to the end rather than exit 130 with the previous tree gone),
    through the later trees of the same run too."""

    def __init__(self, keep: bool) -> None:
        self.active = threading.current_thread() is threading.main_thread()
        self.keep = keep
        self.previous: object = None
        self.swapped = False

    def __enter__(self) -> _Signals:
        if self.active:
            self.previous = signal.getsignal(signal.SIGINT)
            # already ignored: an earlier tree of the same run is in (render --all finishes what it started,
            # never exits 130 with some trees new and some old), or the process was started ignoring it
            if self.previous is not signal.SIG_IGN:
                signal.signal(signal.SIGINT, signal.default_int_handler)
        return self

    def committed(self) -> None:
        self.swapped = True
        if self.active:
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    def __exit__(self, *exc: object) -> None:
        if self.active and not (self.swapped and self.keep):
            signal.signal(signal.SIGINT, self.previous)  # type: ignore[arg-type]


def write_tree(root: Path, rel: str, files: dict[str, bytes], *, final: bool = False) -> list[Change]:
    """Make ``root/rel`` hold exactly ``files``; returns what changed, file by file.

    Ctrl-C before the new tree is swapped in leaves the previous one (KeyboardInterrupt); after, it is
    ignored, and with ``final`` (the command's last step is writing) it stays ignored after the return."""
    with _Signals(final) as sig:
        return _write_tree(root, rel, files, sig)


def _write_tree(root: Path, rel: str, files: dict[str, bytes], sig: _Signals) -> list[Change]:
    check_rel(root, rel)
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
        stage = root / (STAGE_PREFIX + _run_id())
        before = os.stat(root)
        swapped = False
        try:
            try:
                _write_stage(stage, files)
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise _failure(e, root, target, stage) from None
            try:
                sig.committed()  # from here Ctrl-C is ignored: the swap is never left half-done
                if not target.exists():
                    os.rename(stage, target)
                elif not _renameat2_exchange(stage, target):
                    _swap_by_renames(root, rel, stage, target)
                swapped = True
            except OSError as e:
                raise FatalError(f"cannot swap in {target}: {e.strerror or e}; the previous output is unchanged") \
                    from None
            with contextlib.suppress(OSError):  # the new tree is in place: too late to say "unchanged"
                _fsync_dir(target.parent)
        finally:
            if stage.exists():
                shutil.rmtree(stage, ignore_errors=True)
            if not swapped:  # failed or interrupted: not even the root's modification time moves
                with contextlib.suppress(OSError):
                    os.utime(root, ns=(before.st_atime_ns, before.st_mtime_ns))
        return changes


def _swap_by_renames(root: Path, rel: str, stage: Path, target: Path) -> None:
    """Two renames where the kernel cannot exchange.  A journal naming the target is written (and flushed)
    first, so that :func:`recover` can finish a run killed in between from what it wrote, never from a
    name found in the root."""
    run = _run_id()
    old = root / (OLD_PREFIX + run)
    journal = root / (JOURNAL_PREFIX + run)
    fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, json.dumps({"target": rel}).encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_dir(root)
    os.rename(target, old)
    try:
        os.rename(stage, target)
    except OSError:
        os.rename(old, target)
        os.unlink(journal)
        raise
    shutil.rmtree(old, ignore_errors=True)
    os.unlink(journal)
