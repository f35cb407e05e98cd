"""From a validated profile to the concrete facts renderers use.

Version- and flavour-dependent defaults are filled in here, once, so that
renderers never look anything up themselves.  This is also where the files a
profile points at (an exported live ConfigMap) are read: rendering stays pure.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from istiogen.catalog import istio as istio_catalog
from istiogen.catalog import sysdig as sysdig_catalog
from istiogen.catalog.prometheus import FLAVOURS, Flavour
from istiogen.errors import ProfileError
from istiogen.problems import Problem, kind_of
from istiogen.profile.loader import LoadedProfile
from istiogen.source import SourceDoc, dotted, load_yaml_all, read_file

if TYPE_CHECKING:
    from istiogen.profile.models import Profile


@dataclass(frozen=True)
class LiveConfig:
    """An exported Prometheus ConfigMap: the raw text (patched in place, comments kept)."""

    path: str  # as written in the profile
    display: str
    text: str
    config_text: str  # the prometheus.yml held in the ConfigMap
    keys: tuple[str, ...] = ()  # the ConfigMap's data keys, in their order


@dataclass(frozen=True)
class Target:
    """The Prometheus that evaluates the rules and serves ``/federate``."""

    namespace: str
    kind: str  # "deployment" or "statefulset"
    workload: str
    pod_labels: tuple[tuple[str, str], ...]
    port: int
    service_labels: tuple[tuple[str, str], ...]
    service_port: str
    # the one pod to federate when the workload runs replicas that each evaluate the same rules:
    # /federate adds each replica's external label, so federating every replica multiplies every sum
    federated_pod: str | None = None


@dataclass(frozen=True)
class Resolved:
    profile: Profile
    source: str
    release: istio_catalog.Release
    flavour: Flavour  # the flavour with the profile's overrides applied
    metrics_merging: bool
    gateway_namespace: str
    live_config: LiveConfig | None
    output_dir: str
    delivery: str
    target: Target
    sysdig_mode: str = "promscrape-v2"  # the profile's sysdig.mode, or the default of its agent_version
    warnings: tuple[Problem, ...] = ()
    doc: SourceDoc | None = None

    @property
    def name(self) -> str:
        return str(self.profile.name)


_OVERRIDABLE = (
    "deployment", "container", "container_index", "config_map", "config_key", "config_path", "port",
    "restart_to_load_rules", "template_annotations", "scrape_interval",
)


def resolve(loaded: LoadedProfile) -> Resolved:
    p = loaded.model
    rel = istio_catalog.release(p.istio.version)
    pr = p.prometheus
    flavour = FLAVOURS[pr.flavour or rel.default_flavour]
    changes: dict[str, Any] = {k: getattr(pr, k) for k in _OVERRIDABLE if getattr(pr, k) is not None}
    if pr.selector is not None:
        changes["selector"] = tuple(sorted(pr.selector.items()))
    if pr.drop_labels is not None:
        changes["drop_labels"] = tuple(pr.drop_labels)
    if pr.istiod_matcher is not None:
        changes["istiod_matcher"] = tuple(sorted(pr.istiod_matcher.items()))
        changes["family_matchers"] = ()  # the profile's matcher selects every control-plane family
    flavour = dataclasses.replace(flavour, **changes)
    live = loaded.live if pr.live_config is not None else None
    delivery = pr.delivery or flavour.delivery
    if delivery == "operator":
        op = pr.operator
        pods = (("app.kubernetes.io/name", "prometheus"), ("prometheus", op.prometheus))
        target = Target(op.namespace, "statefulset", f"prometheus-{op.prometheus}", pods, 9090,
                        (("operated-prometheus", "true"),), "web", federated_pod=f"prometheus-{op.prometheus}-0")
    else:
        target = Target(p.istio.namespace, "deployment", flavour.deployment, flavour.selector, flavour.port,
                        flavour.selector, flavour.service_port_name)
    return Resolved(
        profile=p,
        source=loaded.source,
        release=rel,
        flavour=flavour,
        metrics_merging=p.istio.metrics_merging if p.istio.metrics_merging is not None else rel.metrics_merging,
        gateway_namespace=p.istio.ingress_gateway.namespace or p.istio.namespace,
        live_config=live,
        output_dir="/".join(Path(p.output.dir).parts) if p.output.dir else p.name,  # team//x/ is team/x
        delivery=delivery,
        target=target,
        sysdig_mode=p.sysdig.mode or sysdig_catalog.default_mode(p.sysdig.agent_version),
        warnings=tuple(loaded.warnings),
        doc=loaded.doc,
    )


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

