"""``istiogen validate``: report every error and warning; write nothing."""

from __future__ import annotations

import argparse
import sys

from istiogen.cli import common
from istiogen.errors import ProfileError

HELP = "check profiles and report every problem; writes nothing"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("validate", help=HELP, description=HELP + ". The profile is rendered in memory and every "
                       "Kubernetes object is checked against the schema of kubernetes.version. Exit 0 when valid "
                       "(warnings allowed), 2 on errors; with --strict, warnings exit 1.")
    common.add_profile_args(p, default_help="default: the embedded default profile")
    common.add_format_arg(p)
    p.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        resolved, _ = common.load_all(common.selected(args))
        rendered = common.render_all(resolved)
    except ProfileError as e:
        common.print_problems(e.problems, args.format, sys.stdout)
        return 2
    from istiogen.emit.kubevalidate import validate as kube_validate

    invalid = [p for x in rendered for p in kube_validate(x)]
    if invalid:
        common.print_problems(invalid, args.format, sys.stdout)
        return 2
    warnings = [w for x in rendered for w in x.warnings]
    common.print_problems(warnings, args.format, sys.stdout)
    if args.format == "text":
        print(f"{len(rendered)} profile(s) valid, {len(warnings)} warning(s)")
    return 1 if warnings and args.strict else 0
