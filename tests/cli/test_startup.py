"""``istiogen --version`` and building the parser import no verb's machinery: start-up stays near the interpreter's."""

from __future__ import annotations

import subprocess
import sys

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
