"""mypy --strict sees the profile in the renderers: a misspelt field is an error (the real mypy, run on a
renderer written as the render steps are, with the project's own mypy configuration)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def mypy(target: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"), "--cache-dir", str(cache),
         "--follow-imports=silent", str(target)],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False)


def test_a_misspelt_profile_field_in_a_renderer_fails_mypy(tmp_path: Path) -> None:
    bad = mypy(FIXTURES / "renderer_typo.py", tmp_path / "cache")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert ('renderer_typo.py:12: error: "PrometheusSpec" has no attribute "rulez_key"; maybe "rules_key"?  '
            "[attr-defined]") in bad.stdout
    good = mypy(FIXTURES / "renderer_ok.py", tmp_path / "cache")
    assert good.returncode == 0, good.stdout + good.stderr
