"""The bad-input corpus: every case exits 2 with exact messages, writes nothing, and leaves the previous tree.

Each case is a profile under ``cases/`` (its exact bytes), or, for bytes that are awkward to keep in
git (non-UTF-8, UTF-16, control characters, a 3 MiB file), a ``generate`` spec in ``expected.yaml``.
``expected.yaml`` holds, for every case, the exact problem lines ``istiogen render`` prints
(``{file}`` stands for the case's file name), and optionally ``files`` (other files the case
references, by path relative to it: bases it extends, a live_config export, a file outside its
folder), ``secrets`` (strings that must appear on no output stream) and ``seconds`` (the time
bound, 10 by default). Each case is rendered through the real CLI into an
output root that already holds a good render of a profile with the same name, and the whole temp
folder is compared before and after: contents, permission bits and modification times.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.corpus.common import copy_tree, differences, snapshot

HERE = Path(__file__).parent
CASES = HERE / "cases"
EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load((HERE / "expected.yaml").read_text(encoding="utf-8"))


def case_bytes(name: str) -> bytes:
    spec = EXPECTED[name].get("generate")
    if spec is None:
        return (CASES / f"{name}.yaml").read_bytes()
    data = spec["text"].encode(spec.get("encoding", "utf-8"))
    pad = spec.get("pad")
    if pad:
        line = pad["line"].encode()
        data += line * (-(-(pad["to_bytes"] - len(data)) // len(line)))
    return data


def params() -> list[Any]:
    out = []
    for name, spec in EXPECTED.items():
        marks = [pytest.mark.xfail(strict=True, reason=spec["xfail"])] if "xfail" in spec else []
        out.append(pytest.param(name, marks=marks, id=name))
    return out


def test_every_case_file_has_an_expectation_and_the_corpus_covers_enough() -> None:
    files = {p.stem for p in CASES.glob("*.yaml")}
    generated = {n for n, spec in EXPECTED.items() if "generate" in spec}
    assert files | generated == set(EXPECTED), "cases/ and expected.yaml disagree"
    assert not files & generated
    assert len(EXPECTED) >= 60
    for name, spec in EXPECTED.items():
        assert spec.get("about"), f"{name}: say what the case is about"
        assert spec["errors"], f"{name}: a case must expect at least one error"


@pytest.mark.parametrize("name", params())
def test_bad_input(name: str, tmp_path: Path, cli: Any, previous_render: Path) -> None:
    spec = EXPECTED[name]
    work = tmp_path / "work"
    work.mkdir()
    case = work / f"{name}.yaml"
    case.write_bytes(case_bytes(name))
    for rel, text in (spec.get("files") or {}).items():  # files the case references (extends, live_config)
        extra = work / rel
        extra.parent.mkdir(parents=True, exist_ok=True)
        extra.write_text(text, encoding="utf-8")
    copy_tree(previous_render, work / "out")
    before = snapshot(tmp_path)

    t0 = time.monotonic()
    res = cli("render", case.name, "--out", "out", cwd=work)
    assert time.monotonic() - t0 < spec.get("seconds", 10), "no answer in seconds"

    expected = [line.replace("{file}", case.name) for line in spec["errors"]]
    n = sum(1 for line in expected if ": error: " in line)
    assert res.err.splitlines() == [*expected, f"istiogen: {n} error(s); nothing written"]
    assert res.code == 2
    assert res.out == ""
    assert differences(before, snapshot(tmp_path)) == []
    for secret in spec.get("secrets", []):  # never printed, in any stream
        assert secret not in res.err and secret not in res.out
