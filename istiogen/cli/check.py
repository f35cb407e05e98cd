"""``istiogen check``: are the committed trees in ``output/`` current with ``profiles/``?"""

from __future__ import annotations

import argparse
from pathlib import Path

from istiogen.cli import common

HELP = "check that output/ is current with every profile in profiles/"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help=HELP, description=HELP + ". Exit 0 current, 1 stale (naming the files), "
                       "2 error. For CI and pre-commit.")
    p.add_argument("--profiles-dir", default=common.PROFILES_DIR, metavar="DIR", help="default: %(default)s")
    p.add_argument("--out", default=common.OUTPUT_ROOT, metavar="DIR", help="output root (default: %(default)s)")
    p.add_argument("--schema", default="schema/profile.schema.json", metavar="FILE",
                   help="published JSON Schema to keep current, if it exists (default: %(default)s)")
    common.add_format_arg(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from istiogen.emit.writer import plan

    paths: list[Path | None] = list(common.discover(Path(args.profiles_dir)))
    if not paths:
        print(f"no profiles in {args.profiles_dir}")
        return 0
    resolved, _ = common.load_all(paths)
    rendered = common.render_all(resolved)
    from istiogen.emit.kubevalidate import validate as kube_validate

    invalid = [p for x in rendered for p in kube_validate(x)]
    if invalid:
        common.print_problems(invalid, args.format)
        return 2
    root = Path(args.out)
    stale = []
    for x in rendered:
        folder = root / x.resolved.output_dir
        for c in plan(folder, x.files):
            if c.status != "ok":
                stale.append((c.status, common.display(folder / c.path), x.resolved.source))
    if args.format == "github":
        from istiogen.problems import workflow_command

        for status, path, src in stale:
            print(workflow_command("error", [("file", path), ("title", "istiogen check")],
                                   f"{path} is {_word(status)} ({src}); run istiogen render --all"))
    else:
        for status, path, src in stale:
            print(f"stale: {path} ({_word(status)}, from {src})")
    schema_file = Path(args.schema)
    if schema_file.is_file():
        from istiogen.cli.schema import schema_text

        if schema_file.read_text(encoding="utf-8") != schema_text():
            stale.append(("changed", common.display(schema_file), "istiogen schema"))
            print(f"stale: {common.display(schema_file)} (out of date: run `istiogen schema > {args.schema}`)")
    if stale:
        print(f"{len(stale)} stale file(s): run `istiogen render --all` and commit output/")
        return 1
    print(f"output current: {len(rendered)} profile(s), {sum(len(x.files) for x in rendered)} files")
    return 0


def _word(status: str) -> str:
    return {"created": "missing", "changed": "out of date", "removed": "no longer generated"}[status]
