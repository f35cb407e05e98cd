"""``istiogen schema``: the JSON Schema of the profile format."""

from __future__ import annotations

import argparse

from istiogen.api import schema_text
from istiogen.cli import exits

__all__ = ["add_parser", "run", "schema_text"]  # schema_text: istiogen.api.schema_text

HELP = "print the JSON Schema of the profile format"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("schema", help=HELP, description=HELP + " (for editors: yaml-language-server).")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print(schema_text(), end="")
    return exits.OK
