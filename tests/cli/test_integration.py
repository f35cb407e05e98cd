"""Shell completion and pre-commit hooks."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, run


def complete(script: Path, words: list[str], cwd: Path) -> list[str]:
    """Run the generated bash completion for ``words`` (the last one being completed)."""
    arr = " ".join(f"'{w}'" for w in words)
    out = run(["bash", "-c", f"source {script}; COMP_WORDS=({arr}); COMP_CWORD={len(words) - 1}; _istiogen; "
               'printf "%s\\n" "${COMPREPLY[@]}"'], cwd=cwd)
    return [x for x in out.stdout.splitlines() if x]


def test_bash_completion(tmp_path: Path, cli: Any) -> None:
    res = cli("completion", "bash")
    assert res.code == 0
    script = tmp_path / "istiogen.bash"
    script.write_text(res.out)
    run(["bash", "-n", str(script)])
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "prod.yaml").write_text("istio: {version: '1.22'}\n")
    assert complete(script, ["istiogen", "re"], tmp_path) == ["render"]
    assert complete(script, ["istiogen", "validate", "--format", ""], tmp_path) == ["text", "json", "github"]
    assert complete(script, ["istiogen", "render", "profiles/p"], tmp_path) == ["profiles/prod.yaml"]
    assert set(complete(script, ["istiogen", "diff", "--ou"], tmp_path)) == {"--out", "--output"}
    assert complete(script, ["istiogen", "completion", ""], tmp_path) == ["bash", "zsh"]


def test_zsh_completion(tmp_path: Path, cli: Any) -> None:
    zsh = shutil.which("zsh")
    if zsh is None:
        pytest.fail("zsh is not installed: run scripts/test.sh")
    res = cli("completion", "zsh")
    assert res.out.startswith("#compdef istiogen\n")
    script = tmp_path / "_istiogen"
    script.write_text(res.out)
    run([zsh, "-n", str(script)])
    for verb in ("render", "validate", "diff", "check", "lint", "schema", "completion"):
        assert f"    {verb})" in res.out
    assert "'--format[how problems are printed (default\\: text)]:format:(text json github)'" in res.out


def test_pre_commit_hooks_run_real_verbs(cli: Any) -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    ids = {h["id"] for h in hooks}
    assert {"istiogen-check", "istiogen-validate", "istiogen-lint"} <= ids
    for h in hooks:
        assert h["language"] == "python" and h["entry"].startswith("istiogen ")
        argv = h["entry"].split()[1:]
        res = cli(*argv, cwd=REPO)
        assert res.code == 0, (h["id"], res.out, res.err)
