"""``istiogen check``: are the committed trees in ``output/`` current with ``profiles/``?

Every profile is loaded; when every tree's ``index.json`` digest matches what it would be rendered from now
and every file is as listed (:func:`istiogen.pipeline.index.proven_current`), nothing is rendered.  Otherwise,
or with ``--full``, every profile is rendered, its objects validated and each tree compared file by file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from istiogen.cli import common

if TYPE_CHECKING:
    from istiogen.profile.resolve import Resolved

HELP = "check that output/ is current with every profile in profiles/"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help=HELP, description=HELP + ". Exit 0 current, 1 stale (naming the files), "
                       "2 error. For CI and pre-commit.")
    p.add_argument("--profiles-dir", default=common.PROFILES_DIR, metavar="DIR", help="default: %(default)s")
    p.add_argument("--out", default=common.OUTPUT_ROOT, metavar="DIR", help="output root (default: %(default)s)")
    p.add_argument("--schema", default="schema/profile.schema.json", metavar="FILE",
                   help="published JSON Schema to keep current, if it exists (default: %(default)s)")
    p.add_argument("--full", action="store_true",
                   help="render and compare every tree even when its index.json digest proves it current")
    common.add_format_arg(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from istiogen.emit.writer import plan

    paths: list[Path | None] = list(common.discover(Path(args.profiles_dir)))
    if not paths:
        print(f"no profiles in {args.profiles_dir}")
        return 0
    resolved, _ = common.load_all(paths)
    root = Path(args.out)
    proven = None if args.full else _proven(root, resolved)
    if proven is not None:
        if _schema_stale(args):
            print("1 stale file(s): run `istiogen render --all` and commit output/")
            return 1
        print(f"output current: {len(resolved)} profile(s), {proven} files")
        return 0
    rendered = common.render_all(resolved)
    from istiogen import verify

    invalid = [p for x in rendered for p in verify.run(x, verify.schema_rules())]
    if invalid:
        common.print_problems(invalid, args.format)
        return 2
    stale = []
    resealed = 0
    for x in rendered:
        folder = root / x.resolved.output_dir
        for c in plan(folder, x.files):
            if c.status == "changed" and c.path == "index.json" and _only_digest(folder / c.path, x.files[c.path]):
                resealed += 1
                continue
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
    if _schema_stale(args):
        stale.append(("changed", args.schema, "istiogen schema"))
    if stale:
        print(f"{len(stale)} stale file(s): run `istiogen render --all` and commit output/")
        return 1
    print(f"output current: {len(rendered)} profile(s), {sum(len(x.files) for x in rendered)} files")
    if resealed:
        print(f"note: {resealed} index.json digest(s) were sealed by other istiogen code (every file is as it "
              "renders now); `istiogen render --all` reseals them, so that check can skip rendering")
    return 0


def _only_digest(path: Path, new: bytes) -> bool:
    """Does the tree's index.json differ from the rendered one in its digest alone?  The digest only lets
    check skip rendering; a tree that renders the same bytes is current whatever code sealed it."""
    import json

    try:
        old = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    fresh = json.loads(new)
    if not isinstance(old, dict):
        return False
    old.pop("digest", None)
    fresh.pop("digest", None)
    return bool(old == fresh)


def _proven(root: Path, resolved: list[Resolved]) -> int | None:
    """The number of files when every tree is proven current from its index.json digest, else None."""
    from istiogen.pipeline.index import input_digest, proven_current

    if len({r.output_dir for r in resolved}) != len(resolved):
        return None  # two profiles share a folder: rendering reports it
    total = 0
    for r in resolved:
        n = proven_current(root / r.output_dir, input_digest(r))
        if n is None:
            return None
        total += n
    return total


def _schema_stale(args: argparse.Namespace) -> bool:
    schema_file = Path(args.schema)
    if not schema_file.is_file():
        return False
    from istiogen.cli.schema import schema_text

    if schema_file.read_text(encoding="utf-8") == schema_text():
        return False
    print(f"stale: {common.display(schema_file)} (out of date: run `istiogen schema > {args.schema}`)")
    return True


def _word(status: str) -> str:
    return {"created": "missing", "changed": "out of date", "removed": "no longer generated"}[status]
