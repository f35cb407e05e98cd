"""``istiogen render``: write the rendered trees, reporting each file Ansible-style."""

from __future__ import annotations

import argparse
from pathlib import Path

from istiogen.cli import common, exits

HELP = "render profiles into their output folders"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("render", help=HELP, description=HELP + ". Nothing is written unless every profile is valid; "
                       "each tree is swapped in atomically.")
    common.add_profile_args(p, default_help="default: the embedded default profile")
    p.add_argument("--out", default=common.OUTPUT_ROOT, metavar="DIR",
                   help="output root; each profile writes to DIR/<output.dir or name> (default: %(default)s)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the recap")
    common.add_format_arg(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from istiogen import api

    batch = api.render_profiles(api.select_profiles(args.profiles, all_profiles=args.all,
                                                    profiles_dir=args.profiles_dir))
    api.check_targets(batch.rendered, args.out)  # every target is good, or nothing is written
    common.print_problems(batch.warnings, args.format)
    counts = {"ok": 0, "changed": 0, "created": 0, "removed": 0}
    for x in batch.rendered:
        changes = api.write(x, args.out, final=True)  # once one is in, finish
        base = Path(args.out) / x.resolved.output_dir
        for c in changes:
            counts[c.status] += 1
            if not args.quiet:
                print(f"{c.status:<8} {api.display(base / c.path)}")
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    return exits.OK
