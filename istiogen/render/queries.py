"""``queries.yaml``: the query catalog, PromQL over the *federated* series for every signal × scope.

Dashboards and alerts are built from these entries; the lint checks every
query against what the federation delivers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from istiogen.catalog import signals as sigcat
from istiogen.registry import Artifact
from istiogen.render import dataplane
from istiogen.render.dataplane import Planes
from istiogen.render.model import SignalModel

if TYPE_CHECKING:
    from istiogen.render.context import Context

PATH = "queries.yaml"


def catalog(model: SignalModel, planes: Planes | None = None) -> dict[str, Any]:
    ambient = planes is not None and planes.ambient
    signals: dict[str, Any] = {}
    for sig in sigcat.SIGNALS:
        entries = [x for x in model.queries if x.signal == sig.id]
        if not entries:
            continue
        unit = entries[0].unit
        signals[sig.id] = {
            "title": sig.title,
            "unit": unit,
            **({"quantile": sig.quantile} if sig.quantile is not None else {}),
            **({"description": sig.description} if sig.description else {}),
            **({"data_planes": list(sig.planes)} if ambient and sig.planes else {}),
            "scopes": {
                x.scope: {"by": list(x.labels), "query": x.expr, "uses": list(x.uses)}
                for x in entries
            },
        }
    return {
        "apiVersion": "istiogen.io/v1",
        "kind": "QueryCatalog",
        "federation": {
            "label": dict(model.federation_label),
            "match": model.match_selectors(),
        },
        "window": model.window,
        "evaluation_interval": model.interval,
        "scrape_interval": model.scrape_interval,
        "scopes": {k: list(v) for k, v in model.scope_labels.items()},
        "signals": signals,
        **({"data_planes": data_planes(model, planes)} if planes is not None and planes.ambient else {}),
    }


CLASS_TEXT = {
    "sidecar": "sidecar: L7 and L4 from the pods' own Envoy",
    "waypoint": "ambient behind a waypoint: L7 from the waypoint (and the sidecar callers that bypass it); "
                "no L4 series of its own",
    "ambient": "ambient without a waypoint: L4 only (ztunnel): no request rate, errors or latency",
}


def data_planes(model: SignalModel, planes: Planes) -> dict[str, Any]:
    """Which data plane each listed namespace and service has, and which signals answer for it."""
    have = {x.signal for x in model.queries}

    def answers(cls: str) -> list[str]:
        return [s.id for s in sigcat.SIGNALS if cls in s.planes and s.id in have]

    entries = []
    for e in planes.entries:
        entries.append({"namespace": e.namespace, **({"service": e.service} if e.service else {}), "class": e.cls,
                        **({"waypoint": "/".join(e.waypoint)} if e.waypoint else {}),
                        **({"ingress_through_waypoint": True} if e.ingress_through_waypoint else {}),
                        "signals": answers(e.cls)})
    return {"default": planes.default, "default_signals": answers(planes.default),
            "classes": CLASS_TEXT, "entries": entries}


def render(model: SignalModel, planes: Planes | None = None) -> Artifact:
    return Artifact(PATH, "query-catalog", catalog(model, planes), "yaml",
                    f"{len(model.queries)} PromQL queries over the federated series, by signal and scope")


def artifacts(ctx: Context) -> list[Artifact]:
    return [render(ctx.model, dataplane.planes(ctx.r.profile))]
