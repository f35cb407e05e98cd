"""Every generated recording rule and alert expression parses as PromQL.

Generated expressions grow with the profile (the input bound on a profile's expressions is not theirs), and
they embed what the profile gives (custom records, patches): one that does not parse would make Prometheus
refuse the whole rule file, so it is reported, never written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from istiogen.problems import Problem
from istiogen.profile.promql import promql_error

if TYPE_CHECKING:
    from istiogen.pipeline import Rendered

ID = "generated-promql"


def check(rendered: Rendered) -> Iterator[Problem]:
    source = rendered.resolved.source
    errors: dict[str, str | None] = {}  # by expression: experiments repeat a few (their facts) thousands of times
    for what, name, expr in [*(("record", x.record, x.expr) for x in rendered.model.rules),
                             *(("alert", a.name, a.expr) for a in rendered.model.alerts)]:
        if expr not in errors:
            errors[expr] = promql_error(expr, max_len=None)
        err = errors[expr]
        if err:
            yield Problem(source, None, None, "", f"invalid PromQL in the generated {what} {name}: {err}", ID)
