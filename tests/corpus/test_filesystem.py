"""Bad output folders and failing writes: each exits 2 with a message naming the path, leaves the
previous tree byte for byte (contents, modes, mtimes) and leaves no staging folder behind.

Real failures where the machine allows them (a read-only folder for a process without
CAP_DAC_OVERRIDE, a file size limit, SIGKILL), simulated ones where it cannot (a full disk).
"""

from __future__ import annotations

import errno
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from istiogen.emit import writer
from istiogen.errors import FatalError
from tests.corpus.common import GOOD_PROFILE, copy_tree, differences, render_files, snapshot

CHANGED_PROFILE = GOOD_PROFILE + "rules: {window: 2m}\n"


@pytest.fixture(scope="session")
def changed_files() -> dict[str, bytes]:
    """The files a render of CHANGED_PROFILE writes (what a successful run puts in place)."""
    return render_files(CHANGED_PROFILE)[1]


@pytest.fixture
def work(tmp_path: Path, previous_render: Path) -> Path:
    """tmp/work holding profile.yaml (a changed profile: rendering it must write) and out/ (a good render)."""
    w = tmp_path / "work"
    w.mkdir()
    (w / "profile.yaml").write_text(CHANGED_PROFILE)
    copy_tree(previous_render, w / "out")
    return w


def stages(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(writer.RESERVED_PREFIX))


def tree_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent", "LC_ALL": "C.UTF-8"}


@pytest.fixture(scope="session")
def hooks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the hooked runners are written: outside the folders the tests snapshot."""
    return tmp_path_factory.mktemp("hooks")


def istiogen(argv: list[str], cwd: Path, hooks: Path, *, hook: str = "", prefix: tuple[str, ...] = (),
             preexec: Callable[[], None] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``istiogen ARGV`` in a new process, after running ``hook`` (Python) in it."""
    script = hooks / f"{cwd.parent.name}.py"
    script.write_text(
        "import os, signal, sys, time\n"
        + textwrap.dedent(hook)
        + "\nfrom istiogen.cli.main import main\nraise SystemExit(main(sys.argv[1:]))\n"
    )
    return subprocess.run([*prefix, sys.executable, str(script), *argv], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=timeout, preexec_fn=preexec)


# --- output folders outside the root ---------------------------------------------------------------


@pytest.mark.parametrize("rel", ["../escape", "a/../../escape", "/tmp/escape", "~/escape", ".istiogen-stage-x",
                                 "team/.istiogen-old-x"])
def test_writer_refuses_a_folder_outside_the_root_before_creating_anything(tmp_path: Path, rel: str) -> None:
    """Even when the profile check is bypassed (the writer is the last line)."""
    root = tmp_path / "out"
    with pytest.raises(FatalError) as e:
        writer.write_tree(root, rel, {"a.txt": b"x"})
    assert repr(rel) in str(e.value)
    assert list(tmp_path.iterdir()) == []


def test_absolute_out_is_the_users_choice_and_only_it_is_written(tmp_path: Path, cli: Any) -> None:
    (tmp_path / "cwd").mkdir()
    (tmp_path / "cwd/profile.yaml").write_text(GOOD_PROFILE)
    before = snapshot(tmp_path / "cwd")
    res = cli("render", "profile.yaml", "--out", str(tmp_path / "elsewhere"), "-q", cwd=tmp_path / "cwd")
    assert res.code == 0, res.err
    assert snapshot(tmp_path / "cwd") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "elsewhere"]
    assert [p.name for p in (tmp_path / "elsewhere").iterdir()] == ["corpus"]


def test_output_folder_that_is_a_symlink_is_refused(work: Path, tmp_path: Path, cli: Any) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not istiogen's")
    shutil.rmtree(work / "out/corpus")
    (work / "out/corpus").symlink_to(outside)
    before = snapshot(tmp_path)
    res = cli("render", "profile.yaml", "--out", "out", cwd=work)
    assert res.code == 2
    assert res.err == "istiogen: error: output folder out/corpus is a symlink: refusing to write through it\n"
    assert differences(before, snapshot(tmp_path)) == []


def test_symlink_on_the_way_to_the_output_folder_is_refused(work: Path, tmp_path: Path, cli: Any) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (work / "out/team").symlink_to(outside)
    (work / "profile.yaml").write_text(CHANGED_PROFILE + "output: {dir: team/corpus}\n")
    before = snapshot(tmp_path)
    res = cli("render", "profile.yaml", "--out", "out", cwd=work)
    assert res.code == 2
    assert res.err == "istiogen: error: output folder out/team is a symlink: refusing to write through it\n"
    assert differences(before, snapshot(tmp_path)) == []


def test_symlinks_inside_the_previous_tree_are_replaced_not_followed(work: Path, tmp_path: Path, cli: Any,
                                                                     changed_files: dict[str, bytes]) -> None:
    outside = tmp_path / "outside"
    (outside / "prometheus").mkdir(parents=True)
    (outside / "prometheus/rules.yaml").write_text("someone else's rules\n")
    (outside / "README.md").write_text("someone else's readme\n")
    tree = work / "out/corpus"
    shutil.rmtree(tree / "prometheus")
    (tree / "prometheus").symlink_to(outside / "prometheus")
    (tree / "README.md").unlink()
    (tree / "README.md").symlink_to(outside / "README.md")
    before = snapshot(outside)
    res = cli("render", "profile.yaml", "--out", "out", "-q", cwd=work)
    assert res.code == 0, res.err
    assert differences(before, snapshot(outside)) == []
    assert not (tree / "prometheus").is_symlink() and not (tree / "README.md").is_symlink()
    assert tree_files(tree) == changed_files
    assert stages(work / "out") == []


# --- a file where a folder is expected ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "out", "extra", "message"),
    [
        ("out", "out", "", "the output root out is a file, not a folder"),
        ("parent", "parent/out", "", "parent is a file where a folder is expected (in the output root parent/out)"),
        ("out/corpus", "out", "", "out/corpus is a file where a folder is expected"),
        ("out/team", "out", "output: {dir: team/corpus}\n", "out/team is a file where a folder is expected"),
    ],
    ids=["out-is-a-file", "parent-of-out-is-a-file", "output-folder-is-a-file", "folder-on-the-way-is-a-file"],
)
def test_a_file_where_a_folder_is_expected(tmp_path: Path, cli: Any, setup: str, out: str, extra: str,
                                           message: str) -> None:
    work = tmp_path / "work"
    (work / "out").mkdir(parents=True)
    (work / "profile.yaml").write_text(GOOD_PROFILE + extra)
    if setup in ("out", "parent"):
        (work / "out").rmdir()
    (work / setup).write_text("a file\n")
    before = snapshot(tmp_path)
    res = cli("render", "profile.yaml", "--out", out, cwd=work)
    assert res.code == 2
    assert res.err == f"istiogen: error: {message}\n"
    assert differences(before, snapshot(tmp_path)) == []


def test_an_endless_device_as_the_profile_is_refused_before_reading(tmp_path: Path, cli: Any) -> None:
    res = cli("render", "/dev/zero", cwd=tmp_path)
    assert res.code == 2
    assert res.err.splitlines()[0] == (
        "/dev/zero: error: is a character device, not a regular file (give the path of a file) [file-read]"
    )
    assert list(tmp_path.iterdir()) == []


FIFO_SETUPS = {
    # what is a FIFO, the files around it, the command, the expected first line of stderr
    "profile": ({}, ["render", "fifo.yaml", "--out", "out"],
                "fifo.yaml: error: is a FIFO (named pipe), not a regular file (give the path of a file) [file-read]"),
    "extends": ({"profile.yaml": GOOD_PROFILE + "extends: fifo.yaml\n"}, ["render", "profile.yaml", "--out", "out"],
                "profile.yaml:4:10: error: extends: 'fifo.yaml': is a FIFO (named pipe), not a regular file "
                "(give the path of a file) [file-read]"),
    "live-config": ({"profile.yaml": GOOD_PROFILE + "prometheus: {live_config: fifo.yaml}\n"},
                    ["render", "profile.yaml", "--out", "out"],
                    "profile.yaml:4:27: error: prometheus.live_config: 'fifo.yaml': is a FIFO (named pipe), not a "
                    "regular file (give the path of a file) [file-read]"),
    "lint-input": ({}, ["lint", "fifo.yaml"],
                   "fifo.yaml: error: is a FIFO (named pipe), not a regular file (give the path of a file) "
                   "[file-read]"),
}


@pytest.mark.parametrize("what", sorted(FIFO_SETUPS))
def test_a_fifo_is_refused_at_once_never_waited_on(tmp_path: Path, hooks: Path, what: str) -> None:
    """A FIFO nobody writes to: a reader that opened or read it would block forever (the timeout fails it)."""
    import time

    files, argv, first = FIFO_SETUPS[what]
    work = tmp_path / "work"
    work.mkdir()
    for name, text in files.items():
        (work / name).write_text(text)
    os.mkfifo(work / "fifo.yaml")
    before = snapshot(tmp_path)
    t0 = time.monotonic()
    res = istiogen(argv, work, hooks, timeout=20)
    assert time.monotonic() - t0 < 10
    assert res.returncode == 2, res.stderr
    assert res.stderr.splitlines()[0] == first
    assert "Traceback" not in res.stderr
    assert differences(before, snapshot(tmp_path)) == []


# --- failing writes ---------------------------------------------------------------------------------


def test_read_only_output_root(work: Path, tmp_path: Path, hooks: Path) -> None:
    """A real read-only folder: as root, the render runs without CAP_DAC_OVERRIDE, so modes apply."""
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to drop CAP_DAC_OVERRIDE as root"
        prefix = (setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", "--")
    root = work / "out"
    root.chmod(0o555)
    try:
        before = snapshot(tmp_path)
        res = istiogen(["render", "profile.yaml", "--out", "out"], work, hooks, prefix=prefix)
        after = snapshot(tmp_path)
    finally:
        root.chmod(0o755)
    assert res.returncode == 2, res.stderr
    assert res.stderr == (
        "istiogen: error: cannot write out/corpus: Permission denied; the previous output is unchanged "
        "(out must be writable: the new tree is written beside the old one, then swapped in)\n"
    )
    assert differences(before, after) == []  # not even a staging folder could be made


def fake_os(**overrides: Callable[..., Any]) -> types.SimpleNamespace:
    """The os module as seen by istiogen.emit.writer, with some calls replaced (nothing else is affected)."""
    return types.SimpleNamespace(**{**vars(os), **overrides})


@pytest.mark.parametrize(
    ("call", "err", "hint"),
    [
        ("write", errno.ENOSPC, "free some space: the new tree is written in full before the old one is replaced"),
        ("fsync", errno.EDQUOT, "free some space: the new tree is written in full before the old one is replaced"),
        ("open", errno.EROFS, "out must be writable: the new tree is written beside the old one, then swapped in"),
    ],
)
def test_full_disk_or_read_only_filesystem_half_way(work: Path, tmp_path: Path, cli: Any,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    changed_files: dict[str, bytes], call: str, err: int,
                                                    hint: str) -> None:
    """The third file fails (simulated): the message names it, and the old tree stays."""
    real = getattr(os, call)
    calls = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        if call != "open" or args[1] & os.O_CREAT:  # count the files, not the folders opened to flush or lock
            calls.append(args)
        if len(calls) == 3:
            raise OSError(err, os.strerror(err))
        return real(*args, **kwargs)

    monkeypatch.setattr(writer, "os", fake_os(**{call: failing}))
    before = snapshot(tmp_path)
    res = cli("render", "profile.yaml", "--out", "out", cwd=work)
    assert res.code == 2
    third = sorted(changed_files)[2]
    assert res.err == (f"istiogen: error: cannot write out/corpus ({third}): {os.strerror(err)}; "
                       f"the previous output is unchanged ({hint})\n")
    # the staging folder was made in out/ and removed, and out's modification time put back: nothing changed
    assert differences(before, snapshot(tmp_path)) == []


def test_file_size_limit(work: Path, tmp_path: Path, hooks: Path, changed_files: dict[str, bytes]) -> None:
    """A real EFBIG: RLIMIT_FSIZE below the largest file (Python ignores SIGXFSZ, so write() fails)."""
    limit = 8192
    too_big = next(rel for rel in sorted(changed_files) if len(changed_files[rel]) > limit)

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    before = snapshot(tmp_path)
    res = istiogen(["render", "profile.yaml", "--out", "out"], work, hooks, preexec=small_files)
    assert res.returncode == 2, res.stderr
    assert res.stderr == (
        f"istiogen: error: cannot write out/corpus ({too_big}): File too large; the previous output is unchanged "
        "(a file size limit, such as ulimit -f, stopped the write)\n"
    )
    assert differences(before, snapshot(tmp_path)) == []


# --- killed runs ----------------------------------------------------------------------------------------

KILL_HALF_WAY_THROUGH_A_FILE = """
    real_write = os.write
    n = 0
    def write(fd, data):
        global n
        n += 1
        if n == 5:  # half of the fifth file, then SIGKILL
            real_write(fd, bytes(data[: len(data) // 2]))
            os.kill(os.getpid(), signal.SIGKILL)
        return real_write(fd, data)
    os.write = write
"""
KILL_RIGHT_AFTER_THE_EXCHANGE = """
    from istiogen.emit import writer
    real = writer._renameat2_exchange
    def exchange(a, b):
        assert real(a, b)
        os.kill(os.getpid(), signal.SIGKILL)
    writer._renameat2_exchange = exchange
"""
KILL_BETWEEN_THE_FALLBACK_RENAMES = """
    from istiogen.emit import writer
    writer._renameat2_exchange = lambda a, b: False
    real_rename = os.rename
    def rename(a, b):
        real_rename(a, b)
        if os.path.basename(b).startswith(".istiogen-old-"):
            os.kill(os.getpid(), signal.SIGKILL)
    os.rename = rename
"""


@pytest.mark.parametrize(
    ("hook", "new_tree_in_place"),
    [(KILL_HALF_WAY_THROUGH_A_FILE, False), (KILL_RIGHT_AFTER_THE_EXCHANGE, True),
     (KILL_BETWEEN_THE_FALLBACK_RENAMES, False)],
    ids=["half-way-through-a-file", "right-after-the-exchange", "between-the-fallback-renames"],
)
def test_killed_run_leaves_a_whole_tree_and_the_next_run_cleans_up(
    work: Path, tmp_path: Path, hooks: Path, previous_render: Path, changed_files: dict[str, bytes], hook: str,
    new_tree_in_place: bool,
) -> None:
    tree = work / "out/corpus"
    before = snapshot(tree)
    killed = istiogen(["render", "profile.yaml", "--out", "out"], work, hooks, hook=hook)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert stages(work / "out"), "the run was killed before it staged anything: the test proves nothing"
    if new_tree_in_place:  # killed after the swap: the new tree, whole
        assert tree_files(tree) == changed_files
    elif tree.exists():  # killed before the swap: the old tree, not a byte or a timestamp changed
        assert differences(before, snapshot(tree)) == []
    # the next run of the *previous* profile finishes or undoes the killed run, then finds nothing to do
    (work / "profile.yaml").write_text(GOOD_PROFILE)
    again = istiogen(["render", "profile.yaml", "--out", "out", "-q"], work, hooks)
    assert again.returncode == 0, again.stderr
    assert stages(work / "out") == []
    if new_tree_in_place:
        assert tree_files(tree) == tree_files(previous_render / "corpus")
    else:
        assert again.stdout.startswith("ok=")
        assert differences(before, snapshot(tree)) == []


def test_the_fallback_swap_works_where_the_kernel_cannot_exchange(work: Path, cli: Any,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  changed_files: dict[str, bytes]) -> None:
    monkeypatch.setattr(writer, "_renameat2_exchange", lambda a, b: False)
    res = cli("render", "profile.yaml", "--out", "out", "-q", cwd=work)
    assert res.code == 0, res.err
    assert tree_files(work / "out/corpus") == changed_files
    assert stages(work / "out") == []


def test_nested_output_folder_is_recovered_at_its_own_path(work: Path, hooks: Path) -> None:
    """A fallback swap of out/team/corpus killed between its renames is put back there, from its journal."""
    (work / "profile.yaml").write_text(GOOD_PROFILE + "output: {dir: team/corpus}\n")
    first = istiogen(["render", "profile.yaml", "--out", "out", "-q"], work, hooks)
    assert first.returncode == 0, first.stderr
    before = snapshot(work / "out/team/corpus")
    (work / "profile.yaml").write_text(CHANGED_PROFILE + "output: {dir: team/corpus}\n")
    killed = istiogen(["render", "profile.yaml", "--out", "out"], work, hooks, hook=KILL_BETWEEN_THE_FALLBACK_RENAMES)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (work / "out/team/corpus").exists()
    assert any(n.startswith(writer.JOURNAL_PREFIX) for n in stages(work / "out"))
    (work / "profile.yaml").write_text(GOOD_PROFILE + "output: {dir: team/corpus}\n")
    again = istiogen(["render", "profile.yaml", "--out", "out", "-q"], work, hooks)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("ok=")
    assert differences(before, snapshot(work / "out/team/corpus")) == []
    assert stages(work / "out") == []


# --- recovery touches only what it can prove it created (security) ----------------------------------

_ID = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    "leftover",
    [
        ".istiogen-old-..%2F..%2Fescape.12345",  # the old scheme decoded this into a path outside the root
        ".istiogen-old-%2Ftmp%2Fistiogen-escape.1",  # ... or into an absolute path
        ".istiogen-old-..%2Fescape",
        ".istiogen-old-" + _ID[:31],  # not the run id pattern: not ours
        ".istiogen-old-" + _ID.upper(),
    ],
)
def test_crafted_leftover_names_are_never_followed_into_paths(work: Path, tmp_path: Path, cli: Any,
                                                              leftover: str) -> None:
    root = work / "out"
    planted = root / leftover
    planted.mkdir()
    (planted / "payload.txt").write_text("planted\n")
    before = snapshot(tmp_path)
    res = cli("render", "profile.yaml", "--out", "out", "-q", cwd=work)
    assert res.code == 0, res.err
    after = snapshot(tmp_path)
    # outside the output root nothing appeared, and the planted folder is still where it was, whole
    assert sorted(p for p in after if not p.startswith("work/out/")) == sorted(
        p for p in before if not p.startswith("work/out/"))
    assert (planted / "payload.txt").read_text() == "planted\n"
    assert not Path("/tmp/istiogen-escape").exists()


@pytest.mark.parametrize(
    "journal",
    [
        '{"target": "../escape"}',
        '{"target": "/tmp/istiogen-escape"}',
        '{"target": "a/../../escape"}',
        '{"target": ".istiogen-stage-x"}',
        '{"target": "link/corpus"}',  # through a symlink to a folder outside the root
        "not json",
    ],
    ids=["parent", "absolute", "dotdot-inside", "reserved", "through-a-symlink", "garbage"],
)
def test_a_forged_journal_never_moves_anything_outside_the_root(work: Path, tmp_path: Path, cli: Any,
                                                                journal: str) -> None:
    root = work / "out"
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "link").symlink_to(outside)
    old = root / (writer.OLD_PREFIX + _ID)
    old.mkdir()
    (old / "payload.txt").write_text("planted\n")
    (root / (writer.JOURNAL_PREFIX + _ID)).write_text(journal)
    res = cli("render", "profile.yaml", "--out", "out", "-q", cwd=work)
    assert res.code == 0, res.err
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "escape").exists() and not (work / "escape").exists()
    assert not Path("/tmp/istiogen-escape").exists()
    assert stages(root) == []  # its own kinds of names, once judged, are cleaned up


def test_a_journal_or_old_folder_that_is_a_symlink_is_not_followed(work: Path, tmp_path: Path, cli: Any) -> None:
    root = work / "out"
    outside = tmp_path / "outside"
    (outside / "tree").mkdir(parents=True)
    (outside / "tree/keep.txt").write_text("not istiogen's\n")
    (outside / "journal").write_text('{"target": "corpus"}')
    (root / (writer.OLD_PREFIX + _ID)).symlink_to(outside / "tree")
    (root / (writer.JOURNAL_PREFIX + _ID)).symlink_to(outside / "journal")
    shutil.rmtree(root / "corpus")
    before = snapshot(outside)
    res = cli("render", "profile.yaml", "--out", "out", "-q", cwd=work)
    assert res.code == 0, res.err
    assert differences(before, snapshot(outside)) == []
    assert not (root / "corpus").is_symlink()


# --- two runs at once -----------------------------------------------------------------------------------

SLOW_WRITER = """
    from istiogen.emit import writer
    real = writer._write_stage
    def slow(stage, files):
        with open(os.environ["HOOK_LOG"], "a") as log:
            log.write(f"start {sys.argv[2]} {time.monotonic()}\\n")
        time.sleep(1.5)
        real(stage, files)
        with open(os.environ["HOOK_LOG"], "a") as log:
            log.write(f"end {sys.argv[2]} {time.monotonic()}\\n")
    writer._write_stage = slow
"""


def test_two_renders_into_the_same_root_are_serialised(tmp_path: Path, hooks: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "a.yaml").write_text(GOOD_PROFILE)
    (work / "b.yaml").write_text(CHANGED_PROFILE)
    log = tmp_path / "hook.log"
    log.touch()
    script = hooks / "slow_writer.py"
    script.write_text("import os, sys, time\n" + textwrap.dedent(SLOW_WRITER)
                      + "from istiogen.cli.main import main\nraise SystemExit(main(sys.argv[1:]))\n")
    env = {**ENV, "HOOK_LOG": str(log)}

    def start(profile: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, str(script), "render", profile, "--out", "out", "-q"], cwd=work,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    first = start("a.yaml")
    import time

    deadline = time.monotonic() + 30
    while "start a.yaml" not in log.read_text():  # a holds the lock and is writing
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.02)
    second = start("b.yaml")
    outs = [p.communicate(timeout=60) for p in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), outs
    events = [line.split() for line in log.read_text().splitlines()]
    assert [e[:2] for e in events] == [["start", "a.yaml"], ["end", "a.yaml"], ["start", "b.yaml"],
                                       ["end", "b.yaml"]]
    assert float(events[2][2]) >= float(events[1][2])  # b wrote only after a had finished
    assert tree_files(work / "out/corpus") == render_files(CHANGED_PROFILE, "b.yaml")[1]  # b's tree, whole
    assert stages(work / "out") == []


def test_second_render_gives_up_cleanly_when_the_lock_is_held(work: Path, tmp_path: Path, cli: Any,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    monkeypatch.setattr(writer, "LOCK_TIMEOUT", 0.3)
    before = snapshot(tmp_path)
    fd = os.open(work / "out", os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as another istiogen run would
        res = cli("render", "profile.yaml", "--out", "out", cwd=work)
    finally:
        os.close(fd)
    assert res.code == 2
    assert res.err == "istiogen: error: another istiogen run is writing to out (waited 0.3s); try again\n"
    assert differences(before, snapshot(tmp_path)) == []


# --- several profiles: every profile and every target is checked before anything is written ----------


def _two_trees(work: Path, hooks: Path, b_extra: str = "") -> None:
    """out/a and out/b, good renders of profiles a.yaml and b.yaml (b with ``b_extra``)."""
    (work / "a.yaml").write_text(GOOD_PROFILE.replace("name: corpus", "name: a"))
    (work / "b.yaml").write_text(GOOD_PROFILE.replace("name: corpus", "name: b") + b_extra)
    for p in ("a.yaml", "b.yaml"):
        res = istiogen(["render", p, "--out", "out", "-q"], work, hooks)
        assert res.returncode == 0, res.stderr


@pytest.mark.parametrize(
    ("b_text", "prepare", "message"),
    [
        (GOOD_PROFILE.replace("name: corpus", "name: b") + "output: {dir: team/b}\n",
         lambda out: (out / "team").write_text("a file\n"),
         "istiogen: error: out/team is a file where a folder is expected\n"),
        (GOOD_PROFILE.replace("name: corpus", "name: b") + "output: {dir: linked/b}\n",
         lambda out: (out / "linked").symlink_to(out.parent.parent / "elsewhere"),
         "istiogen: error: output folder out/linked is a symlink: refusing to write through it\n"),
        (GOOD_PROFILE.replace("name: corpus", "name: b") + "output: {dir: ./a//}\n", lambda out: None,
         "b.yaml:4:15: error: output.dir: 'a' writes to the same folder as a.yaml ('a') (set output.dir: each "
         "profile needs a folder of its own, not inside another's) [output-clash]\n"
         "istiogen: 1 error(s); nothing written\n"),
        (GOOD_PROFILE.replace("name: corpus", "name: b") + "output: {dir: a/inner}\n", lambda out: None,
         "b.yaml:4:15: error: output.dir: 'a/inner' writes inside the folder of a.yaml ('a') (set output.dir: each "
         "profile needs a folder of its own, not inside another's) [output-clash]\n"
         "istiogen: 1 error(s); nothing written\n"),
    ],
    ids=["later-folder-on-the-way-is-a-file", "later-folder-through-a-symlink", "same-folder-spelled-differently",
         "one-folder-inside-another"],
)
def test_a_later_bad_target_means_no_tree_is_written(tmp_path: Path, hooks: Path, b_text: str,
                                                     prepare: Callable[[Path], object], message: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "elsewhere").mkdir()
    _two_trees(work, hooks)
    # a changes (it would be rewritten first), b's target is refused
    (work / "a.yaml").write_text(GOOD_PROFILE.replace("name: corpus", "name: a") + "rules: {window: 2m}\n")
    (work / "b.yaml").write_text(b_text)
    prepare(work / "out")
    before = snapshot(tmp_path)
    res = istiogen(["render", "a.yaml", "b.yaml", "--out", "out"], work, hooks)
    assert (res.returncode, res.stdout, res.stderr) == (2, "", message)
    assert differences(before, snapshot(tmp_path)) == []


# --- Ctrl-C: exit 130, one line, the previous tree intact -------------------------------------------

SIGINT_DURING_IMPORTS = """
    import builtins
    real_import = builtins.__import__
    def importing(name, *args, **kwargs):
        if name == "pydantic":  # half-way through start-up: pydantic-core is a Rust extension
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)
        return real_import(name, *args, **kwargs)
    builtins.__import__ = importing
"""
SIGINT_WHILE_STAGING = """
    real_write = os.write
    n = 0
    def write(fd, data):
        global n
        n += 1
        if n == 5:  # in the middle of the staging folder
            os.kill(os.getpid(), signal.SIGINT)
        return real_write(fd, data)
    os.write = write
"""
SIGINT_RIGHT_AFTER_THE_EXCHANGE = """
    from istiogen.emit import writer
    real = writer._renameat2_exchange
    def exchange(a, b):
        ok = real(a, b)
        os.kill(os.getpid(), signal.SIGINT)  # the new tree is in: too late to say "interrupted"
        return ok
    writer._renameat2_exchange = exchange
"""
SIGINT_WHILE_WAITING_FOR_THE_LOCK = """
    import fcntl
    fd = os.open("out", os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # "another run" holds it (a second open file description)
    from istiogen.emit import writer
    real = writer.locked
    import contextlib
    @contextlib.contextmanager
    def locked(root, timeout=None):
        import threading
        threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        with real(root, timeout):
            yield
    writer.locked = locked
"""


@pytest.mark.parametrize(
    ("hook", "code", "new_tree"),
    [(SIGINT_DURING_IMPORTS, 130, False), (SIGINT_WHILE_STAGING, 130, False),
     (SIGINT_WHILE_WAITING_FOR_THE_LOCK, 130, False), (SIGINT_RIGHT_AFTER_THE_EXCHANGE, 0, True)],
    ids=["during-imports", "while-staging", "waiting-for-the-lock", "right-after-the-exchange"],
)
def test_ctrl_c_exits_130_quietly_with_the_previous_tree(work: Path, tmp_path: Path, hooks: Path,
                                                         changed_files: dict[str, bytes], hook: str, code: int,
                                                         new_tree: bool) -> None:
    before = snapshot(tmp_path)
    res = istiogen(["render", "profile.yaml", "--out", "out", "-q"], work, hooks, hook=hook, timeout=30)
    assert res.returncode == code, res.stderr
    assert "Traceback" not in res.stderr and "KeyboardInterrupt" not in res.stderr
    if new_tree:  # the swap is the commit point: after it the run finishes
        assert tree_files(work / "out/corpus") == changed_files
    else:
        assert res.stderr == "istiogen: interrupted\n"
        assert differences(before, snapshot(tmp_path)) == []
    assert stages(work / "out") == []


# --- machine-readable output cannot be abused ---------------------------------------------------------

GH_COMMAND = __import__("re").compile(r"::(error|warning|notice)( [^:]*)?::")


@pytest.mark.parametrize(
    ("files", "argv"),
    [
        ({"p.yaml": 'name: corpus\nistio: {version: "1.22"}\n'
                    'rules: {kept_labels: ["x\\n::error file=pwned::INJECTED"]}\n'},
         ["validate", "p.yaml", "--format", "github"]),
        ({"p, x::y.yaml": 'name: corpus\nistio: {version: "1.22"}\nprometheus: {port: 0}\n'},
         ["validate", "p, x::y.yaml", "--format", "github"]),
        ({"rules.yaml": "groups:\n- name: g\n  rules:\n  - record: \"a\\n::error::INJECTED\"\n    expr: up\n"},
         ["lint", "rules.yaml", "--format", "github"]),
    ],
    ids=["value-with-newline", "file-name-with-comma-and-colons", "lint-record-with-newline"],
)
def test_github_format_escapes_every_value(tmp_path: Path, hooks: Path, files: dict[str, str],
                                           argv: list[str]) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    res = istiogen(argv, tmp_path, hooks)
    assert res.returncode in (1, 2), res.stderr
    lines = [line for line in (res.stdout + res.stderr).splitlines() if line.startswith("::")]
    assert lines, res.stdout + res.stderr
    # GitHub reads a workflow command only at the start of a line: the injected one never starts a line,
    # and each command's properties are exactly ours (no ',' or ':' leaked into a value)
    for line in lines:
        m = GH_COMMAND.match(line)
        assert m, line
        assert "INJECTED" not in line[: m.end()] and "pwned" not in line[: m.end()], line
        props = (m.group(2) or "").strip()
        keys = [kv.split("=")[0] for kv in props.split(",")]
        assert keys in (["file", "line", "col", "title"], ["file", "title"]), line


# --- diff --live: exports of the wrong shape, big and deep ones ---------------------------------------

LIVE_PROFILE = 'name: corpus\nistio: {version: "1.22"}\nsysdig: {mode: promscrape-v2}\n'


@pytest.mark.parametrize(
    ("name", "text", "first"),
    [
        ("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: y}\ndata: [a, b]\n",
         "live/cm.yaml:4:7: error: data: expected a mapping, got a list [live-export]"),
        ("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: y}\ndata: just text\n",
         "live/cm.yaml:4:7: error: data: expected a mapping, got a string [live-export]"),
        ("deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x, namespace: y}\n"
         "spec:\n  template:\n    spec:\n      containers: {name: prometheus}\n",
         "live/deploy.yaml:7:19: error: spec.template.spec.containers: expected a list, got a mapping [live-export]"),
        ("deep.json", "[" * 100_000 + "]" * 100_000,
         "live/deep.json:1:65: error: the document nests deeper than 64 levels [json-too-large]"),
        ("bomb.yaml", "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)),
         "live/bomb.yaml:6:4: error: f: the document expands to more than 200000 values (an alias/anchor bomb?) "
         "(use aliases only for small shared values) [yaml-too-large]"),
    ],
    ids=["configmap-data-a-list", "configmap-data-a-string", "containers-a-mapping", "json-100000-deep",
         "alias-bomb"],
)
def test_live_exports_of_the_wrong_shape_are_errors_with_their_position(tmp_path: Path, hooks: Path, name: str,
                                                                         text: str, first: str) -> None:
    import time

    (tmp_path / "live").mkdir()
    (tmp_path / "live" / name).write_text(text)
    (tmp_path / "p.yaml").write_text(LIVE_PROFILE)
    t0 = time.monotonic()
    res = istiogen(["diff", "p.yaml", "--live", "live"], tmp_path, hooks)
    assert time.monotonic() - t0 < 10
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.splitlines()[0] == first
    assert "Traceback" not in res.stderr


def test_a_dashboard_of_4000_panels_lints_within_the_time_bound(tmp_path: Path, hooks: Path) -> None:
    """4,000 panels lint clean and the answer comes within 10 s (a regex search per position was quadratic).
    That the time is linear in the panels is a figure of bench/run.py (6.), not a test."""
    import json

    panels = [{"title": f"p{i}", "type": "graph", "targets": [
        {"expr": f'sum(rate(istio_requests_total{{destination_service_name="s{i}"}}[5m]))'}]} for i in range(4000)]
    (tmp_path / "d.json").write_text(json.dumps({"title": "x", "panels": panels}, indent=2))
    res = istiogen(["lint", "d.json"], tmp_path, hooks, timeout=10)
    assert res.returncode == 0, res.stderr


# --- profiles and what they reference stay inside the repository, at a git ref too ----------------


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main",
                    *args], cwd=repo, check=True, capture_output=True, env=ENV)


GIT_OUTSIDE = ("leaves the repository (outside a git repository: the working folder): a profile and the files it "
               "references stay inside it")


@pytest.mark.parametrize(
    ("at_ref", "first"),
    [
        ("extends: ../../outside.yaml\n",
         f"HEAD:profiles/p.yaml:4:10: error: extends: '../../outside.yaml' {GIT_OUTSIDE} (move the base inside, or "
         "copy what it sets) [path-outside]"),
        ("extends: {outside}\n",
         f"HEAD:profiles/p.yaml:4:10: error: extends: '{{outside}}' {GIT_OUTSIDE} (move the base inside, or copy "
         "what it sets) [path-outside]"),
        ("prometheus: {live_config: ../../outside.yaml}\n",
         f"HEAD:profiles/p.yaml:4:27: error: prometheus.live_config: '../../outside.yaml' {GIT_OUTSIDE} (move the "
         "export inside) [path-outside]"),
    ],
    ids=["ref-extends-dotdot", "ref-extends-absolute", "ref-live-config-dotdot"],
)
def test_at_a_git_ref_references_stay_inside_the_repository(tmp_path: Path, hooks: Path, at_ref: str,
                                                            first: str, request: pytest.FixtureRequest) -> None:
    """The ref is checked out in a temporary folder: ../../outside.yaml must not resolve against its
    surroundings (nor against the repository's), whether or not such a file exists there."""
    repo = tmp_path / "repo"
    (repo / "profiles").mkdir(parents=True)
    # a short absolute path (messages shorten values past 80 characters; pytest-xdist's tmp_path is long)
    short = Path(tempfile.mkdtemp(prefix="o", dir="/tmp"))
    outside = short / "outside.yaml"
    outside.write_text('abstract: true\nistio: {version: "1.22"}\n')
    request.addfinalizer(lambda: shutil.rmtree(short))
    _git(repo, "init", "-q")
    (repo / "profiles/p.yaml").write_text(GOOD_PROFILE + at_ref.replace("{outside}", str(outside)))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "at the ref")
    (repo / "profiles/p.yaml").write_text(GOOD_PROFILE)  # the working tree is fine
    before = snapshot(tmp_path)
    res = istiogen(["diff", "--against-ref", "HEAD", "profiles/p.yaml"], repo, hooks)
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.splitlines()[0] == first.replace("{outside}", str(outside))
    assert differences(before, snapshot(tmp_path)) == []


def test_in_the_working_tree_extends_outside_the_repository_is_refused(tmp_path: Path, hooks: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "profiles").mkdir(parents=True)
    (tmp_path / "outside.yaml").write_text('abstract: true\nistio: {version: "1.22"}\n')
    _git(repo, "init", "-q")
    (repo / "profiles/p.yaml").write_text("name: corpus\nextends: ../../outside.yaml\n")
    res = istiogen(["validate", "profiles/p.yaml"], repo, hooks)
    assert res.returncode == 2
    assert res.stdout.splitlines()[0] == (f"profiles/p.yaml:2:10: error: extends: '../../outside.yaml' {GIT_OUTSIDE} "
                                          "(move the base inside, or copy what it sets) [path-outside]")
