"""Where a stage-2 problem of the profile is reported: at its field, with the position the loader kept."""

from __future__ import annotations

from typing import TYPE_CHECKING

from istiogen.problems import Problem
from istiogen.source import PathT, dotted

if TYPE_CHECKING:
    from istiogen.pipeline import Rendered


def at(rendered: Rendered, path: PathT, message: str, rule: str, hint: str | None = None) -> Problem:
    """A problem at ``path`` of the profile, with its position when the profile came from a file."""
    r = rendered.resolved
    if r.doc is not None:
        from istiogen.profile.loader import problem_at

        return problem_at(r.doc, path, message, rule, hint)
    return Problem(r.source, None, None, dotted(path), message, rule, "error", hint)
