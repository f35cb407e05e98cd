"""Output formats, masking and ignore rules on hand-made objects (no rendering involved)."""

from __future__ import annotations

import json
from typing import Any

import jsonpatch
import pytest
import yaml

from istiogen.diff import formats
from istiogen.diff.engine import apply_ignore, compare_file
from istiogen.diff.ignore import Ignore, parse_rule
from istiogen.diff.mask import scrub, sensitive_name
from istiogen.diff.model import ObjectDiff, Result, Seg, dotted
from istiogen.errors import FatalError

SECRET_OLD = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "ns"},
              "data": {"password": "b2xkLXBhc3M=", "user": "YWRtaW4="}, "stringData": {"api": "old-api-value"}}
SECRET_NEW = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "ns"},
              "data": {"password": "bmV3LXBhc3M=", "user": "YWRtaW4=", "extra": "ZXh0cmE="},
              "stringData": {"api": "old-api-value"}}
DEPLOY_OLD = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"},
              "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i:1", "env": [
                  {"name": "API_TOKEN", "value": "tok-old-123"}, {"name": "LOG_LEVEL", "value": "info"}],
                  "args": ["--bearer-token=flag-old-999", "--port=80"]}]}}}}
DEPLOY_NEW = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"},
              "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i:2", "env": [
                  {"name": "API_TOKEN", "value": "tok-new-456"}, {"name": "LOG_LEVEL", "value": "debug"}],
                  "args": ["--bearer-token=flag-new-777", "--port=80"]}]}}}}
RAW = ("b2xkLXBhc3M=", "bmV3LXBhc3M=", "YWRtaW4=", "ZXh0cmE=", "old-api-value", "tok-old-123", "tok-new-456",
       "flag-old-999", "flag-new-777", "s3cret-readme")
README_OLD = "# notes\npassword: s3cret-readme\nplain: text\n"
README_NEW = "# notes\npassword: other-readme\nplain: more text\n"


def result(*pairs: tuple[str, Any, Any]) -> Result:
    objs: list[ObjectDiff] = []
    for name, old, new in pairs:
        enc = (lambda x: x.encode()) if name.endswith(".md") else (lambda x: yaml.safe_dump(x).encode())
        objs += compare_file(name, f"out/{name}", "unknown", enc(old) if old is not None else None,
                             enc(new) if new is not None else None)
    return Result(objs, [], "test")


@pytest.fixture
def res() -> Result:
    return result(("secret.yaml", SECRET_OLD, SECRET_NEW), ("deploy.yaml", DEPLOY_OLD, DEPLOY_NEW),
                  ("README.md", README_OLD, README_NEW), ("gone-secret.yaml", SECRET_OLD, None))


def render_all(res: Result) -> dict[str, str]:
    return {"text": formats.text(res), "semantic": formats.semantic(res), "json": formats.as_json(res),
            "markdown": formats.markdown(res), "github": formats.github(res, formats.source_line),
            "patch": formats.patch(res)}


def test_no_format_prints_a_secret_and_changed_secrets_say_so(res: Result) -> None:
    for fmt, out in render_all(res).items():
        for raw in RAW:
            assert raw not in out, (fmt, raw)
        assert "(sensitive value changed)" in out, fmt
        if fmt != "patch":
            for visible in ("password", "API_TOKEN", "extra", "i:2", "LOG_LEVEL"):
                assert visible in out, (fmt, visible)


def test_the_semantic_view_of_masked_changes(res: Result) -> None:
    lines = formats.semantic(res).splitlines()
    assert 'out/secret.yaml [Secret ns/creds] data.password: changed: "(sensitive value)" → ' \
           '"(sensitive value changed)"' in lines
    assert 'out/secret.yaml [Secret ns/creds] data.extra: added: "(sensitive value)"' in lines
    assert ('out/deploy.yaml [Deployment ns/d] spec.template.spec.containers[name=c].env[name=API_TOKEN].value: '
            'changed: "(sensitive value)" → "(sensitive value changed)"') in lines
    assert ('out/deploy.yaml [Deployment ns/d] spec.template.spec.containers[name=c].env[name=LOG_LEVEL].value: '
            'changed: "info" → "debug"') in lines
    assert ('out/deploy.yaml [Deployment ns/d] spec.template.spec.containers[name=c].args[0]: changed: '
            '"--bearer-token=(sensitive value)" → "--bearer-token=(sensitive value changed)"') in lines


def test_the_text_view_masks_both_sides(res: Result) -> None:
    lines = formats.text(res).splitlines()
    for line in ("-  password: (sensitive value)", "+  password: (sensitive value changed)",
                 "   user: (sensitive value)",  # unchanged: context, the same on both sides
                 "-  value: (sensitive value)", "+  value: (sensitive value changed)",
                 "-- --bearer-token=(sensitive value)", "+- --bearer-token=(sensitive value changed)",
                 "-password: (sensitive value)", "+password: (sensitive value changed)"):  # the README
        assert line in lines, line


def test_sensitive_names() -> None:
    for name in ("password", "apiKey", "access_key", "AUTH_TOKEN", "basic_auth", "authorization", "bearer",
                 "client-secret", "credentials", "key"):
        assert sensitive_name(name), name
    for name in ("monkey", "keyword", "secretName", "secretKeyRef", "bearer_token_file", "tokenizer", "author",
                 "metrics_path", "namespace"):
        assert not sensitive_name(name), name
    assert scrub("x --token abc123 y") == "x --token (sensitive value) y"
    assert scrub("Authorization: Bearer abcdef123") == "Authorization: (sensitive value)"
    assert scrub("curl -H 'x: Bearer abcdefgh'") == "curl -H 'x: Bearer (sensitive value)'"
    assert scrub("kubectl -n istio-system get configmap") == "kubectl -n istio-system get configmap"


def test_configmap_item_keys_and_secret_references_are_not_masked() -> None:
    old = {"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"volumes": [
        {"name": "v", "configMap": {"name": "rules", "items": [{"key": "rules.yaml", "path": "a.yaml"}]}},
        {"name": "s", "secret": {"secretName": "tls-old"}}]}}
    new = json.loads(json.dumps(old).replace("rules.yaml", "alerts.yaml").replace("tls-old", "tls-new"))
    out = formats.semantic(result(("d.yaml", old, new)))
    assert '"rules.yaml" → "alerts.yaml"' in out and '"tls-old" → "tls-new"' in out


def test_patches_turn_old_into_new_and_mask_secrets(res: Result) -> None:
    doc = json.loads(formats.patch(res))
    assert list(doc) == ["summary", "title", "patches", "notes"]
    by_artifact = {p["artifact"]: p for p in doc["patches"]}
    dep = by_artifact["out/deploy.yaml"]
    assert dep["action"] == "patch" and dep["target"]["kind"] == "Deployment"
    patched = jsonpatch.apply_patch(DEPLOY_OLD, dep["patch"])
    env = patched["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0]["value"] == "(sensitive value changed)" and env[1]["value"] == "debug"
    assert by_artifact["out/gone-secret.yaml"]["action"] == "delete"
    assert by_artifact["out/README.md"]["patch"][0]["op"] == "replace"


def test_json_records(res: Result) -> None:
    doc = json.loads(formats.as_json(res))
    assert doc["summary"]["text"] == "0 to add, 3 to change, 1 to remove"
    assert doc["summary"]["by_kind"] == {"unknown": {"add": 0, "change": 3, "remove": 1}}
    rec = next(c for c in doc["changes"] if c["path"].endswith("env[name=LOG_LEVEL].value"))
    assert rec == {"artifact": "out/deploy.yaml", "kind": "unknown", "object": "Deployment ns/d",
                   "path": "spec.template.spec.containers[name=c].env[name=LOG_LEVEL].value", "type": "changed",
                   "old": "info", "new": "debug"}


def test_colour_only_when_asked(res: Result) -> None:
    assert "\x1b[" not in formats.text(res)
    coloured = formats.text(res, color=True)
    assert "\x1b[31m-" in coloured and "\x1b[32m+" in coloured and "\x1b[36m@@" in coloured


def test_colour_follows_the_terminal_and_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    from istiogen.cli import diff as cli_diff

    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdout", Tty())
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert cli_diff._color() is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli_diff._color() is False


def test_markdown_stays_under_the_limit_and_says_what_was_cut() -> None:
    big = [(f"f{i}.yaml", {"kind": "ConfigMap", "metadata": {"name": f"c{i}"}, "data": {"x": "a\n" * 400}},
            {"kind": "ConfigMap", "metadata": {"name": f"c{i}"}, "data": {"x": "b\n" * 400}}) for i in range(40)]
    res = result(*big)
    full = formats.markdown(res, limit=10**9)
    assert len(full) > 65_000
    md = formats.markdown(res)
    assert len(md) < 65_000
    assert "**Output cut** to stay under 65,000 characters" in md
    note = md.split("**Output cut**")[1]
    n_cut = int(note.split(": ")[1].split(" artifact(s)")[0])
    assert md.count("<details>") + n_cut - note.count("(partly)") == 40
    assert "Run `istiogen diff` locally" in note
    assert md.count("<details>") == md.count("</details>")
    assert "| `unknown` | 0 | 40 | 0 |" in md


def test_markdown_fences_survive_backticks() -> None:
    res = result(("a.md", "x\n", "```\ncode\n```\n"))
    md = formats.markdown(res)
    assert "````diff" in md


def test_github_annotations_escape_and_summarise(res: Result) -> None:
    out = formats.github(res, formats.source_line)
    first, *rest = out.splitlines()
    assert first.startswith("::notice title=istiogen diff::0 to add, 3 to change, 1 to remove")
    assert all(x.startswith("::notice file=out/") for x in rest)
    assert all("\n" not in x for x in rest)


def test_ignore_patterns() -> None:
    path = (Seg(key="spec"), Seg(key="containers"), Seg(kfield="name", kvalue="c", old=0, new=0), Seg(key="image"))
    assert dotted(path) == "spec.containers[name=c].image"
    assert parse_rule("spec.containers[name=c]", "t").path.fullmatch("spec.containers[name=c]")
    ig = Ignore([parse_rule("spec.containers[name=*]", "t")]).for_artifact("out/d.yaml", "k")
    assert ig(path)  # under an ignored path
    assert not Ignore([parse_rule("spec.containers[name=d]", "t")]).for_artifact("out/d.yaml", "k")(path)
    assert Ignore([parse_rule("d.yaml::spec.*", "t")]).for_artifact("out/d.yaml", "k")(path)
    assert not Ignore([parse_rule("e.yaml::spec.*", "t")]).for_artifact("out/d.yaml", "k")(path)
    assert Ignore([parse_rule("k::*", "t")]).for_artifact("out/d.yaml", "k")(())
    assert Ignore([parse_rule("sp?c", "t")]).for_artifact("x", "k")(path)
    with pytest.raises(FatalError):
        parse_rule("::x", "t")


def test_apply_ignore_counts_and_drops(res: Result) -> None:
    kept, dropped = apply_ignore(list(res.objects), Ignore([parse_rule("secret.yaml::data*", "t"),
                                                           parse_rule("README.md::*", "t")]))
    assert dropped == 3
    assert {o.artifact for o in kept} == {"out/deploy.yaml", "out/gone-secret.yaml"}
