"""``remote_write`` with bearer or basic auth but no ``secret``: the credential would come from nowhere."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "missing-secret"


def check(ctx: Context) -> Iterator[Problem]:
    rw = ctx.profile.remote_write
    if rw is not None and rw.enabled and rw.auth != "none" and rw.secret is None:
        yield ctx.error(ID, ("remote_write", "secret"), f"{rw.auth} auth needs the Secret holding the credential",
                        "secret: {name: sysdig-remote-write, key: token}")
