"""A rule or alert both excluded (``rules.exclude``) and patched (``rules.patches``): the patch would be lost."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "exclude-patched"


def check(ctx: Context) -> Iterator[Problem]:
    patched: dict[str, int] = {}
    for i, pt in enumerate(ctx.profile.rules.patches):
        patched.setdefault(pt.name, i)
    seen: set[str] = set()
    for i, name in enumerate(ctx.profile.rules.exclude):
        if name in patched and name not in seen:  # a second listing is duplicate-exclude's
            yield ctx.error(ID, ("rules", "exclude", i), f"{name!r} is excluded and patched "
                            f"(rules.patches[{patched[name]}])", "remove the patch or the exclusion")
        seen.add(name)
