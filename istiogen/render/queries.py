"""``queries.yaml``: the query catalog, PromQL over the *federated* series for every signal × scope.

Dashboards and alerts are built from these entries; the lint checks every
query against what the federation delivers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from istiogen.catalog import signals as sigcat
from istiogen.registry import Artifact
from istiogen.render.model import SignalModel

if TYPE_CHECKING:
    from istiogen.render.context import Context

PATH = "queries.yaml"


def catalog(model: SignalModel) -> dict[str, Any]:
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
    }


def render(model: SignalModel) -> Artifact:
    return Artifact(PATH, "query-catalog", catalog(model), "yaml",
                    f"{len(model.queries)} PromQL queries over the federated series, by signal and scope")


def artifacts(ctx: Context) -> list[Artifact]:
    return [render(ctx.model)]
