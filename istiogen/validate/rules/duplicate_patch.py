"""Two ``rules.patches`` naming one rule or alert: which one applies would depend on their order."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context, repeated

ID = "duplicate-patch"


def check(ctx: Context) -> Iterator[Problem]:
    for i, name, first in repeated(pt.name for pt in ctx.profile.rules.patches):
        yield ctx.error(ID, ("rules", "patches", i, "name"), f"{name!r} is already patched by "
                        f"rules.patches[{first}]", "merge the two patches into one")
