"""``istiogen diff``: what a profile change does, for a pull request or a live cluster.

Compares the rendered profiles with the output folder on disk (default), with the
same profiles rendered as they are at a git ref (``--against-ref``), or with
objects exported from a cluster (``--live``), and prints the differences in one
of several formats.  :func:`istiogen.api.diff_profiles` and :func:`istiogen.api.format_diff`
do the work; this module only wires the flags to them (and imports them lazily, to keep
start-up fast).
"""

from __future__ import annotations

import argparse
import os
import sys

from istiogen.api import IGNORE_FILE
from istiogen.cli import common, exits

HELP = "show what rendering would change: on disk, since a git ref, or on a live cluster"
OUTPUTS = ("text", "semantic", "json", "markdown", "github", "patch")

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
    from istiogen import api

    result = api.diff_profiles(args.profiles, all_profiles=args.all, profiles_dir=args.profiles_dir,
                               out_root=args.out, live=args.live, against_ref=args.against_ref,
                               ignore=args.ignore, ignore_file=IGNORE_FILE)
    sys.stdout.write(api.format_diff(result, args.output, context=args.context,
                                     color=args.output == "text" and _color()))
    return exits.FOUND if result.differs and not args.exit_zero else exits.OK


def _color() -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False
