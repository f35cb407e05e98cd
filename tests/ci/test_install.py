"""What a fresh machine needs: every module istiogen imports at run time is a declared dependency,
every declared runtime dependency is imported, nothing machine-specific is committed, and the CI
step that runs the README's first command in a fresh clone fails when an install step is missing.

The truth here is the installed distributions' own metadata (``importlib.metadata``), git's index,
and a real ``git clone``, not a list kept by istiogen.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(req: str) -> str:
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
    assert m, req
    return _norm(m.group(1))


def _pyproject() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


_DOTTED = re.compile(r"[A-Za-z_]\w*(\.\w+)+")


def _imported_top_level(folder: Path) -> dict[str, list[str]]:
    """Top-level modules imported anywhere under ``folder``: import statements (lazy ones inside
    functions too) and dotted module names given as strings (``importlib.import_module(NAME)``) that
    name an installed third-party module."""
    import importlib.util

    found: dict[str, list[str]] = {}
    third_party = md.packages_distributions()
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and _DOTTED.fullmatch(node.value)
                  and node.value.split(".")[0] in third_party and importlib.util.find_spec(node.value) is not None):
                names = [node.value]
            for n in names:
                found.setdefault(n.split(".")[0], []).append(str(path.relative_to(REPO)))
    return found


def _third_party(found: dict[str, list[str]]) -> dict[str, list[str]]:
    return {m: where for m, where in found.items()
            if m not in sys.stdlib_module_names and m not in ("istiogen", "__future__")}


def test_every_module_the_product_imports_is_a_declared_runtime_dependency() -> None:
    declared = {_requirement_name(r) for r in _pyproject()["project"]["dependencies"]}
    by_module = md.packages_distributions()
    missing = {}
    for module, where in _third_party(_imported_top_level(REPO / "istiogen")).items():
        dists = {_norm(d) for d in by_module.get(module, [])}
        assert dists, f"{module} (imported by {where[0]}) belongs to no installed distribution"
        if not dists & declared:
            missing[module] = (sorted(dists), where[0])
    assert missing == {}, f"imported at run time but not declared in [project] dependencies: {missing}"


def test_every_declared_runtime_dependency_is_imported_by_the_product() -> None:
    imported = set(_third_party(_imported_top_level(REPO / "istiogen")))
    by_module = md.packages_distributions()
    dist_modules: dict[str, set[str]] = {}
    for module, dists in by_module.items():
        for d in dists:
            dist_modules.setdefault(_norm(d), set()).add(module)
    unused = [r for r in _pyproject()["project"]["dependencies"]
              if not dist_modules.get(_requirement_name(r), set()) & imported]
    assert unused == [], f"declared runtime dependencies istiogen never imports: {unused}"


def test_test_and_bench_imports_are_declared_in_the_test_extra() -> None:
    p = _pyproject()
    declared = {_requirement_name(r) for r in p["project"]["dependencies"]}
    declared |= {_requirement_name(r) for r in p["project"]["optional-dependencies"]["test"]}
    by_module = md.packages_distributions()
    found = _imported_top_level(REPO / "tests")
    for k, v in _imported_top_level(REPO / "bench").items():
        found.setdefault(k, []).extend(v)
    missing = {}
    for module, where in _third_party(found).items():
        if module in ("tests", "bench"):
            continue
        dists = {_norm(d) for d in by_module.get(module, [])}
        if not dists & declared:
            missing[module] = where[0]
    assert missing == {}, f"imported by tests or bench but not declared: {missing}"


def test_nothing_machine_specific_is_committed() -> None:
    """No committed symbolic link leaves the repository (a .venv link resolves only where it was made)."""
    out = subprocess.run(["git", "ls-files", "-s"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    links = [line.split("\t", 1)[1] for line in out.splitlines() if line.startswith("120000 ")]
    leaving = []
    for link in links:
        target = (REPO / link).parent / Path((REPO / link).readlink())
        if not target.resolve().is_relative_to(REPO.resolve()):
            leaving.append(link)
    assert leaving == []
    tracked = set(out.split("\n"))
    assert not any(line.endswith(("\t.venv", "\tvenv")) for line in tracked)
    for venv in (".venv", ".venv/bin/python", "venv", "venv/bin/python"):  # a link named .venv too
        ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", venv], cwd=REPO)
        assert ignored.returncode == 0, f".gitignore must cover virtualenvs ({venv})"


def _repo_with(tmp: Path, readme_block: str, extra: dict[str, str] | None = None, link: str | None = None) -> Path:
    repo = tmp / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(REPO / "scripts/readme-first-command.sh", repo / "scripts/readme-first-command.sh")
    (repo / "README.md").write_text(f"# x\n\n```sh\n{readme_block}\n```\n\n```sh\nfalse\n```\n", encoding="utf-8")
    for name, text in (extra or {}).items():
        (repo / name).write_text(text, encoding="utf-8")
    if link:
        (repo / ".venv").symlink_to(link)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=repo, check=True)
    return repo


def _fresh(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(repo / "scripts/readme-first-command.sh")], capture_output=True, text=True,
                          timeout=60)


def test_fresh_clone_step_runs_the_first_block_verbatim_and_passes(tmp_path: Path) -> None:
    repo = _repo_with(tmp_path, "test -f tool.sh && sh tool.sh > made.txt && grep -q ran made.txt",
                      {"tool.sh": "echo ran\n"})
    p = _fresh(repo)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "test -f tool.sh && sh tool.sh" in p.stdout


def test_fresh_clone_step_fails_when_an_install_step_is_missing(tmp_path: Path) -> None:
    """The first command relies on something only an earlier run on this machine left behind
    (here an untracked file, as an installed tool or virtualenv would be): the fresh clone lacks it."""
    repo = _repo_with(tmp_path, "sh installed-by-hand.sh")
    (repo / "installed-by-hand.sh").write_text("exit 0\n", encoding="utf-8")  # present here, not committed
    assert subprocess.run(["sh", "installed-by-hand.sh"], cwd=repo).returncode == 0
    p = _fresh(repo)
    assert p.returncode != 0


def test_fresh_clone_step_fails_on_a_committed_virtualenv_link(tmp_path: Path) -> None:
    repo = _repo_with(tmp_path, "true", link="/nonexistent/venv")
    p = _fresh(repo)
    assert p.returncode != 0
    assert "already holds .venv" in p.stderr


def test_ci_runs_the_fresh_clone_step() -> None:
    ci = (REPO / ".ci/run").read_text(encoding="utf-8")
    assert "./scripts/test.sh" in ci
    assert "./scripts/readme-first-command.sh" in ci
    first = re.search(r"```(?:sh|bash|console)?\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
    assert first and "pip install ." in first.group(1) and "istiogen render" in first.group(1)
