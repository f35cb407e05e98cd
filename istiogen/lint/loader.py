"""Reading inputs into bundles: rendered trees by their index, anything else by content.

* A folder with an ``index.json`` is a rendered tree: each file is read as the
  kind the index gives it (the rules ConfigMap only when the tree has no rule
  files, since it holds the same rules).
* A folder holding rendered trees (like ``output/``) gives one bundle per tree.
* Any other folder is one bundle of every ``.yaml``/``.yml``/``.json`` file in it
  that is recognised by content; files named on the command line together form
  one bundle, and each of them must be recognised.

What is recognised by content, and how: :mod:`.recognise` (positions: :mod:`.positions`;
dashboards: :mod:`.dashboards`).
"""

from __future__ import annotations

from pathlib import Path

from istiogen.errors import FatalError, ProfileError
from istiogen.lint.model import Bundle
from istiogen.lint.recognise import Reader
from istiogen.problems import Problem
from istiogen.registry import KINDS
from istiogen.source import display, load_json, read_file

SUFFIXES = (".yaml", ".yml", ".json")


def _unreadable(display: str, message: str, rule: str = "file-read") -> ProfileError:
    return ProfileError([Problem(display, None, None, "", message, rule)])


def tree_kinds_read(present: set[str]) -> set[str]:
    """The kinds of a rendered tree the lint reads (see :data:`istiogen.registry.LintRole`): every
    ``queries`` kind, and of the ``rules`` and ``federation`` kinds those of the lowest rank present."""
    read = {k for k in present if k in KINDS and KINDS[k].lint == "queries"}
    for role in ("rules", "federation"):
        ranks = [KINDS[k].lint_rank for k in present if k in KINDS and KINDS[k].lint == role]
        if ranks:
            read |= {k for k in present if k in KINDS and KINDS[k].lint == role and KINDS[k].lint_rank == min(ranks)}
    return read


def load_tree(folder: Path) -> Bundle:
    name = display(folder)
    idx_path = folder / "index.json"
    idx_display = display(idx_path)
    idx = load_json(read_file(idx_path, idx_display), idx_display)
    arts = idx.get("artifacts") if isinstance(idx, dict) else None
    if not isinstance(arts, list):
        raise _unreadable(idx_display, "not an istiogen index: no 'artifacts' list", "unknown-input")
    kinds = {str(a.get("path")): str(a.get("kind")) for a in arts if isinstance(a, dict)}
    wanted = tree_kinds_read(set(kinds.values()))
    reader = Reader(Bundle(name))
    for rel, kind in sorted(kinds.items()):
        if kind not in wanted:
            continue
        path = folder / rel
        if not path.is_file():
            raise _unreadable(display(path), f"listed in {idx_display} as {kind} but missing")
        reader.file(path, display(path), json_hint=path.suffix == ".json")
    return reader.bundle


def _trees_under(folder: Path) -> list[Path]:
    found: list[Path] = []
    seen: set[Path] = set()

    def walk(d: Path) -> None:
        real = d.resolve()
        if real in seen:  # a symlink loop
            return
        seen.add(real)
        if (d / "index.json").is_file():
            found.append(d)
            return
        for sub in sorted(x for x in d.iterdir() if x.is_dir() and not x.name.startswith(".")):
            walk(sub)

    walk(folder)
    return found


def load_folder(folder: Path) -> Bundle:
    reader = Reader(Bundle(display(folder)))
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix in SUFFIXES and not any(x.startswith(".") for x in p.relative_to(folder).parts):
            reader.file(p, display(p))
    return reader.bundle


def load_files(files: list[Path]) -> Bundle:
    reader = Reader(Bundle("files"))
    for p in files:
        shown = display(p)
        if not reader.file(p, shown):
            raise _unreadable(
                shown,
                "not a file the lint reads: expected Prometheus rules (a rule file, a rules ConfigMap or a "
                "PrometheusRule), a Grafana or Sysdig dashboard, a scrape config with a /federate job "
                "(prometheus.yaml, the sysdig-agent ConfigMap or its patch) or istiogen's queries.yaml",
                "unknown-input",
            )
    if len(files) == 1:
        reader.bundle.name = display(files[0])
    return reader.bundle


def load(paths: list[Path]) -> list[Bundle]:
    """One bundle per rendered tree or plain folder, plus one for all the files named."""
    bundles: list[Bundle] = []
    files: list[Path] = []
    for p in paths:
        if not p.exists():
            raise FatalError(f"{p}: no such file or folder")
        if p.is_dir():
            trees = _trees_under(p)
            if trees:
                bundles += [load_tree(t) for t in trees]
            else:
                bundles.append(load_folder(p))
        elif p.name == "index.json":
            bundles.append(load_tree(p.parent))
        else:
            files.append(p)
    if files:
        bundles.append(load_files(files))
    return bundles
