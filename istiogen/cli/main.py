"""The ``istiogen`` command: parse, dispatch to a verb, map expected failures to exit codes.

Each verb is a module of :mod:`istiogen.cli` (``add_parser`` and ``run``) over :mod:`istiogen.api`.
Exit codes (:mod:`istiogen.cli.exits`): 0 success; 1 differences or stale output (diff, check) or
findings (lint); 2 bad input, usage errors and every other expected failure (``FatalError``); 130 Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

from istiogen.cli.exits import BAD_INPUT, INTERRUPTED, OK


def _interrupted(signum: int, frame: object) -> None:
    """Ctrl-C while nothing is being written (imports, reading, rendering): leave at once, quietly.

    A KeyboardInterrupt raised there could surface as anything (pydantic's Rust core turns one raised
    during its import into a panic); the writer switches to KeyboardInterrupt while it writes, so that
    it can undo a half-written staging folder (see istiogen.emit.writer.interruptible)."""
    with contextlib.suppress(Exception):  # a flush interrupted mid-write: its lines are lost, no more
        sys.stdout.flush()
    os.write(2, b"istiogen: interrupted\n")
    os._exit(INTERRUPTED)


# Run as the ``istiogen`` command (the console script imports this module first), not called in-process.
_STANDALONE = sys.argv[0].rpartition("/")[2] == "istiogen"
if _STANDALONE and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted)  # from the first line run

import argparse  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import NoReturn  # noqa: E402

from istiogen import __version__  # noqa: E402
from istiogen.cli import check, completion, diff, import_profile, init, lint, render, schema, validate  # noqa: E402

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
    """Run a verb; Ctrl-C at any point exits 130 with one line (a write in progress is undone first)."""
    previous = signal.getsignal(signal.SIGINT)
    ours = previous in (signal.default_int_handler, _interrupted)
    if ours:
        signal.signal(signal.SIGINT, _interrupted)
    try:
        return _main(argv)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the exit
        print("istiogen: interrupted", file=sys.stderr)
        return INTERRUPTED
    finally:
        # in-process callers get their handler back; the command keeps what the run left (once a tree is
        # swapped in, Ctrl-C stays ignored through the exit: 130 would claim the previous tree is intact)
        if ours and not _STANDALONE:
            signal.signal(signal.SIGINT, previous)


def command() -> NoReturn:
    """The console script: :func:`main`, then out at once.  The interpreter's orderly shutdown would free
    every module and object one by one (about 40 ms after a render, more than the interpreter's start);
    nothing istiogen leaves needs it: files are written, fsynced and closed by then, temporary folders are
    context managers, and stdout and stderr are flushed here."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # a reader gone (``| head``) or a closed stream
            stream.flush()
    os._exit(code)


def _main(argv: Sequence[str] | None) -> int:
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
        return BAD_INPUT
    except FatalError as e:
        print(f"istiogen: error: {e}", file=sys.stderr)
        return BAD_INPUT
    except BrokenPipeError:
        return OK


if __name__ == "__main__":
    command()
