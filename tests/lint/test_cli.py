"""istiogen lint on the command line: formats, exclusions (with reasons), exit codes."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

BUNDLES = REPO / "tests/lint/bundles"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A copy of the crafted bundles, to lint from a folder of our own."""
    for name in ("unused-record", "not-federated", "clean", "quantile-aggregation"):
        shutil.copytree(BUNDLES / name, tmp_path / name)
    return tmp_path


def write(folder: Path, name: str, text: str) -> Path:
    p = folder / name
    p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return p


# --- formats -----------------------------------------------------------------------------------------


def test_text_format(cli: Any, work: Path) -> None:
    res = cli("lint", "not-federated", cwd=work)
    assert res.code == 1
    lines = res.out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        "not-federated/dashboard.json:23:22: error: dashboard.panels[1].advancedQueries[0].query: "
        'panel "TCP bytes sent" reads service:istio_tcp_sent_bytes:rate5m')
    assert lines[0].endswith("[not-federated]")
    assert "2 error(s), 0 warning(s)" in res.err


def test_json_format(cli: Any, work: Path) -> None:
    res = cli("lint", "--format", "json", "unused-record", cwd=work)
    assert res.code == 0
    (d,) = json.loads(res.out)
    assert d == {
        "file": "unused-record/rules.yaml", "line": 9, "column": 13, "path": "groups[0].rules[2].record",
        "message": "record 'svc:istio_tcp_received_bytes:rate5m' is not read by any alert or rule",
        "rule": "unused-record", "level": "warning",
        "hint": "remove the rule, or exclude this finding with the reason it exists",
    }
    assert res.err == ""  # nothing but JSON, and nothing on stderr


def test_json_format_with_no_findings_is_an_empty_list(cli: Any, work: Path) -> None:
    res = cli("lint", "--format", "json", "clean", cwd=work)
    assert (res.code, json.loads(res.out)) == (0, [])


def test_github_format(cli: Any, work: Path) -> None:
    res = cli("lint", "--format", "github", "not-federated", "unused-record", cwd=work)
    lines = res.out.splitlines()
    assert lines[0].startswith("::error file=not-federated/dashboard.json,line=23,col=22,title=not-federated::")
    assert lines[-1].startswith("::warning file=unused-record/rules.yaml,line=9,col=13,title=unused-record::")
    assert res.code == 1


# --- exit codes --------------------------------------------------------------------------------------


def test_exit_0_when_clean_or_only_warnings_and_1_with_strict(cli: Any, work: Path) -> None:
    assert cli("lint", "clean", cwd=work).code == 0
    warned = cli("lint", "quantile-aggregation", cwd=work)
    assert warned.code == 0 and "[quantile-aggregation]" in warned.out
    assert cli("lint", "--strict", "quantile-aggregation", cwd=work).code == 1
    assert cli("lint", "--strict", "clean", cwd=work).code == 0


def test_exit_1_on_errors(cli: Any, work: Path) -> None:
    assert cli("lint", "not-federated", cwd=work).code == 1


def test_exit_2_on_unreadable_input(cli: Any, work: Path) -> None:
    missing = cli("lint", "nowhere.yaml", cwd=work)
    assert missing.code == 2 and "nowhere.yaml" in missing.err
    write(work, "broken.yaml", "groups:\n- name: x\n  rules: [\n")
    broken = cli("lint", "broken.yaml", cwd=work)
    assert broken.code == 2 and "broken.yaml:4:1: error: invalid YAML" in broken.err
    write(work, "broken.json", '{"panels": [}')
    assert cli("lint", "broken.json", cwd=work).code == 2
    write(work, "other.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n")
    other = cli("lint", "other.yaml", cwd=work)
    assert other.code == 2 and "not a file the lint reads" in other.err


def test_exit_2_on_usage_errors(cli: Any, work: Path) -> None:
    assert cli("lint", "--scrape-interval", "often", "clean", cwd=work).code == 2
    assert cli("lint", "--format", "xml", "clean", cwd=work).code == 2
    assert cli("lint", cwd=work).code == 2  # no output/ folder to lint by default


def test_default_path_is_output(cli: Any, work: Path) -> None:
    shutil.copytree(work / "not-federated", work / "output" / "bundle")
    res = cli("lint", cwd=work)
    assert res.code == 1
    assert res.out.startswith("output/bundle/dashboard.json:23:22: error:")


def test_list_rules(cli: Any) -> None:
    from istiogen.lint.registry import CHECKS

    res = cli("lint", "--list-rules")
    assert res.code == 0
    assert [line.split()[:2] for line in res.out.splitlines()] == [[c.ID, c.LEVEL] for c in CHECKS]


# --- exclusions --------------------------------------------------------------------------------------


def test_an_exclusion_with_a_reason_silences_matching_findings(cli: Any, work: Path) -> None:
    write(work, ".istiogen-lint.yaml", """
        exclude:
          - rule: not-federated
            path: "not-federated/*"
            match: "istio_tcp_*"
            reason: the raw TCP series reach Sysdig through the agent's own envoy scrape
    """)
    res = cli("lint", "--format", "json", "not-federated", cwd=work)
    assert [(d["rule"], d["line"]) for d in json.loads(res.out)] == [("not-federated", 23)]
    text = cli("lint", "not-federated", cwd=work)
    assert "1 error(s), 0 warning(s), 1 excluded" in text.err


def test_an_exclusion_only_applies_to_its_rule_path_and_match(cli: Any, work: Path) -> None:
    write(work, "lint.yaml", """
        exclude:
          - {rule: unused-record, path: "elsewhere/*", reason: not this bundle}
          - {rule: unused-record, match: "istiod:*", reason: not this record}
          - {rule: quantile-mismatch, reason: not this rule}
    """)
    res = cli("lint", "--config", "lint.yaml", "--format", "json", "unused-record", cwd=work)
    assert [d["rule"] for d in json.loads(res.out)] == ["unused-record"]
    write(work, "lint.yaml", """
        exclude:
          - {rule: unused-record, match: "svc:istio_tcp_*", reason: kept for the capacity report}
    """)
    res = cli("lint", "--config", "lint.yaml", "--format", "json", "--strict", "unused-record", cwd=work)
    assert (res.code, json.loads(res.out)) == (0, [])


def test_an_exclusion_without_a_reason_is_an_error_at_its_line(cli: Any, work: Path) -> None:
    write(work, ".istiogen-lint.yaml", """
        exclude:
          - rule: unused-record
            reason: kept for the capacity report
          - rule: not-federated
            match: "istio_tcp_*"
          - rule: not-federated
            reason: "  "
    """)
    res = cli("lint", "not-federated", cwd=work)
    assert res.code == 2
    assert ".istiogen-lint.yaml:4:5: error: exclude[1]: an exclusion needs a non-empty 'reason'" in res.err
    assert ".istiogen-lint.yaml:7:13: error: exclude[2].reason: an exclusion needs a non-empty 'reason'" in res.err
    assert "[lint-config]" in res.err


def test_a_bad_config_is_reported_with_positions(cli: Any, work: Path) -> None:
    write(work, "lint.yaml", """
        exclude:
          - rule: unused-records
            reason: typo in the rule
            matches: "x"
        excludes: []
    """)
    res = cli("lint", "--config", "lint.yaml", "--format", "json", "clean", cwd=work)
    assert res.code == 2
    problems, _ = json.JSONDecoder().raw_decode(res.err)  # problems of the input go to stderr, then a summary
    got = {(d["line"], d["column"], d["message"], d["hint"]) for d in problems}
    assert got == {
        (2, 11, "unknown rule 'unused-records'", "did you mean 'unused-record'?"),
        (4, 5, "unknown key 'matches'", "did you mean 'match'?"),
        (5, 1, "unknown key 'excludes'", "did you mean 'exclude'?"),
    }
    assert cli("lint", "--config", "missing.yaml", "clean", cwd=work).code == 2


def test_exclusions_on_the_command_line_need_a_reason(cli: Any, work: Path) -> None:
    res = cli("lint", "--format", "json", "--exclude", "not-federated:istio_tcp_*=reaches Sysdig another way",
              "not-federated", cwd=work)
    assert [d["line"] for d in json.loads(res.out)] == [23]
    assert cli("lint", "--exclude", "not-federated", "not-federated", cwd=work).code == 2
    assert cli("lint", "--exclude", "not-federated=", "not-federated", cwd=work).code == 2
    assert cli("lint", "--exclude", "not-federate=x", "not-federated", cwd=work).code == 2
