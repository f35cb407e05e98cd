"""``istiogen check``: are the committed trees in ``output/`` current with ``profiles/``?

Every profile is loaded; when every tree's ``index.json`` digest matches what it would be rendered from now
and every file is as listed (:func:`istiogen.pipeline.index.proven_current`), nothing is rendered.  Otherwise,
or with ``--full``, every profile is rendered, its objects validated and each tree compared file by file.
"""

from __future__ import annotations

import argparse

from istiogen.api import SCHEMA_FILE
from istiogen.cli import common, exits

HELP = "check that output/ is current with every profile in profiles/"
STALE = "stale file(s): run `istiogen render --all` and commit output/"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help=HELP, description=HELP + ". Exit 0 current, 1 stale (naming the files), "
                       "2 error. For CI and pre-commit.")
    p.add_argument("--profiles-dir", default=common.PROFILES_DIR, metavar="DIR", help="default: %(default)s")
    p.add_argument("--out", default=common.OUTPUT_ROOT, metavar="DIR", help="output root (default: %(default)s)")
    p.add_argument("--schema", default=SCHEMA_FILE, metavar="FILE",
                   help="published JSON Schema to keep current, if it exists (default: %(default)s)")
    p.add_argument("--full", action="store_true",
                   help="render and compare every tree even when its index.json digest proves it current")
    common.add_format_arg(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from istiogen import api

    res = api.check(args.profiles_dir, args.out, schema=args.schema, full=args.full)
    if not res.profiles:
        print(f"no profiles in {args.profiles_dir}")
        return exits.OK
    if res.invalid:
        common.print_problems(res.invalid, args.format)
        return exits.BAD_INPUT
    if args.format == "github":
        from istiogen.problems import workflow_command

        for s in res.stale:
            print(workflow_command("error", [("file", s.path), ("title", "istiogen check")],
                                   f"{s.path} is {s.word} ({s.source}); run istiogen render --all"))
    else:
        for s in res.stale:
            print(f"stale: {s.path} ({s.word}, from {s.source})")
    if res.schema_stale is not None:
        print(f"stale: {res.schema_stale} (out of date: run `istiogen schema > {args.schema}`)")
    if res.stale_count:
        print(f"{res.stale_count} {STALE}")
        return exits.FOUND
    print(f"output current: {res.profiles} profile(s), {res.files} files")
    if res.resealed:
        print(f"note: {res.resealed} index.json digest(s) were sealed by other istiogen code (every file is as it "
              "renders now); `istiogen render --all` reseals them, so that check can skip rendering")
    return exits.OK
