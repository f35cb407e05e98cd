"""``istiogen validate``: report every error and warning; write nothing."""

from __future__ import annotations

import argparse
import sys

from istiogen.cli import common, exits
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
    from istiogen import api

    try:
        result = api.validate(api.select_profiles(args.profiles, all_profiles=args.all,
                                                  profiles_dir=args.profiles_dir))
    except ProfileError as e:  # reported on stdout, as every finding of validate is
        common.print_problems(e.problems, args.format, sys.stdout)
        return exits.BAD_INPUT
    if result.invalid:
        common.print_problems(result.invalid, args.format, sys.stdout)
        return exits.BAD_INPUT
    common.print_problems(result.warnings, args.format, sys.stdout)
    if args.format == "text":
        for name, line in result.budgets:
            print(f"{name}: {line}")
        print(f"{len(result.rendered)} profile(s) valid, {len(result.warnings)} warning(s)")
    return exits.FOUND if result.warnings and args.strict else exits.OK
