"""``istiogen diff``: what rendering would change on disk, as unified diffs per file."""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from istiogen.cli import common

HELP = "show what rendering would change in the output folders"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("diff", help=HELP, description=HELP + ". Exit 0 no differences, 1 differences, 2 error.")
    common.add_profile_args(p, default_help="default: the embedded default profile")
    p.add_argument("--out", default=common.OUTPUT_ROOT, metavar="DIR", help="output root (default: %(default)s)")
    p.add_argument("-U", "--context", type=int, default=3, metavar="N", help="lines of context (default: 3)")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are differences")
    common.add_format_arg(p)
    p.set_defaults(run=run)


def file_diff(old: bytes | None, new: bytes | None, name: str, context: int) -> str:
    a = (old or b"").decode("utf-8", "replace").splitlines(keepends=True)
    b = (new or b"").decode("utf-8", "replace").splitlines(keepends=True)
    lines = difflib.unified_diff(
        a, b, f"a/{name}" if old is not None else "/dev/null", f"b/{name}" if new is not None else "/dev/null",
        n=context,
    )
    return "".join(x if x.endswith("\n") else x + "\n\\ No newline at end of file\n" for x in lines)


def run(args: argparse.Namespace) -> int:
    from istiogen.emit.writer import file_mode, plan, read_tree, target_dir

    resolved, _ = common.load_all(common.selected(args))
    rendered = common.render_all(resolved)
    root = Path(args.out)
    changed = 0
    for x in rendered:
        folder = target_dir(root, x.resolved.output_dir) if root.is_dir() else root / x.resolved.output_dir
        disk = read_tree(folder)
        for c in plan(folder, x.files):
            if c.status == "ok":
                continue
            changed += 1
            name = common.display(folder / c.path)
            old = disk.get(c.path, (None, 0))[0]
            new = x.files.get(c.path)
            text = file_diff(old, new, name, args.context)
            if not text and c.status == "changed":
                text = f"mode {oct(disk[c.path][1])} -> {oct(file_mode(c.path))} {name}\n"
            sys.stdout.write(text)
    return 1 if changed and not args.exit_zero else 0
