"""Recognising documents by content and reading them into a bundle.

Recognised: Prometheus rule files (``groups:``), ``PrometheusRule`` resources, ConfigMaps (or patches)
whose ``data`` values are rule files, scrape configs (the agent's ``prometheus.yaml``) or dashboards,
Prometheus configs (``scrape_configs``: the ``/federate`` jobs are the federation), istiogen's query
catalog, Grafana and Sysdig Monitor dashboards (:mod:`.dashboards`); multi-document YAML and ``List``
objects are read item by item; rule files and scrape configs nested in other documents (Helm values).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from istiogen.errors import ProfileError
from istiogen.lint import dashboards
from istiogen.lint.model import (
    AlertRule,
    Bundle,
    FedJob,
    FedSelector,
    Loc,
    PromExpr,
    RecordRule,
    RuleGroup,
    Text,
    UserQuery,
)
from istiogen.lint.positions import JsonLoc, Src, YamlLoc, fmt_path, moved
from istiogen.source import PathT, SourceDoc, load_json, load_yaml_all, read_file

MAX_NESTING = 6


@dataclass
class Reader:
    bundle: Bundle

    def file(self, path: Path, display: str, *, json_hint: bool | None = None) -> bool:
        """Read one file into the bundle; whether anything in it was recognised."""
        text = read_file(path, display)
        src = Src(display, text)
        before = self._count()
        is_json = path.suffix == ".json" if json_hint is None else json_hint
        if is_json:
            self.json_text(src)
        else:
            self.yaml_text(src)
        recognised = self._count() != before
        if recognised and display not in self.bundle.files:
            self.bundle.files.append(display)
        return recognised

    def _count(self) -> int:
        b = self.bundle
        return (len(b.records) + len(b.alerts) + len(b.fed_jobs) + len(b.catalog_fed) + len(b.dashboards)
                + len(b.catalog) + len(b.groups) + len(b.config_scrape_intervals) + int(b.has_catalog)
                + int(b.has_dashboards))

    # text formats ---------------------------------------------------------------------------------
    def yaml_text(self, src: Src) -> None:
        for doc in load_yaml_all(src.text, src.file):
            self.value(src, YamlLoc(src, doc), doc.data, (), doc)

    def json_text(self, src: Src) -> bool:
        try:
            data = load_json(src.text, src.file)
        except ProfileError as e:
            raise ProfileError([moved(p, src) for p in e.problems]) from None
        locate = JsonLoc(src)
        if dashboards.read(self.bundle, data, locate, ()):
            return True
        if isinstance(data, dict) and isinstance(data.get("groups"), list):
            # a rule file written as JSON: read it again as YAML for exact positions
            self.yaml_text(src)
            return True
        return False

    # documents -------------------------------------------------------------------------------------
    def value(self, src: Src, locate: YamlLoc, data: Any, path: PathT, doc: SourceDoc) -> None:
        if not isinstance(data, dict):
            return
        kind = data.get("kind")
        if kind == "List" and isinstance(data.get("items"), list):
            for i, item in enumerate(data["items"]):
                self.value(src, locate, item, (*path, "items", i), doc)
            return
        if kind == "PrometheusRule":
            spec = data.get("spec")
            if isinstance(spec, dict) and isinstance(spec.get("groups"), list):
                self.rule_groups(src, locate, spec["groups"], (*path, "spec", "groups"))
            return
        if kind == "QueryCatalog":
            self.catalog(src, locate, data, path)
            return
        if isinstance(data.get("groups"), list):
            self.rule_groups(src, locate, data["groups"], (*path, "groups"))
            return
        if isinstance(data.get("scrape_configs"), list) or (
            isinstance(data.get("global"), dict) and "scrape_interval" in data["global"]
        ):
            self.prometheus_config(locate, data, path)
            return
        if dashboards.read(self.bundle, data, locate, path):
            return
        if isinstance(data.get("data"), dict):
            for key, text in data["data"].items():
                if isinstance(text, str):
                    self.embedded(src, doc, (*path, "data", key), str(key), text)
            return
        self.nested(src, locate, data, path, doc, 0)

    def nested(self, src: Src, locate: YamlLoc, data: dict[str, Any], path: PathT, doc: SourceDoc,
               depth: int) -> None:
        """Rule files and scrape configs inside other documents, e.g. Helm values
        (``serverFiles: {recording_rules.yml: {groups: ...}}``, ``prometheus: {yaml: {scrape_configs: ...}}``)."""
        if depth >= MAX_NESTING:
            return
        for key, v in data.items():
            at = (*path, key)
            if isinstance(v, dict):
                if isinstance(v.get("groups"), list) and all(isinstance(g, dict) for g in v["groups"]):
                    self.rule_groups(src, locate, v["groups"], (*at, "groups"))
                elif isinstance(v.get("scrape_configs"), list):
                    self.prometheus_config(locate, v, at)
                else:
                    self.nested(src, locate, v, at, doc, depth + 1)
            elif isinstance(v, str) and re.search(r"(?m)^\s*(groups|scrape_configs)\s*:", v):
                self.embedded(src, doc, at, str(key), v)

    def embedded(self, src: Src, doc: SourceDoc, path: PathT, key: str, text: str) -> None:
        mk = doc.mark(path)
        line, col = (mk.line, mk.column) if mk else (1, 1)
        child = src.embedded(text, line, col, path)
        if key.endswith(".json") or text.lstrip().startswith("{"):
            try:
                self.json_text(child)
            except ProfileError:
                if key.endswith(".json"):
                    raise
            return
        try:
            docs = load_yaml_all(text, child.file)
        except ProfileError as e:
            if key.endswith((".yaml", ".yml", ".rules")):
                raise ProfileError([moved(p, child) for p in e.problems]) from None
            return
        for d in docs:
            self.value(child, YamlLoc(child, d), d.data, (), d)

    # rules -----------------------------------------------------------------------------------------
    def rule_groups(self, src: Src, locate: YamlLoc, groups: list[Any], base: PathT) -> None:
        seen: list[RuleGroup] = []
        for gi, g in enumerate(groups):
            if not isinstance(g, dict):
                continue
            gp = (*base, gi)
            gname = str(g.get("name") or "")
            seen.append(RuleGroup(gname, locate((*gp, "name"))))
            rules = g.get("rules")
            if not isinstance(rules, list):
                continue
            for ri, r in enumerate(rules):
                if not isinstance(r, dict):
                    continue
                rp = (*gp, "rules", ri)
                raw = r.get("expr")
                text = "" if raw is None else str(raw).lower() if isinstance(raw, bool) else str(raw)
                expr = PromExpr(text, locate((*rp, "expr")))
                labels, label_locs = _str_map(r.get("labels"), locate, (*rp, "labels"))
                if "record" in r:
                    self.bundle.records.append(RecordRule(
                        str(r.get("record") or ""), expr, labels, locate((*rp, "record")), label_locs, gname))
                elif "alert" in r:
                    ann, ann_locs = _str_map(r.get("annotations"), locate, (*rp, "annotations"), key=False)
                    self.bundle.alerts.append(AlertRule(
                        str(r.get("alert") or ""), expr, labels, locate((*rp, "alert")), label_locs, gname,
                        ann, ann_locs))
        self.bundle.groups.append((src.file + fmt_path(src.prefix), seen))

    # the query catalog -----------------------------------------------------------------------------
    def catalog(self, src: Src, locate: YamlLoc, data: dict[str, Any], path: PathT) -> None:
        b = self.bundle
        b.has_catalog = True
        if isinstance(data.get("scrape_interval"), str):
            b.catalog_scrape_interval = (locate((*path, "scrape_interval")), data["scrape_interval"])
        fed = data.get("federation")
        if isinstance(fed, dict) and isinstance(fed.get("match"), list):
            sels = [FedSelector(PromExpr(str(s), locate((*path, "federation", "match", i))))
                    for i, s in enumerate(fed["match"])]
            b.catalog_fed.append(FedJob(f"{src.file} federation.match", locate((*path, "federation", "match")),
                                        sels, [], "catalog"))
        signals = data.get("signals")
        if not isinstance(signals, dict):
            return
        for sid, sig in signals.items():
            if not isinstance(sig, dict) or not isinstance(sig.get("scopes"), dict):
                continue
            sp = (*path, "signals", sid)
            title = Text(str(sig["title"]), locate((*sp, "title"))) if isinstance(sig.get("title"), str) else None
            q = sig.get("quantile")
            declared = float(q) if isinstance(q, int | float) and not isinstance(q, bool) else None
            for scope, entry in sig["scopes"].items():
                if not isinstance(entry, dict) or not isinstance(entry.get("query"), str):
                    continue
                qp = (*sp, "scopes", scope, "query")
                b.catalog.append(UserQuery("catalog", PromExpr(entry["query"], locate(qp)),
                                           f"catalog entry {sid} ({scope})", title, [], declared))

    # Prometheus and agent scrape configs -----------------------------------------------------------
    def prometheus_config(self, locate: YamlLoc, data: dict[str, Any], path: PathT) -> None:
        b = self.bundle
        glob = data.get("global")
        global_interval = None
        if isinstance(glob, dict) and isinstance(glob.get("scrape_interval"), str):
            global_interval = (locate((*path, "global", "scrape_interval")), glob["scrape_interval"])
        jobs = data.get("scrape_configs")
        fed_intervals = []
        for ji, job in enumerate(jobs if isinstance(jobs, list) else []):
            if not isinstance(job, dict):
                continue
            jp = (*path, "scrape_configs", ji)
            raw_params = job.get("params")
            params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
            if job.get("metrics_path") != "/federate" and "match[]" not in params:
                continue
            raw = params.get("match[]", [])
            one = isinstance(raw, str)
            match: list[Any] = [raw] if one else raw if isinstance(raw, list) else []
            sels = [FedSelector(PromExpr(str(s), locate((*jp, "params", "match[]") if one else
                                                        (*jp, "params", "match[]", i))))
                    for i, s in enumerate(match)]
            drops = []
            for rc in job.get("metric_relabel_configs") or []:
                if isinstance(rc, dict) and rc.get("action") == "labeldrop":
                    drops.append(str(rc.get("regex", "(.*)")))
            b.fed_jobs.append(FedJob(str(job.get("job_name") or f"scrape_configs[{ji}]"), locate((*jp, "job_name")),
                                     sels, drops))
            if isinstance(job.get("scrape_interval"), str):
                fed_intervals.append((locate((*jp, "scrape_interval")), job["scrape_interval"]))
        b.config_scrape_intervals += fed_intervals
        if global_interval:
            b.config_scrape_intervals.append(global_interval)


def _str_map(raw: Any, locate: YamlLoc, base: PathT, *, key: bool = True) -> tuple[dict[str, str], dict[str, Loc]]:
    if not isinstance(raw, dict):
        return {}, {}
    values = {str(k): "" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for k, v in raw.items()}
    locs = {str(k): locate((*base, str(k)), key=key) for k in raw}
    return values, locs
