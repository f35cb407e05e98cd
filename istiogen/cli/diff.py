"""``istiogen diff``: what a profile change does, for a pull request or a live cluster.

Compares the rendered profiles with the output folder on disk (default), with the
same profiles rendered as they are at a git ref (``--against-ref``), or with
objects exported from a cluster (``--live``), and prints the differences in one
of several formats.  The engine lives in :mod:`istiogen.diff`; this module only
wires the flags to it (and imports it lazily, to keep start-up fast).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from istiogen.cli import common
from istiogen.errors import FatalError

if TYPE_CHECKING:
    from istiogen.diff.ignore import Ignore
    from istiogen.diff.model import ObjectDiff, Result
    from istiogen.pipeline import Rendered

HELP = "show what rendering would change: on disk, since a git ref, or on a live cluster"
OUTPUTS = ("text", "semantic", "json", "markdown", "github", "patch")
IGNORE_FILE = ".istiogenignore"

EPILOG = """\
what is compared (old -> new):
  default             the output folder on disk -> the rendered profiles
  --against-ref REF   the profiles at git REF, rendered -> the profiles in the working tree,
                      rendered (without profile arguments: every profile, as with --all)
  --live DIR          objects exported with kubectl get -o yaml (files, multi-document
                      files, Lists; server-set fields ignored) -> the same objects with
                      the rendered patches and manifests applied

output formats (--output):
  text       unified diff per changed object, -U lines of context (colour on a terminal;
             NO_COLOR turns it off)
  semantic   one line per change: artifact [object] dotted.path[name=x]: type: old -> new
  json       {"summary", "changes": [{artifact, kind, object, path, type, old, new}]}
  markdown   a pull-request comment (summary table, a collapsible section per artifact,
             under 65,000 characters)
  github     GitHub Actions annotations on the changed files
  patch      {"summary", "patches": [an RFC 6902 patch per changed object]}
  Every format starts with the summary "N to add, N to change, N to remove", by artifact
  kind. Values of Secrets and of keys naming credentials print as "(sensitive value)".

ignoring changes:
  --ignore PATTERN (repeatable) and the lines of ./.istiogenignore are globs on the
  dotted paths --output semantic prints ('*' any text, '?' one character); a pattern
  ignores that path and everything under it.  FILE::PATTERN limits it to one artifact
  (a file path or an artifact kind).  Ignored changes are not printed and do not count.
    --ignore 'metadata.annotations["istiogen.io/rules-checksum"]'
    --ignore 'README.md::*'

exit codes:
  0  no differences (or --exit-zero)
  1  differences
  2  error (invalid profile, unknown ref, unreadable export, usage)
"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("diff", help=HELP, description=HELP + ".", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    common.add_profile_args(p, default_help="default: the embedded default profile")
    p.add_argument("--out", default=common.OUTPUT_ROOT, metavar="DIR", help="output root (default: %(default)s)")
    p.add_argument("-U", "--context", type=_context, default=3, metavar="N", help="lines of context (default: 3)")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are differences")
    p.add_argument("-o", "--output", choices=OUTPUTS, default="text",
                   help="how differences are printed (default: %(default)s; see below)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--against-ref", metavar="REF",
                     help="compare with the profiles as they are at git REF (rendered with this istiogen)")
    src.add_argument("--live", metavar="DIR", help="compare with objects exported from a cluster (file or folder)")
    p.add_argument("--ignore", action="append", default=[], metavar="PATTERN",
                   help=f"ignore changes at matching paths (repeatable; also read from ./{IGNORE_FILE})")
    common.add_format_arg(p)
    p.set_defaults(run=run)


def _context(s: str) -> int:
    try:
        n = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {s!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return n


def run(args: argparse.Namespace) -> int:
    from istiogen.diff.ignore import Ignore
    from istiogen.diff.model import Result

    ignore = Ignore.load(args.ignore, Path(IGNORE_FILE))
    notes: list[str] = []
    if args.against_ref is not None:
        objs, title = _against_ref(args, notes)
    elif args.live is not None:
        objs, title = _live(args, notes)
    else:
        objs, title = _disk(args, notes)
    from istiogen.diff.engine import apply_ignore, sort_objects

    kept, dropped = apply_ignore(sort_objects(objs), ignore)
    result = Result(kept, notes, title, dropped)
    sys.stdout.write(_format(result, args, ignore))
    return 1 if result.differs and not args.exit_zero else 0


def _format(res: Result, args: argparse.Namespace, ignore: Ignore) -> str:
    from istiogen.diff import formats

    fmt = args.output
    if fmt == "semantic":
        return formats.semantic(res)
    if fmt == "json":
        return formats.as_json(res)
    if fmt == "markdown":
        return formats.markdown(res, args.context, ignore=ignore)
    if fmt == "github":
        return formats.github(res, formats.source_line)
    if fmt == "patch":
        return formats.patch(res, ignore)
    return formats.text(res, args.context, _color(), ignore)


def _color() -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _render(paths: list[Path | None], root: Path | None = None) -> list[Rendered]:
    resolved, _ = common.load_all(paths, root)
    return common.render_all(resolved)


def _disk(args: argparse.Namespace, notes: list[str]) -> tuple[list[ObjectDiff], str]:
    from istiogen.diff.sources import against_disk

    rendered = _render(common.selected(args))
    return against_disk(rendered, Path(args.out), notes), f"{args.out.rstrip('/')}/ on disk -> rendered profiles"


def _against_ref(args: argparse.Namespace, notes: list[str]) -> tuple[list[ObjectDiff], str]:
    from istiogen.diff.sources import against_trees, checkout, repo_top, resolve_ref
    from istiogen.errors import ProfileError

    resolve_ref(repo_top(), args.against_ref)  # a bad ref fails before anything is rendered
    use_all = args.all or not args.profiles
    files = [Path(p) for p in args.profiles]
    folders = [Path(args.profiles_dir)] if use_all else []
    new = _render(_selection(files, use_all, Path(args.profiles_dir)))
    with checkout(args.against_ref, files, folders) as (sha, missing, top):
        present = [f for f in files if f not in missing]
        for f in sorted(missing):
            notes.append(f"{f} does not exist at {args.against_ref}: everything it renders is new")
        try:
            # the profiles at the ref, and what they reference, stay inside the repository as it was there
            old = _render(_selection(present, use_all, Path(args.profiles_dir), allow_empty=True), top)
        except ProfileError as e:
            import dataclasses

            raise ProfileError([dataclasses.replace(p, file=f"{args.against_ref}:{p.file}") for p in e.problems]) \
                from None
    by_dir_old = {x.resolved.output_dir: x for x in old}
    by_dir_new = {x.resolved.output_dir: x for x in new}
    title = f"profiles at {args.against_ref} ({sha[:12]}) -> working tree, rendered"
    return against_trees(by_dir_old, by_dir_new, Path(args.out), notes), title


def _selection(files: list[Path], use_all: bool, folder: Path, allow_empty: bool = False) -> list[Path | None]:
    out: list[Path | None] = list(files)
    if use_all:
        if folder.is_dir():
            given = {f.resolve() for f in files}
            out += [p for p in common.discover(folder) if p.resolve() not in given]
        elif not allow_empty:
            raise FatalError(f"no profiles folder {folder}")
    return out


def _live(args: argparse.Namespace, notes: list[str]) -> tuple[list[ObjectDiff], str]:
    from istiogen.diff.live import effects, load_export
    from istiogen.diff.sources import display
    from istiogen.errors import ProfileError

    problems = []  # the profiles' problems and the export's, in one run
    rendered: list[Rendered] = []
    try:
        rendered = _render(common.selected(args))
    except ProfileError as e:
        problems += e.problems
    try:
        live = load_export(Path(args.live), display)
    except ProfileError as e:
        problems += e.problems
    if problems:
        raise ProfileError(problems)
    notes += live.notes()
    out: list[ObjectDiff] = []
    root = Path(args.out)
    for x in rendered:
        out += effects(x, live, display(root / x.resolved.output_dir), notes)
    return out, f"live objects in {args.live} -> with the rendered artifacts applied"
