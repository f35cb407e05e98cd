"""An ``alerts.alertmanager`` with neither ``urls`` nor ``services``: the alerts would be sent nowhere."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "alertmanager-missing"


def check(ctx: Context) -> Iterator[Problem]:
    am = ctx.profile.alerts.alertmanager
    if am is not None and not am.urls and not am.services:
        yield ctx.error(ID, ("alerts", "alertmanager"), "no Alertmanager given", "add urls (or services)")
