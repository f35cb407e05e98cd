"""``istiogen lint``: check rendered trees or external bundles of rules, dashboards and federation jobs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from istiogen.cli import common
from istiogen.errors import FatalError

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
    from istiogen.lint import config, engine, loader
    from istiogen.lint import promql as pq
    from istiogen.lint.registry import CHECKS, IDS

    if args.list_rules:
        for c in CHECKS:
            print(f"{c.ID:22} {c.LEVEL:8} {c.DESCRIPTION}")
        return 0
    interval = None
    if args.scrape_interval is not None:
        interval = pq.duration(args.scrape_interval)
        if not interval:
            raise FatalError(f"--scrape-interval {args.scrape_interval!r}: not a duration (e.g. 15s, 1m)")
    cfg = config.load(Path(args.config) if args.config else None, IDS)
    exclusions = [*cfg.exclusions, *config.from_cli(args.exclude, IDS)]
    paths = [Path(p) for p in args.paths]
    if not paths:
        root = Path(common.OUTPUT_ROOT)
        if not root.is_dir():
            raise FatalError(f"no {common.OUTPUT_ROOT}/ folder here: render first, or name what to lint")
        paths = [root]
    bundles = loader.load(paths)
    res = engine.lint(bundles, exclusions=exclusions, scrape_interval=interval)
    common.print_problems(res.problems, args.format, sys.stdout)
    if args.format == "text":
        for note in res.notes:
            print(f"note: {note}", file=sys.stderr)
        excluded = f", {res.excluded} excluded" if res.excluded else ""
        print(f"istiogen lint: {res.bundles} bundle(s), {res.errors} error(s), {res.warnings} warning(s){excluded}",
              file=sys.stderr)
    if res.errors:
        return 1
    return 1 if res.warnings and args.strict else 0
