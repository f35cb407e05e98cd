"""``istiogen init``: scaffold a repository that keeps its Istio monitoring with istiogen."""

from __future__ import annotations

import argparse
from pathlib import Path

from istiogen.cli import common
from istiogen.errors import FatalError

HELP = "scaffold a repository: a profile, its rendered tree, pre-commit hooks, a pull-request workflow"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "init", help=HELP,
        description=HELP + ". The profile is imported from --import exports when given, else the embedded "
        "default. Refuses to overwrite: when any file it would write exists, nothing is written.",
    )
    p.add_argument("dir", nargs="?", default=".", metavar="DIR", help="the repository folder (default: .)")
    p.add_argument("--import", dest="exports", nargs="+", metavar="LIVE", default=[],
                   help="exported objects (kubectl get -o yaml) to import the profile from")
    p.add_argument("--name", default=None, help="profile name (default: imported, or the default profile's)")
    p.add_argument("--istio-version", metavar="V", help="with --import: the Istio version, if not in the export")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from istiogen.adopt.scaffold import existing, plan
    from istiogen.emit.files import write_new_file
    from istiogen.emit.writer import write_tree
    from istiogen.pipeline import render
    from istiogen.profile.loader import default_profile_text
    from istiogen.validate import load

    root = Path(args.dir)
    if root.exists() and not root.is_dir():
        raise FatalError(f"{common.display(root)} is not a folder")
    notes: list[str] = []
    if args.exports:
        from istiogen.adopt.importer import import_profile

        name = args.name or "imported"
        result = import_profile([Path(x) for x in args.exports], name, args.istio_version, common.display)
        text = result.text
        notes = [f"unmapped {u.text()}" for u in result.imported.unmapped]
    else:
        text = default_profile_text()
        name = args.name or load(None).name
        if args.name:
            import re

            text = re.sub(r"(?m)^name: .*$", f"name: {name}", text, count=1)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="istiogen-init-") as tmp:
        probe = Path(tmp) / f"{name}.yaml"
        probe.write_text(text, encoding="utf-8")
        rendered = render(load(probe))
    files = plan(name, text, rendered.resolved.output_dir)
    clash = existing(root, files)
    if (root / "output" / rendered.resolved.output_dir).exists():
        clash.append(f"output/{rendered.resolved.output_dir}/")
    if clash:
        raise FatalError(f"{common.display(root)}: {', '.join(clash)} exist(s): init never overwrites; nothing "
                         "was written")
    for f in files:
        write_new_file(root / f.path, f.data)
        print(f"created  {common.display(root / f.path)}")
    import contextlib

    with contextlib.chdir(root):  # index.json names the profile as `istiogen check` run there will
        rendered = render(load(Path("profiles") / f"{name}.yaml"))
        write_tree(Path("output"), rendered.resolved.output_dir, rendered.files)
    print(f"created  {common.display(root / 'output' / rendered.resolved.output_dir)}/ ({len(rendered.files)} files)")
    for n in notes:
        print(n)
    print("next: git init && git add -A && pre-commit run --all-files; see README.md")
    return 0
