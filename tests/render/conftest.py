"""promtool over the shipped unit tests of every example, once per session (several tests read the outcome)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from istiogen.pipeline import Rendered
from tests.conftest import materialize, run


@pytest.fixture(scope="session")
def shipped_outcomes(tmp_path_factory: pytest.TempPathFactory, promtool: str,
                     examples_rendered: dict[str, Rendered],
                     default_rendered: Rendered) -> dict[str, tuple[int, str]]:
    """``promtool test rules`` on the default tree and every example as rendered: (exit code, output)."""
    base = tmp_path_factory.mktemp("shipped")
    trees = {name: materialize(r, base / name) for name, r in {"default": default_rendered,
                                                                **examples_rendered}.items()}

    def test(name: str) -> tuple[int, str]:
        out = run([promtool, "test", "rules", "rules.test.yaml"], cwd=trees[name] / "prometheus", check=False)
        return out.returncode, out.stdout + out.stderr

    with ThreadPoolExecutor(2) as pool:  # two cores
        return dict(zip(trees, pool.map(test, trees), strict=True))
