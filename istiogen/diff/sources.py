"""What a rendered tree is compared with: the output folder on disk, or the profiles at a git ref.

* :func:`against_disk`: each rendered tree against its folder under the output
  root (the default of ``istiogen diff``).
* :func:`checkout`: the profiles as they are at a git ref, materialised in a
  temporary folder (``git archive`` and ``git show``: the working tree, the
  index and HEAD are never touched), with the working directory moved to the
  matching place inside it while the caller loads and renders them, so relative
  paths, ``extends`` and ``prometheus.live_config`` resolve as they did at that
  revision.  :func:`against_trees` then compares those trees with the working
  tree's.
* Live objects exported from a cluster: see :mod:`istiogen.diff.live`.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from istiogen.diff.engine import Tree, compare_trees
from istiogen.diff.model import ObjectDiff
from istiogen.errors import FatalError
from istiogen.source import display

if TYPE_CHECKING:
    from istiogen.pipeline import Rendered


def rendered_tree(x: Rendered) -> Tree:
    """A rendered tree as one side of a comparison.  The data YAML and JSON artifacts were written from
    stands for their parsed text (parsing a 20,000-rule file takes seconds, this nothing); the texts are
    remembered too, for the ConfigMaps that hold them."""
    from istiogen.diff.objects import file_format, is_plain, remember
    from istiogen.registry import file_mode

    docs: dict[str, tuple[Any, ...]] = {}
    for a in x.artifacts:
        fmt = file_format(a.path)
        if fmt == "text" or a.path not in x.files:
            continue
        if a.format in ("yaml", "json") and is_plain(a.data):
            docs[a.path] = () if a.data is None and a.format == "yaml" else (a.data,)
        elif a.format == "yaml-multi" and isinstance(a.data, list | tuple) and is_plain(list(a.data)):
            docs[a.path] = tuple(d for d in a.data if d is not None)
        else:
            continue
        remember(x.files[a.path].decode("utf-8", "replace"), fmt, docs[a.path])
    return Tree(dict(x.files), {a.path: a.kind for a in x.artifacts}, {p: file_mode(p) for p in x.files}, docs)


def against_disk(rendered: list[Rendered], root: Path, notes: list[str]) -> list[ObjectDiff]:
    """Every rendered tree against what its output folder holds now (old: disk, new: rendered)."""
    from istiogen.trees import read_tree, target_dir

    out: list[ObjectDiff] = []
    for x in rendered:
        folder = target_dir(root, x.resolved.output_dir) if root.is_dir() else root / x.resolved.output_dir
        disk = read_tree(folder)
        old = Tree({k: v[0] for k, v in disk.items()}, {}, {k: v[1] for k, v in disk.items()}) if disk else None
        out += compare_trees(old, rendered_tree(x), display(folder), notes=notes, on_disk=(True, True))
    return out


def against_trees(old: dict[str, Rendered], new: dict[str, Rendered], root: Path,
                  notes: list[str]) -> list[ObjectDiff]:
    """Rendered trees of two revisions, matched by output folder (old: at the ref, new: working tree)."""
    out: list[ObjectDiff] = []
    for d in sorted(set(old) | set(new)):
        o = rendered_tree(old[d]) if d in old else None
        n = rendered_tree(new[d]) if d in new else None
        for t in (o, n):
            if t is not None:
                t.modes = None
        out += compare_trees(o, n, display(root / d), notes=notes, on_disk=(False, True))
    return out


# ---------------------------------------------------------------------------------------------- git ref

def _git(top: Path | None, *args: str) -> subprocess.CompletedProcess[bytes]:
    argv = ["git", *(["-C", str(top)] if top is not None else []), *args]
    env = {**os.environ, "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        return subprocess.run(argv, capture_output=True, env=env, timeout=120, check=False)
    except FileNotFoundError:
        raise FatalError("--against-ref needs git, which is not installed") from None
    except subprocess.TimeoutExpired:
        raise FatalError(f"git {args[0]} took too long") from None


def _err(p: subprocess.CompletedProcess[bytes]) -> str:
    lines = p.stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else f"rc {p.returncode}"


def repo_top() -> Path:
    p = _git(None, "rev-parse", "--show-toplevel")
    if p.returncode != 0:
        raise FatalError(f"--against-ref: not inside a git repository ({_err(p)})")
    return Path(p.stdout.decode().strip()).resolve()


def resolve_ref(top: Path, ref: str) -> str:
    if ref.startswith("-"):
        raise FatalError(f"--against-ref {ref!r}: not a git revision")
    p = _git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if p.returncode != 0:
        raise FatalError(f"--against-ref {ref!r}: no such commit, branch or tag in {top}")
    return p.stdout.decode().strip()


def _relative(top: Path, p: Path, what: str) -> str:
    full = (Path.cwd() / p).resolve()
    try:
        rel = full.relative_to(top)
    except ValueError:
        raise FatalError(f"--against-ref: {what} {p} is outside the repository {top}") from None
    return rel.as_posix() or "."


def _archive(top: Path, sha: str, rel: str, dest: Path) -> bool:
    """Extract folder ``rel`` as it is at ``sha`` into ``dest``; False when it does not exist there."""
    p = _git(top, "archive", "--format=tar", sha, "--", rel)
    if p.returncode != 0:
        return False
    try:
        with tarfile.open(fileobj=io.BytesIO(p.stdout)) as tar:
            tar.extractall(dest, filter="data")
    except tarfile.TarError as e:
        raise FatalError(f"--against-ref: cannot read {rel} at {sha[:12]}: {e}") from None
    return True


def _show(top: Path, sha: str, rel: str, dest: Path) -> bool:
    """Write file ``rel`` as it is at ``sha`` under ``dest``; False when it does not exist there."""
    target = dest / rel
    if target.exists():
        return True
    p = _git(top, "cat-file", "blob", f"{sha}:{rel}")
    if p.returncode != 0:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(p.stdout)
    return True


def _references(path: Path) -> list[str]:
    """Files a profile points at: its ``extends`` and ``prometheus.live_config``."""
    from istiogen.diff.objects import ParseError, load_documents
    from istiogen.errors import ProfileError
    from istiogen.source import read_bytes

    try:  # the bounded reader: loading the profile later reports what is wrong with the file
        docs = load_documents(read_bytes(path).decode("utf-8", "replace"), "yaml")
    except (ParseError, ProfileError):
        return []
    out: list[str] = []
    for d in docs:
        if not isinstance(d, dict):
            continue
        ext = d.get("extends")
        if isinstance(ext, str):
            out.append(ext)
        elif isinstance(ext, list):
            out += [e for e in ext if isinstance(e, str)]
        prom = d.get("prometheus")
        if isinstance(prom, dict) and isinstance(prom.get("live_config"), str):
            out.append(prom["live_config"])
    return out


@contextmanager
def checkout(ref: str, files: list[Path], folders: list[Path]) -> Iterator[tuple[str, set[Path], Path]]:
    """Materialise ``files`` and ``folders`` (paths as given, relative to the working directory) as they
    are at ``ref`` in a temporary folder, with every file they reference, and work from there.

    Yields the commit, the given files that do not exist at the ref, and the folder standing for the
    repository's top: profiles loaded from it must not reference anything outside it (an ``extends``
    leaving the repository would otherwise resolve against the temporary folder's surroundings)."""
    top = repo_top()
    sha = resolve_ref(top, ref)
    here = Path.cwd()
    try:
        cwd_rel = here.resolve().relative_to(top)
    except ValueError:
        raise FatalError(f"--against-ref: the working directory is outside the repository {top}") from None
    with tempfile.TemporaryDirectory(prefix="istiogen-ref-") as tmp:
        root = Path(tmp).resolve()
        for f in folders:
            _archive(top, sha, _relative(top, f, "folder"), root)
        missing: set[Path] = set()
        for f in files:
            if not _show(top, sha, _relative(top, f, "profile"), root):
                missing.add(f)
        # follow extends and live_config, wherever they point inside the repository
        seen: set[Path] = set()
        todo = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        while todo:
            p = todo.pop()
            if p in seen:
                continue
            seen.add(p)
            for ref_path in _references(p):
                target = (p.parent / ref_path).resolve()
                try:
                    rel = target.relative_to(root).as_posix()
                except ValueError:
                    continue
                if _show(top, sha, rel, root) and target.suffix in (".yaml", ".yml"):
                    todo.append(target)
        work = root / cwd_rel
        work.mkdir(parents=True, exist_ok=True)
        os.chdir(work)
        try:
            yield sha, missing, root
        finally:
            os.chdir(here)
