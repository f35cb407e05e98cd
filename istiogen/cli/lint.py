"""``istiogen lint``: check rendered trees or external bundles of rules, dashboards and federation jobs."""

from __future__ import annotations

import argparse
import sys

from istiogen.cli import common, exits

HELP = "check rendered trees or external bundles (rules, alerts, dashboards, federation job) for defects"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "lint", help=HELP,
        description=HELP + ". Exit 0 when there are no errors (warnings allowed), 1 on errors (or warnings with "
        "--strict), 2 on unreadable input or a bad configuration. See docs/lint.md.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help=f"rendered trees, folders holding them, or bundle files (default: {common.OUTPUT_ROOT}/)")
    common.add_format_arg(p)
    p.add_argument("--config", metavar="FILE", help="exclusions file (default: .istiogen-lint.yaml if present)")
    p.add_argument("--exclude", action="append", default=[], metavar="RULE[:GLOB]=REASON",
                   help="exclude a rule's findings (whose subject matches GLOB), with the reason; repeatable")
    p.add_argument("--scrape-interval", metavar="DURATION",
                   help="scrape interval for short-rate-window (default: the query catalog's, a scrape "
                   "config's, else 15s)")
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    p.add_argument("--list-rules", action="store_true", help="print the rule IDs, levels and descriptions")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from istiogen import api

    if args.list_rules:
        for rule_id, level, description in api.lint_rules():
            print(f"{rule_id:22} {level:8} {description}")
        return exits.OK
    res = api.lint_report(args.paths, config=args.config, exclude=args.exclude, scrape_interval=args.scrape_interval)
    common.print_problems(res.problems, args.format, sys.stdout)
    if args.format == "text":
        for note in res.notes:
            print(f"note: {note}", file=sys.stderr)
        excluded = f", {res.excluded} excluded" if res.excluded else ""
        print(f"istiogen lint: {res.bundles} bundle(s), {res.errors} error(s), {res.warnings} warning(s){excluded}",
              file=sys.stderr)
    if res.errors:
        return exits.FOUND
    return exits.FOUND if res.warnings and args.strict else exits.OK
