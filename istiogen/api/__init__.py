"""The typed Python API: the same pipeline as the command line, as functions.

>>> from istiogen.api import load_profile, render, write, diff
>>> profile = load_profile("profiles/bookinfo.yaml")       # raises ProfileError on bad input
>>> rendered = render(profile)                              # files as bytes, the signal model, warnings
>>> rendered.files["prometheus/rules.yaml"][:40]
>>> changes = write(rendered, "output")                     # atomic; [Change(path, status), ...]
>>> result = diff(rendered, "output")                       # what writing would change, structurally
>>> result.objects                                           # [ObjectDiff(artifact, object, changes), ...]
>>> live = diff(rendered, live="exported/")                  # against `kubectl get -o yaml` exports

The command line is a thin layer over this module: every ``istiogen`` verb calls the functions below
(several profiles at once: :func:`select_profiles`, :func:`load_profiles`, :func:`render_profiles`;
:func:`validate`, :func:`check`, :func:`diff_profiles`, :func:`lint_report`, :func:`import_profile`,
:func:`init`, :func:`schema_text`) and prints what they return (:mod:`istiogen.api.results`).

Nothing here prints or exits: expected failures raise :class:`istiogen.errors.FatalError`
(and its subclass :class:`istiogen.errors.ProfileError`, whose ``problems`` list every
error with its file, line, column and field path).  Heavy modules are imported inside the
functions, so that importing this one costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from istiogen.api.verbs import (
    IGNORE_FILE,
    OUTPUT_ROOT,
    PROFILES_DIR,
    SCHEMA_FILE,
    check,
    diff_profiles,
    discover,
    display,
    import_profile,
    init,
    lint_report,
    lint_rules,
    load_profiles,
    render_profiles,
    schema_text,
    select_profiles,
    validate,
)

if TYPE_CHECKING:
    from istiogen.diff.model import Result
    from istiogen.emit.writer import Change
    from istiogen.pipeline import Rendered
    from istiogen.problems import Problem
    from istiogen.profile.resolve import Resolved

__all__ = ["IGNORE_FILE", "OUTPUT_ROOT", "PROFILES_DIR", "SCHEMA_FILE", "check", "check_targets", "diff",
           "diff_profiles", "discover", "display", "format_diff", "import_profile", "init", "lint", "lint_report",
           "lint_rules", "load_profile", "load_profiles", "render", "render_profiles", "schema_text",
           "select_profiles", "validate", "write"]


def load_profile(path: str | Path | None = None) -> Resolved:
    """Read, compose (``extends``), validate and resolve a profile; ``None`` is the embedded default."""
    from istiogen.validate import load

    return load(Path(path) if path is not None else None)


def render(profile: Resolved | str | Path | None = None) -> Rendered:
    """Render a profile (loaded, or a path) to its tree of files, in memory; raises ProfileError with every
    problem the checks of the rendered output find (:mod:`istiogen.verify`)."""
    from istiogen import verify
    from istiogen.errors import ProfileError
    from istiogen.pipeline import render as _render
    from istiogen.profile.resolve import Resolved as _Resolved

    resolved = profile if isinstance(profile, _Resolved) else load_profile(profile)
    rendered = _render(resolved)
    problems = verify.run(rendered)
    if any(p.level == "error" for p in problems):
        raise ProfileError(problems)
    rendered.warnings += problems
    return rendered


def write(rendered: Rendered, out_root: str | Path = "output", *, final: bool = False) -> list[Change]:
    """Write a rendered tree under ``out_root`` (atomically); returns what changed, file by file.  ``final``:
    one of several trees written together, once this one is swapped in Ctrl-C no longer stops the run."""
    from istiogen.emit.writer import write_tree

    return write_tree(Path(out_root), rendered.resolved.output_dir, rendered.files, final=final)


def check_targets(rendered: Sequence[Rendered], out_root: str | Path = "output") -> None:
    """Refuse (FatalError), before anything is written, any output folder :func:`write` would refuse, and two
    folders of which one holds the other: trees rendered together are written all or none."""
    from istiogen.emit.writer import check_targets as _check_targets

    _check_targets(Path(out_root), [x.resolved.output_dir for x in rendered])


def diff(rendered: Rendered, out_root: str | Path = "output", *, live: str | Path | None = None,
         ignore: Sequence[str] = ()) -> Result:
    """What writing ``rendered`` would change under ``out_root``, or, with ``live``, what applying it would
    change in objects exported from a cluster; ``ignore`` holds glob patterns on dotted paths."""
    from istiogen.diff import diff_live, diff_rendered

    if live is not None:
        return diff_live(rendered, Path(live), out_root=Path(out_root), ignore=ignore)
    return diff_rendered(rendered, Path(out_root), ignore=ignore)


def format_diff(result: Result, output: str = "semantic", *, context: int = 3, color: bool = False) -> str:
    """A diff result as ``text``, ``semantic``, ``json``, ``markdown``, ``github`` or ``patch`` (RFC 6902).

    ``context``: lines around each change (text, markdown); ``color``: ANSI colours (text).  What the
    result's ignore rules hid stays out of the text, markdown and patch too."""
    from istiogen.diff import formats

    ignore = result.ignore
    writers = {
        "text": lambda: formats.text(result, context, color, ignore),
        "semantic": lambda: formats.semantic(result),
        "json": lambda: formats.as_json(result),
        "markdown": lambda: formats.markdown(result, context, ignore=ignore),
        "github": lambda: formats.github(result, formats.source_line),
        "patch": lambda: formats.patch(result, ignore),
    }
    if output not in writers:
        from istiogen.errors import FatalError

        raise FatalError(f"unknown diff output {output!r}; one of {', '.join(writers)}")
    return writers[output]()


def lint(paths: Sequence[str | Path]) -> list[Problem]:
    """Lint rendered trees or bundles of files; returns every finding (errors and warnings)."""
    from istiogen.lint import engine, loader

    return engine.lint(loader.load([Path(p) for p in paths])).problems
