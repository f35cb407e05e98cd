"""Stage 1: the cross-field rules over a loaded profile (after load, before render).

The loader (:mod:`istiogen.profile.loader`) checks the schema (YAML, ``extends``, types, unknown keys, the
files a profile references); each rule of :mod:`.rules` checks a combination of fields that are each valid
alone but wrong together.  :func:`check` runs every rule and returns every problem as data; :func:`load`
(load, then stage 1, then resolve) is the one place a profile's problems of this stage are raised, all at
once, with the loader's.  Nothing after it raises a profile error: the checks that need the rendered output
are stage 2 (:mod:`istiogen.verify`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from istiogen.errors import ProfileError
from istiogen.problems import Problem, sort_problems
from istiogen.profile.loader import LoadedProfile, read_profile
from istiogen.profile.resolve import Resolved, resolve
from istiogen.validate.context import Context

__all__ = ["Context", "check", "load"]


def check(loaded: LoadedProfile) -> list[Problem]:
    """Every problem of every stage-1 rule (errors and warnings), in no particular order."""
    from istiogen.validate.rules import RULES

    ctx = Context(loaded.model, loaded.doc, loaded.live)
    return [p for rule in RULES for p in rule.check(ctx)]


def load(path: Path | None = None, root: Path | None = None) -> Resolved:
    """Load a profile (``None``: the embedded default), run stage 1 and resolve it; raises
    :class:`ProfileError` with every problem of the loader and of every rule."""
    loaded, problems = read_profile(path, root)
    if loaded is not None:
        problems = [*problems, *check(loaded)]
    if loaded is None or any(p.level == "error" for p in problems):
        raise ProfileError(sort_problems(problems))
    warnings = sort_problems(p for p in problems if p.level == "warning")
    return resolve(dataclasses.replace(loaded, warnings=warnings))
