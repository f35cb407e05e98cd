"""An empty ``rules.federation_label``: the agent federates the series carrying it, so nothing would be federated."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "empty-federation-label"


def check(ctx: Context) -> Iterator[Problem]:
    if not ctx.profile.rules.federation_label:
        yield ctx.error(ID, ("rules", "federation_label"), "the federation label is empty: nothing would be "
                        "federated", 'e.g. {sysdig: "true"}')
