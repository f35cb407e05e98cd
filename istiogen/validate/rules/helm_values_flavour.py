"""``prometheus.delivery: helm-values`` for a flavour that is not the prometheus-community Helm chart.

The values written are the chart's (``serverFiles``): another installation would not read them."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "helm-values-flavour"


def check(ctx: Context) -> Iterator[Problem]:
    fl = ctx.flavour
    if ctx.delivery == "helm-values" and not fl.name.startswith("samples-"):
        yield ctx.error(ID, ("prometheus", "delivery"), f"flavour {fl.name} is not the prometheus-community Helm "
                        "chart", "use delivery: mount, or a samples-* flavour")
