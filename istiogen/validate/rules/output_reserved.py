"""An ``output.dir`` with a folder named like istiogen's staging folders (the writer removes those)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from istiogen.problems import Problem
from istiogen.registry import RESERVED_PREFIX
from istiogen.validate.context import Context
from istiogen.validate.rules.output_outside import outside

ID = "output-reserved"


def reserved(out_dir: str) -> bool:
    return any(part.startswith(RESERVED_PREFIX) for part in Path(out_dir).parts)


def check(ctx: Context) -> Iterator[Problem]:
    out_dir = ctx.profile.output.dir
    if out_dir is not None and not outside(out_dir) and reserved(out_dir):
        yield ctx.error(ID, ("output", "dir"), f"{out_dir!r}: folder names starting with {RESERVED_PREFIX!r} are "
                        "reserved for istiogen's staging folders", "e.g. dir: my-cluster")
