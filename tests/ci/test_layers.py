"""No import runs backwards along load -> validate -> render -> pipeline -> verify -> write | diff.

The layers are declared here, from istiogen's own architecture (README, "How the code reads"); the
test reads every module's imports with ``ast`` (function-level, ``TYPE_CHECKING`` and
``importlib.import_module("istiogen...")`` imports included) and fails on any import of a later
layer, and on any import between the siblings of the last layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "istiogen"

# (layer name, module prefixes), in the order data flows.  A module belongs to the layer of its longest
# matching prefix; a module may import its own layer and every earlier one.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("leaf", ("istiogen", "istiogen.errors", "istiogen.problems", "istiogen.source", "istiogen.jsonmerge",
              "istiogen.promast", "istiogen.registry", "istiogen.serial", "istiogen.trees", "istiogen.catalog")),
    ("load", ("istiogen.profile",)),
    ("validate", ("istiogen.validate",)),
    ("render", ("istiogen.render",)),
    ("pipeline", ("istiogen.pipeline",)),
    ("verify", ("istiogen.verify",)),
    ("write", ("istiogen.emit",)),
    ("diff", ("istiogen.diff",)),
    ("lint", ("istiogen.lint",)),
    ("adopt", ("istiogen.adopt",)),
    ("api", ("istiogen.api",)),
    ("cli", ("istiogen.cli", "istiogen.__main__")),
)
# Siblings: layers that read the pipeline's output side by side and never import each other.
SIBLINGS = frozenset({"write", "diff", "lint"})
# The registry is the one leaf every layer asks: it imports nothing from istiogen.
ISOLATED = ("istiogen.registry",)
# Writing takes the pipeline's bytes: emit imports leaf modules only (never render).
LEAF_ONLY = ("istiogen.emit",)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Every istiogen module ``path`` imports, however (``from x import y`` adds ``x`` and ``x.y``)."""
    mod = module_name(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.add(name)
            found |= {f"{name}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
              and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return {n for n in found if n == "istiogen" or n.startswith("istiogen.")}


def layer_of(mod: str) -> int:
    best, best_len = -1, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (mod == p or mod.startswith(p + ".")) and len(p) > best_len:
                best, best_len = i, len(p)
    return best


def is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (PKG.parent / rel).with_suffix(".py").is_file() or (PKG.parent / rel / "__init__.py").is_file()


def violations(files: list[Path]) -> list[str]:
    out = []
    for f in files:
        mod = module_name(f)
        mine = layer_of(mod)
        for imp in sorted(imports(f)):
            if not is_module(imp):  # ``from x import name`` where name is not a module
                continue
            theirs = layer_of(imp)
            if mod in ISOLATED and imp != mod and not imp.startswith(mod + "."):
                out.append(f"{mod} imports {imp}: the registry is a leaf")
            elif theirs != mine and {LAYERS[mine][0], LAYERS[theirs][0]} <= SIBLINGS:
                out.append(f"{mod} ({LAYERS[mine][0]}) imports its sibling {imp} ({LAYERS[theirs][0]})")
            elif theirs > mine:
                out.append(f"{mod} ({LAYERS[mine][0]}) imports {imp} ({LAYERS[theirs][0]})")
            elif theirs > 0 and theirs != mine and any(mod == p or mod.startswith(p + ".") for p in LEAF_ONLY):
                out.append(f"{mod} ({LAYERS[mine][0]}) imports {imp} ({LAYERS[theirs][0]}): "
                           "writing imports leaf modules only")
    return out


def test_every_module_has_a_layer() -> None:
    unplaced = [module_name(f) for f in PKG.rglob("*.py") if layer_of(module_name(f)) < 1
                and not any(module_name(f) == p or module_name(f).startswith(p + ".") for p in LAYERS[0][1])]
    assert unplaced == []


def test_no_import_runs_backwards() -> None:
    assert violations(sorted(PKG.rglob("*.py"))) == []


@pytest.mark.parametrize(("module", "source", "expected"), [
    ("emit/bad.py", "from istiogen.render import model\n", "istiogen.emit.bad (write) imports "
                                                           "istiogen.render.model (render): writing imports leaf"),
    ("render/bad.py", "def f():\n    from istiogen.emit import writer\n",
     "istiogen.render.bad (render) imports istiogen.emit.writer (write)"),
    ("profile/bad.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..render import model\n",
     "istiogen.profile.bad (load) imports istiogen.render.model (render)"),
    ("diff/bad.py", "import importlib\nm = importlib.import_module('istiogen.lint.engine')\n",
     "istiogen.diff.bad (diff) imports its sibling istiogen.lint.engine (lint)"),
])
def test_a_backward_import_is_found(module: str, source: str, expected: str) -> None:
    """The walker finds a planted backward import of each form (a module written beside the real ones)."""
    target = PKG / module
    assert not target.exists()
    target.write_text(source, encoding="utf-8")
    try:
        assert any(v.startswith(expected) for v in violations([target])), violations([target])
    finally:
        target.unlink()
