"""``istiogen check`` proves trees current from their index.json digest without rendering, and still names
every stale file: a hand-edited, missing, extra or re-moded file, a changed profile, base profile or live
ConfigMap, another istiogen version or other rendering code.

Expected values follow from the edit each test makes (the file edited is the file named stale); whether the
fast path was taken is read from the modules the check process imported.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from istiogen.pipeline import index as index_mod
from tests.conftest import REPO, write_profile

RENDERERS = ("istiogen.render.rules", "istiogen.render.unittests", "istiogen.verify.kubevalidate")
PROBE = """
import json, sys
from istiogen.cli.main import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(m for m in sys.modules if m.startswith("istiogen."))}))
"""


@pytest.fixture(scope="module")
def rendered_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """profiles/ and what ``istiogen render --all`` makes of it, once: each test edits a copy."""
    root = tmp_path_factory.mktemp("rendered-repo")
    shutil.copytree(REPO / "profiles", root / "profiles")
    res = subprocess.run([sys.executable, "-m", "istiogen", "render", "--all", "-q"], cwd=root, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, check=False, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    return root


@pytest.fixture
def repo(tmp_path: Path, rendered_repo: Path) -> Path:
    """A repository whose output/ is current: a copy (contents, modes, mtimes) of the one rendered for the module."""
    shutil.copytree(rendered_repo, tmp_path, symlinks=True, copy_function=shutil.copy2, dirs_exist_ok=True)
    return tmp_path


def probe(cwd: Path, *argv: str, prelude: str = "") -> tuple[int, list[str], str]:
    """Run ``istiogen ARGV`` in a new interpreter; its exit code, the istiogen modules it imported, its output."""
    res = subprocess.run([sys.executable, "-c", prelude + PROBE, *argv], cwd=cwd, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, check=False, timeout=300)
    *lines, last = res.stdout.splitlines()
    doc = json.loads(last)
    return doc["code"], doc["modules"], "\n".join(lines)


def stale_lines(out: str) -> list[str]:
    return sorted(x for x in out.splitlines() if x.startswith("stale: "))


def test_nothing_changed_is_proven_without_rendering(repo: Path) -> None:
    code, modules, out = probe(repo, "check")
    assert code == 0 and out.startswith("output current: 9 profile(s), ")
    assert not [m for m in RENDERERS if m in modules], modules
    code, modules, _ = probe(repo, "check", "--full")  # the same probe sees a render when there is one
    assert code == 0 and all(m in modules for m in RENDERERS)


def test_the_file_count_is_the_files_on_disk(repo: Path, cli: Any) -> None:
    res = cli("check", cwd=repo)
    n = sum(1 for p in (repo / "output").rglob("*") if p.is_file())
    assert res.code == 0 and res.out.strip() == f"output current: 9 profile(s), {n} files"


def test_a_hand_edited_file_is_named(repo: Path, cli: Any) -> None:
    rules = repo / "output/bookinfo/prometheus/rules.yaml"
    rules.write_bytes(rules.read_bytes() + b"# edited\n")
    res = cli("check", cwd=repo)
    assert res.code == 1
    assert stale_lines(res.out) == ["stale: output/bookinfo/prometheus/rules.yaml (out of date, from "
                                    "profiles/bookinfo.yaml)"]


def test_a_hand_edit_with_its_checksum_updated_in_the_index_is_named(repo: Path, cli: Any) -> None:
    rules = repo / "output/bookinfo/prometheus/rules.yaml"
    rules.write_bytes(rules.read_bytes() + b"# edited\n")
    idx_path = repo / "output/bookinfo/index.json"
    idx = json.loads(idx_path.read_text())
    for a in idx["artifacts"]:
        if a["path"] == "prometheus/rules.yaml":
            a["sha256"] = hashlib.sha256(rules.read_bytes()).hexdigest()
    idx_path.write_text(json.dumps(idx, indent=2, ensure_ascii=False) + "\n")
    res = cli("check", cwd=repo)
    assert res.code == 1
    assert stale_lines(res.out) == [
        "stale: output/bookinfo/index.json (out of date, from profiles/bookinfo.yaml)",
        "stale: output/bookinfo/prometheus/rules.yaml (out of date, from profiles/bookinfo.yaml)",
    ]


def test_deleted_extra_and_remoded_files_are_named(repo: Path, cli: Any) -> None:
    (repo / "output/operator/README.md").unlink()
    (repo / "output/bookinfo/notes.txt").write_text("mine\n")
    (repo / "output/remote-write/apply.sh").chmod(0o644)
    res = cli("check", cwd=repo)
    assert res.code == 1
    assert stale_lines(res.out) == [
        "stale: output/bookinfo/notes.txt (no longer generated, from profiles/bookinfo.yaml)",
        "stale: output/operator/README.md (missing, from profiles/operator.yaml)",
        "stale: output/remote-write/apply.sh (out of date, from profiles/remote-write.yaml)",
    ]


def test_a_changed_profile_names_what_it_changes(repo: Path, cli: Any) -> None:
    p = repo / "profiles/bookinfo.yaml"
    p.write_text(p.read_text() + "output: {dir: elsewhere}\n")
    res = cli("check", cwd=repo)
    assert res.code == 1 and "stale: output/elsewhere/index.json (missing, from profiles/bookinfo.yaml)" in res.out


def test_a_changed_base_profile_names_the_trees_of_the_profiles_extending_it(repo: Path, cli: Any) -> None:
    base = repo / "profiles/fleet/base.yaml"
    assert "  window: 2m\n" in base.read_text()
    base.write_text("# a comment changes nothing\n" + base.read_text())
    assert cli("check", cwd=repo).code == 0
    base.write_text(base.read_text().replace("  window: 2m\n", "  window: 5m\n"))
    res = cli("check", cwd=repo)
    assert res.code == 1
    trees = {line.split("/")[1] for line in stale_lines(res.out)}
    assert trees == {"fleet-prod-eu", "fleet-staging"}
    assert "stale: output/fleet-prod-eu/prometheus/rules.yaml (out of date, from profiles/fleet/prod-eu.yaml)" \
        in res.out


def test_a_changed_live_configmap_is_seen(tmp_path: Path, cli: Any) -> None:
    live = (REPO / "tests/fixtures/addons/samples-1.22-configmap.yaml").read_text()
    (tmp_path / "live.yaml").write_text(live)
    profile = 'name: demo\nistio: {version: "1.22"}\nprometheus: {live_config: ../live.yaml}\n'
    write_profile(tmp_path / "profiles", profile, "demo.yaml")
    assert cli("render", "--all", "-q", cwd=tmp_path).code == 0
    assert cli("check", cwd=tmp_path).code == 0
    assert "scrape_interval: 15s" in live
    (tmp_path / "live.yaml").write_text(live.replace("scrape_interval: 15s", "scrape_interval: 20s", 1))
    res = cli("check", cwd=tmp_path)
    assert res.code == 1
    assert "stale: output/demo/prometheus/prometheus-configmap.yaml (out of date, from profiles/demo.yaml)" in res.out


def test_another_istiogen_version_renders_again(repo: Path) -> None:
    code, modules, out = probe(repo, "check", prelude="import istiogen; istiogen.__version__ = '9.9.9'\n")
    assert code == 1 and "istiogen.render.rules" in modules
    assert {x.split(" ")[1] for x in stale_lines(out)} == {
        f"output/{p.name}/index.json" for p in (repo / "output").iterdir()}


def test_other_rendering_code_renders_again(repo: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Other code cannot use the proof: check renders. Where the bytes rendered are the same (a refactor),
    the trees are current, and check says their digests can be resealed; where a file differs, it is named."""
    monkeypatch.setattr(index_mod, "code_digest", lambda: "another renderer")
    res = cli("check", cwd=repo)
    assert res.code == 0, res.out
    assert stale_lines(res.out) == []
    assert "note: 9 index.json digest(s) were sealed by other istiogen code" in res.out
    rules = repo / "output/bookinfo/prometheus/rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("rate2m", "rate3m"), encoding="utf-8")
    res = cli("check", cwd=repo)
    assert res.code == 1
    assert stale_lines(res.out) == ["stale: output/bookinfo/prometheus/rules.yaml (out of date, from "
                                    "profiles/bookinfo.yaml)"]
    assert cli("render", "--all", "-q", cwd=repo).code == 0  # reseals with the code running now
    res = cli("check", cwd=repo)
    assert res.code == 0 and "note:" not in res.out


def test_the_code_digest_covers_every_module_a_render_imports(tmp_path: Path) -> None:
    """Consistency only: the modules hashed into the digest include every istiogen module rendering loads."""
    script = ("import sys\nfrom istiogen.validate import load\nfrom istiogen.pipeline import render\n"
              "from pathlib import Path\nfor p in sorted(Path('profiles').rglob('*.yaml')):\n"
              "    if 'abstract: true' not in p.read_text(): render(load(p))\n"
              "print('\\n'.join(m.__file__ for n, m in sys.modules.items() if n.startswith('istiogen')))\n")
    res = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True,
                         timeout=300)
    pkg = REPO / "istiogen"
    covered = [pkg / e for e in index_mod.RENDER_CODE]
    loaded = [Path(f) for f in res.stdout.split()]
    assert len(loaded) > 40
    outside = [f for f in loaded if not any(f == c or c in f.parents for c in covered)]
    assert outside == []


def test_the_composed_profile_is_hashed_telling_every_value_apart() -> None:
    import datetime

    pairs = [({1: "a"}, {"1": "a"}), ({True: 1}, {"true": 1}), (1, 1.0), (1, "1"), (None, "null"),
             ([datetime.date(2020, 1, 1)], ["datetime.date(2020, 1, 1)"]), (["a", "b"], ["a,b"]),
             ({"a": []}, {"a": {}})]
    for a, b in pairs:
        assert index_mod._canonical(a) != index_mod._canonical(b), (a, b)
