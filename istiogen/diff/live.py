"""``--live DIR``: what applying a rendered tree would do to objects exported from a cluster.

The export is whatever ``kubectl get ... -o yaml`` (or ``-o json``) printed:
single objects, multi-document files, ``List`` kinds, in one file or a folder of
them.  Server-set fields are dropped on the way in.  Then each artifact that
acts on the cluster is applied to a copy of its live target, and the live
object is compared with the result:

* full objects (the rules ConfigMap; with the Operator, the PrometheusRule, PodMonitor and
  ServiceMonitors; the Istio Telemetry resource): as ``kubectl apply`` would, a merge onto
  the live object that also removes what the last apply set and this one does
  not (from the last-applied annotation);
* strategic-merge patches (the Deployment patch, the ``sysdig-agent``
  ConfigMap patch): :mod:`istiogen.diff.strategic`;
* the JSON merge patch of the Operator's ``Prometheus`` resource: RFC 7386, as
  ``kubectl patch --type merge`` applies it;
* the RFC 6902 patch of the Prometheus ConfigMap (profiles with
  ``prometheus.live_config``): ``jsonpatch``; a failing ``test`` (the ConfigMap
  changed since it was exported) is reported;
* the Prometheus config fragment: merged into the parsed ``prometheus.yml``
  (missing ``rule_files`` appended, any ``global`` setting it has set when
  absent), the way the README tells you to;
* ``sysdig/dragent.yaml``: merged into the agent ConfigMap's ``dragent.yaml``
  (mappings merged, lists replaced), the manual step the README describes.

The Deployment's RFC 6902 patch is an alternative to the strategic one: it is
applied too, and only reported when it would fail or give a different result.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from istiogen.diff import objects, strategic
from istiogen.diff.engine import compare_objects
from istiogen.diff.model import MISSING, Change, Ident, ObjectDiff
from istiogen.errors import FatalError, ProfileError
from istiogen.jsonmerge import merge_patch
from istiogen.problems import Problem, kind_of
from istiogen.registry import KINDS

if TYPE_CHECKING:
    from istiogen.pipeline import Rendered
    from istiogen.registry import Artifact

MAX_FILE = 8 * 1024 * 1024  # one exported file (kubectl get of a few objects is far smaller)


@dataclass
class LiveObject:
    ident: Ident
    data: Any  # server fields stripped
    file: str
    last_applied: Any = None  # the kubectl.kubernetes.io/last-applied-configuration, parsed
    text: str = ""  # the file's text and the object's place among its (flattened) documents: for positions
    fmt: str = "yaml"
    index: int = 0

    def problem(self, path: tuple[str | int, ...], message: str, hint: str | None = None) -> ProfileError:
        """An error in this object, at the line and column of ``path`` in its file."""
        (p,) = _shape_report(self.text, self.file, self.fmt, [(self.index, path, message)])
        return ProfileError([Problem(p.file, p.line, p.column, p.path, p.message, p.rule, hint=hint)])


@dataclass
class LiveSet:
    objects: dict[Ident, LiveObject] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        if not self.skipped:
            return []
        files = sorted({s.split(": ", 1)[0] for s in self.skipped})
        return [f"{len(self.skipped)} document(s) in the export are not Kubernetes objects and were skipped "
                f"({', '.join(files[:5])}{', ...' if len(files) > 5 else ''})"]

    def find(self, want: Ident) -> LiveObject | None:
        """By identity; a different version of the same API group matches too."""
        if want in self.objects:
            return self.objects[want]
        same_group = [o for i, o in self.objects.items()
                      if (i.group, i.kind, i.namespace, i.name) == (want.group, want.kind, want.namespace, want.name)]
        if len(same_group) == 1:
            return same_group[0]
        loose = [o for i, o in self.objects.items() if (i.kind, i.namespace, i.name) == (want.kind, want.namespace,
                                                                                        want.name)]
        return loose[0] if len(loose) == 1 else None


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FatalError(f"--live {path}: no such file or folder")
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in objects.DOC_SUFFIXES)


def load_export(path: Path, display: Any = str) -> LiveSet:
    """Every object under ``path`` (a file or a folder), by identity, server fields stripped.

    Every file is read with the shared bounded reader (regular files only, at most :data:`MAX_FILE`
    bytes, nesting and alias expansion bounded); objects whose shape is not what the API server
    returns are errors naming the file and the path; every problem of every file is reported at once."""
    from istiogen.source import read_bytes

    out = LiveSet()
    files = _files(path)
    if not files:
        raise FatalError(f"--live {path}: no .yaml, .yml or .json files")
    problems: list[Problem] = []
    for f in files:
        name = display(f)
        try:
            raw = read_bytes(f, name, max_bytes=MAX_FILE)
        except ProfileError as e:
            problems += e.problems
            continue
        text = raw.decode("utf-8", "replace")
        try:
            docs = objects.load_documents(text, objects.file_format(f.name))
        except objects.ParseError as e:
            problems += _positioned(text, name, objects.file_format(f.name), str(e))
            continue
        shape: list[tuple[int, tuple[str | int, ...], str]] = []
        for d in docs:
            if isinstance(d, dict) and str(d.get("kind", "")).endswith("List") and "items" in d \
                    and not isinstance(d["items"], list):
                problems += _positioned_list(text, name, objects.file_format(f.name), d)
        flat = objects.flatten(docs)
        for i, d in enumerate(flat):
            ident = objects.identity(d)
            if ident is None:
                out.skipped.append(f"{name}: a document that is not a Kubernetes object")
                continue
            bad = _shape_problems(d)
            if bad:
                shape += [(i, path, msg) for path, msg in bad]
                continue
            stripped = objects.strip_server_fields(d)
            last = _last_applied(d)
            prev = out.objects.get(ident)
            if prev is not None:
                if compare_objects(prev.data, stripped):
                    raise FatalError(f"--live: {ident.label()} is exported twice with different content "
                                     f"({prev.file} and {name})")
                continue
            out.objects[ident] = LiveObject(ident, stripped, name, last, text, objects.file_format(f.name), i)
        if shape:
            problems += _shape_report(text, name, objects.file_format(f.name), shape)
    if problems:
        raise ProfileError(problems)
    return out


def _positioned(text: str, name: str, fmt: str, message: str) -> list[Problem]:
    """The problems of an export the fast parser refused, with their line and column: the same text read
    by the position-keeping reader of profiles (only on this failure path: it is slower)."""
    from istiogen.source import load_json, load_yaml_all

    try:
        if fmt == "json":
            load_json(text, name)
        else:
            load_yaml_all(text, name)
    except ProfileError as e:
        return e.problems
    return [Problem(name, None, None, "", message, "live-export")]


_MAPS = ("metadata", "data", "stringData", "binaryData", "spec")


def _shape_problems(obj: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """What the API server would never return: a ConfigMap whose ``data`` is not a mapping of strings,
    a Deployment whose containers are not a list of named containers, ... (path in the object, message)."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    for key in _MAPS:
        if key in obj and obj[key] is not None and not isinstance(obj[key], dict):
            out.append(((key,), f"expected a mapping, got {kind_of(obj[key])}"))
    if out:
        return out
    kind = obj.get("kind")
    if kind in ("ConfigMap", "Secret"):
        for key in ("data", "stringData"):
            for k, v in (obj.get(key) or {}).items():
                if not isinstance(k, str) or not isinstance(v, str):
                    out.append(((key, str(k)), f"expected a text, got {kind_of(v)}"))
    spec = obj.get("spec") or {}
    if kind in ("Deployment", "StatefulSet", "DaemonSet"):
        template = spec.get("template")
        pod = template.get("spec") if isinstance(template, dict) else None
        if template is not None and not isinstance(template, dict):
            out.append((("spec", "template"), f"expected a mapping, got {kind_of(template)}"))
        elif pod is not None and not isinstance(pod, dict):
            out.append((("spec", "template", "spec"), f"expected a mapping, got {kind_of(pod)}"))
        elif isinstance(pod, dict):
            for field_name in ("containers", "initContainers", "volumes"):
                items = pod.get(field_name)
                at: tuple[str | int, ...] = ("spec", "template", "spec", field_name)
                if items is None:
                    continue
                if not isinstance(items, list):
                    out.append((at, f"expected a list, got {kind_of(items)}"))
                    continue
                for j, c in enumerate(items):
                    if not isinstance(c, dict) or not isinstance(c.get("name"), str):
                        out.append(((*at, j), "expected a mapping with a name"))
    return out


def _positioned_list(text: str, name: str, fmt: str, d: dict[str, Any]) -> list[Problem]:
    """A ``List`` whose ``items`` is not a list, at its position."""
    from istiogen.source import load_yaml_all

    try:
        docs = load_yaml_all(text, name)
    except ProfileError:
        docs = []
    for doc in docs:
        if isinstance(doc.data, dict) and doc.data.get("items") == d["items"]:
            mk = doc.mark(("items",))
            return [Problem(name, mk.line if mk else None, mk.column if mk else None, "items",
                            f"expected a list of objects, got {kind_of(d['items'])}", "live-export")]
    return [Problem(name, None, None, "items", f"expected a list of objects, got {kind_of(d['items'])}",
                    "live-export")]


def _shape_report(text: str, name: str, fmt: str,
                  shape: list[tuple[int, tuple[str | int, ...], str]]) -> list[Problem]:
    """Shape problems with the line and column of the value: the file read again by the position-keeping
    reader (only when there is something to report), documents and List items numbered as flattened."""
    from istiogen.source import SourceDoc, dotted, load_yaml_all

    places: list[tuple[SourceDoc, tuple[str | int, ...]]] = []
    try:
        for doc in load_yaml_all(text, name):  # JSON is YAML
            data = doc.data
            if objects.is_list(data):
                places += [(doc, ("items", j)) for j in range(len(data["items"]))]
            elif data is not None:
                places.append((doc, ()))
    except ProfileError:
        places = []
    out = []
    for i, path, msg in shape:
        mk = None
        shown = dotted(path)
        if i < len(places):
            doc, prefix = places[i]
            mk = doc.mark((*prefix, *path))
            shown = dotted((*prefix, *path))
        out.append(Problem(name, mk.line if mk else None, mk.column if mk else None, shown, msg, "live-export"))
    return out




def _last_applied(obj: Any) -> Any:
    ann = obj.get("metadata", {}).get("annotations") if isinstance(obj.get("metadata"), dict) else None
    raw = ann.get(objects.LAST_APPLIED) if isinstance(ann, dict) else None
    if not isinstance(raw, str):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


# ------------------------------------------------------------------------------------------------ apply

def apply_manifest(live: Any, manifest: Any, last_applied: Any) -> Any:
    """Roughly ``kubectl apply``: the manifest merged onto the live object, minus what the previous
    apply set and this one drops."""
    patch = copy.deepcopy(manifest)
    if isinstance(last_applied, dict):
        _deletions(last_applied, patch)
    return strategic.apply(live, patch, manifest.get("kind", "") if isinstance(manifest, dict) else "")


def _deletions(last: dict[str, Any], patch: dict[str, Any]) -> None:
    for k, v in last.items():
        if k not in patch:
            patch[k] = None
        elif isinstance(v, dict) and isinstance(patch[k], dict):
            _deletions(v, patch[k])


def merge_fragment(config: Any, fragment: Any) -> Any:
    """The Prometheus config fragment merged as the README says: rule_files appended, the evaluation
    interval set when the config has none, external labels added label by label, remote_write
    entries appended unless one has their URL (as the live ConfigMap patch does)."""
    out = copy.deepcopy(config) if isinstance(config, dict) else {}
    frag_global = fragment.get("global") if isinstance(fragment.get("global"), dict) else {}
    if frag_global:
        glob = out.get("global")
        if not isinstance(glob, dict):
            glob = out["global"] = {}
        for k, v in frag_global.items():
            if k == "external_labels" and isinstance(v, dict) and isinstance(glob.get(k), dict):
                glob[k] = {**v, **glob[k]}
            else:
                glob.setdefault(k, v)
    remote = fragment.get("remote_write")
    if isinstance(remote, list) and remote:
        rw = out.get("remote_write")
        if not isinstance(rw, list):
            rw = out["remote_write"] = []
        urls = {x.get("url") for x in rw if isinstance(x, dict)}
        rw += [copy.deepcopy(x) for x in remote if isinstance(x, dict) and x.get("url") not in urls]
    files = fragment.get("rule_files")
    if isinstance(files, list) and files:
        rf = out.get("rule_files")
        if not isinstance(rf, list):
            rf = out["rule_files"] = []
        for p in files:
            if p not in rf:
                rf.append(p)
    return out






def deep_merge(base: Any, over: Any) -> Any:
    """Mappings merged, anything else replaced (how dragent.yaml settings layer)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = deep_merge(base.get(k), v)
        return out
    return copy.deepcopy(over)


def _set_document(cm: Any, key: str, new_data: Any, old_text: Any) -> Any:
    """The ConfigMap with data[key] holding ``new_data``; the live text is kept when the data is the same."""
    from istiogen.serial.yaml import dump

    out = copy.deepcopy(cm)
    old = objects.parse_embedded(old_text) if isinstance(old_text, str) else MISSING
    if old is not MISSING and not compare_objects(old, new_data):
        return out
    out.setdefault("data", {})
    out["data"][key] = dump(new_data)
    return out


# ------------------------------------------------------------------------------------------------- plan


def _check_config(obj: LiveObject, key: str, config: Any) -> None:
    """The Prometheus config the fragment is merged into must have what Prometheus reads: ``global`` a
    mapping, ``rule_files`` a list of paths (merging into anything else would invent a config)."""
    if config is MISSING or not isinstance(config, dict):
        return
    glob, rf = config.get("global"), config.get("rule_files")
    if glob is not None and not isinstance(glob, dict):
        raise obj.problem(("data", key), f"global: expected a mapping, got {kind_of(glob)}")
    if rf is not None and not (isinstance(rf, list) and all(isinstance(x, str) for x in rf)):
        raise obj.problem(("data", key), f"rule_files: expected a list of file paths, got {kind_of(rf)}")


def _check_stock_config(x: Rendered, live: LiveSet, notes: list[str]) -> None:
    """With no edit of prometheus.yml, the rules load only because the addon's own config lists the paths
    the Deployment patch projects them to: the live config must be one Prometheus reads, and list them."""
    from istiogen.render.rules_configmap import stock_rule_paths

    r = x.resolved
    f = r.flavour
    ident = _cm(r.profile.istio.namespace, f.config_map)
    obj = live.find(ident)
    if obj is None:
        return
    text = (obj.data.get("data") or {}).get(f.config_key) if isinstance(obj.data.get("data"), dict) else None
    config = objects.parse_embedded(text) if isinstance(text, str) else MISSING
    _check_config(obj, f.config_key, config)
    if not isinstance(config, dict):
        notes.append(f"{ident.label()} has no readable {f.config_key}: whether it loads the projected rules is "
                     "not shown")
        return
    listed = config.get("rule_files") or []
    missing = [p for p in stock_rule_paths(r) if p not in listed]
    if missing:
        notes.append(f"{ident.label()}: its {f.config_key} does not list {', '.join(missing)} in rule_files, so "
                     "Prometheus would not load the projected rules: re-apply the addon's manifest, or add them")


def _has_container(obj: LiveObject, container: str) -> None:
    """The patches mount the rules into the flavour's container: a live workload without it is an error
    (merging would add a container with no image, which the API server refuses)."""
    spec = obj.data.get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    names = [c["name"] for c in pod.get("containers") or []]
    if container not in names:
        raise obj.problem(("spec", "template", "spec", "containers"),
                          f"{obj.ident.label()} has no container {container!r} (it has: {', '.join(names) or 'none'})",
                          "set prometheus.container (and container_index) to the Prometheus container")


def _load(x: Rendered, a: Artifact) -> Any:
    docs = objects.load_documents(x.files[a.path].decode("utf-8"), objects.file_format(a.path))
    return copy.deepcopy(docs[0]) if docs else None


def _cm(namespace: str, name: str) -> Ident:
    return Ident("v1", "ConfigMap", namespace, name)


def effects(x: Rendered, live: LiveSet, root: str, notes: list[str]) -> list[ObjectDiff]:
    """What applying the tree ``x`` would change in the live objects."""
    import jsonpatch
    import jsonpointer

    r = x.resolved
    p = r.profile
    ns = p.istio.namespace
    f = r.flavour
    out: list[ObjectDiff] = []
    effect_of = {a.path: KINDS[a.kind].live for a in x.artifacts}
    shown = f"{root.rstrip('/')}/" if root else ""

    def diff_of(a: Artifact, target: Ident, obj: LiveObject, result: Any, note: str = "") -> None:
        changes = compare_objects(obj.data, result)
        if note:
            notes.append(note)
        if not changes:
            return
        out.append(ObjectDiff(
            artifact=shown + a.path, kind=a.kind, label=target.label(), status="changed", changes=changes,
            old=obj.data, new=result, ident=obj.ident, old_name=f"live/{obj.file}",
            new_name=f"after/{shown}{a.path}", new_file=shown + a.path, secret=objects.is_secret(obj.data),
            embedded=objects.embedded_policy(obj.data, result),
        ))

    def missing(a: Artifact, target: Ident) -> None:
        notes.append(f"{target.label()} is not in the live export: the effect of {shown}{a.path} is not shown")

    if "prometheus-config" not in effect_of.values() and r.delivery == "projected":
        _check_stock_config(x, live, notes)
    def target_of(effect: str | None, a: Artifact) -> Ident | None:
        """The live object a patch applies to (None: no patch of one object)."""
        op = p.prometheus.operator
        if effect == "merge-patch":
            return Ident("monitoring.coreos.com/v1", "Prometheus", op.namespace, op.prometheus)
        if effect == "strategic-patch":
            return objects.identity(_load(x, a)) or Ident("apps/v1", "Deployment", ns, f.deployment)
        if effect == "prometheus-config":
            return _cm(ns, f.config_map)
        if effect in ("agent-configmap-patch", "dragent-merge"):
            return _cm(p.sysdig.namespace, p.sysdig.config_map)
        return None

    strategic_result: Any = None
    for a in x.artifacts:
        effect = effect_of[a.path]
        if effect == "manifest":
            manifest = _load(x, a)
            ident = objects.identity(manifest)
            if ident is None:
                continue
            obj = live.find(ident)
            if obj is None:
                out.append(ObjectDiff(artifact=shown + a.path, kind=a.kind, label=ident.label(), status="added",
                                      changes=[Change((), "added", MISSING, manifest)], new=manifest, ident=ident,
                                      old_name="/dev/null", new_name=f"after/{shown}{a.path}",
                                      new_file=shown + a.path))
                continue
            diff_of(a, ident, obj, apply_manifest(obj.data, manifest, obj.last_applied))
            continue
        ident = target_of(effect, a)
        if ident is None:
            continue
        obj = live.find(ident)
        if obj is None:
            missing(a, ident)
            continue
        if effect == "merge-patch":
            diff_of(a, ident, obj, merge_patch(obj.data, _load(x, a)))
        elif effect == "strategic-patch":
            _has_container(obj, f.container)
            strategic_result = strategic.apply(obj.data, _load(x, a), obj.ident.kind)
            diff_of(a, ident, obj, strategic_result)
        elif effect == "prometheus-config":
            data = _load(x, a)
            if isinstance(data, list):
                note = ""
                try:
                    result = jsonpatch.apply_patch(obj.data, data)
                except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as e:
                    note = (f"{shown}{a.path} would fail on the live {ident.label()} ({e}): it changed since "
                            f"prometheus.live_config was exported; export it again and render. Shown: the "
                            f"effect without the failing test")
                    try:
                        result = jsonpatch.apply_patch(obj.data, [op for op in data if op.get("op") != "test"])
                    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException):
                        notes.append(note)
                        continue
                diff_of(a, ident, obj, result, note)
            elif isinstance(data, dict):
                text = (obj.data.get("data") or {}).get(f.config_key)
                config = objects.parse_embedded(text) if isinstance(text, str) else MISSING
                _check_config(obj, f.config_key, config)
                if config is MISSING:
                    notes.append(f"{ident.label()} has no readable {f.config_key}: the effect of "
                                 f"{shown}{a.path} is not shown")
                    continue
                diff_of(a, ident, obj, _set_document(obj.data, f.config_key, merge_fragment(config, data), text))
        elif effect == "agent-configmap-patch":
            diff_of(a, ident, obj, strategic.apply(obj.data, _load(x, a), "ConfigMap"))
        else:  # dragent-merge
            text = (obj.data.get("data") or {}).get("dragent.yaml")
            current = objects.parse_embedded(text) if isinstance(text, str) else {}
            if current is MISSING:
                notes.append(f"{ident.label()}: dragent.yaml is not readable YAML: the effect of "
                             f"{shown}{a.path} is not shown")
                continue
            diff_of(a, ident, obj, _set_document(obj.data, "dragent.yaml", deep_merge(current, _load(x, a)), text))
    jp = next((a for a in x.artifacts if effect_of[a.path] == "json6902"), None)
    if jp is not None:
        ident = Ident("apps/v1", "Deployment", ns, f.deployment)
        obj = live.find(ident)
        if obj is not None:
            try:
                result = jsonpatch.apply_patch(obj.data, _load(x, jp))
            except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as e:
                notes.append(f"{shown}{jp.path} does not apply to the live {ident.label()}: {e}")
            else:
                if strategic_result is not None:
                    apart = compare_objects(strategic_result, result)
                    if apart:
                        paths = ", ".join(sorted({c.dotted for c in apart})[:5])
                        notes.append(f"{shown}{jp.path} and the strategic-merge patch would leave the live "
                                     f"{ident.label()} different ({paths}): use one of them, once")
    return out
