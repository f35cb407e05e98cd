"""``istiogen init``: the scaffolded repository passes its own checks, run by the real tools:
``pre-commit run --all-files`` (pre-commit itself, reading the generated config) and the CI
workflow's ``run:`` steps executed locally in a clone, on a branch with no change and on one that
changes the profile. Two steps are not run here, and the test says which: installing istiogen
from the package index (it is installed in this environment) and ``gh pr comment`` (no GitHub);
for the latter the test checks that its condition holds exactly when the diff found changes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.adopt.test_import import EXPORTS

BIN = str(Path(sys.executable).parent)


def _pythonpath() -> dict[str, str]:
    return {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}


def _env(tmp: Path) -> dict[str, str]:
    return {"PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp / "home"), **_pythonpath(),
            "PRE_COMMIT_HOME": str(tmp / "pre-commit-cache"), "KUBECONFIG": "/nonexistent",
            "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.invalid", "LC_ALL": "C.UTF-8"}


def _sh(cmd: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def _run_workflow(repo: Path, env: dict[str, str]) -> dict[str, str]:
    """Every `run:` step of the generated workflow, in order, as GitHub would run it (bash -e)."""
    wf = yaml.safe_load((repo / ".github/workflows/istiogen.yml").read_text(encoding="utf-8"))
    out_file = repo.parent / "github-output"
    out_file.write_text("", encoding="utf-8")
    outputs: dict[str, str] = {}
    ran = []
    for step in wf["jobs"]["diff"]["steps"]:
        if "run" not in step or step.get("name") == "Install istiogen":
            continue
        if step.get("if") == "steps.diff.outputs.code == '1'":
            outputs["comment-would-run"] = str(outputs.get("code") == "1")
            continue
        assert "if" not in step, step
        script = step["run"].replace("${{ github.base_ref }}", "main")
        assert "${{" not in script, script
        p = _sh(script, repo, {**env, "GITHUB_OUTPUT": str(out_file)})
        assert p.returncode == 0, f"step {step.get('name')!r} failed:\n{p.stdout}\n{p.stderr}"
        ran.append(step.get("name"))
        for line in out_file.read_text(encoding="utf-8").splitlines():
            k, _, v = line.partition("=")
            outputs[k] = v
    assert ran == ["Profiles are valid and output/ is current", "What this pull request changes in the generated "
                   "config", "Annotate the changed files"]
    return outputs


def test_init_scaffolds_a_repository_whose_checks_pass(tmp_path: Path, cli: Any) -> None:
    repo = tmp_path / "monitoring"
    res = cli("init", str(repo), cwd=tmp_path)
    assert res.code == 0, res.err
    for f in ("profiles", ".pre-commit-config.yaml", ".github/workflows/istiogen.yml", ".istiogenignore",
              "README.md", "output"):
        assert (repo / f).exists(), f
    env = _env(tmp_path)
    assert _sh("git init -q -b main && git add -A && git commit -qm init", repo, env).returncode == 0
    p = _sh("pre-commit run --all-files", repo, env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("Passed") == 3, p.stdout

    # a pull request: a clone with origin/main, a branch without a change, then one with a change
    work = tmp_path / "pr"
    assert _sh(f"git clone -q {repo} {work} && git -C {work} checkout -qb feature", tmp_path, env).returncode == 0
    out = _run_workflow(work, env)
    assert out["code"] == "0" and out["comment-would-run"] == "False"
    profile = next((work / "profiles").glob("*.yaml"))
    profile.write_text(profile.read_text(encoding="utf-8").replace("window: 1m", "window: 2m")
                       if "window: 1m" in profile.read_text(encoding="utf-8")
                       else profile.read_text(encoding="utf-8") + "\nrules:\n  window: 2m\n", encoding="utf-8")
    assert _sh("istiogen render --all -q && git add -A && git commit -qm 'longer window'", work, env).returncode == 0
    p = _sh("pre-commit run --all-files", work, env)
    assert p.returncode == 0, p.stdout + p.stderr
    out = _run_workflow(work, env)
    assert out["code"] == "1" and out["comment-would-run"] == "True"
    assert "rate2m" in (work / "istiogen-diff.md").read_text(encoding="utf-8")


def test_init_with_an_export_imports_the_profile(tmp_path: Path, cli: Any) -> None:
    repo = tmp_path / "r"
    res = cli("init", str(repo), "--import", str(EXPORTS / "samples-1.30"), "--name", "prod", cwd=tmp_path)
    assert res.code == 0, res.err
    data = yaml.safe_load((repo / "profiles/prod.yaml").read_text(encoding="utf-8"))
    assert data["name"] == "prod" and data["istio"]["version"] == "1.30"
    assert (repo / "output/prod/index.json").is_file()


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path, cli: Any) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "README.md").write_text("mine\n", encoding="utf-8")
    before = sorted(str(p.relative_to(repo)) for p in repo.rglob("*"))
    res = cli("init", str(repo), cwd=tmp_path)
    assert res.code == 2
    assert "README.md" in res.err and "nothing was written" in res.err
    assert sorted(str(p.relative_to(repo)) for p in repo.rglob("*")) == before
    assert (repo / "README.md").read_text(encoding="utf-8") == "mine\n"
    assert [p.name for p in repo.iterdir()] == ["README.md"]
