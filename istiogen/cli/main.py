"""The ``istiogen`` command: parse, dispatch to a verb, map expected failures to exit codes.

Exit codes: 0 success; 1 differences or stale output (diff, check) or findings (lint);
2 bad input, usage errors and every other expected failure (``FatalError``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from istiogen import __version__
from istiogen.cli import check, completion, diff, import_profile, init, lint, render, schema, validate

VERBS = (init, import_profile, render, validate, diff, check, lint, schema, completion)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="istiogen",
        description="Render Istio monitoring for Prometheus and the Sysdig agent from a typed profile, "
        "and show what a profile change does.",
        epilog="exit codes: 0 ok; 1 differences/stale output/findings; 2 errors (bad input, usage)",
    )
    p.add_argument("--version", action="version", version=f"istiogen {__version__}")
    sub = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb in VERBS:
        verb.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from istiogen.errors import FatalError, ProfileError

    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
        return code
    except ProfileError as e:
        from istiogen.cli.common import print_problems

        print_problems(e.problems, getattr(args, "format", "text") if getattr(args, "format", "text") in
                       ("text", "json", "github") else "text")
        n = sum(1 for x in e.problems if x.level == "error")
        print(f"istiogen: {n} error(s); nothing written", file=sys.stderr)
        return e.exit_code
    except FatalError as e:
        print(f"istiogen: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("istiogen: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
