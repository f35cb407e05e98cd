"""``istiogen import``: write a profile reproducing a cluster's monitoring from its exports."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from istiogen.cli import common
from istiogen.errors import FatalError

HELP = "write a profile from objects exported with kubectl get -o yaml"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "import", help=HELP,
        description=HELP + " (the Istio Prometheus Deployment and ConfigMap, istiod, the ingress gateway, the "
        "sysdig-agent ConfigMap and DaemonSet, rule ConfigMaps or PrometheusRules). Every value says where it "
        "came from; what could not be mapped is listed. Refuses to overwrite an existing file.",
    )
    p.add_argument("live", nargs="+", metavar="LIVE", help="exported files or folders (YAML or JSON)")
    p.add_argument("-o", "--output", metavar="FILE", help="profile to write (default: profiles/NAME.yaml)")
    p.add_argument("--name", default="imported", help="profile name (default: %(default)s)")
    p.add_argument("--istio-version", metavar="V", help="Istio version, when the export holds no istiod image")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from istiogen.adopt.importer import import_profile
    from istiogen.emit.files import write_new_file

    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", args.name):
        raise FatalError(f"--name {args.name!r}: a profile name is a DNS label (lower-case letters, digits, '-')")
    out = Path(args.output) if args.output else Path("profiles") / f"{args.name}.yaml"
    if out.exists() or out.is_symlink():
        raise FatalError(f"{common.display(out)} exists: import never overwrites (give -o another file)")
    result = import_profile([Path(x) for x in args.live], args.name, args.istio_version, common.display)
    write_new_file(out, result.text.encode("utf-8"))
    imp = result.imported
    print(f"wrote {common.display(out)}: {len(imp.values)} value(s) from the export, "
          f"{len(imp.custom_rules)} custom rule(s)")
    for old, new in imp.renamed:
        print(f"renamed  {old} -> {new} (istiogen generates a rule of that name)")
    for r in imp.retire:
        print(f"retire   after applying: {r}")
    for u in imp.unmapped:
        print(f"unmapped {u.text()}")
    for w in result.warnings:
        print(f"warning  {w}")
    live = " ".join(args.live)
    print(f"next: istiogen diff {common.display(out)} --live {live}   shows only what istiogen would change")
    return 0
