"""The same profiles give the same bytes whatever the hash seed, locale, timezone, umask and working folder.

Every example profile (``profiles/``) is rendered by ``istiogen render --all`` in a new process per
variant; each tree must equal the baseline's byte for byte, with the same file and folder modes.
The runner first applies the whole locale (``setlocale(LC_ALL, "")``, stricter than Python's own
LC_CTYPE only) and records what the process saw, so a variant that did not take effect fails too.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

RUNNER = """\
import json, locale, os, sys, time
locale.setlocale(locale.LC_ALL, "")
umask = os.umask(0)
os.umask(umask)
with open(os.environ["FACTS"], "w") as f:
    json.dump({"decimal_point": locale.localeconv()["decimal_point"], "utc_offset": time.strftime("%z"),
               "hash": hash("istiogen"), "umask": umask, "cwd": os.getcwd()}, f)
from istiogen.cli.main import main
raise SystemExit(main(sys.argv[1:]))
"""
NON_ENGLISH = "tr_TR.UTF-8"  # a decimal comma, and the dotless ı that breaks naive case folding


@dataclass(frozen=True)
class Variant:
    name: str
    env: dict[str, str]
    layout: str = "a"  # the working folder, under tmp
    umask: int = 0o022


BASE_ENV = {"PYTHONHASHSEED": "0", "LC_ALL": "C", "TZ": "UTC"}
VARIANTS = [
    Variant("baseline", {}),
    Variant("hashseed-1", {"PYTHONHASHSEED": "1"}),
    Variant("hashseed-12345", {"PYTHONHASHSEED": "12345"}),
    Variant("hashseed-random", {"PYTHONHASHSEED": "random"}),
    Variant("locale-C.UTF-8", {"LC_ALL": "C.UTF-8"}),
    Variant(f"locale-{NON_ENGLISH}", {"LC_ALL": NON_ENGLISH}),
    Variant("tz-Asia/Kolkata", {"TZ": "Asia/Kolkata"}),
    Variant("tz-America/St_Johns", {"TZ": "America/St_Johns"}),
    Variant("other-working-folder", {}, layout="b/deeper/still"),
    Variant("umask-077", {}, umask=0o077),
    Variant("all-at-once", {"PYTHONHASHSEED": "random", "LC_ALL": NON_ENGLISH, "TZ": "America/St_Johns"},
            layout="c", umask=0o077),
]


@dataclass
class Run:
    tree: dict[str, tuple[bytes, int]]
    facts: dict[str, object]
    stderr: str


def tree_of(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file and folder under ``folder``: content (files) and permission bits."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        content = p.read_bytes() if stat.S_ISREG(st.st_mode) else b"<dir>" if stat.S_ISDIR(st.st_mode) else b"?"
        out[p.relative_to(folder).as_posix()] = (content, stat.S_IMODE(st.st_mode))
    return out


def make_locale(folder: Path) -> str | None:
    """Compile NON_ENGLISH into ``folder`` (LOCPATH) when the machine has the sources; None otherwise."""
    localedef = shutil.which("localedef")
    lang = NON_ENGLISH.split(".")[0]
    if localedef is None or not Path(f"/usr/share/i18n/locales/{lang}").exists():
        return None
    p = subprocess.run([localedef, "-i", lang, "-f", "UTF-8", str(folder / NON_ENGLISH)], capture_output=True,
                       text=True)
    return str(folder) if p.returncode in (0, 1) and (folder / NON_ENGLISH).is_dir() else None


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    tmp = tmp_path_factory.mktemp("determinism")
    locpath = make_locale(tmp_path_factory.mktemp("locales"))
    runner = tmp / "runner.py"
    runner.write_text(RUNNER)
    results: dict[str, Run] = {}
    pending: list[tuple[Variant, Path, subprocess.Popen[str]]] = []

    def finish(v: Variant, cwd: Path, proc: subprocess.Popen[str]) -> None:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"{v.name}: {err}"
        results[v.name] = Run(tree_of(cwd / "out"), json.loads((cwd / "facts.json").read_text()), err)

    for i, v in enumerate(VARIANTS):
        if v.env.get("LC_ALL") == NON_ENGLISH and locpath is None:
            continue
        cwd = tmp / f"v{i}" / v.layout
        cwd.mkdir(parents=True)
        shutil.copytree(REPO / "profiles", cwd / "profiles")
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent", **BASE_ENV, **v.env,
               "FACTS": str(cwd / "facts.json")}
        if locpath:
            env["LOCPATH"] = locpath
        umask = v.umask
        proc = subprocess.Popen([sys.executable, str(runner), "render", "--all", "--out", "out", "-q"], cwd=cwd,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda u=umask: os.umask(u))  # type: ignore[misc]
        pending.append((v, cwd, proc))
        if len(pending) == 2:  # two at a time: the machine has two cores
            finish(*pending.pop(0))
    for p in pending:
        finish(*p)
    return results


def test_the_baseline_renders_every_example(runs: dict[str, Run]) -> None:
    from istiogen.cli.common import discover
    from istiogen.validate import load

    tree = runs["baseline"].tree
    expected = {load(p).output_dir for p in discover(REPO / "profiles")}
    assert len(expected) >= 3
    assert {rel.rsplit("/", 1)[0] for rel in tree if rel.endswith("/index.json")} == expected


@pytest.mark.parametrize("variant", [v.name for v in VARIANTS[1:]])
def test_output_is_identical_under(variant: str, runs: dict[str, Run]) -> None:
    if variant not in runs:
        pytest.skip(f"{NON_ENGLISH} cannot be compiled here (localedef or the locale sources are missing)")
    base, run = runs["baseline"], runs[variant]
    changed = sorted(rel for rel in set(base.tree) | set(run.tree) if base.tree.get(rel) != run.tree.get(rel))
    assert changed == []
    assert run.stderr == base.stderr  # the warnings too


def test_every_variant_took_effect(runs: dict[str, Run]) -> None:
    facts = {name: r.facts for name, r in runs.items()}
    base = facts["baseline"]
    assert base["decimal_point"] == "." and base["utc_offset"] == "+0000" and base["umask"] == 0o022
    assert len({facts[n]["hash"] for n in ("baseline", "hashseed-1", "hashseed-12345")}) == 3
    assert facts["locale-C.UTF-8"]["decimal_point"] == "."
    if f"locale-{NON_ENGLISH}" in facts:
        assert facts[f"locale-{NON_ENGLISH}"]["decimal_point"] == ","
    assert facts["tz-Asia/Kolkata"]["utc_offset"] == "+0530"
    assert facts["tz-America/St_Johns"]["utc_offset"] in ("-0330", "-0230")
    assert str(facts["other-working-folder"]["cwd"]).endswith("/b/deeper/still")
    assert facts["umask-077"]["umask"] == 0o077
