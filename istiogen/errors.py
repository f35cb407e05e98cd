"""The one error type for expected failures.

Every verb raises :class:`FatalError` (or a subclass) for anything the user can fix;
``istiogen.cli.main`` maps it to an exit code in one place.  Anything else is a bug
and surfaces as a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from istiogen.problems import Problem


class FatalError(Exception):
    """An expected failure: bad input, a refused write, a missing tool.  Exit code 2 (``BAD_INPUT`` of
    :mod:`istiogen.cli.exits`)."""


class ProfileError(FatalError):
    """A profile (or a file it points at) is invalid; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} error(s)")
