"""What a render step sees: the resolved profile, the signal model, and the artifacts rendered before it.

Each renderer module exposes ``artifacts(ctx) -> list[Artifact]`` (a step); the render
stage (:func:`istiogen.render.render`) runs the steps in the order the registry gives
(:data:`istiogen.registry.RENDER_STEPS`).  A step decides for itself whether it applies
(a delivery mode, an optional feature) and returns nothing when it does not.  Later
steps read earlier ones through the context: the ConfigMap step reads the rule files'
text, the Deployment patch the checksum of the ConfigMap and the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from istiogen.problems import Problem
from istiogen.registry import Artifact

if TYPE_CHECKING:
    from istiogen.profile.resolve import Resolved
    from istiogen.render.estimate import Estimate
    from istiogen.render.model import SignalModel


@dataclass
class Context:
    r: Resolved
    model: SignalModel
    estimate: Estimate
    artifacts: list[Artifact] = field(default_factory=list)  # every artifact so far, in the order rendered
    by_step: dict[str, list[Artifact]] = field(default_factory=dict)  # step -> the artifacts it returned
    serialised: dict[str, bytes] = field(default_factory=dict)  # path -> bytes, for every artifact read as text
    rule_files: list[str] = field(default_factory=list)  # where Prometheus reads the rule files (mounted modes)
    warnings: list[Problem] = field(default_factory=list)

    def text(self, a: Artifact) -> bytes:
        """The artifact's bytes, as the pipeline will write them (serialised once, however often read)."""
        from istiogen.serial import serialize

        if a.path not in self.serialised:
            self.serialised[a.path] = serialize(a, self.r.name)
        return self.serialised[a.path]

    def of_kind(self, *kinds: str) -> list[Artifact]:
        return [a for a in self.artifacts if a.kind in kinds]

    def of_step(self, step: str) -> list[Artifact]:
        return list(self.by_step.get(step, []))
