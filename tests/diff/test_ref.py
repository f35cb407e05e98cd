"""``istiogen diff --against-ref``: the profiles at a git ref against the working tree, in a temporary repo."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult, run, write_profile
from tests.diff.conftest import FIXTURES

BASE = """
abstract: true
istio:
  version: "1.5"
prometheus:
  flavour: istioctl-1.5
  live_config: ../exports/prometheus-cm.yaml
sysdig:
  mode: promscrape-v1
"""
CHILD = """
extends: base.yaml
name: prod
sysdig:
  keep_default_rules: true
"""


def git(repo: Path, *args: str) -> str:
    return run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main",
                *args], cwd=repo).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose profiles extend a base that points at an exported ConfigMap outside profiles/."""
    if shutil.which("git") is None:
        pytest.fail("git is not installed")
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q")
    write_profile(r / "profiles", BASE, "base.yaml")
    write_profile(r / "profiles", CHILD, "prod.yaml")
    (r / "exports").mkdir()
    shutil.copy(FIXTURES / "live-1.5" / "configmap-prometheus.yaml", r / "exports" / "prometheus-cm.yaml")
    (r / "README").write_text("repo\n")
    git(r, "add", "-A")
    git(r, "commit", "-q", "-m", "profiles")
    return r


def state(repo: Path) -> tuple[str, str, str]:
    """HEAD, the index and the working tree, to check nothing was touched."""
    return (git(repo, "rev-parse", "HEAD"), git(repo, "ls-files", "-s"), git(repo, "status", "--porcelain"))


def semantic_lines(r: CliResult) -> list[str]:
    return [x for x in r.out.splitlines() if x.startswith("output/")]


def test_no_change_since_the_ref(cli: Callable[..., CliResult], repo: Path) -> None:
    before = state(repo)
    r = cli("diff", "--against-ref", "HEAD", cwd=repo)
    assert r.code == 0, r.err + r.out
    assert "No differences." in r.out and "profiles at HEAD" in r.out
    assert state(repo) == before


def test_a_profile_change_shows_what_it_does_in_the_generated_config(cli: Callable[..., CliResult],
                                                                    repo: Path) -> None:
    text = (repo / "profiles" / "prod.yaml").read_text().replace("keep_default_rules: true",
                                                                 "keep_default_rules: false")
    (repo / "profiles" / "prod.yaml").write_text(text)
    before = state(repo)
    r = cli("diff", "--against-ref", "HEAD", "-o", "json", cwd=repo)
    assert r.code == 1, r.err
    doc = json.loads(r.out)
    changed = {(c["artifact"], c["path"].split("[")[0], c["type"]) for c in doc["changes"]}
    # the agent's default rules are no longer re-emitted after ours: process_filter loses them
    assert any(a == "output/prod/sysdig/dragent.yaml" and p == "prometheus.process_filter" and t == "removed"
               for a, p, t in changed), changed
    assert doc["summary"]["by_kind"]["sysdig-dragent"]["change"] == 1
    assert state(repo) == before  # the working tree, the index and HEAD are untouched
    # the same with the profile named, from a subfolder of the repository
    (repo / "sub").mkdir()
    r2 = cli("diff", "--against-ref", "HEAD", "../profiles/prod.yaml", "--out", "../output", "-o", "json",
             cwd=repo / "sub")
    assert r2.code == 1, r2.err
    assert len(json.loads(r2.out)["changes"]) == len(doc["changes"])


def test_a_new_profile_is_all_to_add_and_a_deleted_one_all_to_remove(cli: Callable[..., CliResult],
                                                                   repo: Path) -> None:
    write_profile(repo / "profiles", "name: extra\nistio:\n  version: \"1.22\"\n", "extra.yaml")
    r = cli("diff", "--against-ref", "HEAD", "-o", "json", cwd=repo)
    doc = json.loads(r.out)
    assert r.code == 1
    assert {c["artifact"].split("/")[1] for c in doc["changes"]} == {"extra"}
    assert doc["summary"]["change"] == doc["summary"]["remove"] == 0 and doc["summary"]["add"] > 5
    r = cli("diff", "--against-ref", "HEAD", "profiles/extra.yaml", "-o", "json", cwd=repo)
    assert any("does not exist at HEAD" in n for n in json.loads(r.out)["notes"])
    (repo / "profiles" / "extra.yaml").unlink()
    (repo / "profiles" / "prod.yaml").unlink()
    r = cli("diff", "--against-ref", "HEAD", "-o", "json", cwd=repo)
    doc = json.loads(r.out)
    assert doc["summary"]["add"] == doc["summary"]["change"] == 0 and doc["summary"]["remove"] > 5


def test_the_ref_follows_files_outside_the_profiles_folder(cli: Callable[..., CliResult], repo: Path) -> None:
    """The live_config the base points at changed since the ref: the ref renders the committed one."""
    cm = repo / "exports" / "prometheus-cm.yaml"
    cm.write_text(cm.read_text().replace("scrape_interval: 15s", "scrape_interval: 20s"))
    r = cli("diff", "--against-ref", "HEAD", "-o", "semantic", cwd=repo)
    assert r.code == 1, r.err
    lines = semantic_lines(r)
    assert any("prometheus-configmap.json6902.json" in x and "scrape_interval" in x for x in lines), lines
    # a commit later, nothing differs
    git(repo, "commit", "-q", "-am", "export")
    assert cli("diff", "--against-ref", "HEAD", cwd=repo).code == 0


def test_bad_refs_and_places_are_errors(cli: Callable[..., CliResult], repo: Path, tmp_path: Path) -> None:
    r = cli("diff", "--against-ref", "no-such-branch", cwd=repo)
    assert r.code == 2 and "no such commit" in r.err
    r = cli("diff", "--against-ref", "--help", cwd=repo)
    assert r.code == 2
    outside = tmp_path / "elsewhere"
    write_profile(outside / "profiles", "name: x\nistio:\n  version: \"1.22\"\n", "x.yaml")
    r = cli("diff", "--against-ref", "HEAD", cwd=outside)
    assert r.code == 2 and "not inside a git repository" in r.err
    # a profile invalid at the ref is reported with the ref in its file name
    (repo / "profiles" / "prod.yaml").write_text("name: prod\nistio: {version: nope}\n")
    git(repo, "commit", "-q", "-am", "broken")
    write_profile(repo / "profiles", CHILD, "prod.yaml")
    r = cli("diff", "--against-ref", "HEAD", cwd=repo)
    assert r.code == 2 and "HEAD:profiles/prod.yaml" in r.err
