"""An ``output.dir`` that is absolute, starts with ``~`` or climbs with ``..``: the tree would be written outside
the output root (and replaced whole there)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "output-outside"


def outside(out_dir: str) -> bool:
    parts = Path(out_dir).parts
    return Path(out_dir).is_absolute() or ".." in parts or not parts or out_dir.startswith("~")


def check(ctx: Context) -> Iterator[Problem]:
    out_dir = ctx.profile.output.dir
    if out_dir is not None and outside(out_dir):
        yield ctx.error(ID, ("output", "dir"), f"{out_dir!r} must be a relative folder under the output root, "
                        "without '..'", "e.g. dir: my-cluster")
