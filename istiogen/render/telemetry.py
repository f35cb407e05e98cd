"""An Istio Telemetry resource removing chosen high-cardinality labels at the source (Istio 1.12+)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from istiogen.profile.resolve import Resolved
from istiogen.registry import Artifact

if TYPE_CHECKING:
    from istiogen.render.context import Context

PATH = "istio/telemetry.yaml"


def api_version(r: Resolved) -> str:
    return "telemetry.istio.io/v1" if r.release.minor >= 22 else "telemetry.istio.io/v1alpha1"


def telemetry(r: Resolved) -> dict[str, Any]:
    t = r.profile.istio.telemetry
    assert t is not None
    by_metrics: dict[tuple[str, ...], list[str]] = {}
    for rm in t.remove_labels:
        by_metrics.setdefault(tuple(sorted(rm.metrics)), []).append(rm.label)
    overrides = []
    for metrics, labels in sorted(by_metrics.items()):
        for metric in metrics:
            overrides.append({
                "match": {"metric": metric, "mode": "CLIENT_AND_SERVER"},
                "tagOverrides": {label: {"operation": "REMOVE"} for label in sorted(labels)},
            })
    return {
        "apiVersion": api_version(r),
        "kind": "Telemetry",
        "metadata": {"name": t.name, "namespace": r.profile.istio.namespace},
        "spec": {"metrics": [{"providers": [{"name": "prometheus"}], "overrides": overrides}]},
    }


def render(r: Resolved) -> Artifact:
    return Artifact(PATH, "istio-telemetry", telemetry(r), "yaml",
                    "Telemetry resource removing labels at the source (mesh-wide in the Istio namespace)")


def artifacts(ctx: Context) -> list[Artifact]:
    return [render(ctx.r)] if ctx.r.profile.istio.telemetry is not None else []
