"""The artifact registry is the one vocabulary: every rendered file is where its kind says, made by the
step its kind names; every kind and step is used; a kind added to the registry with its renderer is
rendered, indexed and written with its mode, touching nothing else."""

from __future__ import annotations

import importlib
import json
import stat
from pathlib import Path

import pytest

from istiogen import registry
from istiogen.pipeline import Rendered, render
from istiogen.registry import KINDS, RENDER_STEPS, Artifact, Kind, kind_at
from istiogen.render.context import Context
from tests.conftest import load


def test_every_rendered_file_is_where_its_kind_says(examples_rendered: dict[str, Rendered], tmp_path: Path) -> None:
    from tests.render.test_prometheus_side import ADDONS, flavour_profile

    (tmp_path / "live.yaml").write_text((ADDONS / "istioctl-1.5-configmap.yaml").read_text())
    live = flavour_profile(tmp_path, "istioctl-1.5", "  live_config: live.yaml")  # the live-ConfigMap kinds
    seen_kinds: set[str] = set()
    for x in [*examples_rendered.values(), live]:
        for a in x.artifacts:
            found = kind_at(a.path)
            assert found is not None and found.name == a.kind, (x.name, a.path, a.kind)
            seen_kinds.add(a.kind)
    # the example profiles and a live ConfigMap between them render every kind
    assert seen_kinds == set(KINDS)


def test_every_step_is_a_module_with_a_step_and_every_kind_names_steps() -> None:
    for step in RENDER_STEPS:
        assert callable(importlib.import_module(f"istiogen.render.{step}").artifacts), step
    named = {s for k in KINDS.values() for s in k.renderers}
    assert named == set(RENDER_STEPS)
    assert len(set(RENDER_STEPS)) == len(RENDER_STEPS)


def test_a_step_making_a_kind_the_registry_does_not_give_it_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from istiogen.render import queries

    def wrong(ctx: Context) -> list[Artifact]:
        return [Artifact("queries.yaml", "readme", {}, "yaml")]

    monkeypatch.setattr(queries, "artifacts", wrong)
    with pytest.raises(AssertionError, match=r"render step queries made queries\.yaml of kind 'readme'"):
        render(load(None))


STEP = '''
from istiogen.registry import Artifact


def artifacts(ctx):
    return [Artifact("extra/run-me.sh", "extra-script", {"profile": ctx.r.name}, "json", "an added kind")]
'''


def test_a_kind_added_to_the_registry_and_its_renderer_is_rendered_indexed_and_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What adding a kind takes: one registry entry (here patched in) and a renderer module."""
    from istiogen.emit.writer import write_tree

    step_file = Path(registry.__file__).parent / "render" / "_added_kind_step.py"
    step_file.write_text(STEP, encoding="utf-8")
    try:
        kind = Kind("extra-script", "a kind added by a test", ("extra/*.sh",), ("_added_kind_step",), mode=0o755,
                    live="manifest")
        monkeypatch.setattr(registry, "_KINDS", (*registry._KINDS, kind))
        monkeypatch.setitem(registry.KINDS, kind.name, kind)
        monkeypatch.setattr(registry, "RENDER_STEPS", (*RENDER_STEPS, "_added_kind_step"))
        import istiogen.render as render_stage

        monkeypatch.setattr(render_stage, "RENDER_STEPS", registry.RENDER_STEPS)
        x = render(load(None))
        assert json.loads(x.files["extra/run-me.sh"]) == {"profile": x.name}
        listed = {a["path"]: a["kind"] for a in json.loads(x.files["index.json"])["artifacts"]}
        assert listed["extra/run-me.sh"] == "extra-script"
        write_tree(tmp_path, "t", x.files)
        assert stat.S_IMODE((tmp_path / "t" / "extra" / "run-me.sh").stat().st_mode) == 0o755
        assert "extra-script" in registry.kinds_with(live="manifest")
    finally:
        step_file.unlink()
