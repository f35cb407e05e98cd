"""Several profiles at once: finding them (a folder, ``--all``), loading and rendering them with every
problem of every profile reported together, and refusing two that would write to one folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from istiogen.errors import FatalError, ProfileError

if TYPE_CHECKING:
    from istiogen.pipeline import Rendered
    from istiogen.problems import Problem
    from istiogen.profile.resolve import Resolved


def is_abstract(path: Path) -> bool:
    """A base profile (``abstract: true``) is only rendered through the profiles extending it."""
    from istiogen.source import load_yaml, read_file

    try:
        doc = load_yaml(read_file(path), str(path))
    except ProfileError:
        return False
    return isinstance(doc.data, dict) and doc.data.get("abstract") is True


def discover(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise FatalError(f"no profiles folder {folder}")
    found = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    return [p for p in found if not is_abstract(p)]


def select(args: list[Path], profiles_dir: Path | None) -> list[Path | None]:
    """The profile paths a verb works on; ``[None]`` is the embedded default profile."""
    paths: list[Path | None] = []
    for arg in args:  # a folder stands for every (non-abstract) profile in it: a fleet in one call
        if arg.is_dir():
            found = discover(arg)
            if not found:
                raise FatalError(f"no profiles in {arg} (a folder argument renders every *.yaml profile in it)")
            paths += found
        else:
            paths.append(arg)
    if profiles_dir is not None:
        paths += discover(profiles_dir)
    return paths or [None]


def load_all(paths: list[Path | None], root: Path | None = None) -> list[Resolved]:
    """Load every profile; every error in every file is reported together.  ``root``: the folder every
    profile and what it references must stay inside (default: each profile's repository)."""
    from istiogen.validate import load

    resolved: list[Resolved] = []
    problems: list[Problem] = []
    for p in paths:
        try:
            resolved.append(load(p, root))
        except ProfileError as e:
            problems += e.problems
    problems += _clashing_folders(resolved)
    if problems:
        raise ProfileError(problems)
    return resolved


def _clashing_folders(resolved: list[Resolved]) -> list[Problem]:
    """Two profiles writing to one folder, or one's folder inside another's (each tree is replaced whole,
    so one would remove the other): reported at each later profile's output.dir."""
    from istiogen.problems import Problem
    from istiogen.profile.loader import problem_at

    out: list[Problem] = []
    seen: list[tuple[tuple[str, ...], Resolved]] = []
    for r in resolved:
        parts = tuple(r.output_dir.split("/"))
        for other_parts, other in seen:
            n = min(len(parts), len(other_parts))
            if parts[:n] != other_parts[:n]:
                continue
            how = ("writes to the same folder as" if parts == other_parts else
                   "writes inside the folder of" if len(parts) > n else "writes around the folder of")
            msg = f"{r.output_dir!r} {how} {other.source} ({other.output_dir!r})"
            hint = "set output.dir: each profile needs a folder of its own, not inside another's"
            if r.doc is not None:
                where = ("output", "dir") if r.profile.output.dir else ("name",)
                out.append(problem_at(r.doc, where, msg, "output-clash", hint))
            else:
                out.append(Problem(r.source, None, None, "output.dir", msg, "output-clash", hint=hint))
            break
        seen.append((parts, r))
    return out


def render_all(resolved: list[Resolved]) -> list[Rendered]:
    """Render every profile and run stage 2 on it (:mod:`istiogen.verify`); every problem raised together."""
    from istiogen import verify
    from istiogen.pipeline import render

    out: list[Rendered] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for r in resolved:
        if r.output_dir in seen:
            raise FatalError(
                f"profiles {seen[r.output_dir]} and {r.source} both write to {r.output_dir!r}: set output.dir"
            )
        seen[r.output_dir] = r.source
        try:
            out.append(render(r))
        except ProfileError as e:
            problems += e.problems
        else:
            found = verify.run(out[-1])
            problems += [p for p in found if p.level == "error"]
            out[-1].warnings += [p for p in found if p.level == "warning"]
    if any(p.level == "error" for p in problems):
        raise ProfileError(problems)
    return out
