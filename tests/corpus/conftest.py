"""Fixtures of the corpus tests: a good render to protect."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus.common import GOOD_PROFILE, render_good


@pytest.fixture(scope="session")
def previous_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An output root holding a good render of GOOD_PROFILE (profile name ``corpus``); copy it, never write to it."""
    root = tmp_path_factory.mktemp("previous") / "out"
    tree = render_good(root, GOOD_PROFILE)
    assert (tree / "prometheus/rules.yaml").is_file()
    return root
