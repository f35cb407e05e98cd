"""``istiogen import``: a profile from what ``kubectl get -o yaml`` printed.

The export is read as ``istiogen diff --live`` reads it (:func:`istiogen.diff.live.load_export`).
From it, in order:

* the Istio version, from the image tag of istiod (``pilot``), else the ingress gateway's or a
  sidecar's ``proxyv2`` image;
* the Prometheus flavour, from the Deployment's shape: the server container's name
  (``prometheus`` or ``prometheus-server``), the pod labels (``app``/``release`` or
  ``app.kubernetes.io/*``) and the config reloader; a ``Prometheus`` custom resource means the
  Operator. Every fact that differs from the flavour's defaults (names, container position, config
  path and key, port, pod labels, annotations, scrape interval) becomes an explicit override;
* rule files mounted into Prometheus from a ConfigMap, and ``PrometheusRule`` resources: their
  recording rules become ``rules.custom`` (renamed where they collide with a generated rule), and
  a mounted rules ConfigMap is taken over by name, volume and path;
* the Sysdig agent: its ConfigMap's ``dragent.yaml`` (promscrape v1 or v2, the envoy include,
  limits) and ``prometheus.yaml`` (the federation job's name and interval);
* the ingress gateway's name and namespace.

Every value keeps the object, field and file it came from (written as a comment beside it), and
whatever could not be mapped is listed with its file and path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from istiogen.catalog import istio as istio_catalog
from istiogen.catalog.prometheus import FLAVOURS, Flavour
from istiogen.diff.live import LiveObject, LiveSet
from istiogen.errors import FatalError

ProfilePath = tuple[str, ...]
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")  # Prometheus' metric name rule


@dataclass(frozen=True)
class Origin:
    """Where an imported value was read: the export file, the object and the field."""

    file: str
    obj: str
    path: str

    def text(self) -> str:
        return f"{self.obj} {self.path} ({self.file})"


@dataclass(frozen=True)
class Unmapped:
    file: str
    obj: str
    path: str
    what: str

    def text(self) -> str:
        return f"{self.file}: {self.obj} {self.path}: {self.what}"


@dataclass
class Imported:
    name: str
    values: dict[ProfilePath, tuple[Any, Origin]] = field(default_factory=dict)
    custom_rules: list[tuple[dict[str, Any], Origin]] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    retire: list[str] = field(default_factory=list)  # objects whose content istiogen now carries

    def set(self, path: ProfilePath, value: Any, origin: Origin) -> None:
        self.values[path] = (value, origin)

    def get(self, path: ProfilePath) -> Any:
        v = self.values.get(path)
        return None if v is None else v[0]


def _meta(o: LiveObject) -> dict[str, Any]:
    m = o.data.get("metadata")
    return m if isinstance(m, dict) else {}


def _pod_spec(o: LiveObject) -> dict[str, Any]:
    spec = o.data.get("spec", {})
    tmpl = spec.get("template", {}) if isinstance(spec, dict) else {}
    ps = tmpl.get("spec", {}) if isinstance(tmpl, dict) else {}
    return ps if isinstance(ps, dict) else {}


def _pod_meta(o: LiveObject) -> dict[str, Any]:
    spec = o.data.get("spec", {})
    tmpl = spec.get("template", {}) if isinstance(spec, dict) else {}
    m = tmpl.get("metadata", {}) if isinstance(tmpl, dict) else {}
    return m if isinstance(m, dict) else {}


def _containers(o: LiveObject) -> list[dict[str, Any]]:
    cs = _pod_spec(o).get("containers", [])
    return [c for c in cs if isinstance(c, dict)] if isinstance(cs, list) else []


def _image_name(image: str) -> str:
    """``docker.io/istio/pilot:1.20.3@sha256:..`` -> ``pilot``."""
    base = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return base.split(":", 1)[0]


_TAG = re.compile(r"^v?1\.(\d+)(?:\.\d+)?(?:[-_.+].*)?$")


def image_minor(image: str) -> int | None:
    """The Istio minor release in an image tag: ``istio/pilot:1.20.3-distroless`` -> 20."""
    base = image.split("@", 1)[0].rsplit("/", 1)[-1]
    if ":" not in base:
        return None
    m = _TAG.match(base.split(":", 1)[1])
    return int(m.group(1)) if m else None


def _yaml(text: str) -> Any:
    """An embedded YAML document (a ConfigMap value) as the diff reads it; None when it does not parse."""
    from istiogen.diff import objects

    try:
        docs = objects.load_documents(text, "yaml")
    except objects.ParseError:
        return None
    return docs[0] if len(docs) == 1 else None


class _Importer:
    def __init__(self, live: LiveSet, name: str) -> None:
        self.live = live
        self.out = Imported(name)

    # -- helpers --------------------------------------------------------------------------------
    def objects(self, kind: str, group: str | None = None) -> list[LiveObject]:
        return [o for i, o in sorted(self.live.objects.items(), key=lambda kv: (kv[0].namespace, kv[0].name))
                if i.kind == kind and (group is None or i.group == group)]

    def origin(self, o: LiveObject, path: str) -> Origin:
        return Origin(o.file, o.ident.label(), path)

    def unmapped(self, o: LiveObject, path: str, what: str) -> None:
        self.out.unmapped.append(Unmapped(o.file, o.ident.label(), path, what))

    def workloads(self) -> list[LiveObject]:
        return [*self.objects("Deployment"), *self.objects("StatefulSet"), *self.objects("DaemonSet")]

    # -- Istio ---------------------------------------------------------------------------------
    def istio(self, forced: str | None) -> int:
        found: tuple[int, LiveObject, str, int] | None = None
        for rank, wanted in enumerate(("pilot", "proxyv2")):
            for o in self.workloads():
                for i, c in enumerate(_containers(o)):
                    image = c.get("image")
                    if not isinstance(image, str) or _image_name(image) != wanted:
                        continue
                    minor = image_minor(image)
                    if minor is not None and found is None:
                        found = (minor, o, f".spec.template.spec.containers[{i}].image = {image}", rank)
            if found:
                break
        if forced is not None:
            minor = istio_catalog.parse_version(forced)
            if minor is None:
                raise FatalError(f"--istio-version {forced!r}: expected a version such as 1.22")
            self.out.set(("istio", "version"), f"1.{minor}", Origin("--istio-version", "command line", ""))
            return minor
        if found is None:
            raise FatalError("no Istio version found in the export (no istiod/pilot or proxyv2 image with a "
                             "version tag): export istiod too, or give --istio-version")
        minor, o, where, _rank = found
        try:
            version = istio_catalog.release(f"1.{minor}").version
        except KeyError:
            raise FatalError(f"{o.file}: {o.ident.label()}: Istio 1.{minor} is not one istiogen knows "
                             f"({istio_catalog.version_range()})") from None
        self.out.set(("istio", "version"), version, self.origin(o, where))
        if found[3] == 0:  # istiod itself: its namespace is the Istio namespace
            ns = o.ident.namespace
            if ns and ns != "istio-system":
                self.out.set(("istio", "namespace"), ns, self.origin(o, ".metadata.namespace"))
        return minor

    def gateway(self) -> None:
        for o in self.objects("Deployment"):
            labels = _pod_meta(o).get("labels") or {}
            if isinstance(labels, dict) and labels.get("istio") == "ingressgateway":
                if o.ident.name != "istio-ingressgateway":
                    self.out.set(("istio", "ingress_gateway", "workload"), o.ident.name,
                                 self.origin(o, ".metadata.name"))
                ns = self.out.get(("istio", "namespace")) or "istio-system"
                if o.ident.namespace != ns:
                    self.out.set(("istio", "ingress_gateway", "namespace"), o.ident.namespace,
                                 self.origin(o, ".metadata.namespace"))
                return

    def ambient(self) -> None:
        for o in self.objects("DaemonSet"):
            if any(_image_name(str(c.get("image", ""))) == "ztunnel" for c in _containers(o)):
                self.unmapped(o, ".spec", "ambient mode (ztunnel) is not expressible in this istiogen version; "
                              "the profile covers sidecar workloads only")

    # -- Prometheus ----------------------------------------------------------------------------
    def prometheus_deployment(self) -> tuple[LiveObject, int] | None:
        for o in self.objects("Deployment"):
            for i, c in enumerate(_containers(o)):
                if _image_name(str(c.get("image", ""))) == "prometheus":
                    return o, i
        return None

    def flavour(self, o: LiveObject, index: int, minor: int) -> Flavour:
        cs = _containers(o)
        name = cs[index].get("name")
        labels = _pod_meta(o).get("labels") or {}
        if name == "prometheus-server" or any(str(c.get("name", "")).endswith("configmap-reload") for c in cs):
            if isinstance(labels, dict) and labels.get("app.kubernetes.io/name") == "prometheus":
                key = "samples-1.22"
            else:
                key = "samples-1.14" if minor >= 14 else "samples-1.7"
        else:
            key = "helm-1.4" if minor <= 4 else "istioctl-1.5"
        f = FLAVOURS[key]
        if f.name != istio_catalog.release(f"1.{minor}").default_flavour:
            self.out.set(("prometheus", "flavour"), f.name,
                         self.origin(o, f".spec.template.spec.containers[{index}].name = {name} and the pod labels"))
        return f

    def prometheus(self, minor: int) -> None:
        crs = self.objects("Prometheus", "monitoring.coreos.com")
        if crs:
            self.operator(crs[0])
            return
        found = self.prometheus_deployment()
        if found is None:
            self.out.unmapped.append(Unmapped("(export)", "-", "-", "no Prometheus Deployment (an image named "
                                              "prometheus) or Prometheus resource: the flavour's defaults apply"))
            return
        o, index = found
        f = self.flavour(o, index, minor)
        cs = _containers(o)
        c = cs[index]
        where = f".spec.template.spec.containers[{index}]"
        istio_ns = self.out.get(("istio", "namespace")) or "istio-system"
        if o.ident.namespace != istio_ns:
            self.unmapped(o, ".metadata.namespace", f"Prometheus runs in {o.ident.namespace}, not in the Istio "
                          f"namespace {istio_ns}: istiogen expects it there")
        if o.ident.name != f.deployment:
            self.out.set(("prometheus", "deployment"), o.ident.name, self.origin(o, ".metadata.name"))
        if c.get("name") != f.container:
            self.out.set(("prometheus", "container"), c.get("name"), self.origin(o, f"{where}.name"))
        if index != f.container_index:
            self.out.set(("prometheus", "container_index"), index, self.origin(o, where))
        labels = _pod_meta(o).get("labels") or {}
        if isinstance(labels, dict) and not all(labels.get(k) == v for k, v in f.selector):
            sel = (o.data.get("spec", {}).get("selector", {}) or {}).get("matchLabels") or {}
            if isinstance(sel, dict) and sel:
                self.out.set(("prometheus", "selector"), dict(sorted(sel.items())),
                             self.origin(o, ".spec.selector.matchLabels"))
        has_ann = bool(_pod_meta(o).get("annotations"))
        if has_ann != f.template_annotations:
            self.out.set(("prometheus", "template_annotations"), has_ann,
                         self.origin(o, ".spec.template.metadata.annotations"))
        ports = [p for p in c.get("ports") or [] if isinstance(p, dict) and isinstance(p.get("containerPort"), int)]
        if ports and ports[0]["containerPort"] != f.port:
            self.out.set(("prometheus", "port"), ports[0]["containerPort"],
                         self.origin(o, f"{where}.ports[0].containerPort"))
        config_path = f.config_path
        for k, arg in enumerate(c.get("args") or []):
            if isinstance(arg, str) and arg.startswith("--config.file="):
                config_path = arg.split("=", 1)[1]
                if config_path != f.config_path:
                    self.out.set(("prometheus", "config_path"), config_path, self.origin(o, f"{where}.args[{k}]"))
        key = config_path.rsplit("/", 1)[-1]
        if key != f.config_key:
            self.out.set(("prometheus", "config_key"), key, self.origin(o, f"{where}.args (--config.file)"))
        folder = config_path.rsplit("/", 1)[0]
        mounts = {m.get("name"): m.get("mountPath") for m in c.get("volumeMounts") or [] if isinstance(m, dict)}
        volumes = [v for v in _pod_spec(o).get("volumes") or [] if isinstance(v, dict)]
        for k, v in enumerate(volumes):
            cm = (v.get("configMap") or {}).get("name") if isinstance(v.get("configMap"), dict) else None
            if cm is None:
                continue
            mount = mounts.get(v.get("name"))
            if mount == folder:
                if cm != f.config_map:
                    self.out.set(("prometheus", "config_map"), cm, self.origin(o, f".spec.template.spec.volumes[{k}]"))
                if v.get("name") != f.config_volume:
                    self.unmapped(o, f".spec.template.spec.volumes[{k}].name",
                                  f"the config volume is named {v.get('name')}, not {f.config_volume} as in the "
                                  "flavour: istiogen has no setting for it")
                self.config_map(o.ident.namespace, cm, minor)
            elif mount is not None:
                self.rules_config_map(o, k, v, str(cm), str(mount))
        if f.reloader and not any(x.get("name") == f.reloader for x in cs):
            self.unmapped(o, ".spec.template.spec.containers", f"no {f.reloader} container: the flavour expects "
                          "one to reload the config")

    def config_map(self, namespace: str, name: str, minor: int) -> None:
        for o in self.objects("ConfigMap"):
            if (o.ident.namespace, o.ident.name) != (namespace, name):
                continue
            data = o.data.get("data") or {}
            key = self.out.get(("prometheus", "config_key")) or "prometheus.yml"
            cfg = _yaml(data.get(key, "")) if isinstance(data, dict) and isinstance(data.get(key), str) else None
            if not isinstance(cfg, dict):
                self.unmapped(o, f".data.{key}", "no Prometheus configuration found under this key")
                return
            g = cfg.get("global") if isinstance(cfg.get("global"), dict) else {}
            interval = g.get("scrape_interval") if isinstance(g, dict) else None
            flavour = FLAVOURS[self.out.get(("prometheus", "flavour")) or
                               istio_catalog.release(f"1.{minor}").default_flavour]
            if isinstance(interval, str) and interval != flavour.scrape_interval:
                self.out.set(("prometheus", "scrape_interval"), interval,
                             self.origin(o, f".data.{key} global.scrape_interval"))
            if cfg.get("remote_write"):
                self.unmapped(o, f".data.{key} remote_write", "remote write is configured by hand: set "
                              "remote_write.url and remote_write.secret in the profile (credentials are never "
                              "imported)")
            for k, v in sorted(data.items()):
                if k != key and isinstance(v, str):
                    self.rule_text(o, k, v)
            return

    def rules_config_map(self, dep: LiveObject, k: int, volume: dict[str, Any], cm: str, mount: str) -> None:
        for o in self.objects("ConfigMap"):
            if (o.ident.namespace, o.ident.name) != (dep.ident.namespace, cm):
                continue
            data = o.data.get("data") or {}
            if not isinstance(data, dict):
                return
            rule_keys = [key for key, v in sorted(data.items()) if isinstance(v, str) and self.rule_text(o, key, v)]
            if not rule_keys:
                return
            where = f".spec.template.spec.volumes[{k}]"
            self.out.set(("prometheus", "rules_config_map"), cm, self.origin(dep, where))
            self.out.set(("prometheus", "rules_volume"), volume.get("name"), self.origin(dep, f"{where}.name"))
            self.out.set(("prometheus", "rules_mount_path"), mount, self.origin(dep, "volumeMounts"))
            if len(rule_keys) == 1:
                self.out.set(("prometheus", "rules_key"), rule_keys[0], self.origin(o, f".data.{rule_keys[0]}"))
            return

    def rule_text(self, o: LiveObject, key: str, text: str) -> bool:
        """Recording rules of a rule file held in a ConfigMap key; True when it is a rule file."""
        doc = _yaml(text)
        if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
            return False
        self.rule_groups(o, f".data.{key}", doc["groups"])
        return True

    def rule_groups(self, o: LiveObject, where: str, groups: list[Any]) -> None:
        for gi, g in enumerate(groups):
            rules = g.get("rules") if isinstance(g, dict) else None
            for ri, r in enumerate(rules if isinstance(rules, list) else []):
                path = f"{where} groups[{gi}].rules[{ri}]"
                if not isinstance(r, dict):
                    continue
                if isinstance(r.get("record"), str) and isinstance(r.get("expr"), str | int | float):
                    rule: dict[str, Any] = {"record": r["record"], "expr": str(r["expr"]).strip()}
                    labels = r.get("labels")
                    if isinstance(labels, dict) and labels:
                        rule["labels"] = {str(k): str(v) for k, v in sorted(labels.items())}
                    self.out.custom_rules.append((rule, self.origin(o, path)))
                elif isinstance(r.get("alert"), str):
                    self.unmapped(o, path, f"alert {r['alert']}: istiogen generates its own alerts and has no "
                                  "custom alerts; compare with prometheus/alerts.yaml")

    def operator(self, o: LiveObject) -> None:
        self.out.set(("prometheus", "delivery"), "operator", self.origin(o, "kind"))
        spec = o.data.get("spec") if isinstance(o.data.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        if o.ident.namespace != "monitoring":
            self.out.set(("prometheus", "operator", "namespace"), o.ident.namespace,
                         self.origin(o, ".metadata.namespace"))
        if o.ident.name != "k8s":
            self.out.set(("prometheus", "operator", "prometheus"), o.ident.name, self.origin(o, ".metadata.name"))
        for field_name, key in (("rule_labels", "ruleSelector"), ("monitor_labels", "podMonitorSelector")):
            sel = spec.get(key)
            labels = sel.get("matchLabels") if isinstance(sel, dict) else None
            if isinstance(labels, dict) and labels:
                self.out.set(("prometheus", "operator", field_name), dict(sorted(labels.items())),
                             self.origin(o, f".spec.{key}.matchLabels"))
            if isinstance(sel, dict) and sel.get("matchExpressions"):
                self.unmapped(o, f".spec.{key}.matchExpressions", "only matchLabels selectors are expressible")
        if spec.get("remoteWrite"):
            self.unmapped(o, ".spec.remoteWrite", "remote write is configured by hand: set remote_write.* in the "
                          "profile (credentials are never imported)")
        for pr in self.objects("PrometheusRule", "monitoring.coreos.com"):
            groups = (pr.data.get("spec") or {}).get("groups")
            if isinstance(groups, list):
                self.rule_groups(pr, ".spec", groups)
                self.out.retire.append(f"kubectl delete -n {pr.ident.namespace} prometheusrule/{pr.ident.name}"
                                       "   (its recording rules are now rules.custom in istiogen's PrometheusRule)")

    # -- Sysdig ---------------------------------------------------------------------------------
    def sysdig(self, minor: int) -> None:
        agent = [o for o in self.objects("ConfigMap") if isinstance((o.data.get("data") or {}), dict)
                 and isinstance((o.data.get("data") or {}).get("dragent.yaml"), str)]
        if not agent:
            self.out.unmapped.append(Unmapped("(export)", "-", "-", "no ConfigMap with a dragent.yaml key (the "
                                              "sysdig-agent ConfigMap): the agent settings are istiogen's defaults"))
            return
        o = agent[0]
        if o.ident.namespace != "sysdig-agent":
            self.out.set(("sysdig", "namespace"), o.ident.namespace, self.origin(o, ".metadata.namespace"))
        if o.ident.name != "sysdig-agent":
            self.out.set(("sysdig", "config_map"), o.ident.name, self.origin(o, ".metadata.name"))
        data = o.data["data"]
        dragent = _yaml(data["dragent.yaml"])
        prom = dragent.get("prometheus") if isinstance(dragent, dict) else None
        prom = prom if isinstance(prom, dict) else {}
        v2 = prom.get("prom_service_discovery")
        image = self.agent_image()
        if image is not None:  # the mode's default follows it
            ds, c, tag = image
            self.out.set(("sysdig", "agent_version"), tag,
                         self.origin(ds, f".spec.template.spec.containers[{c}].image"))
        version = self.agent_version()
        mode = None
        if v2 is True:
            mode = ("promscrape-v2", ".data.dragent.yaml prometheus.prom_service_discovery = true")
        elif v2 is False or "process_filter" in prom:
            mode = ("promscrape-v1", ".data.dragent.yaml prometheus.process_filter")
        elif version is not None and version[0] >= 12:
            mode = ("promscrape-v2", f"agent {version[0]}.{version[1]}: promscrape v2 is its default")
        elif version is not None:
            mode = ("promscrape-v1", f"agent {version[0]}.{version[1]}: promscrape v2 is off before 12.0 unless "
                    "prom_service_discovery says so")
        # v1 is never a default any more (sysdig.agent_version): written whenever the agent runs it
        if mode is not None:
            self.out.set(("sysdig", "mode"), mode[0], self.origin(o, mode[1]))
        pf = prom.get("process_filter")
        if isinstance(pf, list) and any("15090" in str(x) for x in pf):
            self.out.set(("sysdig", "envoy_filter"), True,
                         self.origin(o, ".data.dragent.yaml prometheus.process_filter"))
        for key, default in (("max_metrics", 3000), ("max_metrics_per_process", 20000), ("max_tags_per_metric", 40)):
            v = prom.get(key)
            if isinstance(v, int) and not isinstance(v, bool) and v != default:
                self.out.set(("sysdig", "limits", key), v, self.origin(o, f".data.dragent.yaml prometheus.{key}"))
        pyaml = data.get("prometheus.yaml")
        cfg = _yaml(pyaml) if isinstance(pyaml, str) else None
        jobs = cfg.get("scrape_configs") if isinstance(cfg, dict) else None
        for j, job in enumerate(jobs if isinstance(jobs, list) else []):
            if isinstance(job, dict) and job.get("metrics_path") != "/federate":
                self.unmapped(o, f".data.prometheus.yaml scrape_configs[{j}]",
                              f"scrape job {job.get('job_name')!r}: the agent patch replaces prometheus.yaml and "
                              "re-emits only istiogen's jobs and the agent's defaults; add it back by hand")
            if isinstance(job, dict) and job.get("metrics_path") == "/federate":
                name = job.get("job_name")
                if isinstance(name, str) and name != "istio-federation":
                    self.out.set(("sysdig", "job_name"), name,
                                 self.origin(o, f".data.prometheus.yaml scrape_configs[{j}].job_name"))
                iv = job.get("scrape_interval")
                if isinstance(iv, str) and iv != "15s":
                    self.out.set(("sysdig", "scrape_interval"), iv,
                                 self.origin(o, f".data.prometheus.yaml scrape_configs[{j}].scrape_interval"))

    def agent_image(self) -> tuple[LiveObject, int, str] | None:
        """The agent DaemonSet, its agent container's index and the image's version (``13.5.0``)."""
        for o in self.objects("DaemonSet"):
            for i, c in enumerate(_containers(o)):
                image = str(c.get("image", "")).split("@", 1)[0]
                if _image_name(image).startswith("agent") and ":" in image.rsplit("/", 1)[-1]:
                    m = re.match(r"^(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){0,2}$", image.rsplit(":", 1)[-1])
                    if m:
                        return o, i, m.group(0)
        return None

    def agent_version(self) -> tuple[int, int] | None:
        image = self.agent_image()
        if image is None:
            return None
        parts = [int(x) for x in image[2].split(".")] + [0]
        return parts[0], parts[1]


def import_export(live: LiveSet, name: str, istio_version: str | None = None) -> Imported:
    imp = _Importer(live, name)
    minor = imp.istio(istio_version)
    imp.gateway()
    imp.ambient()
    imp.prometheus(minor)
    imp.sysdig(minor)
    return imp.out


def rename_collisions(imported: Imported, generated: set[str]) -> None:
    """Imported rules named like a generated one (or like an earlier imported one) get ``:imported``
    (then ``:imported2``, ...) appended, so nothing records the same series twice."""
    taken = set(generated)
    for rule, _ in imported.custom_rules:
        name = rule["record"]
        if name in taken:
            n, new = 1, f"{name}:imported"
            while new in taken:
                n += 1
                new = f"{name}:imported{n}"
            imported.renamed.append((name, new))
            rule["record"] = new
        taken.add(rule["record"])


@dataclass
class ImportResult:
    imported: Imported
    text: str  # the profile, commented
    warnings: list[str]


def _generated_records(data: dict[str, Any], work: Path) -> set[str]:
    from istiogen.pipeline import render
    from istiogen.validate import load

    probe = dict(data)
    if "rules" in probe:
        probe["rules"] = {k: v for k, v in probe["rules"].items() if k != "custom"}
        if not probe["rules"]:
            del probe["rules"]
    path = work / f"{data['name']}.yaml"
    path.write_text(_plain_yaml(probe), encoding="utf-8")
    rendered = render(load(path))
    names = {r.record for r in rendered.model.rules}
    names |= {a.name for a in rendered.model.alerts}
    return names


def _plain_yaml(data: dict[str, Any]) -> str:
    import io

    from ruamel.yaml import YAML

    y = YAML(typ="safe", pure=True)
    y.default_flow_style = False
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


def _drop_invalid_rules(imp: Imported) -> None:
    from istiogen.profile.promql import promql_error

    kept = []
    for rule, origin in imp.custom_rules:
        err = promql_error(rule["expr"])
        if err is None and not _METRIC_NAME.fullmatch(rule["record"]):
            err = f"'{rule['record']}' is not a valid metric name"
        if err is not None:
            imp.unmapped.append(Unmapped(origin.file, origin.obj, origin.path, f"rule {rule['record']} not "
                                         f"imported: {err}"))
        else:
            kept.append((rule, origin))
    imp.custom_rules = kept


def import_profile(exports: list[Path], name: str, istio_version: str | None = None,
                   display: Any = str) -> ImportResult:
    """Read the exports, work out the profile, rename colliding rules, and validate the result by
    loading and rendering it (an imported profile that istiogen would refuse is a bug, reported)."""
    import tempfile

    from istiogen import verify
    from istiogen.adopt.profile_text import profile_data, profile_text
    from istiogen.diff.live import load_export
    from istiogen.errors import ProfileError
    from istiogen.pipeline import render
    from istiogen.validate import load

    live = LiveSet()
    for p in exports:
        part = load_export(p, display)
        for ident, obj in part.objects.items():
            live.objects.setdefault(ident, obj)
        live.skipped += part.skipped
    imp = import_export(live, name, istio_version)
    _drop_invalid_rules(imp)
    with tempfile.TemporaryDirectory(prefix="istiogen-import-") as tmp:
        work = Path(tmp)
        data = profile_data(imp)
        rename_collisions(imp, _generated_records(data, work))
        text = profile_text(imp, [display(p) for p in exports])
        path = work / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        rendered = render(load(path))
        problems = verify.run(rendered)  # stage 2: what render leaves to it (custom records, exclude, patches)
        if any(p.level == "error" for p in problems):
            raise ProfileError(problems)
    return ImportResult(imp, text, [w.message for w in rendered.warnings])
