"""The render stage: a validated, resolved profile in, artifacts (data) out.

Each artifact comes from its own module as data; this module runs them in order
and lets later artifacts depend on earlier ones (the ConfigMap holds the rule
files, the Deployment patch carries their checksum).  Embedded documents are
serialised with :mod:`istiogen.serial`, the leaf serialiser (see
:mod:`istiogen.registry`); the texts serialised that way are handed on, so that
the pipeline (:mod:`istiogen.pipeline`) does not serialise them twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from istiogen.problems import Problem
from istiogen.profile.resolve import Resolved
from istiogen.registry import KINDS, RENDER_STEPS, Artifact
from istiogen.render.context import Context
from istiogen.render.estimate import Estimate
from istiogen.render.model import SignalModel


@dataclass
class Rendering:
    model: SignalModel
    artifacts: list[Artifact]  # ordered by path
    serialised: dict[str, bytes]  # path -> the bytes of the artifacts already serialised as embedded documents
    warnings: list[Problem] = field(default_factory=list)
    estimate: Estimate | None = None  # the series the Sysdig agent federates


def render(r: Resolved) -> Rendering:
    """Every artifact of the profile: the steps of :data:`istiogen.registry.RENDER_STEPS`, in order."""
    import importlib

    from istiogen.render import estimate
    from istiogen.render.build import build

    model = build(r)
    est = estimate.estimate(r, model)
    ctx = Context(r, model, est)
    for step in RENDER_STEPS:
        made: list[Artifact] = importlib.import_module(f"istiogen.render.{step}").artifacts(ctx)
        for a in made:
            if a.kind not in KINDS or step not in KINDS[a.kind].renderers:
                raise AssertionError(f"render step {step} made {a.path} of kind {a.kind!r}, which the registry "
                                     "does not give to that step")
        ctx.by_step[step] = made
        ctx.artifacts += made
    arts = sorted(ctx.artifacts, key=lambda a: a.path)
    return Rendering(model, arts, ctx.serialised,
                     [*r.warnings, *model.warnings, *ctx.warnings, *estimate.problems(r, est)], est)

