# ruff: noqa: E501, PTH211, PTH115  (the case table is data, one case a few long lines; symlinks as os.symlink(target, link))
"""Round 2 of the hostile-input corpus: cases designed from the documented promises only.

Every case runs the real CLI in a subprocess (with a timeout) inside ``tmp_path`` and asserts the
promises of README.md and docs/*.md for bad input, generically:

- the exit code (2 for bad input, 130 for Ctrl-C);
- every stderr line that reports an error has the form ``FILE:LINE:COL: error: FIELD: ...``
  (``FILE: error: ...`` only where a case says there is no position), and the expected field
  paths and files are named;
- no Python traceback; the answer comes within the case's time bound;
- nothing in ``tmp_path`` changes: the output root (with a previous good render in it), the
  sibling folder next to it and the parent folder, byte for byte with modes and mtimes (cases that
  render successfully on purpose only require that nothing outside the output root changes);
- no secret of the case appears on stdout or stderr;
- machine-readable formats stay well-formed (JSON parses; GitHub format has one workflow command
  per line and no injected command).

The expected values come from the documented promises and from the input's definition (field
paths from the schema, Prometheus' and Kubernetes' name and duration rules), never from running
istiogen. Cases are data: ``CASES`` below, one ``Case`` per hostile input.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.corpus.common import differences

HERE = Path(__file__).resolve().parent
DATA = HERE / "round2"
ISTIOGEN = str(Path(sys.executable).parent / "istiogen")

# ----------------------------------------------------------------------------------------------
# Base inputs (each case changes one thing, or a few on purpose).

BASE: dict[str, Any] = {
    "name": "corpus",
    "istio": {"version": "1.22"},
    "prometheus": {
        "flavour": "samples-1.22",
        "deployment": "prometheus",
        "container": "prometheus-server",
        "config_map": "prometheus",
        "config_key": "prometheus.yml",
    },
    "sysdig": {"mode": "promscrape-v2"},
    "services": [{"name": "reviews", "namespace": "bookinfo", "versions": ["v1", "v2"]}],
    "experiments": [{
        "name": "reviews-canary", "service": "reviews", "namespace": "bookinfo",
        "baseline": "v1", "candidate": "v2", "expected_split": 0.1,
    }],
}

SECRET = "S3cr3t-Tok3n-9f8e7d6c"  # must never appear on any output stream
INJECT = "INJECTED"  # marker of an injected GitHub workflow command


def merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base[k], v) if k in base else v
        return out
    return over


class Text(str):
    """A profile's text whose ``replace`` insists that the text to replace is there (no silent no-op)."""

    def replace(self, old: str, new: str, count: int = -1) -> Text:  # type: ignore[override]
        assert old in self, f"fixture error: {old!r} not in\n{self}"
        return Text(str.replace(self, old, new, count))


def profile(over: dict[str, Any] | None = None, drop: tuple[str, ...] = ()) -> Text:
    d = merge(BASE, over or {})
    for k in drop:
        d.pop(k, None)
    return Text(yaml.safe_dump(d, sort_keys=False, allow_unicode=True, width=1000))


def base_text(**kw: Any) -> Text:
    return profile(kw or None)


# ----------------------------------------------------------------------------------------------
# The workspace: tmp/ws is the working folder, tmp/ws/out the output root holding a good render of
# BASE, tmp/ws/sibling a folder next to it, tmp/outside a folder next to ws (the parent's sibling).


@dataclass
class W:
    tmp: Path
    ws: Path
    out: Path
    sibling: Path

    def write(self, rel: str, text: str | bytes) -> Path:
        p = self.ws / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text, encoding="utf-8")
        return p


def render_cli(argv: list[str], cwd: Path) -> None:
    p = subprocess.run([ISTIOGEN, *argv], cwd=cwd, capture_output=True, text=True, timeout=60, env=ENV)
    assert p.returncode == 0, f"setup render failed: {argv}\n{p.stdout}\n{p.stderr}"


ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent", "KUBECONFIG": "/nonexistent",
    "LC_ALL": "C.UTF-8", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e",
}


@pytest.fixture(scope="module")
def good_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A good render of BASE (made once, copied into each case's output root)."""
    d = tmp_path_factory.mktemp("good")
    (d / "p.yaml").write_text(profile(), encoding="utf-8")
    render_cli(["render", "p.yaml", "--out", "out", "-q"], d)
    return d / "out"


def make_ws(tmp: Path, good: Path) -> W:
    import shutil

    ws = tmp / "ws"
    ws.mkdir()
    shutil.copytree(good, ws / "out", symlinks=True, copy_function=shutil.copy2)
    sib = ws / "sibling"
    sib.mkdir()
    (sib / "keep.txt").write_text("do not touch\n")
    (sib / "victim").mkdir()
    (sib / "victim" / "precious.txt").write_text("precious\n")
    outside = tmp / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("outside\n")
    return W(tmp, ws, ws / "out", sib)


Entry = tuple[str, bytes, int, int]


def snap(folder: Path, skip: tuple[str, ...] = (".git",)) -> dict[str, Entry]:
    """Like common.snapshot, but FIFOs are not opened and big files are hashed."""
    out: dict[str, Entry] = {}
    st = folder.lstat()
    out["."] = ("dir", b"", stat.S_IMODE(st.st_mode), st.st_mtime_ns)
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            st = p.lstat()
            rel = p.relative_to(folder).as_posix()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p).encode(), 0, st.st_mtime_ns)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", b"", stat.S_IMODE(st.st_mode), st.st_mtime_ns)
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", hashlib.sha256(p.read_bytes()).digest(), stat.S_IMODE(st.st_mode), st.st_mtime_ns)
            else:
                out[rel] = ("other", b"", stat.S_IMODE(st.st_mode), st.st_mtime_ns)
    return out


# ----------------------------------------------------------------------------------------------
# Running and asserting.


@dataclass
class Result:
    code: int
    out: str
    err: str
    seconds: float


def run_cli(w: W, argv: list[str], timeout: float, cwd: Path | None = None) -> Result:
    t0 = time.monotonic()
    try:
        p = subprocess.run([ISTIOGEN, *argv], cwd=cwd or w.ws, capture_output=True, timeout=timeout, env=ENV,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"no answer within {timeout} s (killed): {argv}\nstderr so far: {(e.stderr or b'')[-2000:]!r}")
    return Result(p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"),
                  time.monotonic() - t0)


# FIELD is absent only where the problem has no field (a YAML syntax error, an unreadable file)
ERR_POS = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error: (?:(?P<field>[^ ]+?): )?")
ERR_NOPOS = re.compile(r"^(?P<file>[^ ]+?): error: (?:(?P<field>[^ ]+?): )?")
RECAP = re.compile(r"^istiogen: \d+ error\(s\)")


def error_lines(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ": error: " in ln or ln.startswith("error")]


def check_error_lines(res: Result, case: Case) -> list[re.Match[str]]:
    matches = []
    for ln in error_lines(res.err):
        if not case.strict_format:
            continue
        m = ERR_POS.match(ln) or (None if case.positioned else ERR_NOPOS.match(ln))
        assert m, f"error line not in the form FILE:LINE:COL: error: FIELD: MESSAGE [RULE]:\n{ln!r}\n---\n{res.err}"
        assert re.search(r"\[[a-z0-9-]+\]\s*$", ln), f"error line without a [rule]: {ln!r}"
        matches.append(m)
    return matches


def field_named(matches: list[re.Match[str]], fld: str) -> bool:
    for m in matches:
        f = m.group("field") or ""
        if f == fld or f.startswith((fld + ".", fld + "[")):
            return True
    return False


def file_named(matches: list[re.Match[str]], name: str) -> bool:
    return any(m.group("file") == name or m.group("file").endswith("/" + name) for m in matches)


@dataclass
class Case:
    id: str
    cls: int
    about: str
    build: Callable[[W], list[str]]          # prepares the inputs, returns the CLI arguments
    codes: tuple[int, ...] = (2,)
    fields: tuple[str, ...] = ()             # field paths that must be reported as errors
    files: tuple[str, ...] = ()              # files that must be named by an error line
    positioned: bool = True                  # every error line carries LINE:COL
    timeout: float = 10.0
    root_may_change: bool = False            # a good render on purpose: only outside the root is checked
    extra: Callable[[W, Result], None] | None = None   # more assertions
    custom: Callable[[W], None] | None = None           # a case that runs the CLI itself (signals)
    secrets: tuple[str, ...] = (SECRET,)
    strict_format: bool = True               # False: a filesystem refusal; its line format is not this case's target
    cwd: str | None = None

    def __str__(self) -> str:
        return self.id


def run_case(case: Case, w: W) -> None:
    if case.custom is not None:
        before = snap(w.tmp)
        case.custom(w)
        return
    argv = case.build(w)
    before = snap(w.tmp)
    res = run_cli(w, argv, case.timeout, cwd=w.ws / case.cwd if case.cwd else None)
    after = snap(w.tmp)
    problems = []
    if "Traceback" in res.err or "Traceback" in res.out:
        problems.append("a Python traceback was printed")
    if res.code not in case.codes:
        problems.append(f"exit code {res.code}, expected {case.codes}")
    for s in case.secrets:
        if s and (s in res.out or s in res.err):
            problems.append(f"the secret {s!r} was printed")
    changed = differences(before, after)
    if case.root_may_change:
        changed = [c for c in changed if not c.split(" ", 1)[1].startswith("ws/out")
                   and c != "touched ws (mtime)" and c != "touched ws/out (mtime)"]
    if changed:
        problems.append("files changed: " + ", ".join(changed[:20]))
    if problems:
        pytest.fail("; ".join(problems) + f"\n--- stdout\n{res.out[-3000:]}\n--- stderr\n{res.err[-3000:]}")
    if 2 in case.codes and res.code == 2:
        matches = check_error_lines(res, case)
        if case.fields or case.files:
            assert matches, f"no error line at all:\n{res.err}"
        for fld in case.fields:
            assert field_named(matches, fld), f"no error names field {fld!r}:\n{res.err}"
        for name in case.files:
            assert file_named(matches, name), f"no error line names file {name!r}:\n{res.err}"
        if argv and argv[0] == "render":
            assert res.out == "", f"render wrote to stdout on bad input:\n{res.out}"
    if case.extra is not None:
        case.extra(w, res)


# ----------------------------------------------------------------------------------------------
# Builders.


def prof_case(text: str | Callable[[W], str], cmd: str = "render", name: str = "profile.yaml",
              more: tuple[str, ...] = ()) -> Callable[[W], list[str]]:
    def build(w: W) -> list[str]:
        t = text(w) if callable(text) else text
        w.write(name, t)
        if cmd == "render":
            return ["render", name, "--out", "out", *more]
        return [cmd, name, *more]
    return build


def no_newline_folder(w: W, res: Result) -> None:
    for _dirpath, dirnames, filenames in os.walk(w.tmp):
        for n in dirnames + filenames:
            assert not any(c in n for c in "\n\r\t\u200b\u00a0"), f"a name with a control/invisible char: {n!r}"


# ---- class 1: writes outside the output root (crash recovery of staging leftovers) ----


def leftovers(names: list[str] | Callable[[W], list[str]], content: bool = True) -> Callable[[W], list[str]]:
    """Plant staging leftovers with crafted names, then render the good profile again."""
    def build(w: W) -> list[str]:
        for n in names(w) if callable(names) else names:
            d = w.out / n
            d.mkdir()
            if content:
                (d / "index.json").write_text("{}\n")
                (d / "README.md").write_text("planted\n")
        w.write("profile.yaml", profile())
        return ["render", "profile.yaml", "--out", "out"]
    return build


PREFIXES = ["stage", "old", "new", "trash", "tmp"]


def enc_names(targets: list[str]) -> list[str]:
    return [f".istiogen-{p}-{t}.{4242 + i}" for i, t in enumerate(targets) for p in PREFIXES]


def nothing_new_outside(w: W, res: Result) -> None:
    for p in [w.tmp / "outside" / "victim-new", w.sibling / "victim-new", w.tmp / "victim-new"]:
        assert not p.exists() and not p.is_symlink(), f"created outside the output root: {p}"


def symlink_leftovers(w: W) -> list[str]:
    # leftovers that are symlinks to folders outside the root: removing "the leftover" must not
    # delete what they point at; completing a swap must not move the outside folder in.
    for i, p in enumerate(PREFIXES):
        os.symlink("../sibling/victim", w.out / f".istiogen-{p}-corpus.{5000 + i}")
        os.symlink(str(w.tmp / "outside"), w.out / f".istiogen-{p}-corpus%2Fx.{5100 + i}")
    w.write("profile.yaml", profile())
    return ["render", "profile.yaml", "--out", "out"]


def leftover_with_inner_symlinks(w: W) -> list[str]:
    # a leftover staging tree (as a killed run leaves it) whose files are symlinks out of the root:
    # completing the swap must not follow them, removing it must not delete their targets.
    for i, p in enumerate(PREFIXES):
        d = w.out / f".istiogen-{p}-corpus.{6000 + i}"
        (d / "prometheus").mkdir(parents=True)
        os.symlink("../../../sibling/keep.txt", d / "prometheus" / "rules.yaml")
        os.symlink("../../sibling/victim", d / "sysdig")
        os.symlink(str(w.tmp / "outside" / "keep.txt"), d / "index.json")
    w.write("profile.yaml", profile({"istio": {"version": "1.20"}}))
    return ["render", "profile.yaml", "--out", "out"]


def symlink_tree_in_root(w: W) -> list[str]:
    # the profile's nested output folder passes through a symlink planted in the root
    os.symlink("../sibling", w.out / "team")
    w.write("profile.yaml", profile({"output": {"dir": "team/victim"}}))
    return ["render", "profile.yaml", "--out", "out"]


def lock_symlinks(w: W) -> list[str]:
    # any lock or marker file the writer opens in the root must not follow a planted symlink
    for n in [".istiogen-lock", ".istiogen.lock", ".istiogen-lock-corpus", ".istiogen-stage-corpus.lock"]:
        os.symlink(str(w.tmp / "outside" / ("created-" + n.strip("."))), w.out / n)
    w.write("profile.yaml", profile({"istio": {"version": "1.20"}}))
    return ["render", "profile.yaml", "--out", "out"]


def no_outside_created(w: W, res: Result) -> None:
    created = [p.name for p in (w.tmp / "outside").iterdir() if p.name.startswith("created-")]
    assert not created, f"files created outside the root through planted symlinks: {created}"


# ---- class 2: partial writes ----


def multi(profiles: dict[str, str], argv: Callable[[W], list[str]],
          prepare: Callable[[W], None] | None = None) -> Callable[[W], list[str]]:
    def build(w: W) -> list[str]:
        for rel, text in profiles.items():
            w.write(rel, text)
        # previous trees of the good ones (older Istio), so a swap would show
        prev = []
        for rel, text in profiles.items():
            if rel.startswith(("profs/good", "good")):
                older = str(text).replace("version: '1.22'", "version: '1.20'")
                w.write(".prev/" + Path(rel).name, older)
                prev.append(".prev/" + Path(rel).name)
        for one in prev:  # one at a time: profiles whose folders clash are each valid alone
            render_cli(["render", one, "--out", "out", "-q"], w.ws)
        if prepare:
            prepare(w)
        return argv(w)
    return build


def named(n: str, **kw: Any) -> str:
    return profile(merge({"name": n}, kw))


# ---- class 7: big and deep inputs ----


def extends_chain(depth: int) -> Callable[[W], list[str]]:
    def build(w: W) -> list[str]:
        for i in range(depth):
            w.write(f"chain/b{i}.yaml", f"abstract: true\nextends: b{i + 1}.yaml\n")
        w.write(f"chain/b{depth}.yaml", "abstract: true\n" + profile(drop=("name",)))
        w.write("profile.yaml", "name: corpus\nextends: chain/b0.yaml\n")
        return ["render", "profile.yaml", "--out", "out"]
    return build


def extends_cycle(w: W) -> list[str]:
    w.write("c1.yaml", "abstract: true\nextends: c2.yaml\n")
    w.write("c2.yaml", "abstract: true\nextends: c3.yaml\n")
    w.write("c3.yaml", "abstract: true\nextends: ./sub/../c1.yaml\n")
    (w.ws / "sub").mkdir()
    w.write("profile.yaml", "name: corpus\nextends: c1.yaml\n" + profile(drop=("name",)))
    return ["render", "profile.yaml", "--out", "out"]


def extends_diamond(w: W) -> list[str]:
    # each level extends the next twice (by two spellings): 2**40 paths if nothing is remembered
    depth = 40
    for i in range(depth):
        w.write(f"dia/d{i}.yaml", f"abstract: true\nextends: [d{i + 1}.yaml, ./d{i + 1}.yaml]\n")
    w.write(f"dia/d{depth}.yaml", "abstract: true\n" + profile(drop=("name",)))
    w.write("profile.yaml", "name: corpus\nextends: dia/d0.yaml\n")
    return ["render", "profile.yaml", "--out", "out"]


def live_good_objects() -> list[dict[str, Any]]:
    return list(yaml.safe_load_all((DATA / "live-good.yaml").read_text()))


def live_case(docs: list[Any] | str | bytes | Callable[[W], None], fname: str = "live/export.yaml",
              output: str = "text", over: dict[str, Any] | None = None) -> Callable[[W], list[str]]:
    def build(w: W) -> list[str]:
        if callable(docs):
            docs(w)
        elif isinstance(docs, (str, bytes)):
            w.write(fname, docs)
        else:
            w.write(fname, yaml.safe_dump_all(docs, sort_keys=False, width=1000))
        w.write("profile.yaml", profile(over))
        return ["diff", "profile.yaml", "--out", "out", "--live", str(Path(fname).parent if "/" in fname else fname),
                "--output", output]
    return build


def with_obj(kind: str, name: str, fn: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
    docs = live_good_objects()
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"] == name:
            fn(d)
    return docs


def set_path(d: dict[str, Any], path: list[Any], value: Any) -> None:
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value


def nested_json(depth: int) -> str:
    return '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "deep", "namespace": "x"}, "data": ' \
        + "[" * depth + "]" * depth + "}"


ALIAS_BOMB = "\n".join(
    ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: bomb, namespace: istio-system}", "a0: &a0 [lol, lol, lol]"]
    + [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
       for i in range(1, 12)]
    + ["data: {x: *a11}"]) + "\n"


def big_export(w: W, jobs: int = 700_000) -> None:
    # about 50 MB (700,000 jobs): the prometheus ConfigMap whose prometheus.yml carries an enormous scrape config list
    docs = [d for d in live_good_objects() if d["metadata"]["name"] != "prometheus" or d["kind"] != "ConfigMap"]
    head = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: prometheus, namespace: istio-system}\ndata:\n"
            "  prometheus.yml: |\n    global: {scrape_interval: 15s}\n    rule_files: [/etc/config/recording_rules.yml]\n"
            "    scrape_configs:\n")
    text = "".join(f"    - job_name: j{i}\n      static_configs: [{{targets: ['10.0.0.1:9090']}}]\n"
                   for i in range(jobs))
    w.write("live/export.yaml", yaml.safe_dump_all(docs, sort_keys=False) + "---\n" + head + text)


def make_fifo(rel: str) -> Callable[[W], None]:
    def f(w: W) -> None:
        p = w.ws / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(p)
    return f


def fifo_profile(w: W) -> list[str]:
    make_fifo("profile.yaml")(w)
    return ["render", "profile.yaml", "--out", "out"]


def fifo_lint(w: W) -> list[str]:
    make_fifo("bundle/rules.yaml")(w)
    return ["lint", "bundle/rules.yaml"]


def fifo_extends(w: W) -> list[str]:
    make_fifo("base.yaml")(w)
    w.write("profile.yaml", "extends: base.yaml\n" + profile())
    return ["render", "profile.yaml", "--out", "out"]


def lint_deep(w: W) -> list[str]:
    w.write("bundle/dash.json", '{"title": "x", "panels": ' + "[" * 200_000 + "]" * 200_000 + "}")
    return ["lint", "bundle/dash.json"]


def lint_big_dashboard(w: W) -> list[str]:
    panel = {"type": "timeseries", "title": "p", "targets": [{"expr": "sum(rate(istio_requests_total[5m]))",
                                                               "legendFormat": "x"}]}
    n = 120_000
    text = '{"title": "big", "schemaVersion": 39, "panels": [' + ",".join([json.dumps(panel)] * n) + "]}"
    w.write("bundle/dash.json", text)
    return ["lint", "bundle/dash.json"]


def lint_alias_bomb(w: W) -> list[str]:
    w.write("bundle/rules.yaml", "\n".join(
        ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
        + [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
           for i in range(1, 12)]
        + ["groups:", "  - name: g", "    rules:", "      - record: a:b", "        expr: up", "        labels: {x: *a11}"])
        + "\n")
    return ["lint", "bundle/rules.yaml"]


def live_config_deep(w: W) -> list[str]:
    w.write("exported/prometheus-cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: prometheus, "
            "namespace: istio-system}\ndata:\n  prometheus.yml: x\nextra: " + "[" * 100_000 + "]" * 100_000 + "\n")
    w.write("profile.yaml", profile({"prometheus": {"live_config": "exported/prometheus-cm.yaml"}}))
    return ["render", "profile.yaml", "--out", "out"]


# ---- class 8/9: live_config ----


def _secret_export() -> list[dict[str, Any]]:
    def prom(d: dict[str, Any]) -> None:
        d["data"]["prometheus.yml"] = d["data"]["prometheus.yml"].replace(
            "rule_files:", f"remote_write:\n- url: https://u:{SECRET}@rw.example.com/w?token={SECRET}\n"
            f"  authorization:\n    credentials: {SECRET}\nrule_files:")

    def agent(d: dict[str, Any]) -> None:
        d["data"]["dragent.yaml"] = d["data"]["dragent.yaml"] + f"access_key: {SECRET}\n"
        d["data"]["prometheus.yaml"] = d["data"]["prometheus.yaml"].replace(
            "scrape_configs:", f"scrape_configs:\n- job_name: x\n  bearer_token: {SECRET}\n"
            f"  basic_auth: {{username: a, password: {SECRET}}}\n  static_configs: [{{targets: [a:1]}}]")

    docs = with_obj("ConfigMap", "prometheus", prom)
    for d in docs:
        if d["metadata"]["name"] == "sysdig-agent":
            agent(d)
    docs.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "rules", "namespace": "istio-system"},
                 "stringData": {"rules.yaml": SECRET}})
    return docs


def SECRET_EXPORT(w: W) -> None:
    w.write("live/export.yaml", yaml.safe_dump_all(_secret_export(), sort_keys=False, width=1000))


def cm(data: Any, name: str = "prometheus") -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": name, "namespace": "istio-system"}, "data": data},
                          sort_keys=False, width=1000)


PROM_YML = "global:\n  scrape_interval: 15s\nrule_files:\n  - /etc/config/recording_rules.yml\nscrape_configs: []\n"


def live_config(cm_text: str, over: dict[str, Any] | None = None, cmd: str = "render") -> Callable[[W], list[str]]:
    def build(w: W) -> list[str]:
        w.write("exported/prometheus-cm.yaml", cm_text)
        w.write("profile.yaml", profile(merge({"prometheus": {"live_config": "exported/prometheus-cm.yaml"}}, over or {})))
        return [cmd, "profile.yaml", "--out", "out"] if cmd == "render" else [cmd, "profile.yaml"]
    return build


def extends_both_bad(w: W) -> list[str]:
    w.write("base.yaml", "abstract: true\nistio:\n  namespace: Istio_System\nrules:\n  interval: 15 seconds\n")
    w.write("profile.yaml", "extends: base.yaml\n" + profile({"prometheus": {"port": "9090x"}}))
    return ["render", "profile.yaml", "--out", "out"]


def extends_two_bad_bases(w: W) -> list[str]:
    w.write("b1.yaml", "abstract: true\nrules:\n  window: 5 minutes\n")
    w.write("b2.yaml", "abstract: true\nrules:\n  interval: [15s\n")
    w.write("profile.yaml", "extends: [b1.yaml, b2.yaml]\n" + profile({"sysdig": {"limits": {"max_metrics": 0}}}))
    return ["render", "profile.yaml", "--out", "out"]


def two_bad_profiles(w: W) -> list[str]:
    w.write("a.yaml", named("a", prometheus={"port": 0}))
    w.write("b.yaml", "name: b\nistio: {version: 1.10}\n")
    w.write("c.yaml", "name: c\nistio: {version: '1.22'\n")
    return ["render", "a.yaml", "b.yaml", "c.yaml", "--out", "out"]


def live_and_export_bad(w: W) -> list[str]:
    # diff --live: the profile is bad AND the export is bad: both in one run
    w.write("live/export.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: prometheus\n")
    w.write("profile.yaml", profile({"rules": {"window": "2 minutes"}}))
    return ["diff", "profile.yaml", "--out", "out", "--live", "live"]


# ---- class 10: git refs ----


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=ENV, timeout=30)


def git_repo(w: W, committed: dict[str, str], working: dict[str, str] | None = None,
             links: dict[str, str] | None = None, working_links: dict[str, str] | None = None) -> Path:
    repo = w.ws / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for rel, text in committed.items():
        p = repo / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    for rel, target in (links or {}).items():
        p = repo / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, p)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    for rel, text in (working or {}).items():
        (repo / rel).write_text(text)
    for rel, target in (working_links or {}).items():
        p = repo / rel
        if p.exists() or p.is_symlink():
            p.unlink()
        os.symlink(target, p)
    return repo


OUTSIDE_BASE = "abstract: true\ndescription: " + SECRET + "\nistio: {version: '1.22'}\n"


def git_case(kind: str) -> Callable[[W], list[str]]:
    def build(w: W) -> list[str]:
        w.write("outside.yaml", OUTSIDE_BASE)
        w.write("outside-cm.yaml", cm({"prometheus.yml": PROM_YML + "# " + SECRET + "\n"}))
        good = profile()
        if kind == "ref-dotdot":
            git_repo(w, {"profiles/p.yaml": "extends: ../../outside.yaml\n" + good}, {"profiles/p.yaml": good})
        elif kind == "tree-dotdot":
            git_repo(w, {"profiles/p.yaml": good}, {"profiles/p.yaml": "extends: ../../outside.yaml\n" + good})
        elif kind == "ref-absolute":
            git_repo(w, {"profiles/p.yaml": f"extends: {w.ws / 'outside.yaml'}\n" + good}, {"profiles/p.yaml": good})
        elif kind == "ref-symlink":
            git_repo(w, {"profiles/p.yaml": "extends: base.yaml\n" + good},
                     links={"profiles/base.yaml": "../../outside.yaml"})
        elif kind == "tree-symlink":
            git_repo(w, {"profiles/p.yaml": "extends: base.yaml\n" + good,
                         "profiles/base.yaml": "abstract: true\n"},
                     working_links={"profiles/base.yaml": "../../outside.yaml"})
        elif kind == "ref-live-config":
            lc = merge(BASE, {"prometheus": {"live_config": "../../outside-cm.yaml"}})
            git_repo(w, {"profiles/p.yaml": yaml.safe_dump(lc, sort_keys=False)}, {"profiles/p.yaml": good})
        elif kind == "ref-dir-symlink":
            # a folder of the profiles tree is a symlink out of the repository
            w.write("outdir/base.yaml", OUTSIDE_BASE)
            git_repo(w, {"profiles/p.yaml": "extends: shared/base.yaml\n" + good},
                     links={"profiles/shared": "../../outdir"})
        return ["diff", "--against-ref", "HEAD", "--out", "output"]
    return build


# ---- class 11: signals ----


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a running process has used (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_cpu(p: subprocess.Popen[bytes], seconds: float, timeout: float = 60.0) -> None:
    """Until the process has used ``seconds`` of CPU time (or has exited): where a run is in its work does
    not shift with the machine's load, as it does by wall-clock time."""
    deadline = time.monotonic() + timeout
    while p.poll() is None and time.monotonic() < deadline:
        try:
            if cpu_seconds(p.pid) >= seconds:
                return
        except OSError:  # exited meanwhile
            return
        time.sleep(0.01)


def sigint_run(w: W, argv: list[str], delays: list[float], tree: Path, cwd: Path | None = None,
               hold_lock: bool = False, interpreter_counts: bool = False, cpu: bool = False) -> None:
    """Run ``istiogen ARGV`` once per delay and send SIGINT that many seconds after its start (of its own CPU
    time with ``cpu``, else wall-clock)."""
    before = snap(tree)
    before_out = snap(w.tmp / "outside")
    before_sib = snap(w.sibling)
    interrupted = 0
    for delay in delays:
        lock_fd = None
        if hold_lock:
            lock_fd = os.open(w.out, os.O_RDONLY)
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
        try:
            p = subprocess.Popen([ISTIOGEN, *argv], cwd=cwd or w.ws, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=ENV, stdin=subprocess.DEVNULL)
            if cpu:
                wait_cpu(p, delay)
            else:
                time.sleep(delay)
            sent = p.poll() is None
            if sent:
                os.kill(p.pid, signal.SIGINT)
            try:
                out, err = p.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
                pytest.fail(f"still running 10 s after SIGINT (delay {delay} s): {argv}")
        finally:
            if lock_fd is not None:
                os.close(lock_fd)
        text = err.decode("utf-8", "replace") + out.decode("utf-8", "replace")
        if not interpreter_counts and "Fatal Python error: init_import_site" in text:
            continue  # the signal hit the interpreter's own start-up (site import), not istiogen's: see the -interpreter case
        assert "Traceback" not in text and "KeyboardInterrupt" not in text, f"not quiet (delay {delay}):\n{text}"
        if p.returncode == 0:
            before = snap(tree)  # it finished before the signal: the new tree is the previous one now
            continue
        if not sent:  # it had already exited (e.g. refused its input) when the signal was due: nothing to interrupt
            continue
        interrupted += 1
        # 130 as documented; -2 (killed by SIGINT before Python's handler existed) is what a shell shows as 130
        assert p.returncode in (130, -signal.SIGINT), f"exit {p.returncode} after SIGINT at {delay} s:\n{text}"
        assert not differences(before, snap(tree)), f"tree changed after SIGINT at {delay} s: " \
            + ", ".join(differences(before, snap(tree)))
    assert interrupted, "no run was interrupted: the case did not test anything"
    assert not differences(before_out, snap(w.tmp / "outside"))
    assert not differences(before_sib, snap(w.sibling))


def big_profile(n: int, version: str = "1.22") -> str:
    services = [{"name": f"svc{i}", "namespace": "shop", "versions": ["v1", "v2"]} for i in range(n)]
    exps = [{"name": f"svc{i}-canary", "service": f"svc{i}", "namespace": "shop", "baseline": "v1",
             "candidate": "v2", "expected_split": 0.1} for i in range(0, n, 5)]
    return profile({"istio": {"version": version}, "services": services, "experiments": exps})


def sig_startup(w: W) -> None:
    w.write("profile.yaml", profile({"istio": {"version": "1.20"}}))
    sigint_run(w, ["render", "profile.yaml", "--out", "out"], [0.15, 0.25, 0.35, 0.5], w.out)


def sig_startup_interpreter(w: W) -> None:
    w.write("profile.yaml", profile({"istio": {"version": "1.20"}}))
    sigint_run(w, ["render", "profile.yaml", "--out", "out"], [0.01, 0.03, 0.06], w.out, interpreter_counts=True)


def sig_big_render(w: W) -> None:
    w.write("profile.yaml", big_profile(600))
    sigint_run(w, ["render", "profile.yaml", "--out", "out"], [0.4, 0.8, 1.2], w.out)


def sig_lock_wait(w: W) -> None:
    w.write("profile.yaml", profile({"istio": {"version": "1.20"}}))
    sigint_run(w, ["render", "profile.yaml", "--out", "out"], [1.0], w.out, hold_lock=True)
    left = [p.name for p in w.out.iterdir() if p.name.startswith(".istiogen-")]
    assert not left, f"staging left behind after SIGINT while waiting for the lock: {left}"


def sig_diff_live(w: W) -> None:
    # 20,000 jobs, 1.5 MB (under the 8 MiB a live file may hold; 50 MB is refused at once, c7-live-50mb): the
    # render, the read and the start of the parse take about 0.5 s of CPU, the whole diff about 6 s, so a signal
    # after 1 s and 2 s of the run's CPU time lands while it reads the export, on a machine 2x faster or slower
    # and whatever its load (by wall-clock, 0.3 s hit the interpreter's start-up and 1.0 s a finished run)
    big_export(w, jobs=20_000)
    w.write("profile.yaml", profile())
    sigint_run(w, ["diff", "profile.yaml", "--out", "out", "--live", "live"], [1.0, 2.0], w.out, cpu=True)


def sig_all(w: W) -> None:
    for i in range(3):
        w.write(f"profs/p{i}.yaml", named(f"p{i}"))
    render_cli(["render", "--all", "--profiles-dir", "profs", "--out", "out", "-q"], w.ws)
    for i in range(3):
        w.write(f"profs/p{i}.yaml", big_profile(120, "1.20").replace("name: corpus", f"name: p{i}"))
    sigint_run(w, ["render", "--all", "--profiles-dir", "profs", "--out", "out"], [0.5, 1.0, 1.6], w.out)


# ---- class 12: output formats ----

GH_LINE = re.compile(r"^::(?P<cmd>[a-z-]+)(?: (?P<props>[^:]*))?::(?P<msg>.*)$")


def gh_unescape(s: str) -> str:
    return s.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def check_github(w: W, res: Result) -> None:
    for ln in res.out.splitlines():
        if not ln.strip():
            continue
        m = GH_LINE.match(ln)
        assert m, f"a stdout line that is not one workflow command (a value broke the line?): {ln!r}\n{res.out}"
        assert m.group("cmd") in ("error", "warning", "notice", "group", "endgroup", "debug"), f"unexpected command {ln!r}"
        props = m.group("props") or ""
        for kv in props.split(",") if props else []:
            assert re.match(r"^(file|line|col|endLine|endColumn|title)=", kv), f"property injected: {kv!r} in {ln!r}"
            key, _, value = kv.partition("=")
            assert not (key == "file" and gh_unescape(value) == f"{INJECT}.yaml"), f"injected workflow command: {ln!r}"
        assert gh_unescape(m.group("msg")) != INJECT, f"injected workflow command: {ln!r}"


def check_json(w: W, res: Result) -> None:
    try:
        json.loads(res.out)
    except ValueError as e:
        pytest.fail(f"stdout is not JSON ({e}):\n{res.out[:2000]}")
    assert "\x1b" not in res.out


NASTY = f"x\n::error file={INJECT}.yaml,line=1::{INJECT}\r\n::warning::{INJECT}%0A::error::{INJECT}\x1b[31mred"


def lint_rules(record: str, fname: str = "bundle/rules.yaml") -> Callable[[W], list[str]]:
    def build(w: W) -> list[str]:
        doc = {"groups": [{"name": "g", "rules": [{"record": record, "expr": "sum(rate(istio_requests_total[5m]))"},
                                                  {"record": "ok:dup", "expr": "up"}, {"record": "ok:dup", "expr": "up"}]}]}
        w.write(fname, yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000))
        return ["lint", fname, "--format", FMT_FOR[fname]]
    return build


FMT_FOR: dict[str, str] = {}


def lint_rules_fmt(record: str, fmt: str, fname: str = "bundle/rules.yaml") -> Callable[[W], list[str]]:
    FMT_FOR[fname] = fmt
    b = lint_rules(record, fname)

    def build(w: W) -> list[str]:
        argv = b(w)
        argv[-1] = fmt
        return argv
    return build


def diff_tampered_tree(fmt: str) -> Callable[[W], list[str]]:
    def build(w: W) -> list[str]:
        rules = w.out / "corpus" / "prometheus" / "rules.yaml"
        doc = yaml.safe_load(rules.read_text())
        doc["groups"][0]["rules"][0]["record"] = NASTY
        doc["groups"][0]["rules"][0]["labels"] = {"evil": NASTY}
        rules.write_text(yaml.safe_dump(doc, sort_keys=False, width=1000))
        w.write("profile.yaml", profile())
        return ["diff", "profile.yaml", "--out", "out", "--output", fmt]
    return build


def live_nasty(fmt: str) -> Callable[[W], list[str]]:
    def fn(d: dict[str, Any]) -> None:
        d["data"][NASTY] = NASTY
        d["metadata"].setdefault("labels", {})["evil"] = "v"
        d["metadata"]["annotations"] = {"note": NASTY}
    return live_case(with_obj("ConfigMap", "prometheus", fn), output=fmt)


# ----------------------------------------------------------------------------------------------
# The cases.

F = "profile.yaml"
LC = "prometheus-cm.yaml"

CASES: list[Case] = [
    # ---------------- 1. writes outside the output root ----------------
    Case("c1-encoded-separators", 1,
         "staging leftovers whose names decode to ../../sibling/victim-new, ../outside/victim-new (%2F, %2f, %252F, "
         "%2e%2e): the recovery must not rename or delete anything outside the root",
         leftovers(enc_names(["..%2F..%2Foutside%2Fvictim-new", "..%2fsibling%2fvictim-new", "..%252F..%252Fvictim-new",
                              "%2e%2e%2F%2e%2e%2Foutside%2Fvictim-new", "..%2Fsibling%2Fvictim", "..%2F..%2Fvictim-new"])),
         codes=(0, 2), root_may_change=True, extra=lambda w, r: nothing_new_outside(w, r)),
    Case("c1-absolute-names", 1,
         "leftovers whose names decode to absolute paths (%2Ftmp%2F..., %2F%2F...) and to the root itself (.., .)",
         leftovers(lambda w: enc_names([str(w.tmp / "outside" / "victim-new").replace("/", "%2F"),
                                        "%2F" + str(w.tmp / "victim-new").replace("/", "%2F"),
                                        "..", ".", "%2E%2E", "corpus%2F..%2F..%2Fsibling%2Fvictim"])),
         codes=(0, 2), root_may_change=True, extra=lambda w, r: nothing_new_outside(w, r)),
    Case("c1-symlink-leftovers", 1,
         "leftovers that are symlinks to a folder outside the root: cleaning them up must not delete the target",
         symlink_leftovers, codes=(0, 2), root_may_change=True),
    Case("c1-leftover-inner-symlinks", 1,
         "a killed run's staging tree whose files and folders are symlinks out of the root",
         leftover_with_inner_symlinks, codes=(0, 2), root_may_change=True),
    Case("c1-symlink-on-the-way", 1,
         "output.dir team/victim where team is a symlink planted in the root pointing at ../sibling: refused",
         symlink_tree_in_root, strict_format=False),
    Case("c1-lock-symlinks", 1,
         "plausible lock/marker names in the root are dangling symlinks to the outside: nothing gets created there",
         lock_symlinks, codes=(0, 2), root_may_change=True, extra=no_outside_created),
    # ---------------- 2. partial writes before an error ----------------
    Case("c2-later-bad-yaml", 2,
         "render good-a good-b bad: the third is not YAML; neither earlier tree may be replaced",
         multi({"good-a.yaml": named("a"), "good-b.yaml": named("b"), "bad.yaml": "name: c\nistio: {version: '1.22'\n"},
               lambda w: ["render", "good-a.yaml", "good-b.yaml", "bad.yaml", "--out", "out"]),
         files=("bad.yaml",)),
    Case("c2-output-dir-collision", 2,
         "two profiles whose output.dir are the same folder spelled differently (team/x, ./team//x/)",
         multi({"good-a.yaml": named("a", output={"dir": "team/x"}), "good-b.yaml": named("b", output={"dir": "./team//x/"})},
               lambda w: ["render", "good-a.yaml", "good-b.yaml", "--out", "out"]),
         fields=("output.dir",)),
    Case("c2-output-dir-nested", 2,
         "one profile's tree inside another's (team and team/inner): swapping one would clobber the other",
         multi({"good-a.yaml": named("a", output={"dir": "team"}), "good-b.yaml": named("b", output={"dir": "team/inner"})},
               lambda w: ["render", "good-a.yaml", "good-b.yaml", "--out", "out"]),
         fields=("output.dir",)),
    Case("c2-later-folder-is-file", 2,
         "render aa zz where zz's output folder is a regular file: refused, and aa's tree not swapped in first",
         multi({"good-aa.yaml": named("aa"), "zz.yaml": named("zz")},
               lambda w: ["render", "good-aa.yaml", "zz.yaml", "--out", "out"],
               prepare=lambda w: (w.out / "zz").write_text("a file where the tree goes\n")), strict_format=False),
    Case("c2-all-symlink-on-the-way", 2,
         "render --all: the last profile's output.dir goes through a symlink in the root; no other tree written",
         multi({"profs/good-a.yaml": named("a"), "profs/good-b.yaml": named("b"),
                "profs/zz.yaml": named("zz", output={"dir": "linked/zz"})},
               lambda w: ["render", "--all", "--profiles-dir", "profs", "--out", "out"],
               prepare=lambda w: os.symlink("../sibling", w.out / "linked")), strict_format=False),
    Case("c2-folder-later-bad-extends", 2,
         "render FOLDER: the last profile extends a missing base; the others' trees stay as they were",
         multi({"profs/good-a.yaml": named("a"), "profs/good-b.yaml": named("b"),
                "profs/zz.yaml": "extends: missing-base.yaml\n" + named("zz")},
               lambda w: ["render", "profs", "--out", "out"]),
         fields=("extends",)),
    # ---------------- 3. numbers ----------------
    Case("c3-port-inf", 3, "prometheus.port: .inf",
         prof_case(base_text().replace("flavour: samples-1.22", "flavour: samples-1.22\n  port: .inf")),
         fields=("prometheus.port",)),
    Case("c3-ratio-nan", 3, "a service's error_ratio_5xx: .nan (NaN passes no comparison, but NaN < 0 is false too)",
         prof_case(profile().replace("versions:\n  - v1\n  - v2\n",
                                     "versions:\n  - v1\n  - v2\n  alerts:\n      error_ratio_5xx: .nan\n")),
         fields=("services[0].alerts.error_ratio_5xx",)),
    Case("c3-thousands-of-digits", 3, "sysdig.limits.max_metrics: an integer of 5000 digits (beyond Python's int limit)",
         prof_case(
             profile({"sysdig": {"mode": "promscrape-v2"}}).replace("sysdig:\n  mode: promscrape-v2\n",
                                                                    "sysdig:\n  mode: promscrape-v2\n  limits:\n"
                                                                    "    max_metrics: " + "9" * 5000 + "\n")),
         fields=("sysdig.limits.max_metrics",)),
    Case("c3-huge-exponent", 3, "alerts.services.latency_p99_ms: 1.0e+999 (reads as infinity)",
         prof_case(profile() + "alerts:\n  services:\n    latency_p99_ms: 1.0e+999\n"),
         fields=("alerts.services.latency_p99_ms",)),
    Case("c3-duration-overflow", 3, "rules.window: \"999999999999999999999h\" (overflows int64 nanoseconds)",
         prof_case(profile({"rules": {"window": "999999999999999999999h"}})), fields=("rules.window",)),
    Case("c3-negative-split-inf-factor", 3,
         "experiment expected_split: -.inf and thresholds.latency_p99_factor: .inf, error_ratio_factor: 0",
         prof_case(profile().replace("expected_split: 0.1",
                                     "expected_split: -.inf\n  thresholds:\n    latency_p99_factor: .inf\n"
                                     "    error_ratio_factor: 0")),
         fields=("experiments[0].expected_split", "experiments[0].thresholds.latency_p99_factor",
                 "experiments[0].thresholds.error_ratio_factor")),
    Case("c3-zero-and-negative-durations", 3, "rules.interval: 0s, experiments[0].for: -5m (rate over [0s] is invalid)",
         prof_case(profile({"rules": {"interval": "0s"}}).replace("expected_split: 0.1", "expected_split: 0.1\n  for: -5m")),
         fields=("rules.interval", "experiments[0].for")),
    Case("c3-bucket-nan-inf", 3, "rules.latency_buckets: [5, .nan, .inf] (+Inf is implicit; NaN is no bound)",
         prof_case(profile() .replace("sysdig:", "rules:\n  latency_buckets: [5, .nan, .inf]\nsysdig:", 1)),
         fields=("rules.latency_buckets",)),
    Case("c3-quantile-above-one", 3, "rules.quantiles: [1.5, .inf] (a quantile is within 0..1)",
         prof_case(profile().replace("sysdig:", "rules:\n  quantiles: [1.5, .inf]\nsysdig:", 1)),
         fields=("rules.quantiles",)),
    Case("c3-int64-overflow", 3,
         "remote_write.max_samples_per_send: 2**70 and prometheus.container_index: 10**30 (beyond int64/int32)",
         prof_case(profile({"remote_write": {"url": "https://rw.example.com/api/v1/write", "auth": "none",
                                             "max_samples_per_send": 2 ** 70},
                            "sysdig": {"federation": False}, "prometheus": {"container_index": 10 ** 30}})),
         fields=("remote_write.max_samples_per_send", "prometheus.container_index")),
    Case("c3-threshold-huge-latency", 3, "services[0].alerts.latency_p99_ms: 1e308 * 10 spelled 1.7976931348623157e+309",
         prof_case(profile().replace("versions:\n  - v1\n  - v2\n",
                                     "versions:\n  - v1\n  - v2\n  alerts:\n"
                                     "    latency_p99_ms: 1.7976931348623157e+309\n")),
         fields=("services[0].alerts.latency_p99_ms",)),
    # ---------------- 4. trailing newline / whitespace / lookalikes ----------------
    Case("c4-block-scalar-service-name", 4, "services[0].name from a `|` block scalar: 'reviews\\n'",
         prof_case(profile().replace("- name: reviews\n", "- name: |\n    reviews\n")),
         fields=("services[0].name",)),
    Case("c4-tab-namespace", 4, "istio.namespace: \"istio-system\\t\"",
         prof_case(profile({"istio": {"namespace": "istio-system\t"}})), fields=("istio.namespace",)),
    Case("c4-zero-width-federation-label", 4, "rules.federation_label key 'sys\\u200bdig' (zero-width space)",
         prof_case(profile({"rules": {"federation_label": {"sys\u200bdig": "true"}}})),
         fields=("rules.federation_label",)),
    Case("c4-output-dir-newline", 4, "output.dir: |\\n  team\\n -> 'team\\n': no folder ending in a newline",
         prof_case(profile() + "output:\n  dir: |\n    team\n"), fields=("output.dir",), extra=no_newline_folder),
    Case("c4-name-newline", 4, "name: 'corpus\\n' (block scalar); the default output folder is the name",
         prof_case(profile().replace("name: corpus\n", "name: |\n  corpus\n")), fields=("name",),
         extra=no_newline_folder),
    Case("c4-kept-label-newline", 4, "rules.kept_labels: ['request_protocol\\n'] (Prometheus label name rule)",
         prof_case(profile({"rules": {"kept_labels": ["request_protocol\n"]}})), fields=("rules.kept_labels",)),
    Case("c4-cyrillic-record", 4, "a custom record with a Cyrillic 'а' (U+0430) lookalike: not [a-zA-Z_:][a-zA-Z0-9_:]*",
         prof_case(profile({"rules": {"custom": [{"record": "mesh:istio_requ\u0430sts:rate1m",
                                                 "expr": "sum(rate(istio_requests_total[1m]))"}]}})),
         fields=("rules.custom[0].record",)),
    Case("c4-version-block-scalar", 4, "istio.version: |\\n  1.22\\n (trailing newline)",
         prof_case(profile().replace("version: '1.22'", "version: |\n    1.22")), fields=("istio.version",)),
    Case("c4-window-newline", 4, "rules.window: '5m\\n' and services[0].window: ' 5m' (padded durations)",
         prof_case(profile({"rules": {"window": "5m\n"}}).replace("namespace: bookinfo\n  versions",
                                                                 "namespace: bookinfo\n  window: ' 5m'\n  versions", 1)),
         fields=("rules.window", "services[0].window")),
    Case("c4-nbsp-version-and-namespace", 4,
         "services[0].versions: ['v1\\u00a0'] (no-break space) and experiments[0].namespace: 'bookinfo ' "
         "(DNS-1123 label; label values reach selectors)",
         prof_case(profile({"services": [{"name": "reviews", "namespace": "bookinfo", "versions": ["v1\u00a0", "v2"]}],
                            "experiments": [merge(BASE["experiments"][0], {"namespace": "bookinfo "})]})),
         fields=("services[0].versions", "experiments[0].namespace")),
    Case("c4-fullwidth-selector-label", 4, "prometheus.selector {'ａpp': prometheus} (fullwidth a): no K8s label key",
         prof_case(profile({"prometheus": {"selector": {"\uff41pp": "prometheus"}}})), fields=("prometheus.selector",)),
    Case("c4-custom-label-trailing-newline", 4,
         "rules.custom[0].labels {'team\\n': x} and rules_config_map 'rules\\n' (DNS-1123 subdomain)",
         prof_case(profile({"rules": {"custom": [{"record": "mesh:x:rate1m", "expr": "sum(rate(istio_requests_total[1m]))",
                                                  "labels": {"team\n": "x"}}]},
                            "prometheus": {"rules_config_map": "rules\n"}})),
         fields=("rules.custom[0].labels", "prometheus.rules_config_map")),
    # ---------------- 5. output a real tool would reject ----------------
    Case("c5-duration-beyond-range", 5, "rules.window: 300y and alerts.services.for: 293y (Prometheus caps at ~292y)",
         prof_case(profile({"rules": {"window": "300y"}, "alerts": {"services": {"for": "293y"}}})),
         fields=("rules.window", "alerts.services.for")),
    Case("c5-range-vector-expr", 5, "a custom recording rule whose expr is a range vector (foo[5m]) and a subquery",
         prof_case(profile({"rules": {"custom": [
             {"record": "mesh:a:x", "expr": "istio_requests_total[5m]"},
             {"record": "mesh:b:x", "expr": "rate(istio_requests_total[1m])[5m:1m]"}]}})),
         fields=("rules.custom[0].expr", "rules.custom[1].expr")),
    Case("c5-string-expr", 5, "a custom recording rule whose expr is a string literal (not a vector)",
         prof_case(profile({"rules": {"custom": [{"record": "mesh:s:x", "expr": '"a string"'}]}})),
         fields=("rules.custom[0].expr",)),
    Case("c5-reserved-label-names", 5, "custom rule labels __name__ and '0team' (invalid/reserved label names)",
         prof_case(profile({"rules": {"custom": [{"record": "mesh:l:x", "expr": "sum(up)",
                                                  "labels": {"__name__": "x", "0team": "y"}}]}})),
         fields=("rules.custom[0].labels",)),
    Case("c5-empty-sets", 5, "rules.sets: [] (federates nothing)",
         prof_case(profile({"rules": {"sets": []}})), fields=("rules.sets",)),
    Case("c5-undeclared-service", 5, "an experiment naming a service that is not declared",
         prof_case(profile({"experiments": [merge(BASE["experiments"][0], {"service": "ratings"})]})),
         fields=("experiments[0].service",)),
    Case("c5-undeclared-version", 5, "an experiment whose candidate is a version the service does not declare",
         prof_case(profile({"experiments": [merge(BASE["experiments"][0], {"candidate": "v9"})]})),
         fields=("experiments[0].candidate",)),
    Case("c5-empty-baseline", 5, "an experiment with baseline ''",
         prof_case(profile({"experiments": [merge(BASE["experiments"][0], {"baseline": ""})]})),
         fields=("experiments[0].baseline",)),
    Case("c5-duplicate-patches", 5, "two rules.patches of the same generated alert",
         prof_case(profile({"rules": {"patches": [{"name": "IstioServiceHighLatencyP99", "for": "10m"},
                                                  {"name": "IstioServiceHighLatencyP99", "for": "20m"}]}})),
         fields=("rules.patches[1].name",)),
    # ---------------- 6. secrets ----------------
    Case("c6-userinfo-url", 6, "remote_write.url with user:password@ (refused, the password not echoed)",
         prof_case(profile({"remote_write": {"url": f"https://admin:{SECRET}@rw.example.com/api/v1/write",
                                             "auth": "none"}, "sysdig": {"federation": False}})),
         fields=("remote_write.url",)),
    Case("c6-query-token-url", 6, "remote_write.url with ?api_token=SECRET (a credential in the query string)",
         prof_case(profile({"remote_write": {"url": f"https://rw.example.com/api/v1/write?api_token={SECRET}",
                                             "auth": "none"}, "sysdig": {"federation": False}}),
                   cmd="validate", more=("--format", "json")),
         fields=()),
    Case("c6-token-file-as-profile", 6, "a token file (one line, KEY=VALUE) given where a profile is expected",
         lambda w: (w.write("token.txt", f"SYSDIG_API_TOKEN={SECRET}\n"),
                    ["render", "token.txt", "--out", "out"])[1], files=("token.txt",)),
    Case("c6-symlink-to-secret", 6, "profile.yaml is a symlink to a credentials file with a YAML error on the secret line",
         lambda w: (w.write("creds/secret.yaml", f"user: admin\npassword: \"{SECRET}\n"),
                    os.symlink("creds/secret.yaml", w.ws / "profile.yaml"),
                    ["render", "profile.yaml", "--out", "out"])[2]),
    Case("c6-secret-unknown-key", 6, "a profile with a misplaced token: remote_write.bearer_token: SECRET (unknown key)",
         prof_case(profile({"remote_write": {"url": "https://rw.example.com/api/v1/write", "bearer_token": SECRET},
                            "sysdig": {"federation": False}}), cmd="validate", more=("--format", "github")),
         fields=()),
    Case("c6-live-export-secrets", 6,
         "diff --live with a Secret and a prometheus.yml holding basic_auth/bearer credentials: never printed",
         live_case([*with_obj("ConfigMap", "prometheus", lambda d: set_path(d, ["data", "prometheus.yml"], d["data"]["prometheus.yml"] + "remote_write:\n- url: https://rw.example.com/w\n  basic_auth:\n" f"    username: u\n    password: {SECRET}\n  bearer_token: {SECRET}x\n")), {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "rw", "namespace": "istio-system"}, "stringData": {"token": SECRET}, "data": {"password": "U2VjcmV0"}}], output="semantic"),
         codes=(0, 1)),
    Case("c6-live-export-bad-yaml-secret", 6, "diff --live with an export whose YAML error is on the secret's line",
         live_case("apiVersion: v1\nkind: Secret\nmetadata: {name: rw, namespace: istio-system}\nstringData:\n"
                   f"  token: \"{SECRET}\n  other: x\n"), strict_format=False),
    Case("c6-live-config-secret-json", 6,
         "prometheus.live_config holding a bearer_token, validated: not printed",
         live_config(cm({"prometheus.yml": PROM_YML + f"remote_write:\n- url: https://x/w\n  bearer_token: {SECRET}\n"}),
                     cmd="validate"), codes=(0,)),
    *[Case(f"c6-live-export-secrets-{fmt}", 6,
           f"diff --live --output {fmt}: a Secret, and basic_auth/bearer credentials in prometheus.yml and dragent.yaml "
           "(the diff's context lines and values must hide them)",
           live_case(SECRET_EXPORT, output=fmt), codes=(0, 1)) for fmt in ("text", "json", "patch")],
    # ---------------- 7. unbounded recursion and work ----------------
    Case("c7-deep-extends-chain", 7, "an extends chain 1500 files deep", extends_chain(1500), timeout=10,
         fields=("extends",)),
    Case("c7-extends-cycle", 7, "extends cycle c1 -> c2 -> c3 -> ./sub/../c1 (spelled differently)", extends_cycle,
         fields=("extends",)),
    Case("c7-extends-diamond", 7, "40 levels each extending the next twice (2**40 paths unless remembered)",
         extends_diamond, codes=(0, 2), root_may_change=True, timeout=5),
    Case("c7-live-deep-json", 7, "diff --live: a JSON export nested 100,000 deep",
         live_case(nested_json(100_000), fname="live/deep.json"), files=("deep.json",)),
    Case("c7-live-alias-bomb", 7, "diff --live: a billion-laughs YAML export", live_case(ALIAS_BOMB),
         files=("export.yaml",)),
    Case("c7-live-50mb", 7, "diff --live: a 50 MB export", live_case(big_export), files=("export.yaml",),
         positioned=False, timeout=8),
    Case("c7-fifo-profile", 7, "a FIFO given as the profile (must not block)", fifo_profile, files=("profile.yaml",),
         positioned=False, timeout=4),
    Case("c7-fifo-lint", 7, "a FIFO given to lint (must not block)", fifo_lint, files=("rules.yaml",),
         positioned=False, timeout=4),
    Case("c7-fifo-extends", 7, "extends: a FIFO (must not block)", fifo_extends, fields=("extends",), timeout=4),
    Case("c7-lint-deep-json", 7, "lint: a dashboard nested 200,000 deep", lint_deep, files=("dash.json",)),
    Case("c7-lint-big-dashboard", 7, "lint: a 13 MB dashboard of 120,000 panels", lint_big_dashboard, files=("dash.json",),
         positioned=False),
    Case("c7-lint-alias-bomb", 7, "lint: a rule file with an alias bomb", lint_alias_bomb, files=("rules.yaml",)),
    Case("c7-live-config-deep", 7, "prometheus.live_config nested 100,000 deep", live_config_deep,
         files=(LC,)),
    # ---------------- 8. exported objects of the wrong shape ----------------
    Case("c8-live-data-list", 8, "diff --live: ConfigMap prometheus whose data is a list",
         live_case(with_obj("ConfigMap", "prometheus", lambda d: set_path(d, ["data"], ["prometheus.yml", "x"]))),
         files=("export.yaml",)),
    Case("c8-live-data-string", 8, "diff --live: the sysdig-agent ConfigMap whose data is a string",
         live_case(with_obj("ConfigMap", "sysdig-agent", lambda d: set_path(d, ["data"], "prometheus.yaml: x"))),
         files=("export.yaml",)),
    Case("c8-live-rule-files-string", 8, "diff --live: prometheus.yml whose rule_files is a string and global a list",
         live_case(with_obj("ConfigMap", "prometheus", lambda d: set_path(
             d, ["data", "prometheus.yml"], "global: [15s]\nrule_files: /etc/rules/*.yml\nscrape_configs: {}\n"))),
         files=("export.yaml",)),
    Case("c8-live-no-container", 8, "diff --live: the Deployment has no container named prometheus-server",
         # the container named prometheus-server (containers[1]; [0] is the config reloader) renamed
         live_case(with_obj("Deployment", "prometheus", lambda d: set_path(
             d, ["spec", "template", "spec", "containers",
                 [c["name"] for c in d["spec"]["template"]["spec"]["containers"]].index("prometheus-server"),
                 "name"], "prom"))),
         files=("export.yaml",)),
    Case("c8-live-containers-mapping", 8, "diff --live: Deployment containers is a mapping, volumes a string",
         live_case(with_obj("Deployment", "prometheus", lambda d: (
             set_path(d, ["spec", "template", "spec", "containers"], {"name": "prometheus-server"}),
             set_path(d, ["spec", "template", "spec", "volumes"], "config")))),
         files=("export.yaml",)),
    Case("c8-live-list-items-string", 8, "diff --live: a kind: List whose items is a string",
         live_case([{"apiVersion": "v1", "kind": "List", "items": "nope"}]), files=("export.yaml",)),
    Case("c8-live-config-global-list", 8, "prometheus.live_config whose prometheus.yml has global: a list",
         live_config(cm({"prometheus.yml": "global:\n  - scrape_interval: 15s\nrule_files: []\n"})),
         fields=("data",), files=(LC,)),
    Case("c8-live-config-rule-files-map", 8, "prometheus.live_config whose rule_files is a mapping",
         live_config(cm({"prometheus.yml": "global: {scrape_interval: 15s}\nrule_files: {a: b}\n"})),
         fields=("data",), files=(LC,)),
    Case("c8-live-config-data-list", 8, "prometheus.live_config: a ConfigMap whose data is a list",
         live_config(cm(["prometheus.yml"])), fields=("data",), files=(LC,)),
    Case("c8-live-config-yml-is-list", 8, "prometheus.live_config whose prometheus.yml is a YAML list",
         live_config(cm({"prometheus.yml": "- global\n- rule_files\n"})), fields=("data",),
         files=(LC,)),
    # ---------------- 9. errors across files in one run ----------------
    Case("c9-profile-and-live-config-yaml", 9, "bad prometheus.port in the profile AND a YAML error in its live_config",
         live_config("apiVersion: v1\nkind: ConfigMap\ndata: {prometheus.yml: [\n", over={"prometheus": {"port": "x"}}),
         fields=("prometheus.port",), files=(F, LC)),
    Case("c9-profile-and-base", 9, "bad prometheus.port in the profile AND two bad fields in the base it extends",
         extends_both_bad, fields=("prometheus.port", "istio.namespace", "rules.interval"), files=(F, "base.yaml")),
    Case("c9-two-bad-bases", 9, "two bases, each bad (a bad duration, a YAML error), and a bad profile field",
         extends_two_bad_bases, fields=("rules.window", "sysdig.limits.max_metrics"), files=(F, "b1.yaml", "b2.yaml")),
    Case("c9-profile-and-live-config-shape", 9, "bad rules.window in the profile AND a live_config of the wrong shape",
         live_config(cm({"prometheus.yml": "rule_files: 7\n"}), over={"rules": {"window": "5 min"}}),
         fields=("rules.window", "data"), files=(F, LC)),
    Case("c9-three-profiles", 9, "render a b c: each bad in its own way; all three reported", two_bad_profiles,
         fields=("prometheus.port", "istio.version"), files=("a.yaml", "b.yaml", "c.yaml")),
    Case("c9-profile-and-export", 9, "diff --live: bad profile field AND a broken export, one run", live_and_export_bad,
         fields=("rules.window",), files=(F, "export.yaml")),
    # ---------------- 10. git refs ----------------
    Case("c10-ref-dotdot", 10, "at REF the profile extends ../../outside.yaml (outside the repository)",
         git_case("ref-dotdot"), fields=("extends",), cwd="repo"),
    Case("c10-tree-dotdot", 10, "in the working tree the profile extends ../../outside.yaml",
         git_case("tree-dotdot"), fields=("extends",), cwd="repo"),
    Case("c10-ref-absolute", 10, "at REF the profile extends an absolute path", git_case("ref-absolute"),
         fields=("extends",), cwd="repo"),
    Case("c10-ref-symlink", 10, "at REF the base is a committed symlink to ../../outside.yaml",
         git_case("ref-symlink"), strict_format=False, cwd="repo"),
    Case("c10-tree-symlink", 10, "in the working tree the base is a symlink out of the repository",
         git_case("tree-symlink"), fields=("extends",), cwd="repo"),
    Case("c10-ref-live-config", 10, "at REF prometheus.live_config is ../../outside-cm.yaml",
         git_case("ref-live-config"), fields=("prometheus.live_config",), cwd="repo"),
    Case("c10-ref-dir-symlink", 10, "at REF a folder on the way (profiles/shared) is a symlink out of the repository",
         git_case("ref-dir-symlink"), strict_format=False, cwd="repo"),
    # ---------------- 11. signals ----------------
    Case("c11-sigint-startup", 11, "SIGINT 10-300 ms after start of a render into an existing tree",
         lambda w: [], custom=sig_startup),
    Case("c11-sigint-startup-interpreter", 11,
         "SIGINT 10-60 ms after start: the interpreter is still importing site (the editable install's .pth "
         "imports pathlib): the user still sees a traceback; only the launcher can make this quiet",
         lambda w: [], custom=sig_startup_interpreter),
    Case("c11-sigint-big-render", 11, "SIGINT during a 600-service render into an existing tree",
         lambda w: [], custom=sig_big_render),
    Case("c11-sigint-lock-wait", 11, "SIGINT while waiting for another run's lock on the output root",
         lambda w: [], custom=sig_lock_wait),
    Case("c11-sigint-diff-live", 11, "SIGINT while diff --live reads a 1.5 MB export", lambda w: [], custom=sig_diff_live),
    Case("c11-sigint-render-all", 11, "SIGINT during render --all of four big profiles into existing trees",
         lambda w: [], custom=sig_all),
    # ---------------- 12. output-format abuse ----------------
    Case("c12-lint-github-record-newline", 12, "lint --format github: a record name carrying \\n::error ... and %0A",
         lint_rules_fmt(NASTY, "github"), codes=(1,), extra=check_github),
    Case("c12-lint-github-filename", 12, "lint --format github: a file named with ',' and '::' (properties escaping)",
         lint_rules_fmt("bad name", "github", fname=f"bundle/a,line=9::error file={INJECT}::x.yaml"), codes=(1,),
         extra=check_github),
    Case("c12-lint-json", 12, "lint --format json: names with quotes, \\u2028, ESC and newlines",
         lint_rules_fmt('a"b\u2028c\x1b[0m\nd', "json", fname="bundle/j.yaml"), codes=(1,), extra=check_json),
    Case("c12-validate-github", 12, "validate --format github: a service name and namespace carrying workflow commands",
         prof_case(profile({"services": [{"name": NASTY, "namespace": "bookinfo\n::error::" + INJECT,
                                          "versions": ["v1", "v2"]}]}), cmd="validate", more=("--format", "github")),
         extra=check_github),
    Case("c12-validate-json", 12, "validate --format json: values with ESC, newline and quotes",
         prof_case(profile({"services": [{"name": "a\x1b[31m\"\n", "namespace": "bookinfo", "versions": ["v1", "v2"]}]}),
                   cmd="validate", more=("--format", "json")), extra=check_json),
    Case("c12-render-github", 12, "render --format github: an experiment name with \\r\\n::error",
         prof_case(profile({"experiments": [merge(BASE["experiments"][0], {"name": NASTY})]}),
                   more=("--format", "github")), extra=check_github),
    Case("c12-diff-github-tree", 12, "diff --output github against a tampered tree holding injected values",
         diff_tampered_tree("github"), codes=(1,), extra=check_github),
    Case("c12-diff-json-tree", 12, "diff --output json against a tampered tree holding ESC and newlines",
         diff_tampered_tree("json"), codes=(1,), extra=check_json),
    Case("c12-github-output-dir-commas", 12,
         "diff --output github: an output.dir with ',' and '::' reaches the file= property (or is refused)",
         prof_case(profile({"output": {"dir": f"x,line=1::error file={INJECT}.yaml::{INJECT}"}}), cmd="diff",
                   more=("--out", "out", "--output", "github")), codes=(0, 1, 2), root_may_change=False,
         extra=check_github),
    Case("c12-validate-github-filename-newline", 12,
         "validate --format github on a bad profile whose file name holds a newline and a workflow command",
         prof_case(profile({"prometheus": {"port": 0}}), cmd="validate",
                   name=f"p\n::error file={INJECT}.yaml::{INJECT}.yaml", more=("--format", "github")),
         extra=check_github),
    Case("c12-lint-json-filename-newline", 12, "lint --format json on a bundle file whose name holds a newline",
         lint_rules_fmt("bad name", "json", fname="bundle/r\n::error::x.yaml"), codes=(1,), extra=check_json),
    Case("c12-diff-live-github", 12, "diff --live --output github: a live ConfigMap key and annotation with commands",
         live_nasty("github"), codes=(1,), extra=check_github),
]


# A SIGINT that lands while CPython itself is still importing ``site`` (before the first line of istiogen
# runs: the editable install's .pth imports pathlib) prints CPython's "Fatal Python error: init_import_site"
# traceback. No code of istiogen can run that early; only a non-Python launcher could block the signal.
# Timing-dependent, so not strict: it passes when every signal lands after start-up.
KNOWN_LIMITS = {"c11-sigint-startup-interpreter": "SIGINT during CPython's own site import, before any istiogen code"}


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(reason=KNOWN_LIMITS[c.id])]
                                               if c.id in KNOWN_LIMITS else []) for c in CASES])
def test_round2(case: Case, tmp_path: Path, good_tree: Path) -> None:
    w = make_ws(tmp_path, good_tree)
    run_case(case, w)


def test_round2_has_four_cases_per_class() -> None:
    per: dict[int, int] = {}
    for c in CASES:
        per[c.cls] = per.get(c.cls, 0) + 1
    assert all(per.get(k, 0) >= 4 for k in range(1, 13)), per
    assert len({c.id for c in CASES}) == len(CASES)
