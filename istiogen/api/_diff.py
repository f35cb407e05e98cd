"""``istiogen diff``: which profiles are rendered on each side, and from where (the working tree, a git ref),
before :mod:`istiogen.diff` compares them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from istiogen.errors import FatalError, ProfileError

if TYPE_CHECKING:
    from istiogen.diff.ignore import Ignore
    from istiogen.diff.model import Result
    from istiogen.pipeline import Rendered


def diff_profiles(files: list[Path], all_profiles: bool, profiles_dir: Path, out_root: str, live: str | None,
                  against_ref: str | None, patterns: Sequence[str], ignore_file: Path | None) -> Result:
    from istiogen.diff import load_ignore

    ignore = load_ignore(patterns, ignore_file)  # a bad rule fails before anything is rendered
    if against_ref is not None:
        return _against_ref(against_ref, files, all_profiles, profiles_dir, out_root, ignore)
    if live is not None:
        return _live(live, files, all_profiles, profiles_dir, out_root, ignore)
    from istiogen.api._batch import select
    from istiogen.diff import diff_rendered

    rendered = _render(select(files, profiles_dir if all_profiles else None))
    return diff_rendered(rendered, out_root, ignore=ignore)


def _render(paths: list[Path | None], root: Path | None = None) -> list[Rendered]:
    from istiogen.api._batch import load_all, render_all

    return render_all(load_all(paths, root))


def _against_ref(ref: str, files: list[Path], all_profiles: bool, folder: Path, out_root: str,
                 ignore: Ignore) -> Result:
    from istiogen.diff import diff_trees
    from istiogen.diff.sources import checkout, repo_top, resolve_ref

    resolve_ref(repo_top(), ref)  # a bad ref fails before anything is rendered
    use_all = all_profiles or not files
    new = _render(_selection(files, use_all, folder))
    notes: list[str] = []
    with checkout(ref, files, [folder] if use_all else []) as (sha, missing, top):
        present = [f for f in files if f not in missing]
        for f in sorted(missing):
            notes.append(f"{f} does not exist at {ref}: everything it renders is new")
        try:
            # the profiles at the ref, and what they reference, stay inside the repository as it was there
            old = _render(_selection(present, use_all, folder, allow_empty=True), top)
        except ProfileError as e:
            import dataclasses

            raise ProfileError([dataclasses.replace(p, file=f"{ref}:{p.file}") for p in e.problems]) from None
    title = f"profiles at {ref} ({sha[:12]}) -> working tree, rendered"
    return diff_trees(old, new, out_root, title=title, notes=notes, ignore=ignore)


def _selection(files: list[Path], use_all: bool, folder: Path, allow_empty: bool = False) -> list[Path | None]:
    from istiogen.api._batch import discover

    out: list[Path | None] = list(files)
    if use_all:
        if folder.is_dir():
            given = {f.resolve() for f in files}
            out += [p for p in discover(folder) if p.resolve() not in given]
        elif not allow_empty:
            raise FatalError(f"no profiles folder {folder}")
    return out


def _live(live: str, files: list[Path], all_profiles: bool, profiles_dir: Path, out_root: str,
          ignore: Ignore) -> Result:
    """The profiles' problems and the export's are reported in one run."""
    from istiogen.api._batch import select
    from istiogen.diff import diff_live
    from istiogen.diff.live import load_export
    from istiogen.problems import Problem
    from istiogen.source import display

    problems: list[Problem] = []
    rendered: list[Rendered] = []
    try:
        rendered = _render(select(files, profiles_dir if all_profiles else None))
    except ProfileError as e:
        problems += e.problems
    if problems:
        try:  # read the export only to report its problems too: diff_live reads it when the profiles are good
            load_export(Path(live), display)
        except ProfileError as e:
            problems += e.problems
        raise ProfileError(problems)
    return diff_live(rendered, live, out_root=out_root, ignore=ignore)
