"""``istiogen import``: write a profile reproducing a cluster's monitoring from its exports."""

from __future__ import annotations

import argparse

from istiogen.cli import exits

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
    from istiogen import api

    written = api.import_profile(args.live, args.name, istio_version=args.istio_version, output=args.output)
    out = api.display(written.path)
    imp = written.result.imported
    print(f"wrote {out}: {len(imp.values)} value(s) from the export, {len(imp.custom_rules)} custom rule(s)")
    for old, new in imp.renamed:
        print(f"renamed  {old} -> {new} (istiogen generates a rule of that name)")
    for r in imp.retire:
        print(f"retire   after applying: {r}")
    for u in imp.unmapped:
        print(f"unmapped {u.text()}")
    for w in written.result.warnings:
        print(f"warning  {w}")
    live = " ".join(args.live)
    print(f"next: istiogen diff {out} --live {live}   shows only what istiogen would change")
    return exits.OK
