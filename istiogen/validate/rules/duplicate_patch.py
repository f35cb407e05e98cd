"""Two ``rules.patches`` naming one rule or alert: which one applies would depend on their order."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "duplicate-patch"


def check(ctx: Context) -> Iterator[Problem]:
    patched: dict[str, int] = {}
    for i, pt in enumerate(ctx.profile.rules.patches):
        if pt.name in patched:
            yield ctx.error(ID, ("rules", "patches", i, "name"), f"{pt.name!r} is already patched by "
                            f"rules.patches[{patched[pt.name]}]", "merge the two patches into one")
        patched.setdefault(pt.name, i)
