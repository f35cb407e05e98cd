"""``istiogen --version`` and building the parser import no verb's machinery: start-up stays near the interpreter's."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

from istiogen import __version__
from istiogen.cli import common
from istiogen.problems import FORMATS

HEAVY = ("pydantic", "ruamel", "jsonschema", "promql_parser", "kubernetes_validate", "istiogen.profile",
         "istiogen.render", "istiogen.emit", "istiogen.diff", "istiogen.lint", "istiogen.problems", "json",
         "dataclasses", "shlex")
SCRIPT = """
import sys
from istiogen.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stderr.write(" ".join(sorted(sys.modules)))
"""


def modules_after(*argv: str) -> tuple[str, list[str]]:
    res = subprocess.run([sys.executable, "-c", SCRIPT, *argv], capture_output=True, text=True, check=True, timeout=60)
    return res.stdout, res.stderr.split()


def test_version_imports_nothing_heavy() -> None:
    out, modules = modules_after("--version")
    assert out == f"istiogen {__version__}\n"
    assert [m for m in modules if m.startswith(HEAVY)] == []
    _, helped = modules_after("schema")  # the same probe sees a verb's imports once it runs
    assert "pydantic" in helped and "json" in helped


def test_the_parser_offers_the_problem_formats() -> None:
    assert common.FORMATS == FORMATS


def _command(*argv: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
    """The installed console script (istiogen.cli.main:command, which leaves by os._exit)."""
    exe = Path(sys.executable).parent / "istiogen"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout buffered, as usual
    res: subprocess.CompletedProcess[bytes] = subprocess.run(  # type: ignore[call-overload]
        [str(exe), *argv], capture_output=True, timeout=60, env=env, **kw)
    return res


def test_the_command_leaves_with_the_verbs_code_and_all_its_output(tmp_path: Path) -> None:
    """os._exit skips the interpreter's shutdown, not the flush: what is still buffered arrives, codes pass."""
    from istiogen.cli.main import main

    ok = _command("schema")
    assert ok.returncode == 0 and ok.stderr == b""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["schema"]) == 0
    assert ok.stdout.decode() == buf.getvalue()
    # a short summary stays in stdout's buffer until the end: without the flush it would be lost
    done = _command("render", "-q", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith(b"ok=0 changed=0 created=") and done.stdout.endswith(b"\n")
    assert (tmp_path / "output" / "default" / "index.json").is_file()
    bad = _command("validate", "/nonexistent/profile.yaml")
    assert bad.returncode == 2 and b"no such file" in bad.stdout


def test_a_reader_that_leaves_early_gets_no_traceback() -> None:
    exe = Path(sys.executable).parent / "istiogen"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    res = subprocess.run(f"'{exe}' schema | head -c 10", shell=True, capture_output=True, timeout=60, env=env)
    assert res.returncode == 0 and len(res.stdout) == 10
    assert b"Traceback" not in res.stderr and b"Exception ignored" not in res.stderr
