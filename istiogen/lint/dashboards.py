"""Dashboards: the PromQL of Grafana panels and template variables, and of Sysdig Monitor panels."""

from __future__ import annotations

import re
from typing import Any

from istiogen.lint import promql as pq
from istiogen.lint.model import Bundle, Loc, PromExpr, Text, UserQuery
from istiogen.lint.positions import Locate
from istiogen.source import PathT


def read(bundle: Bundle, data: Any, locate: Locate, path: PathT) -> bool:
    """Read ``data`` into the bundle if it is a dashboard (Grafana or Sysdig Monitor); whether it was."""
    if not isinstance(data, dict):
        return False
    root, rp = data, path
    if isinstance(data.get("dashboard"), dict):
        root, rp = data["dashboard"], (*path, "dashboard")
    panels = root.get("panels")
    rows = root.get("rows")
    if not isinstance(panels, list) and not isinstance(rows, list):
        return False
    all_panels = [p for p in (panels or []) if isinstance(p, dict)]
    if any("advancedQueries" in p for p in all_panels) or ("schema" in root and "layout" in root):
        _sysdig(bundle, root, locate, rp)
    else:
        _grafana(bundle, root, locate, rp)
    bundle.has_dashboards = True
    return True


def _sysdig(bundle: Bundle, root: dict[str, Any], locate: Locate, base: PathT) -> None:
    for pi, p in enumerate(root.get("panels") or []):
        if not isinstance(p, dict):
            continue
        pp = (*base, "panels", pi)
        name = p.get("name") if isinstance(p.get("name"), str) else ""
        title = Text(name, locate((*pp, "name"), name)) if name else None
        for qi, aq in enumerate(p.get("advancedQueries") or []):
            if not isinstance(aq, dict) or not isinstance(aq.get("query"), str) or not aq["query"].strip():
                continue
            qp = (*pp, "advancedQueries", qi)
            legends = []
            info = aq.get("displayInfo")
            if isinstance(info, dict):
                for k in ("displayName", "timeSeriesDisplayNameTemplate"):
                    v = info.get(k)
                    if isinstance(v, str) and v:
                        legends.append(Text(v, locate((*qp, "displayInfo", k), v)))
            bundle.dashboards.append(UserQuery(
                "dashboard", _dash_expr(aq["query"], locate((*qp, "query"), aq["query"])),
                f'panel "{name}"', title, legends))


def _grafana(bundle: Bundle, root: dict[str, Any], locate: Locate, base: PathT) -> None:
    def panels(items: Any, at: PathT) -> None:
        for pi, p in enumerate(items if isinstance(items, list) else []):
            if isinstance(p, dict):
                _grafana_panel(bundle, p, locate, (*at, pi))
                if isinstance(p.get("panels"), list):
                    panels(p["panels"], (*at, pi, "panels"))

    panels(root.get("panels"), (*base, "panels"))
    for ri, row in enumerate(root.get("rows") or []):
        if isinstance(row, dict):
            panels(row.get("panels"), (*base, "rows", ri, "panels"))
    templating = root.get("templating")
    variables = templating.get("list") if isinstance(templating, dict) else None
    for vi, v in enumerate(variables if isinstance(variables, list) else []):
        if not isinstance(v, dict) or v.get("type") != "query":
            continue
        q = v.get("query")
        vp: PathT = (*base, "templating", "list", vi, "query")
        if isinstance(q, dict):
            q, vp = q.get("query"), (*vp, "query")
        if not isinstance(q, str) or not _is_prometheus(v.get("datasource")):
            continue
        promql = _variable_promql(q)
        if promql is None:
            continue
        expr = _dash_expr(promql, locate(vp, q))
        expr.text = q
        bundle.dashboards.append(UserQuery("variable", expr, f'template variable "{v.get("name", "")}"'))


def _grafana_panel(bundle: Bundle, p: dict[str, Any], locate: Locate, pp: PathT) -> None:
    title_s = p.get("title") if isinstance(p.get("title"), str) else ""
    title = Text(title_s, locate((*pp, "title"), title_s)) if title_s else None
    for ti, t in enumerate(p.get("targets") or []):
        if not isinstance(t, dict) or not isinstance(t.get("expr"), str) or not t["expr"].strip():
            continue
        if not _is_prometheus(t.get("datasource", p.get("datasource"))):
            continue
        tp = (*pp, "targets", ti)
        legends = []
        lf = t.get("legendFormat")
        if isinstance(lf, str) and lf:
            legends.append(Text(lf, locate((*tp, "legendFormat"), lf)))
        bundle.dashboards.append(UserQuery(
            "dashboard", _dash_expr(t["expr"], locate((*tp, "expr"), t["expr"])),
            f'panel "{title_s}"', title, legends))


def _is_prometheus(ds: Any) -> bool:
    if isinstance(ds, dict):
        t = ds.get("type")
        return t is None or t == "prometheus"
    if isinstance(ds, str):
        return not re.search(r"loki|elastic|influx|tempo|jaeger|cloudwatch|graphite|mysql|postgres", ds, re.I)
    return True


def _dash_expr(text: str, loc: Loc) -> PromExpr:
    parse_text, templated = pq.dashboard_text(text)
    return PromExpr(text, loc, parse_text, templated)


_LABEL_VALUES = re.compile(r"\s*label_values\s*\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*", re.S)
_QUERY_RESULT = re.compile(r"\s*query_result\s*\((.*)\)\s*", re.S)


def _variable_promql(q: str) -> str | None:
    """Grafana's ``label_values(sel, label)`` / ``query_result(expr)`` as PromQL reading the same series."""
    m = _LABEL_VALUES.fullmatch(q)
    if m:
        return f"count by ({m.group(2)}) ({m.group(1)})"
    m = _QUERY_RESULT.fullmatch(q)
    return m.group(1) if m else None

