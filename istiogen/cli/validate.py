"""``istiogen validate``: report every error and warning; write nothing."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from istiogen.cli import common
from istiogen.errors import ProfileError

if TYPE_CHECKING:
    from istiogen.pipeline import Rendered

HELP = "check profiles and report every problem; writes nothing"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("validate", help=HELP, description=HELP + ". The profile is rendered in memory and every "
                       "Kubernetes object is checked against the schema of kubernetes.version. Exit 0 when valid "
                       "(warnings allowed), 2 on errors; with --strict, warnings exit 1.")
    common.add_profile_args(p, default_help="default: the embedded default profile")
    common.add_format_arg(p)
    p.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")
    p.set_defaults(run=run)


def budget_line(x: Rendered) -> str:
    """The series estimate, and the agent limit it counts against."""
    est = x.estimate
    assert est is not None
    if not x.resolved.profile.sysdig.federation:
        return f"the Istio Prometheus remote-writes {est.summary()} (outside the agent's limits)"
    return (f"the agent federates {est.summary()}; limit {est.limit} (max_metrics, max_metrics_per_process): "
            f"{est.room()}")


def run(args: argparse.Namespace) -> int:
    try:
        resolved, _ = common.load_all(common.selected(args))
        rendered = common.render_all(resolved)
    except ProfileError as e:
        common.print_problems(e.problems, args.format, sys.stdout)
        return 2
    from istiogen import verify

    invalid = [p for x in rendered for p in verify.run(x, verify.schema_rules())]
    if invalid:
        common.print_problems(invalid, args.format, sys.stdout)
        return 2
    warnings = [w for x in rendered for w in x.warnings]
    common.print_problems(warnings, args.format, sys.stdout)
    if args.format == "text":
        for x in rendered:
            if x.estimate is not None:
                print(f"{x.name}: {budget_line(x)}")
        print(f"{len(rendered)} profile(s) valid, {len(warnings)} warning(s)")
    return 1 if warnings and args.strict else 0
