"""Grafana dashboard JSON (schema 39) from a neutral dashboard description.

The JSON follows Grafana's published types (``@grafana/schema`` 11.0: the dashboard, and the
timeseries and stat panel options), which the tests check with the TypeScript compiler.

The data source is a ``${datasource}`` variable of type prometheus (chosen on
import); template variables list their values with ``label_values`` over a
federated record.  Nothing varies between renders: the uid derives from the
profile and dashboard names, panel ids count up in layout order, ``id`` is null.
"""

from __future__ import annotations

import hashlib
from typing import Any

from istiogen.render import promql as q
from istiogen.render.dashboards.spec import Dashboard, Panel, PanelKind, Target, Variable, layout

SCHEMA_VERSION = 39
DATASOURCE: dict[str, str] = {"type": "prometheus", "uid": "${datasource}"}
HEIGHTS: dict[PanelKind, int] = {"timeseries": 8, "stat": 4, "text": 7}
ROW_HEIGHT = 1
UID_MAX = 40

UNITS = {
    "reqps": "reqps",
    "ratio": "percentunit",
    "ms": "ms",
    "s": "s",
    "bytes": "bytes",
    "Bps": "Bps",
    "cps": "cps",
    "count": "short",
    "ops": "ops",
    "factor": "none",
}


def uid(profile: str, name: str) -> str:
    """``<profile>-<name>``, or a prefix and a hash of it when that is longer than Grafana allows."""
    full = f"{profile}-{name}"
    if len(full) <= UID_MAX:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{full[: UID_MAX - 9].rstrip('-')}-{digest}"


def variable(v: Variable) -> dict[str, Any]:
    source = q.selector(v.record, [(p.label, "=~", f"${p.name}") for p in v.parents])
    query = f"label_values({source}, {v.label})"
    return {
        "name": v.name,
        "label": v.title,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery", "qryType": 1},
        "refresh": 2,
        "includeAll": True,
        "allValue": ".*",
        "multi": True,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
        "regex": "",
        "sort": 1,
        "hide": 0,
        "skipUrlSync": False,
    }


def datasource_variable() -> dict[str, Any]:
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "options": [],
        "regex": "",
        "refresh": 1,
        "includeAll": False,
        "multi": False,
        "hide": 0,
        "skipUrlSync": False,
    }


def target(t: Target, ref: str) -> dict[str, Any]:
    return {
        "datasource": DATASOURCE,
        "refId": ref,
        "expr": t.expr,
        "legendFormat": t.legend,
        "range": True,
        "instant": False,
        "editorMode": "code",
    }


def field_config(p: Panel) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": UNITS[p.unit], "min": 0}
    if p.unit == "ratio":
        defaults["max"] = 1
    if p.unit == "factor":
        defaults["decimals"] = 2
    if p.kind == "timeseries":
        defaults["color"] = {"mode": "palette-classic"}
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10,
            "showPoints": "never",
            "spanNulls": False,
            "axisSoftMin": 0,
        }
    else:
        defaults["color"] = {"mode": "thresholds"}
        defaults["thresholds"] = {"mode": "absolute", "steps": [{"color": "green", "value": None}]}
    return {"defaults": defaults, "overrides": []}


def options(p: Panel) -> dict[str, Any]:
    if p.kind == "stat":
        return {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "orientation": "auto",
            "textMode": "auto",
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "showPercentChange": False,
            "wideLayout": True,
        }
    return {
        "legend": {"displayMode": "table", "placement": "bottom", "showLegend": True, "calcs": ["lastNotNull", "max"]},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }


def panel(p: Panel, pid: int, grid: dict[str, int]) -> dict[str, Any]:
    if p.kind == "text":
        return {"id": pid, "type": "text", "title": p.title, "description": p.description, "gridPos": grid,
                "fieldConfig": {"defaults": {}, "overrides": []},
                "options": {"mode": "markdown", "content": p.content}}
    refs = [chr(ord("A") + i) for i in range(len(p.targets))]
    return {
        "id": pid,
        "type": p.kind,
        "title": p.title,
        "description": p.description,
        "datasource": DATASOURCE,
        "gridPos": grid,
        "fieldConfig": field_config(p),
        "options": options(p),
        "targets": [target(t, ref) for t, ref in zip(p.targets, refs, strict=True)],
    }


def dashboard(d: Dashboard, profile: str) -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    for pid, placed in enumerate(layout(d, HEIGHTS, ROW_HEIGHT), 1):
        grid = {"h": placed.h, "w": placed.w, "x": placed.x, "y": placed.y}
        if placed.panel is None:
            panels.append({"id": pid, "type": "row", "title": placed.section.title, "collapsed": False,
                           "gridPos": grid, "panels": []})
        else:
            panels.append(panel(placed.panel, pid, grid))
    return {
        "id": None,
        "uid": uid(profile, d.name),
        "title": d.title,
        "description": d.description,
        "tags": list(d.tags),
        "editable": True,
        "graphTooltip": 1,
        "timezone": "browser",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "1m",
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "links": [],
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "templating": {"list": [datasource_variable(), *(variable(v) for v in d.variables)]},
        "panels": panels,
    }
