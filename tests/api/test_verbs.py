"""The API functions the verbs call: several profiles at once, check, diff_profiles, validate, lint_report,
import_profile, init, schema_text.  Each asserts what the function does, from files the test writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from istiogen import api
from istiogen.errors import FatalError, ProfileError
from tests.conftest import REPO, write_profile
from tests.diff.conftest import FIXTURES, PROFILE

OTHER = PROFILE.replace("name: p", "name: q")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with profiles/p.yaml, profiles/q.yaml and an abstract base, nothing rendered."""
    monkeypatch.chdir(tmp_path)
    write_profile(tmp_path / "profiles", PROFILE, "p.yaml")
    write_profile(tmp_path / "profiles", OTHER, "sub/q.yaml")
    write_profile(tmp_path / "profiles", "abstract: true\nistio:\n  version: '1.5'\n", "base.yaml")
    return tmp_path


def written(repo: Path) -> list[str]:
    for x in api.render_profiles(api.select_profiles(all_profiles=True)).rendered:
        api.write(x, "output")
    return sorted(p.name for p in (repo / "output").iterdir())


def test_selection_expands_folders_skips_abstract_bases_and_defaults_to_the_embedded_profile(repo: Path) -> None:
    assert api.select_profiles() == [None]
    assert api.discover("profiles") == [Path("profiles/p.yaml"), Path("profiles/sub/q.yaml")]
    assert api.select_profiles(["profiles/sub"]) == [Path("profiles/sub/q.yaml")]
    assert api.select_profiles(["profiles/p.yaml"], all_profiles=True) == [
        Path("profiles/p.yaml"), Path("profiles/p.yaml"), Path("profiles/sub/q.yaml")]
    (repo / "empty").mkdir()
    with pytest.raises(FatalError, match=r"^no profiles in empty \(a folder argument"):
        api.select_profiles(["empty"])
    with pytest.raises(FatalError, match=r"^no profiles folder nowhere$"):
        api.select_profiles(all_profiles=True, profiles_dir="nowhere")


def test_loading_reports_every_file_and_clashing_folders_together(repo: Path) -> None:
    write_profile(repo / "bad", "name: x\nistio: {version: '1.5'}\nbogus: 1\n", "x.yaml")
    write_profile(repo / "bad", "name: y\nistio: {version: '1.5'}\nbogus: 1\n", "y.yaml")
    with pytest.raises(ProfileError) as e:
        api.load_profiles(["bad/x.yaml", "bad/y.yaml"])
    assert {p.file for p in e.value.problems} == {"bad/x.yaml", "bad/y.yaml"}
    write_profile(repo / "twin", PROFILE, "p.yaml")
    with pytest.raises(ProfileError) as e:
        api.load_profiles(["profiles/p.yaml", "twin/p.yaml"])
    [clash] = e.value.problems
    assert (clash.file, clash.rule) == ("twin/p.yaml", "output-clash")
    assert clash.message == "'p' writes to the same folder as profiles/p.yaml ('p')"


def test_render_profiles_takes_paths_or_loaded_profiles(repo: Path) -> None:
    batch = api.render_profiles(["profiles/p.yaml", "profiles/sub/q.yaml"])
    assert [x.name for x in batch.rendered] == ["p", "q"]
    assert batch.files == sum(len(x.files) for x in batch.rendered) > 2
    assert batch.warnings == [w for x in batch.rendered for w in x.warnings]
    again = api.render_profiles(api.load_profiles(["profiles/p.yaml"]))
    assert again.rendered[0].files == batch.rendered[0].files
    with pytest.raises(TypeError):
        api.render_profiles([api.load_profile("profiles/p.yaml"), "profiles/sub/q.yaml"])


def test_check_proves_finds_stale_files_and_the_schema(repo: Path) -> None:
    before = api.check(schema=None)  # nothing rendered yet: every file is missing
    assert not before.proven and not before.current and {s.word for s in before.stale} == {"missing"}
    assert written(repo) == ["p", "q"]
    res = api.check(schema=None)
    assert (res.proven, res.current, res.profiles) == (True, True, 2)
    full = api.check(schema=None, full=True)
    assert (full.proven, full.current, full.files) == (False, True, res.files)
    (repo / "output/p/queries.yaml").unlink()
    (repo / "output/q/extra.txt").write_text("x")
    rules = repo / "output/p/prometheus/rules.yaml"
    rules.write_bytes(rules.read_bytes() + b"# edited\n")
    res = api.check(schema=None)
    assert not res.proven and not res.current and res.stale_count == 3
    assert [(s.path, s.status, s.word, s.source) for s in res.stale] == [
        ("output/p/prometheus/rules.yaml", "changed", "out of date", "profiles/p.yaml"),
        ("output/p/queries.yaml", "created", "missing", "profiles/p.yaml"),
        ("output/q/extra.txt", "removed", "no longer generated", "profiles/sub/q.yaml")]
    (repo / "schema.json").write_text(api.schema_text())
    assert api.check(schema="schema.json").schema_stale is None
    (repo / "schema.json").write_text("{}\n")
    assert api.check(schema="schema.json").schema_stale == "schema.json"


def test_check_counts_an_index_sealed_by_other_code_as_current(repo: Path) -> None:
    written(repo)
    index = repo / "output/p/index.json"
    data = json.loads(index.read_bytes())
    data["digest"] = "0" * len(data["digest"])
    index.write_text(json.dumps(data, indent=2) + "\n")
    res = api.check(schema=None)
    assert (res.proven, res.current, res.resealed, res.stale) == (False, True, 1, [])


def test_check_of_an_empty_folder(repo: Path) -> None:
    (repo / "none").mkdir()
    assert (api.check("none").profiles, api.check("none").current) == (0, True)
    with pytest.raises(FatalError, match=r"^no profiles folder missing$"):
        api.check("missing")


def test_diff_profiles_against_disk_with_ignore_rules(repo: Path) -> None:
    written(repo)
    res = api.diff_profiles(["profiles/p.yaml"], out_root="output/")
    assert not res.differs and res.title == "output/ on disk -> rendered profiles"
    (repo / "output/p/queries.yaml").unlink()
    res = api.diff_profiles(["profiles/p.yaml"])
    assert res.differs and res.summary.add == 1
    assert not api.diff_profiles(["profiles/p.yaml"], ignore=["queries.yaml::*"]).differs
    (repo / ".istiogenignore").write_text("queries.yaml::*\n")
    hidden = api.diff_profiles(["profiles/p.yaml"])
    assert not hidden.differs and hidden.ignored > 0
    assert api.diff_profiles(["profiles/p.yaml"], ignore_file=None).differs
    with pytest.raises(FatalError, match="not both"):
        api.diff_profiles(live="x", against_ref="HEAD")


def test_diff_profiles_live_reports_the_profiles_and_the_export_together(repo: Path) -> None:
    res = api.diff_profiles(["profiles/p.yaml"], live=FIXTURES / "live-1.5")
    assert res.title == f"live objects in {FIXTURES / 'live-1.5'} -> with the rendered artifacts applied"
    assert {o.label for o in res.objects} >= {"Deployment istio-system/prometheus"}
    write_profile(repo, "name: x\nistio: {version: '1.5'}\nbogus: 1\n", "bad.yaml")
    (repo / "export.yaml").write_text("a: [\n")
    with pytest.raises(ProfileError) as e:
        api.diff_profiles(["bad.yaml"], live="export.yaml")
    assert {p.file for p in e.value.problems} == {"bad.yaml", "export.yaml"}


def test_format_diff_keeps_what_the_ignore_rules_hid_out(repo: Path) -> None:
    written(repo)
    alerts = repo / "output/p/prometheus/alerts.yaml"
    alerts.write_text(alerts.read_text().replace("for: 5m", "for: 9m", 1).replace("for: 5m", "for: 7m", 1))
    res = api.diff_profiles(["profiles/p.yaml"])
    plain = api.format_diff(res, "text")
    assert "\x1b[" not in plain and "-for: 9m" in plain and "-for: 7m" in plain
    assert "\x1b[31m-for: 9m" in api.format_diff(res, "text", color=True)
    assert len(api.format_diff(res, "text", context=0)) < len(plain)
    hid = api.diff_profiles(["profiles/p.yaml"], ignore=["*ClientErrorRatio5xx].for"])
    assert hid.ignored == 1
    for output in ("text", "markdown"):
        shown = api.format_diff(hid, output)
        assert "-for: 9m" in shown and "-for: 7m" not in shown, output
    [patch] = json.loads(api.format_diff(hid, "patch"))["patches"]
    assert [op["value"] for op in patch["patch"] if op["op"] == "replace"] == ["5m"]
    with pytest.raises(FatalError, match=r"^unknown diff output 'xml'; one of text, semantic"):
        api.format_diff(res, "xml")


def test_validate_returns_objects_refused_warnings_and_budgets(repo: Path) -> None:
    v = api.validate([Path("profiles/p.yaml"), None])
    assert v.invalid == [] and [x.name for x in v.rendered] == ["p", "default"]
    assert v.warnings == [w for x in v.rendered for w in x.warnings]
    budgets = dict(v.budgets)
    assert set(budgets) <= {"p", "default"} and budgets
    assert all(("the agent federates" in line and "limit" in line) or "remote-writes" in line
               for line in budgets.values())


def test_lint_report_and_its_rules(repo: Path) -> None:
    with pytest.raises(FatalError, match=r"^no output/ folder here: render first"):
        api.lint_report()
    written(repo)
    res = api.lint_report()
    assert (res.bundles, res.errors) == (2, 0)
    with pytest.raises(FatalError, match=r"^--scrape-interval 'soon': not a duration"):
        api.lint_report(scrape_interval="soon")
    rules = api.lint_rules()
    assert len({r[0] for r in rules}) == len(rules) and {r[1] for r in rules} <= {"error", "warning"}


def test_import_profile_writes_once(repo: Path) -> None:
    exports = REPO / "tests/adopt/exports/samples-1.30"
    with pytest.raises(FatalError, match="a profile name is a DNS label"):
        api.import_profile([exports], "Bad_Name")
    done = api.import_profile([exports], "prod")
    assert done.path == Path("profiles/prod.yaml") and done.path.read_text() == done.result.text
    assert api.load_profile(done.path).name == "prod"
    with pytest.raises(FatalError, match=r"^profiles/prod.yaml exists: import never overwrites"):
        api.import_profile([exports], "prod")


def test_init_scaffolds_and_refuses_to_overwrite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    done = api.init("repo", name="shop")
    assert Path("repo/profiles/shop.yaml") in done.created and all(p.is_file() for p in done.created)
    assert done.tree == Path("repo/output/shop") and done.tree_files == len(list(done.tree.rglob("*.*")))
    assert done.notes == []
    with pytest.raises(FatalError, match="init never overwrites; nothing was written"):
        api.init("repo", name="shop")
    Path("file").write_text("")
    with pytest.raises(FatalError, match=r"^file is not a folder$"):
        api.init("file")


def test_schema_text_is_the_published_schema() -> None:
    text = api.schema_text()
    assert json.loads(text)["title"] == "istiogen profile"
    assert text == (REPO / "schema/profile.schema.json").read_text(encoding="utf-8")


def test_the_ignore_file_name_is_the_registrys() -> None:
    from istiogen import api, registry

    assert api.IGNORE_FILE == registry.IGNORE_FILE == ".istiogenignore"
