"""``istiogen init``: scaffold a repository that keeps its Istio monitoring with istiogen."""

from __future__ import annotations

import argparse

from istiogen.cli import exits

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
    from istiogen import api

    done = api.init(args.dir, exports=args.exports, name=args.name, istio_version=args.istio_version)
    for path in done.created:
        print(f"created  {api.display(path)}")
    print(f"created  {api.display(done.tree)}/ ({done.tree_files} files)")
    for n in done.notes:
        print(n)
    print("next: git init && git add -A && pre-commit run --all-files; see README.md")
    return exits.OK
