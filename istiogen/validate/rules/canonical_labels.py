"""``rules.version_labels: canonical`` on a release without canonical service labels.

The canonical service labels (``destination_canonical_service``/``_revision``) exist from Istio 1.5: on an
older release every rule reading them would select nothing."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "canonical-labels"


def check(ctx: Context) -> Iterator[Problem]:
    if ctx.profile.rules.version_labels == "canonical" and not ctx.tel.has_canonical:
        yield ctx.error(ID, ("rules", "version_labels"), "canonical service labels need Istio 1.5 or later "
                        f"(this is {ctx.release.version})", "use version_labels: app")
