"""``istiogen schema``: the JSON Schema of the profile format."""

from __future__ import annotations

import argparse

HELP = "print the JSON Schema of the profile format"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("schema", help=HELP, description=HELP + " (for editors: yaml-language-server).")
    p.set_defaults(run=run)


def schema_text() -> str:
    import json

    from istiogen.profile.models import Profile

    schema = Profile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "istiogen profile"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def run(args: argparse.Namespace) -> int:
    print(schema_text(), end="")
    return 0
