"""``istiogen/cli/`` holds no logic the API lacks, as far as reading its source can say.

The rule, checked on every module of ``istiogen/cli/`` with ``ast``:

* from istiogen it imports only ``istiogen`` (the version), ``istiogen.api`` (not its private modules: the
  public functions and their results), ``istiogen.errors``, ``istiogen.problems`` (formatting problems) and
  ``istiogen.cli.*``; from the standard library only what parsing, printing and exiting take (argparse, sys,
  os, signal, contextlib, pathlib to join the paths it prints, typing, shlex to quote a completion script);
* it touches no file: no ``open()``, no ``Path`` method that reads, writes or lists the file system;
* it defines no class, and only these functions: ``add_parser`` and ``run`` (each verb), ``parser`` and
  ``main`` (the command), the argument helpers and the problem printer every verb shares, and the few
  private helpers listed below with the reason each is the CLI's own (argparse, the terminal, signals);
* it writes no exit code as a number: every ``return`` of a verb and of ``main`` names a code of
  :mod:`istiogen.cli.exits`, the one table.

What the rule cannot see: a loop over API results that computes something.  Such code is reviewed, not
tested; the verbs today only print what the API returns.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CLI = Path(__file__).resolve().parents[2] / "istiogen" / "cli"
MODULES = sorted(p for p in CLI.glob("*.py") if p.name != "__init__.py")

ALLOWED_ISTIOGEN = ("istiogen", "istiogen.api", "istiogen.errors", "istiogen.problems")
ALLOWED_STDLIB = ("__future__", "argparse", "sys", "os", "signal", "contextlib", "pathlib", "typing",
                  "collections.abc", "shlex")
FS_METHODS = {"exists", "is_dir", "is_file", "is_symlink", "read_text", "read_bytes", "write_text", "write_bytes",
              "open", "rglob", "glob", "iterdir", "mkdir", "unlink", "rmdir", "rename", "touch", "stat", "resolve",
              "chdir", "listdir", "walk", "scandir"}  # not replace, remove: str and list have them too
VERB_FUNCTIONS = {"add_parser", "run"}
OWN = {  # module: {function: why it is the CLI's own}
    "main": {"parser": "builds the argparse parser", "main": "the entry point", "_main": "maps failures to exits",
             "_interrupted": "the Ctrl-C signal handler", "command": "the console script: main, then os._exit"},
    "common": {"add_profile_args": "argparse", "add_format_arg": "argparse", "print_problems": "prints"},
    "diff": {"_context": "an argparse type (-U N)", "_color": "is stdout a colour terminal"},
    "completion": {"_verbs": "reads the parser", "_options": "reads the parser", "_positional_kind": "reads the "
                   "parser", "bash": "the parser as a bash script", "zsh": "the parser as a zsh script",
                   "_zq": "zsh quoting"},
}


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def imported(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            out.add(node.module or "")
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_imports_only_the_api_and_what_parsing_and_printing_take(path: Path) -> None:
    bad = {m for m in imported(path)
           if not (m in ALLOWED_ISTIOGEN or m.startswith("istiogen.cli.") or m == "istiogen.cli"
                   or m in ALLOWED_STDLIB)}
    assert bad == set(), f"{path.name} imports {sorted(bad)}: that is logic for istiogen.api"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_touches_no_file(path: Path) -> None:
    calls = []
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id == "open":
                calls.append("open()")
            elif isinstance(f, ast.Attribute) and f.attr in FS_METHODS:
                calls.append(f".{f.attr}()")
    assert calls == [], f"{path.name} reads or writes the file system: {calls}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_defines_only_parser_run_and_print_helpers(path: Path) -> None:
    allowed = VERB_FUNCTIONS | set(OWN.get(path.stem, {}))
    defined = [n for n in tree(path).body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    assert not [n.name for n in defined if isinstance(n, ast.ClassDef)], f"{path.name} defines a class"
    extra = sorted(n.name for n in defined if n.name not in allowed)
    assert extra == [], f"{path.name} defines {extra}: logic belongs in istiogen.api"


@pytest.mark.parametrize("path", [p for p in MODULES if p.stem != "exits"], ids=lambda p: p.stem)
def test_exit_codes_come_from_the_one_table(path: Path) -> None:
    literal = [node.lineno for node in ast.walk(tree(path))
               if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant)
               and isinstance(node.value.value, int) and not isinstance(node.value.value, bool)]
    literal += [node.lineno for node in ast.walk(tree(path))
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
                and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("_exit", "exit", "SystemExit")
                and node.args and isinstance(node.args[0], ast.Constant)]
    assert literal == [], f"{path.name}: exit codes as numbers at lines {literal}; name one of istiogen.cli.exits"


def test_the_table_holds_the_documented_codes() -> None:
    from istiogen.cli import exits

    assert (exits.OK, exits.FOUND, exits.BAD_INPUT, exits.INTERRUPTED) == (0, 1, 2, 130)
    readme = (CLI.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "| 0 | no differences (or `--exit-zero`) |\n| 1 | differences |\n| 2 | error:" in readme
