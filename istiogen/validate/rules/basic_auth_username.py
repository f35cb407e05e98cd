"""``remote_write`` with basic auth but no ``username`` (the Secret holds only the password)."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "basic-auth-username"


def check(ctx: Context) -> Iterator[Problem]:
    rw = ctx.profile.remote_write
    if rw is not None and rw.enabled and rw.auth == "basic" and not rw.username:
        yield ctx.error(ID, ("remote_write", "username"), "basic auth needs a username")
