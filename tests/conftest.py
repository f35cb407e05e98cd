"""Shared fixtures: real tools (promtool, kubectl, prometheus), profile helpers, CLI runner.

Missing tools are a failure, not a skip: the suite checks generated files with the
real tools, and ``scripts/test.sh`` installs them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from istiogen.cli.main import main
from istiogen.pipeline import Rendered, render
from istiogen.profile.resolve import Resolved
from istiogen.validate import load

REPO = Path(__file__).resolve().parent.parent

# Property tests explore the same examples on every run (CI must not depend on luck); set
# HYPOTHESIS_PROFILE=explore to search new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config: pytest.Config) -> None:
    """A suite started with SIGINT ignored (a background job of a non-interactive shell, nohup) would hand that
    on to every process it starts, and Python leaves SIGINT ignored in a process started so: the tests that
    interrupt istiogen (exit 130, the previous tree kept) would see it run to the end.  Handled, not ignored,
    SIGINT is back to its default in every child."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/test.sh, which installs what the tests need")
    return path


@pytest.fixture(scope="session")
def promtool() -> str:
    return tool("promtool")


@pytest.fixture(scope="session")
def kubectl() -> str:
    return tool("kubectl")


@pytest.fixture(scope="session")
def prometheus_bin() -> str:
    return tool("prometheus")


def run(argv: list[str], *, cwd: Path | None = None, input: str | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "KUBECONFIG": "/nonexistent", "HOME": "/nonexistent"}
    p = subprocess.run(argv, cwd=cwd, input=input, capture_output=True, text=True, env=env, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"{argv[0]} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliResult]:
    """Run istiogen in-process: ``cli("render", "x.yaml", cwd=tmp_path)``."""

    def _run(*argv: str, cwd: Path | None = None) -> CliResult:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as e:  # argparse usage errors and --help
            code = int(e.code or 0)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return _run


def write_profile(folder: Path, text: str, name: str = "profile.yaml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load_text(folder: Path, text: str, name: str = "profile.yaml") -> Resolved:
    return load(write_profile(folder, text, name))


def render_text(folder: Path, text: str, name: str = "profile.yaml") -> Rendered:
    return render(load_text(folder, text, name))


@pytest.fixture(scope="session")
def default_rendered() -> Rendered:
    return render(load(None))


def example_profiles() -> list[Path]:
    from istiogen.cli.common import discover

    return discover(REPO / "profiles")


@pytest.fixture(scope="session")
def examples_rendered() -> dict[str, Rendered]:
    return {p.stem: render(load(p)) for p in example_profiles()}


def materialize(rendered: Rendered, folder: Path) -> Path:
    """Write a rendered tree to ``folder`` (for tools that read files)."""
    for rel, content in rendered.files.items():
        dest = folder / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(content)
    return folder


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Callable[[Rendered], Path]]:
    yield lambda r: materialize(r, tmp_path / "tree")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With pytest-xdist (``-n 2 --dist loadgroup``), every test that starts
    real Prometheus servers runs on one worker, so each session fixture starts its servers once; the other
    worker takes the rest meanwhile (the servers mostly wait for scrapes and rule evaluations)."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if item.nodeid.startswith("tests/e2e/"):
            item.add_marker(pytest.mark.xdist_group("e2e"))
