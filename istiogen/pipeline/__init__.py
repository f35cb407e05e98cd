"""The pipeline: render a resolved profile, then serialise, checksum and index the artifacts.

``render`` runs the render stage (:mod:`istiogen.render`, which returns data) and
then this stage: every artifact serialised once (:mod:`istiogen.serial`), in path
order, its sha256 and kind listed in ``index.json`` (:mod:`.index`).  Writing
(:mod:`istiogen.emit`) and diffing (:mod:`istiogen.diff`) consume the
:class:`Rendered` tree it returns; neither renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from istiogen.problems import Problem
from istiogen.registry import INDEX, Artifact

if TYPE_CHECKING:
    from istiogen.profile.resolve import Resolved
    from istiogen.render.estimate import Estimate
    from istiogen.render.model import SignalModel


@dataclass
class Rendered:
    resolved: Resolved
    model: SignalModel
    artifacts: list[Artifact]
    files: dict[str, bytes]  # relative path -> content, index.json included
    warnings: list[Problem] = field(default_factory=list)
    estimate: Estimate | None = None  # the series the Sysdig agent federates

    @property
    def name(self) -> str:
        return self.resolved.name


def render(r: Resolved) -> Rendered:
    """The tree of files a resolved profile renders to, in memory."""
    from istiogen.render import render as render_stage

    out = render_stage(r)
    return Rendered(r, out.model, out.artifacts, assemble(r, out.artifacts, out.serialised), out.warnings,
                    out.estimate)


def assemble(r: Resolved, artifacts: list[Artifact], serialised: dict[str, bytes]) -> dict[str, bytes]:
    """Every artifact's bytes by path (each serialised once; ``serialised`` holds those already done), and
    ``index.json`` listing them."""
    from istiogen.pipeline.index import index, input_digest
    from istiogen.serial import json_text, serialize

    files = {a.path: serialised[a.path] if a.path in serialised else serialize(a, r.name)
             for a in sorted(artifacts, key=lambda a: a.path)}
    if len(files) != len(artifacts) or INDEX in files:
        raise AssertionError("two artifacts share a path, or one is named index.json")
    idx = index(r.name, r.source, [(a.path, a.kind, files[a.path]) for a in artifacts], input_digest(r))
    files[INDEX] = json_text(idx).encode()
    return files
