"""``istiogen render``: write the rendered trees, reporting each file Ansible-style."""

from __future__ import annotations

import argparse
from pathlib import Path

from istiogen.cli import common

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
    from istiogen.emit.writer import check_targets, write_tree

    resolved, warnings = common.load_all(common.selected(args))
    rendered = common.render_all(resolved)
    root = Path(args.out)
    check_targets(root, [x.resolved.output_dir for x in rendered])  # every target is good, or nothing is written
    common.print_problems([w for x in rendered for w in x.warnings] or warnings, args.format)
    counts = {"ok": 0, "changed": 0, "created": 0, "removed": 0}
    for x in rendered:
        changes = write_tree(root, x.resolved.output_dir, x.files, final=True)  # once one is in, finish
        base = root / x.resolved.output_dir
        for c in changes:
            counts[c.status] += 1
            if not args.quiet:
                print(f"{c.status:<8} {common.display(base / c.path)}")
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    return 0
