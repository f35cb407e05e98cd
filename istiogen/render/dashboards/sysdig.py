"""Sysdig Monitor dashboard JSON (schema 3, PromQL panels) from a neutral dashboard description.

Panels are ``advancedTimechart`` (time series) and ``advancedNumber`` (stat, one
query), section headers ``text`` panels; positions live in ``layout`` on the
same 24-column grid.  Dashboard variables become scope variables
(``scopeExpressionList``); Sysdig substitutes ``$name`` with a quoted value, so
the neutral ``label=~"$name"`` matchers are written ``label=~$name`` here.
"""

from __future__ import annotations

import re
from typing import Any

from istiogen.render.dashboards.spec import Dashboard, Panel, PanelKind, Target, Variable, layout

SCHEMA = 3
HEIGHTS: dict[PanelKind, int] = {"timeseries": 6, "stat": 3, "text": 5}
HEADER_HEIGHT = 1

# neutral unit -> (Sysdig format unit, input format)
FORMATS: dict[str, tuple[str, str]] = {
    "reqps": ("numberRate", "/s"),
    "cps": ("numberRate", "/s"),
    "ops": ("numberRate", "/s"),
    "ratio": ("%", "0-1"),
    "ms": ("relativeTime", "ms"),
    "s": ("relativeTime", "s"),
    "bytes": ("byte", "B"),
    "Bps": ("byteRate", "B/s"),
    "count": ("number", "1"),
    "factor": ("number", "1"),
}


def unquote_variables(expr: str, variables: tuple[Variable, ...]) -> str:
    """``label=~"$name"`` -> ``label=~$name`` for the dashboard's scope variables."""
    if not variables:
        return expr
    names = "|".join(re.escape(v.name) for v in variables)
    return re.sub(r'"\$(' + names + r')"', r"$\1", expr)


def scope_expression(v: Variable) -> dict[str, Any]:
    return {
        "operand": v.label,
        "operator": "in",
        "value": [],
        "displayName": v.name,
        "isVariable": True,
        "variable": True,
        "descriptor": {
            "id": v.label,
            "publicId": v.label,
            "documentId": v.label,
            "name": v.label,
            "description": v.title,
            "type": "string",
            "metricType": "tag",
            "documentType": "metric",
            "canFilter": True,
            "canGroupBy": True,
        },
    }


def fmt(unit: str) -> dict[str, Any]:
    name, input_format = FORMATS[unit]
    return {
        "unit": name,
        "inputFormat": input_format,
        "displayFormat": "auto",
        "decimals": 2 if unit == "factor" else None,
        "yAxis": "auto",
        "nullValueDisplayMode": "nullGap",
    }


def query(t: Target, p: Panel, variables: tuple[Variable, ...]) -> dict[str, Any]:
    return {
        "query": unquote_variables(t.expr, variables),
        "enabled": True,
        "displayInfo": {
            "displayName": p.title if len(p.targets) == 1 else t.name,
            "timeSeriesDisplayNameTemplate": t.legend,
            "type": "lines",
        },
        "format": fmt(p.unit),
    }


def _axis(input_format: str, enabled: bool) -> dict[str, Any]:
    return {
        "enabled": enabled,
        "displayName": None,
        "unit": "auto",
        "displayFormat": "auto",
        "decimals": None,
        "minValue": 0,
        "maxValue": None,
        "minInputFormat": input_format,
        "maxInputFormat": input_format,
        "scale": "linear",
    }


def panel(p: Panel, pid: int, variables: tuple[Variable, ...]) -> dict[str, Any]:
    if p.kind == "text":
        return {"id": pid, "name": p.title, "description": p.description, "type": "text",
                "markdownSource": p.content, "panelTitleVisible": True, "textAutosized": False,
                "transparentBackground": False}
    out: dict[str, Any] = {
        "id": pid,
        "name": p.title,
        "description": p.description,
        "type": "advancedTimechart" if p.kind == "timeseries" else "advancedNumber",
        "advancedQueries": [query(t, p, variables) for t in p.targets],
    }
    if p.kind == "timeseries":
        _, input_format = FORMATS[p.unit]
        out["legendConfiguration"] = {
            "enabled": True, "position": "bottom", "layout": "table", "showCurrent": True,
            "width": None, "height": None,
        }
        out["axesConfiguration"] = {
            "bottom": {"enabled": True},
            "left": _axis(input_format, True),
            "right": _axis(input_format, False),
        }
    else:
        out["numberThresholds"] = {"base": {"displayText": "", "severity": "none"}, "values": []}
        out["nullValueDisplayText"] = None
    return out


def header(title: str, pid: int) -> dict[str, Any]:
    return {
        "id": pid,
        "name": title,
        "description": "",
        "type": "text",
        "markdownSource": f"### {title}",
        "panelTitleVisible": False,
        "textAutosized": False,
        "transparentBackground": True,
    }


def dashboard(d: Dashboard) -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    grid: list[dict[str, int]] = []
    for pid, placed in enumerate(layout(d, HEIGHTS, HEADER_HEIGHT), 1):
        if placed.panel is None:
            panels.append(header(placed.section.title, pid))
        else:
            panels.append(panel(placed.panel, pid, d.variables))
        grid.append({"panelId": pid, "x": placed.x, "y": placed.y, "w": placed.w, "h": placed.h})
    return {
        "dashboard": {
            "name": d.title,
            "description": d.description,
            "schema": SCHEMA,
            "panels": panels,
            "layout": grid,
            "scopeExpressionList": [scope_expression(v) for v in d.variables],
            "eventDisplaySettings": {
                "enabled": True,
                "queryParams": {"severities": [], "alertStatuses": [], "categories": [], "filter": "",
                                "teamScope": False},
            },
        }
    }
