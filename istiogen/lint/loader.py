"""Reading inputs into bundles: rendered trees by their index, anything else by content.

* A folder with an ``index.json`` is a rendered tree: each file is read as the
  kind the index gives it (the rules ConfigMap only when the tree has no rule
  files, since it holds the same rules).
* A folder holding rendered trees (like ``output/``) gives one bundle per tree.
* Any other folder is one bundle of every ``.yaml``/``.yml``/``.json`` file in it
  that is recognised by content; files named on the command line together form
  one bundle, and each of them must be recognised.

Recognised by content: Prometheus rule files (``groups:``), ``PrometheusRule``
resources, ConfigMaps (or patches) whose ``data`` values are rule files, scrape
configs (the agent's ``prometheus.yaml``) or dashboards, Prometheus configs
(``scrape_configs``: the ``/federate`` jobs are the federation), istiogen's query
catalog, Grafana and Sysdig Monitor dashboards; multi-document YAML and ``List``
objects are read item by item.
"""

from __future__ import annotations

import bisect
import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from istiogen.errors import FatalError, ProfileError
from istiogen.lint import promql as pq
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
from istiogen.problems import Problem
from istiogen.registry import KINDS
from istiogen.source import PathT, SourceDoc, load_json, load_yaml_all, read_file
from istiogen.source import display as _display

SUFFIXES = (".yaml", ".yml", ".json")
MAX_NESTING = 6


def fmt_path(path: PathT) -> str:
    """``("data", "rules.yaml", "groups", 0)`` -> ``data["rules.yaml"].groups[0]``."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p):
            out += ("." if out else "") + p
        else:
            out += f"[{json.dumps(p)}]"
    return out


# --- sources and positions -------------------------------------------------------------------------


@dataclass
class Src:
    """A text being read: a file, or a document embedded in one (a ConfigMap value)."""

    file: str
    text: str
    line_offset: int = 0
    col_offset: int = 0
    anchor: tuple[int, int] | None = None  # every position, when the embedding cannot be mapped
    prefix: PathT = ()

    def at(self, line: int | None, column: int | None, path: PathT) -> Loc:
        shown = fmt_path(self.prefix + path)
        if self.anchor is not None:
            return Loc(self.file, self.anchor[0], self.anchor[1], shown)
        if line is None:
            return Loc(self.file, None, None, shown)
        return Loc(self.file, line + self.line_offset, (column or 1) + self.col_offset, shown)

    def embedded(self, text: str, line: int, column: int, prefix: PathT) -> Src:
        """The source of a string value that starts at (line, column) of this text."""
        lines = self.text.splitlines()
        child = Src(self.file, text, prefix=self.prefix + prefix)
        if self.anchor is not None:
            child.anchor = self.anchor
            return child
        here = lines[line - 1] if 0 < line <= len(lines) else ""
        if here[column - 1 : column] in ("|", ">"):
            body = lines[line:]
            first = next((x for x in body if x.strip()), "")
            indent = len(first) - len(first.lstrip(" "))
            content = text.splitlines()
            ok = all(
                (body[i][indent:] if i < len(body) else None) == content[i]
                for i in range(min(len(content), 3))
            )
            if ok:
                child.line_offset = self.line_offset + line
                child.col_offset = self.col_offset + indent
                return child
        child.anchor = (line + self.line_offset, column + self.col_offset)
        return child


class YamlLoc:
    def __init__(self, src: Src, doc: SourceDoc) -> None:
        self.src = src
        self.doc = doc

    def __call__(self, path: PathT, value: object = None, *, key: bool = False) -> Loc:
        mk = self.doc.mark(path, key=key)
        return self.src.at(mk.line if mk else None, mk.column if mk else None, path)


class JsonLoc:
    """Positions in JSON text: every ``"key": "string"`` pair is found in one pass over the text, and each
    lookup takes the next position of that pair in document order (linear in the text, whatever the
    number of lookups: a regex search per lookup was quadratic on large dashboards)."""

    _PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"(?:\s*:\s*"((?:[^"\\]|\\.)*)")?')

    def __init__(self, src: Src) -> None:
        self.src = src
        self.starts = [0]
        for m in re.finditer("\n", src.text):
            self.starts.append(m.end())
        self.pairs: dict[tuple[str, str], deque[int]] = {}
        for m in self._PAIR.finditer(src.text):
            if m.group(2) is None:
                continue
            try:
                key, value = json.loads(f'"{m.group(1)}"'), json.loads(f'"{m.group(2)}"')
            except ValueError:
                continue
            self.pairs.setdefault((key, value), deque()).append(m.start(2) - 1)

    def _find(self, key: str, value: str) -> tuple[int, int] | None:
        found = self.pairs.get((key, value))
        if not found:
            return None
        off = found.popleft()
        line = bisect.bisect_right(self.starts, off)
        return line, off - self.starts[line - 1] + 1

    def __call__(self, path: PathT, value: object = None, *, key: bool = False) -> Loc:
        pos = None
        if path and isinstance(path[-1], str) and isinstance(value, str):
            pos = self._find(path[-1], value)
        return self.src.at(pos[0] if pos else None, pos[1] if pos else None, path)


Locate = Callable[..., Loc]


# --- the reader ------------------------------------------------------------------------------------


@dataclass
class _Reader:
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
            raise ProfileError([_moved(p, src) for p in e.problems]) from None
        locate = JsonLoc(src)
        if self.dashboard(data, locate, ()):
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
        if self.dashboard(data, locate, path):
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
                raise ProfileError([_moved(p, child) for p in e.problems]) from None
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
                        str(r.get("alert") or ""), expr, labels, ann, locate((*rp, "alert")), label_locs,
                        ann_locs, gname))
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

    # dashboards ------------------------------------------------------------------------------------
    def dashboard(self, data: Any, locate: Locate, path: PathT) -> bool:
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
            self.sysdig_dashboard(root, locate, rp)
        else:
            self.grafana_dashboard(root, locate, rp)
        self.bundle.has_dashboards = True
        return True

    def sysdig_dashboard(self, root: dict[str, Any], locate: Locate, base: PathT) -> None:
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
                self.bundle.dashboards.append(UserQuery(
                    "dashboard", _dash_expr(aq["query"], locate((*qp, "query"), aq["query"])),
                    f'panel "{name}"', title, legends))

    def grafana_dashboard(self, root: dict[str, Any], locate: Locate, base: PathT) -> None:
        def panels(items: Any, at: PathT) -> None:
            for pi, p in enumerate(items if isinstance(items, list) else []):
                if isinstance(p, dict):
                    self.grafana_panel(p, locate, (*at, pi))
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
            self.bundle.dashboards.append(UserQuery("variable", expr, f'template variable "{v.get("name", "")}"'))

    def grafana_panel(self, p: dict[str, Any], locate: Locate, pp: PathT) -> None:
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
            self.bundle.dashboards.append(UserQuery(
                "dashboard", _dash_expr(t["expr"], locate((*tp, "expr"), t["expr"])),
                f'panel "{title_s}"', title, legends))


def _moved(p: Problem, src: Src) -> Problem:
    loc = src.at(p.line, p.column, ())
    return Problem(loc.file, loc.line, loc.column, loc.path, p.message, p.rule, p.level, p.hint)


def _str_map(raw: Any, locate: YamlLoc, base: PathT, *, key: bool = True) -> tuple[dict[str, str], dict[str, Loc]]:
    if not isinstance(raw, dict):
        return {}, {}
    values = {str(k): "" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for k, v in raw.items()}
    locs = {str(k): locate((*base, str(k)), key=key) for k in raw}
    return values, locs


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


# --- entry points -----------------------------------------------------------------------------------


def _unreadable(display: str, message: str, rule: str = "file-read") -> ProfileError:
    return ProfileError([Problem(display, None, None, "", message, rule)])


def tree_kinds_read(present: set[str]) -> set[str]:
    """The kinds of a rendered tree the lint reads (see :data:`istiogen.registry.LintRole`): every
    ``queries`` kind, and of the ``rules`` and ``federation`` kinds those of the lowest rank present."""
    read = {k for k in present if k in KINDS and KINDS[k].lint == "queries"}
    for role in ("rules", "federation"):
        ranks = [KINDS[k].lint_rank for k in present if k in KINDS and KINDS[k].lint == role]
        if ranks:
            read |= {k for k in present if k in KINDS and KINDS[k].lint == role and KINDS[k].lint_rank == min(ranks)}
    return read


def load_tree(folder: Path) -> Bundle:
    name = _display(folder)
    idx_path = folder / "index.json"
    idx_display = _display(idx_path)
    idx = load_json(read_file(idx_path, idx_display), idx_display)
    arts = idx.get("artifacts") if isinstance(idx, dict) else None
    if not isinstance(arts, list):
        raise _unreadable(idx_display, "not an istiogen index: no 'artifacts' list", "unknown-input")
    kinds = {str(a.get("path")): str(a.get("kind")) for a in arts if isinstance(a, dict)}
    wanted = tree_kinds_read(set(kinds.values()))
    reader = _Reader(Bundle(name))
    for rel, kind in sorted(kinds.items()):
        if kind not in wanted:
            continue
        path = folder / rel
        if not path.is_file():
            raise _unreadable(_display(path), f"listed in {idx_display} as {kind} but missing")
        reader.file(path, _display(path), json_hint=path.suffix == ".json")
    return reader.bundle


def _trees_under(folder: Path) -> list[Path]:
    found: list[Path] = []
    seen: set[Path] = set()

    def walk(d: Path) -> None:
        real = d.resolve()
        if real in seen:  # a symlink loop
            return
        seen.add(real)
        if (d / "index.json").is_file():
            found.append(d)
            return
        for sub in sorted(x for x in d.iterdir() if x.is_dir() and not x.name.startswith(".")):
            walk(sub)

    walk(folder)
    return found


def load_folder(folder: Path) -> Bundle:
    reader = _Reader(Bundle(_display(folder)))
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix in SUFFIXES and not any(x.startswith(".") for x in p.relative_to(folder).parts):
            reader.file(p, _display(p))
    return reader.bundle


def load_files(files: list[Path]) -> Bundle:
    reader = _Reader(Bundle("files"))
    for p in files:
        shown = _display(p)
        if not reader.file(p, shown):
            raise _unreadable(
                shown,
                "not a file the lint reads: expected Prometheus rules (a rule file, a rules ConfigMap or a "
                "PrometheusRule), a Grafana or Sysdig dashboard, a scrape config with a /federate job "
                "(prometheus.yaml, the sysdig-agent ConfigMap or its patch) or istiogen's queries.yaml",
                "unknown-input",
            )
    if len(files) == 1:
        reader.bundle.name = _display(files[0])
    return reader.bundle


def load(paths: list[Path]) -> list[Bundle]:
    """One bundle per rendered tree or plain folder, plus one for all the files named."""
    bundles: list[Bundle] = []
    files: list[Path] = []
    for p in paths:
        if not p.exists():
            raise FatalError(f"{p}: no such file or folder")
        if p.is_dir():
            trees = _trees_under(p)
            if trees:
                bundles += [load_tree(t) for t in trees]
            else:
                bundles.append(load_folder(p))
        elif p.name == "index.json":
            bundles.append(load_tree(p.parent))
        else:
            files.append(p)
    if files:
        bundles.append(load_files(files))
    return bundles
