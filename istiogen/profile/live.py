"""The exported live ConfigMap a profile points at (``prometheus.live_config``): read with the profile, and its
shape checked (one ConfigMap, a Prometheus config under the flavour's key, ``global`` and ``rule_files`` as
Prometheus reads them).  Part of loading: the export is a file the profile references, as a base it extends."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from istiogen.catalog import istio as istio_catalog
from istiogen.catalog.prometheus import FLAVOURS, Flavour
from istiogen.errors import ProfileError
from istiogen.problems import Problem, kind_of
from istiogen.profile.resolve import LiveConfig
from istiogen.source import SourceDoc, dotted, load_yaml_all, read_file


def read_live(doc: SourceDoc, base_dir: Path, rel_path: str, root: Path | None,
              model: Any) -> tuple[LiveConfig | None, list[Problem]]:
    """Read and check the exported ConfigMap of ``prometheus.live_config``: every problem, never a raise.

    Problems of the profile's setting are reported at ``prometheus.live_config``; problems inside the
    export at their place in it.  The export's content is never quoted (it may hold credentials)."""
    from istiogen.profile.loader import _where, inside, problem_at, referenced

    where = ("prometheus", "live_config")
    path = base_dir / rel_path
    if not rel_path or "\0" in rel_path:
        return None, [problem_at(doc, where, "not a path", "file-read")]
    if root is not None and not inside(root, path):
        return None, [problem_at(doc, where, f"{rel_path!r} leaves {_where(root)}: a profile and the files it "
                                 "references stay inside it", "path-outside", "move the export inside")]
    if not path.exists():
        return None, [problem_at(doc, where, f"file not found: {rel_path}", "file-read",
                                 "the path is relative to the profile's folder")]
    display = _shown(path)
    try:
        text = read_file(path, display)
        docs = load_yaml_all(text, display)
    except ProfileError as e:
        return None, referenced(e.problems, (doc, where, repr(rel_path)))
    flavour = _flavour(model)
    problems = check_live(docs, display, flavour.config_key if flavour else _config_key(doc))
    if problems or flavour is None:
        return None, problems
    data = docs[0].data["data"]
    return LiveConfig(path=rel_path, display=display, text=text, config_text=data[flavour.config_key],
                      keys=tuple(str(k) for k in data)), []


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _config_key(doc: SourceDoc) -> str | None:
    """The ConfigMap key of the Prometheus config, from a profile that did not validate (so that its
    export is checked in the same run); None when the profile does not tell."""
    data: dict[str, Any] = doc.data if isinstance(doc.data, dict) else {}
    prom: dict[str, Any] = data["prometheus"] if isinstance(data.get("prometheus"), dict) else {}
    if isinstance(prom.get("config_key"), str):
        return str(prom["config_key"])
    name = prom.get("flavour")
    if not isinstance(name, str) or name not in FLAVOURS:
        istio: dict[str, Any] = data["istio"] if isinstance(data.get("istio"), dict) else {}
        try:
            name = istio_catalog.release(str(istio.get("version"))).default_flavour
        except KeyError:
            return None
    return FLAVOURS[name].config_key


def _flavour(model: Any) -> Flavour | None:
    """The flavour of a valid profile with its overrides (what the export is checked against)."""
    if model is None:
        return None
    rel = istio_catalog.release(model.istio.version)
    flavour = FLAVOURS[model.prometheus.flavour or rel.default_flavour]
    if model.prometheus.config_key is not None:
        flavour = dataclasses.replace(flavour, config_key=model.prometheus.config_key)
    return flavour


def check_live(docs: list[SourceDoc], display: str, key: str | None) -> list[Problem]:
    """Whether ``docs`` is one exported ConfigMap holding a Prometheus config under ``key`` whose
    ``global`` and ``rule_files`` are what Prometheus reads (``key`` None: only the ConfigMap's shape)."""

    def at(doc: SourceDoc | None, path: tuple[str | int, ...], msg: str, hint: str | None = None) -> Problem:
        mk = doc.mark(path) if doc is not None else None
        return Problem(display, mk.line if mk else None, mk.column if mk else None, dotted(path), msg,
                       "live-config", hint=hint)

    if len(docs) != 1:
        return [at(None, (), f"expected one ConfigMap, found {len(docs)} documents")]
    doc = docs[0]
    obj = doc.data
    if isinstance(obj, dict) and obj.get("kind") == "List" and isinstance(obj.get("items"), list):
        return [at(doc, (), "a List: export the one ConfigMap (kubectl get cm NAME -o yaml)")]
    if not isinstance(obj, dict) or obj.get("kind") != "ConfigMap":
        return [Problem(display, 1, 1, "kind", "not a ConfigMap (kubectl get cm prometheus -o yaml)", "live-config")]
    data = obj.get("data")
    if not isinstance(data, dict):
        return [at(doc, ("data",), f"expected a mapping of keys to texts, got {kind_of(data)}",
                   "kubectl get cm prometheus -o yaml exports data as key: text")]
    if key is None:
        return []
    if not isinstance(data.get(key), str):
        what = "no data key" if key not in data else f"{kind_of(data[key])} at data key"
        return [at(doc, ("data",), f"the ConfigMap has {what} {key!r} (set prometheus.config_key)")]
    config_text = data[key]
    try:
        cdocs = load_yaml_all(config_text, f"{display} data.{key}")
    except ProfileError as e:
        return [at(doc, ("data", key), f"the embedded Prometheus config is not valid YAML: {p.message}")
                for p in e.problems]
    if len(cdocs) != 1 or not isinstance(cdocs[0].data, dict):
        return [at(doc, ("data", key), "the embedded Prometheus config is not a mapping")]
    cfg = cdocs[0].data
    out: list[Problem] = []
    glob = cfg.get("global")
    if glob is not None and not isinstance(glob, dict):
        out.append(at(doc, ("data", key), f"global: expected a mapping, got {kind_of(glob)}",
                      "Prometheus reads global as scrape_interval, evaluation_interval, ..."))
    elif isinstance(glob, dict) and "evaluation_interval" in glob and not _is_duration(glob["evaluation_interval"]):
        out.append(at(doc, ("data", key), f"global.evaluation_interval: expected a duration, got "
                      f"{kind_of(glob['evaluation_interval'])}"))
    rf = cfg.get("rule_files")
    if rf is not None and not (isinstance(rf, list) and all(isinstance(x, str) for x in rf)):
        out.append(at(doc, ("data", key), f"rule_files: expected a list of file paths, got {kind_of(rf)}",
                      "e.g. rule_files: [/etc/prometheus/rules/*.yaml]"))
    rw = cfg.get("remote_write")
    if rw is not None and not (isinstance(rw, list) and all(isinstance(x, dict) for x in rw)):
        out.append(at(doc, ("data", key), f"remote_write: expected a list of endpoints, got {kind_of(rw)}"))
    return out


def _is_duration(v: Any) -> bool:
    from istiogen.profile.types import duration_seconds

    if not isinstance(v, str):
        return False
    try:
        duration_seconds(v)
    except ValueError:
        return False
    return True

