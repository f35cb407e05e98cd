"""``istiogen diff`` against the output folder on disk: formats, exit codes, ignore rules, masking."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonpatch
import pytest
import yaml

from tests.conftest import CliResult, write_profile
from tests.diff.conftest import dump, edit_yaml, load

FORMATS = ("text", "semantic", "json", "markdown", "github", "patch")
OUT = Path("output/p")


def diff(cli: Callable[..., CliResult], ws: Path, *args: str) -> CliResult:
    return cli("diff", "profiles/p.yaml", *args, cwd=ws)


def semantic(cli: Callable[..., CliResult], ws: Path, *args: str) -> list[str]:
    r = diff(cli, ws, "-o", "semantic", *args)
    return [line for line in r.out.splitlines() if line.startswith("output/")]


def json_changes(cli: Callable[..., CliResult], ws: Path, *args: str) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = json.loads(diff(cli, ws, "-o", "json", *args).out)["changes"]
    return changes


def first_record(ws: Path) -> tuple[str, str, str]:
    """(group, record, expr) of the first recording rule of the rendered tree."""
    rules = load(ws / OUT / "prometheus/rules.yaml")
    g = rules["groups"][0]
    return g["name"], g["rules"][0]["record"], g["rules"][0]["expr"]


def stale_rule_on_disk(ws: Path) -> tuple[str, str, str]:
    """Change the first rule's expr inside the rules ConfigMap on disk (the embedded rules.yaml is rewritten
    in another style, too)."""
    group, record, expr = first_record(ws)

    def fn(cm: Any) -> None:
        rules = yaml.safe_load(cm["data"]["rules.yaml"])
        rules["groups"][0]["rules"][0]["expr"] = "sum(old_expr)"
        cm["data"]["rules.yaml"] = yaml.safe_dump(rules, default_flow_style=True, width=70)

    edit_yaml(ws / OUT / "prometheus/rules-configmap.yaml", fn)
    return group, record, expr


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_differences_exit_0_and_every_format_starts_with_the_summary(
        cli: Callable[..., CliResult], workspace: Path, fmt: str) -> None:
    r = diff(cli, workspace, "-o", fmt)
    assert r.code == 0, r.err
    if fmt in ("json", "patch"):
        doc = json.loads(r.out)
        assert next(iter(doc)) == "summary"
        assert doc["summary"] == {"text": "0 to add, 0 to change, 0 to remove", "add": 0, "change": 0,
                                  "remove": 0, "by_kind": {}}
    else:
        head = "\n".join(r.out.splitlines()[:6])
        assert "0 to add, 0 to change, 0 to remove" in head, r.out
        assert "No differences" in r.out or fmt == "github"


@pytest.mark.parametrize("fmt", FORMATS)
def test_differences_exit_1_in_every_format_and_exit_zero_forces_0(
        cli: Callable[..., CliResult], workspace: Path, fmt: str) -> None:
    stale_rule_on_disk(workspace)
    r = diff(cli, workspace, "-o", fmt)
    assert r.code == 1, r.err
    assert diff(cli, workspace, "-o", fmt, "--exit-zero").code == 0
    first = r.out.splitlines()[:6]
    if fmt in ("json", "patch"):
        assert json.loads(r.out)["summary"]["change"] == 1
        assert json.loads(r.out)["summary"]["by_kind"] == {"prometheus-rules-configmap":
                                                           {"add": 0, "change": 1, "remove": 0}}
    else:
        assert any("0 to add, 1 to change, 0 to remove" in x for x in first), first


def test_errors_exit_2(cli: Callable[..., CliResult], workspace: Path) -> None:
    write_profile(workspace / "profiles", "name: bad\nistio: {version: nope}\n", "bad.yaml")
    assert cli("diff", "profiles/bad.yaml", cwd=workspace).code == 2
    assert diff(cli, workspace, "-o", "xml").code == 2
    r = diff(cli, workspace, "--ignore", "file::")
    assert r.code == 0  # an empty path after FILE:: matches only the whole file
    r = diff(cli, workspace, "--ignore", "::x")
    assert r.code == 2 and "FILE::PATH" in r.err
    assert diff(cli, workspace, "--live", "x", "--against-ref", "HEAD").code == 2


def test_help_documents_formats_and_exit_codes(cli: Callable[..., CliResult]) -> None:
    r = cli("diff", "--help")
    assert r.code == 0
    for word in ("--against-ref", "--live", "--ignore", "--exit-zero", "--context", "semantic", "markdown",
                 "github", "patch", "exit codes", "0  no differences", "1  differences", "2  error",
                 ".istiogenignore"):
        assert word in r.out, word


def test_a_changed_rule_shows_as_its_expr_changing(cli: Callable[..., CliResult], workspace: Path) -> None:
    group, record, expr = stale_rule_on_disk(workspace)
    changes = json_changes(cli, workspace)
    assert [(c["artifact"], c["object"], c["path"], c["type"], c["old"], c["new"]) for c in changes] == [
        ("output/p/prometheus/rules-configmap.yaml", "ConfigMap istio-system/rules",
         f'data["rules.yaml"].groups[name={group}].rules[record={record}].expr', "changed", "sum(old_expr)", expr)]
    # the text view shows the rule, in context, and nothing of the reformatted rest of the file
    lines = diff(cli, workspace).out.splitlines()
    rule = load(workspace / OUT / "prometheus/rules.yaml")["groups"][0]["rules"][0]
    n = 2 + (1 + len(rule["labels"]) if rule.get("labels") else 0)  # record, expr, and labels: with one per line
    assert f'@@ -1,{n} +1,{n} @@ data["rules.yaml"].groups[name={group}].rules[record={record}]' in lines
    assert [x for x in lines if x.startswith("-") and not x.startswith("---")] == ["-expr: sum(old_expr)"]
    assert [x for x in lines if x.startswith("+") and not x.startswith("+++")] == [f"+expr: {expr}"]


def test_formatting_only_changes_are_reported_as_such(cli: Callable[..., CliResult], workspace: Path) -> None:
    # the embedded rules.yaml rewritten in flow style: same data
    def reformat(cm: Any) -> None:
        cm["data"]["rules.yaml"] = yaml.safe_dump(yaml.safe_load(cm["data"]["rules.yaml"]), default_flow_style=True)

    edit_yaml(workspace / OUT / "prometheus/rules-configmap.yaml", reformat)
    lines = semantic(cli, workspace)
    assert lines == ['output/p/prometheus/rules-configmap.yaml [ConfigMap istio-system/rules] data["rules.yaml"]: '
                     "formatting only: the same data"]
    # a whole file rewritten: same data
    path = workspace / OUT / "queries.yaml"
    dump(path, load(path))
    assert "output/p/queries.yaml: formatting only: the same data" in semantic(cli, workspace)
    assert diff(cli, workspace).code == 1


def test_named_list_items_are_matched_by_key(cli: Callable[..., CliResult], workspace: Path) -> None:
    path = workspace / OUT / "prometheus/deployment-patch.yaml"

    def fn(d: Any) -> None:
        mount = d["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]
        mount["mountPath"] = "/etc/old-rules"

    edit_yaml(path, fn)
    assert semantic(cli, workspace) == [
        "output/p/prometheus/deployment-patch.yaml [Deployment istio-system/prometheus] "
        "spec.template.spec.containers[name=prometheus].volumeMounts[name=config-rules].mountPath: "
        'changed: "/etc/old-rules" → "/opt/rules"']


def test_a_reorder_where_order_has_no_meaning_is_not_a_change(cli: Callable[..., CliResult],
                                                              workspace: Path) -> None:
    path = workspace / OUT / "prometheus/deployment-patch.yaml"

    def fn(d: Any) -> None:
        spec = d["spec"]["template"]["spec"]
        spec["volumes"].insert(0, {"name": "extra", "emptyDir": {}})
        spec["volumes"].reverse()  # the rendered order is [config-rules]; disk has [config-rules, extra]

    edit_yaml(path, fn)
    lines = semantic(cli, workspace)
    assert lines == ["output/p/prometheus/deployment-patch.yaml [Deployment istio-system/prometheus] "
                     'spec.template.spec.volumes[name=extra]: removed: {"name": "extra", "emptyDir": {}}']
    edit_yaml(path, lambda d: d["spec"]["template"]["spec"].update(
        volumes=[v for v in d["spec"]["template"]["spec"]["volumes"] if v["name"] != "extra"]))
    edit_yaml(path, lambda d: d["spec"]["template"]["metadata"].update(annotations=dict(
        reversed(list(d["spec"]["template"]["metadata"]["annotations"].items())))))
    # only the key order of a mapping and nothing else: a formatting change, no path
    assert semantic(cli, workspace) == ["output/p/prometheus/deployment-patch.yaml: formatting only: the same data"]
    assert cli("render", "profiles/p.yaml", cwd=workspace).code == 0
    # rule groups are named: their order does not matter, and rules within a group are matched by record
    rules = workspace / OUT / "prometheus/rules.yaml"
    edit_yaml(rules, lambda d: (d["groups"].reverse(), d["groups"][0]["rules"].reverse()))
    assert semantic(cli, workspace) == [
        "output/p/prometheus/rules.yaml: formatting or order only: the same meaning (documents, or list items "
        "whose order does not matter)"]


def test_process_filter_order_is_shown(cli: Callable[..., CliResult], workspace: Path) -> None:
    path = workspace / OUT / "sysdig/dragent.yaml"
    last = len(load(path)["prometheus"]["process_filter"]) - 1

    def fn(d: Any) -> None:
        pf = d["prometheus"]["process_filter"]
        pf.append(pf.pop(0))  # the merged-envoy exclude last on disk, first when rendered

    edit_yaml(path, fn)
    r = diff(cli, workspace, "-o", "semantic")
    assert r.code == 1
    assert [x for x in r.out.splitlines() if x.startswith("output/")] == [
        f"output/p/sysdig/dragent.yaml prometheus.process_filter[0]: moved: [{last}] → [0] "
        "(order matters: the first matching rule wins)"]
    text = diff(cli, workspace).out
    assert f"# prometheus.process_filter[0]: moved from [{last}] to [0] (order matters: the first matching rule " \
           "wins)" in text
    assert "+  - exclude:\n+      process.name: envoy" in text and "-  - exclude:\n-      process.name: envoy" in text


@pytest.mark.parametrize("how", ["flag", "file"])
def test_ignored_changes_neither_print_nor_count(cli: Callable[..., CliResult], workspace: Path, how: str) -> None:
    stale_rule_on_disk(workspace)
    edit_yaml(workspace / OUT / "prometheus/deployment-patch.yaml",
              lambda d: d["metadata"].update(labels={"team": "obs"}))
    pattern = 'data["rules.yaml"].groups[name=*].rules[record=*].expr'
    args: list[str] = []
    if how == "flag":
        args = ["--ignore", pattern]
    else:
        (workspace / ".istiogenignore").write_text(f"# generated checksums and rule text\n\n{pattern}\n")
    r = diff(cli, workspace, "-o", "semantic", *args)
    assert r.code == 1
    assert [x for x in r.out.splitlines() if x.startswith("output/")] == [
        "output/p/prometheus/deployment-patch.yaml [Deployment istio-system/prometheus] metadata.labels: "
        'removed: {"team": "obs"}']
    assert "1 ignored change(s) not shown" in r.out
    assert "0 to add, 1 to change, 0 to remove" in r.out
    more = ["--ignore", "metadata.labels"]
    r = diff(cli, workspace, *args, *more)
    assert r.code == 0, r.out
    assert "No differences." in r.out and "old_expr" not in r.out
    # FILE::PATH limits a pattern to one artifact; an artifact kind works as FILE too
    assert diff(cli, workspace, *args, "--ignore", "deployment-patch.yaml::metadata*").code == 0
    assert diff(cli, workspace, *args, "--ignore", "deployment-patch-strategic::*").code == 0
    assert diff(cli, workspace, *args, "--ignore", "rules.yaml::metadata.labels").code == 1


def test_ignore_applies_to_the_text_view_and_the_patch(cli: Callable[..., CliResult], workspace: Path) -> None:
    path = workspace / OUT / "prometheus/deployment-patch.yaml"

    def fn(d: Any) -> None:
        d["spec"]["template"]["metadata"]["annotations"]["istiogen.io/rules-checksum"] = "sha256:old"
        d["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] = "1234"

    edit_yaml(path, fn)
    ign = ["--ignore", 'spec.template.metadata.annotations["istiogen.io/rules-checksum"]']
    lines = diff(cli, workspace, *ign).out.splitlines()
    changed = [x for x in lines if x[:1] in ("+", "-") and x[:3] not in ("---", "+++")]
    assert changed == ["-        prometheus.io/port: '1234'", "+        prometheus.io/port: '9090'"]
    assert not any("sha256:old" in x for x in lines)
    doc = json.loads(diff(cli, workspace, "-o", "patch", *ign).out)
    (p,) = doc["patches"]
    assert p["patch"] == [{"op": "replace", "path": "/spec/template/metadata/annotations/prometheus.io~1port",
                           "value": "9090"}]
    # without the ignore rule both show
    lines = diff(cli, workspace).out.splitlines()
    assert "-        istiogen.io/rules-checksum: sha256:old" in lines


def test_secrets_are_never_printed(cli: Callable[..., CliResult], workspace: Path) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "istio-system"},
              "type": "Opaque", "data": {"password": "aHVudGVyMg=="}, "stringData": {"token": "s3cr3t-t0ken"}}
    (workspace / OUT / "secret.yaml").write_text(yaml.safe_dump(secret))

    def fn(d: Any) -> None:
        prom = yaml.safe_load(d["data"]["prometheus.yaml"])
        prom["scrape_configs"][0]["basic_auth"] = {"username": "admin", "password": "hunter2"}
        prom["scrape_configs"][0]["bearer_token"] = "abcdef123456"
        d["data"]["prometheus.yaml"] = yaml.safe_dump(prom)

    edit_yaml(workspace / OUT / "sysdig/sysdig-agent-patch.yaml", fn)
    for fmt in FORMATS:
        r = diff(cli, workspace, "-o", fmt)
        assert r.code == 1
        for value in ("aHVudGVyMg==", "s3cr3t-t0ken", "hunter2", "abcdef123456", "admin"):
            assert value not in r.out, (fmt, value)
        if fmt != "patch":  # the patch deletes the Secret and sets the rendered text, which has none
            assert "(sensitive value)" in r.out, fmt
            for key in ("password", "token"):
                assert key in r.out, (fmt, key)


def test_mode_index_and_whole_file_changes(cli: Callable[..., CliResult], workspace: Path) -> None:
    (workspace / OUT / "apply.sh").chmod(0o644)
    (workspace / OUT / "stale.yaml").write_text("a: 1\n")
    (workspace / OUT / "queries.yaml").unlink()
    idx = workspace / OUT / "index.json"
    doc = json.loads(idx.read_text())
    doc["istiogen_version"] = "0.0.1"
    idx.write_text(json.dumps(doc, indent=2) + "\n")
    lines = semantic(cli, workspace)
    assert lines == [
        "output/p/apply.sh: mode: 0o644 → 0o755",
        'output/p/index.json istiogen_version: changed: "0.0.1" → "0.1.0"',
        "output/p/queries.yaml: added",
        "output/p/stale.yaml: removed",
    ]
    r = diff(cli, workspace)
    assert "old mode 0o644" in r.out and "--- /dev/null" in r.out and "+++ /dev/null" in r.out
    # a brand-new profile: everything is to add
    write_profile(workspace / "profiles", "name: q\nistio: {version: \"1.22\"}\n", "q.yaml")
    doc = json.loads(cli("diff", "profiles/q.yaml", "-o", "json", cwd=workspace).out)
    assert doc["summary"]["add"] >= 10 and doc["summary"]["change"] == doc["summary"]["remove"] == 0


def test_context_lines(cli: Callable[..., CliResult], workspace: Path) -> None:
    path = workspace / OUT / "prometheus/deployment-patch.yaml"
    edit_yaml(path, lambda d: d["spec"]["template"]["metadata"]["annotations"].update({"prometheus.io/port": "1"}))
    narrow, wide = diff(cli, workspace, "-U", "0").out, diff(cli, workspace, "--context", "8").out
    assert "@@ -" in narrow and len(wide.splitlines()) > len(narrow.splitlines())
    assert diff(cli, workspace, "-U", "-1").code == 2


def test_the_patch_format_turns_the_old_objects_into_the_new_ones(cli: Callable[..., CliResult],
                                                                  workspace: Path) -> None:
    path = workspace / OUT / "prometheus/deployment-patch.yaml"
    rendered = load(path)

    def fn(d: Any) -> None:
        spec = d["spec"]["template"]["spec"]
        spec["volumes"].append({"name": "old", "emptyDir": {}})
        spec["containers"][0]["volumeMounts"][0]["mountPath"] = "/x"
        del d["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"]

    edit_yaml(path, fn)
    doc = json.loads(diff(cli, workspace, "-o", "patch").out)
    (p,) = doc["patches"]
    assert p["action"] == "patch" and p["target"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                                      "namespace": "istio-system", "name": "prometheus"}
    assert jsonpatch.apply_patch(load(path), p["patch"]) == rendered


def test_github_annotations_point_at_the_changed_line(cli: Callable[..., CliResult], workspace: Path) -> None:
    path = workspace / OUT / "prometheus/deployment-patch.yaml"
    edit_yaml(path, lambda d: d["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0].update(
        mountPath="/x"))
    r = diff(cli, workspace, "-o", "github")
    lines = r.out.splitlines()
    assert lines[0].startswith("::notice title=istiogen diff::0 to add, 1 to change, 0 to remove")
    (ann,) = [x for x in lines if "file=" in x]
    assert "file=output/p/prometheus/deployment-patch.yaml" in ann
    line = int(ann.split("line=")[1].split(",")[0])
    assert "spec.template.spec.containers[name=prometheus].volumeMounts[name=config-rules].mountPath" in ann
    # the line is in the rendered file, the one `istiogen render` writes and the pull request holds
    assert cli("render", "profiles/p.yaml", cwd=workspace).code == 0
    assert path.read_text().splitlines()[line - 1].strip() == "mountPath: /opt/rules"


def test_markdown_is_a_pull_request_comment(cli: Callable[..., CliResult], workspace: Path) -> None:
    stale_rule_on_disk(workspace)
    md = diff(cli, workspace, "-o", "markdown").out
    assert md.startswith("### istiogen diff")
    assert "| artifact kind | to add | to change | to remove |" in md
    assert "| `prometheus-rules-configmap` | 0 | 1 | 0 |" in md
    assert "<details><summary><code>output/p/prometheus/rules-configmap.yaml</code>" in md
    assert "```diff" in md and "</details>" in md
