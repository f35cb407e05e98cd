"""Prometheus rule files (recording rules, alerts) from the signal model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from istiogen.registry import Artifact
from istiogen.render.model import SignalModel

if TYPE_CHECKING:
    from istiogen.render.context import Context


def rules_data(model: SignalModel) -> dict[str, Any]:
    return {
        "groups": [
            {
                "name": g.name,
                "interval": g.interval,
                "rules": [{"record": r.record, "expr": r.expr, **({"labels": dict(r.labels)} if r.labels else {})}
                          for r in g.rules],
            }
            for g in model.rule_groups
        ]
    }


def alerts_data(model: SignalModel) -> dict[str, Any]:
    groups = []
    for g in model.alert_groups:
        alerts = []
        for a in g.alerts:
            alerts.append(
                {"alert": a.name, "expr": a.expr, "for": a.for_, "labels": dict(a.labels),
                 "annotations": dict(a.annotations)}
            )
        groups.append({"name": g.name, "interval": g.interval, "rules": alerts})
    return {"groups": groups}


RULES_PATH = "prometheus/rules.yaml"
ALERTS_PATH = "prometheus/alerts.yaml"


def render(model: SignalModel) -> list[Artifact]:
    out = [
        Artifact(RULES_PATH, "prometheus-rules", rules_data(model), "yaml",
                 f"{len(model.rules)} recording rules in {len(model.rule_groups)} groups"),
    ]
    if model.alert_groups:
        out.append(
            Artifact(ALERTS_PATH, "prometheus-alerts", alerts_data(model), "yaml",
                     f"{len(model.alerts)} alerting rules over federated series")
        )
    return out


def artifacts(ctx: Context) -> list[Artifact]:
    return render(ctx.model)
