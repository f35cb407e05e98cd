"""The engine as functions (what :mod:`istiogen.api` calls)."""

from __future__ import annotations

from pathlib import Path

import pytest

from istiogen.diff import diff_live, diff_rendered, formats
from istiogen.pipeline import render
from istiogen.validate import load
from tests.diff.conftest import FIXTURES


def test_diff_rendered_and_diff_live(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workspace)
    rendered = render(load(Path("profiles/p.yaml")))
    res = diff_rendered(rendered, "output")
    assert not res.differs and res.summary.line() == "0 to add, 0 to change, 0 to remove"
    (workspace / "output/p/queries.yaml").unlink()
    res = diff_rendered([rendered], Path("output"))
    assert res.differs and res.summary.add == 1
    assert not diff_rendered(rendered, "output", ignore=["queries.yaml::*"]).differs
    live = diff_live(rendered, FIXTURES / "live-1.5")
    assert {o.label for o in live.objects} == {
        "Deployment istio-system/prometheus", "ConfigMap istio-system/prometheus", "ConfigMap istio-system/rules"}
    assert "Plan: 1 to add, 2 to change, 0 to remove." in formats.text(live)
