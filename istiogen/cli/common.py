"""What the verbs share: the arguments every verb spells alike, printing problems."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

from istiogen.api import OUTPUT_ROOT as OUTPUT_ROOT
from istiogen.api import PROFILES_DIR as PROFILES_DIR
from istiogen.api import discover as discover  # for scripts and tests: istiogen.api.discover

if TYPE_CHECKING:
    from istiogen.problems import Problem

# istiogen.problems.FORMATS, spelled out so that building the parser (``istiogen --version``) does not import
# istiogen.problems and its dataclasses machinery; tests/cli/test_startup.py checks the two agree
FORMATS = ("text", "json", "github")


def add_profile_args(p: argparse.ArgumentParser, *, default_help: str) -> None:
    p.add_argument("profiles", nargs="*", metavar="PROFILE", help=f"profile files ({default_help})")
    p.add_argument("--all", action="store_true", help=f"every profile under --profiles-dir ({PROFILES_DIR}/)")
    p.add_argument("--profiles-dir", default=PROFILES_DIR, metavar="DIR",
                   help="where --all looks (default: %(default)s)")


def add_format_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=FORMATS, default="text", help="how problems are printed (default: %(default)s)")


def print_problems(problems: list[Problem], fmt: str = "text", stream: TextIO | None = None) -> None:
    from istiogen.problems import format_problems

    text = format_problems(problems, fmt)
    if text:
        (stream or sys.stderr).write(text)
