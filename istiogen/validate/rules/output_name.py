"""An ``output.dir`` whose folder names are not portable (POSIX portable file names, at most 255 bytes each)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from istiogen.problems import Problem
from istiogen.validate.context import Context
from istiogen.validate.rules.output_outside import outside
from istiogen.validate.rules.output_reserved import reserved

ID = "output-name"
_FOLDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")  # a portable file name (POSIX), at most 255 bytes


def check(ctx: Context) -> Iterator[Problem]:
    out_dir = ctx.profile.output.dir
    if out_dir is None or outside(out_dir) or reserved(out_dir):
        return
    if not all(_FOLDER.fullmatch(part) for part in Path(out_dir).parts):
        yield ctx.error(ID, ("output", "dir"), f"{out_dir!r} is not a folder path of portable names: letters, "
                        "digits, '.', '_' and '-' between '/', each starting with a letter or digit",
                        "e.g. dir: team/my-cluster")
