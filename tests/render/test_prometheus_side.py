"""The Prometheus side, checked with the real tools: promtool, kubectl patch --local, kubectl kustomize."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from istiogen.pipeline import Rendered
from istiogen.promast import metric_names
from tests.conftest import REPO, materialize, render_text, run

ADDONS = REPO / "tests" / "fixtures" / "addons"
FLAVOUR_VERSIONS = {"istioctl-1.5": "1.5", "samples-1.7": "1.8", "samples-1.14": "1.20", "samples-1.22": "1.22"}


def without_kubernetes_sd(cfg: dict) -> dict:  # type: ignore[type-arg]
    """Debian's promtool is built without Kubernetes service discovery: swap each job's
    kubernetes_sd_configs for an empty static_configs (relabelling, rule_files and the
    rest of the config are still checked as they are)."""
    for job in cfg.get("scrape_configs") or []:
        if job.pop("kubernetes_sd_configs", None) is not None:
            job["static_configs"] = [{"targets": []}]
    return cfg


def flavour_profile(tmp_path: Path, flavour: str, extra: str = "", delivery: str = "mount") -> Rendered:
    # promscrape v1 (the documented recipe), as before the mode followed the agent version: the patches then
    # also carry the prometheus.io/* annotations the agent finds /federate by
    return render_text(
        tmp_path,
        f"""
        name: t-{flavour.replace('.', '-')}
        istio:
          version: "{FLAVOUR_VERSIONS[flavour]}"
        sysdig: {{mode: promscrape-v1}}
        prometheus:
          flavour: {flavour}
          delivery: {delivery}
        {extra}
        """,
    )


def test_global_evaluation_settings_are_left_to_the_rule_groups(tmp_path: Path,
                                                                examples_rendered: dict[str, Rendered]) -> None:
    """Each group carries the profile's interval, so nothing sets the Prometheus-wide default
    (``global.evaluation_interval``, the Operator's ``evaluationInterval``, the chart's
    ``server.global``): that default governs every other rule file of a shared Prometheus."""
    live = tmp_path / "live"
    live.mkdir()
    (live / "live.yaml").write_text((ADDONS / "istioctl-1.5-configmap.yaml").read_text())
    cases = {**examples_rendered, "live": flavour_profile(live, "istioctl-1.5", "  live_config: live.yaml")}
    for name, r in cases.items():
        for f in ("prometheus/rules.yaml", "prometheus/alerts.yaml"):
            for g in yaml.safe_load(r.files[f])["groups"]:
                assert g["interval"] == r.resolved.profile.rules.interval, (name, g["name"])
        for a in r.artifacts:
            data = r.files[a.path].decode()
            if a.kind == "prometheus-cr-patch":
                assert "evaluationInterval" not in json.loads(data)["spec"], name
            elif a.kind == "prometheus-config-patch" and a.path.endswith(".yaml"):
                assert "evaluation_interval" not in (yaml.safe_load(data).get("global") or {}), name
            elif a.kind == "helm-values-prometheus":
                assert "evaluation_interval" not in (yaml.safe_load(data)["server"].get("global") or {}), name
            elif a.kind == "prometheus-configmap":
                cfg = yaml.safe_load(yaml.safe_load(data)["data"]["prometheus.yml"])
                assert cfg["global"] == {"scrape_interval": "15s"}, name  # as exported
    assert {a.kind for r in cases.values() for a in r.artifacts} >= {
        "prometheus-cr-patch", "prometheus-config-patch", "helm-values-prometheus", "prometheus-configmap"}


def test_rules_and_alerts_pass_promtool(tmp_path: Path, promtool: str, examples_rendered: dict[str, Rendered],
                                        default_rendered: Rendered) -> None:
    for name, r in {"default": default_rendered, **examples_rendered}.items():
        tree = materialize(r, tmp_path / name)
        files = [str(tree / "prometheus" / f) for f in ("rules.yaml", "alerts.yaml")]
        out = run([promtool, "check", "rules", *files])
        assert out.stdout.count("SUCCESS") == 2, out.stdout


def test_every_rule_carries_the_federation_label_and_records_rates(default_rendered: Rendered) -> None:
    doc = yaml.safe_load(default_rendered.files["prometheus/rules.yaml"])
    records = [r for g in doc["groups"] for r in g["rules"]]
    assert records
    federated = set(default_rendered.model.federated_records)
    for rule in records:
        if rule["record"] not in federated:  # a base record other rules of its group read: no federation label
            assert "labels" not in rule and any(rule["record"] in x["expr"] for x in records), rule["record"]
            continue
        assert rule["labels"]["sysdig"] == "true", rule["record"]
        expr = rule["expr"]
        raw = {n for n in metric_names(expr) if n.startswith("istio_") and n not in {x["record"] for x in records}}
        # never a sum of raw counters: every raw counter is read through rate()
        assert all(f"rate({n}" in expr for n in raw), rule["record"]
    bucket = next(r for r in records
                  if r["record"].startswith("destination:istio_request_duration_milliseconds_bucket"))
    assert "le" in bucket["expr"].split(") (rate(")[0]  # buckets aggregated by le


def test_rules_configmap_holds_exactly_the_rule_files(default_rendered: Rendered) -> None:
    cm = yaml.safe_load(default_rendered.files["prometheus/rules-configmap.yaml"])
    assert cm["kind"] == "ConfigMap"
    assert (cm["metadata"]["name"], cm["metadata"]["namespace"]) == ("rules", "istio-system")
    assert cm["data"]["rules.yaml"].encode() == default_rendered.files["prometheus/rules.yaml"]
    assert cm["data"]["alerts.yaml"].encode() == default_rendered.files["prometheus/alerts.yaml"]


def test_patched_prometheus_config_passes_promtool_check_config(tmp_path: Path, promtool: str) -> None:
    """The live ConfigMap's prometheus.yml with rule_files added loads the mounted rules."""
    live = tmp_path / "live.yaml"
    live.write_text((ADDONS / "istioctl-1.5-configmap.yaml").read_text())
    r = flavour_profile(tmp_path, "istioctl-1.5", "  live_config: live.yaml")
    tree = materialize(r, tmp_path / "tree")
    cm = yaml.safe_load((tree / "prometheus/prometheus-configmap.yaml").read_text())
    cfg = yaml.safe_load(cm["data"]["prometheus.yml"])
    assert cfg["rule_files"] == ["/opt/rules/alerts.yaml", "/opt/rules/rules.yaml"]
    # lay the files out as in the pod: the config, and the rules under the mount path
    pod = tmp_path / "pod"
    (pod / "opt/rules").mkdir(parents=True)
    for f in ("rules.yaml", "alerts.yaml"):
        (pod / "opt/rules" / f).write_bytes(r.files[f"prometheus/{f}"])
    cfg["rule_files"] = [str(pod) + p for p in cfg["rule_files"]]
    (pod / "prometheus.yml").write_text(yaml.safe_dump(without_kubernetes_sd(cfg)))
    out = run([promtool, "check", "config", str(pod / "prometheus.yml")])
    assert "SUCCESS" in out.stdout + out.stderr


def test_fragment_merged_into_a_flavour_config_passes_promtool(tmp_path: Path, promtool: str) -> None:
    r = flavour_profile(tmp_path, "samples-1.22", delivery="mount")
    frag = yaml.safe_load(r.files["prometheus/prometheus-config-fragment.yaml"])
    assert frag == {"rule_files": ["/opt/rules/alerts.yaml", "/opt/rules/rules.yaml"]}
    cm = yaml.safe_load((ADDONS / "samples-1.22-configmap.yaml").read_text())
    base = yaml.safe_load(cm["data"]["prometheus.yml"])
    pod = tmp_path / "pod"
    (pod / "rules").mkdir(parents=True)
    for f in ("rules.yaml", "alerts.yaml"):
        (pod / "rules" / f).write_bytes(r.files[f"prometheus/{f}"])
    base["rule_files"] = [str(pod / "rules" / Path(p).name) for p in frag["rule_files"]]
    (pod / "prometheus.yml").write_text(yaml.safe_dump(without_kubernetes_sd(base)))
    out = run([promtool, "check", "config", str(pod / "prometheus.yml")])
    assert "SUCCESS" in out.stdout + out.stderr


def test_live_configmap_patch_keeps_comments_order_and_drops_server_fields(tmp_path: Path, kubectl: str) -> None:
    src = (ADDONS / "istioctl-1.5-configmap.yaml").read_text()
    (tmp_path / "live.yaml").write_text(src)
    r = flavour_profile(tmp_path, "istioctl-1.5", "  live_config: live.yaml")
    patched = r.files["prometheus/prometheus-configmap.yaml"].decode()
    # comments inside the embedded config and key order survive
    assert "# Mixer scrapping. Defaults to Prometheus and mixer on same namespace." in patched
    assert "# Scrape config for envoy stats" in patched
    assert patched.index("apiVersion: v1") < patched.index("data:") < patched.index("kind: ConfigMap")
    for server_field in ("managedFields", "resourceVersion", "uid:", "creationTimestamp", "last-applied"):
        assert server_field not in patched
    body = yaml.safe_load(patched)["data"]["prometheus.yml"]
    assert body.index("global:") < body.index("rule_files:") < body.index("scrape_configs:")
    assert yaml.safe_load(body)["global"] == {"scrape_interval": "15s"}  # the export's, untouched
    # the unified diff shows only additions to the embedded config, and the server-field removals
    diff = r.files["prometheus/prometheus-configmap.diff"].decode()
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert any("rule_files:" in line for line in added)
    assert any("/opt/rules/rules.yaml" in line for line in added)
    # the RFC 6902 patch applied by kubectl to the exported object gives the same data
    live_file = tmp_path / "export.yaml"
    live_file.write_text(src)
    ops = json.loads(r.files["prometheus/prometheus-configmap.json6902.json"])
    assert [op["op"] for op in ops] == ["test", "replace"]
    out = run([kubectl, "patch", "--local", "-f", str(live_file), "--type", "json", "-p", json.dumps(ops),
               "-o", "json"])
    assert json.loads(out.stdout)["data"]["prometheus.yml"] == body
    # the test op makes the patch refuse a ConfigMap that changed since the export
    live_file.write_text(src.replace("scrape_interval: 15s", "scrape_interval: 30s"))
    bad = run([kubectl, "patch", "--local", "-f", str(live_file), "--type", "json", "-p", json.dumps(ops),
               "-o", "json"], check=False)
    assert bad.returncode != 0


def _containers(obj: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {c["name"]: c for c in obj["spec"]["template"]["spec"]["containers"]}


def patch_addon(tmp_path: Path, kubectl: str, flavour: str, patch_type: str,
                delivery: str) -> tuple[Rendered, dict, dict]:  # type: ignore[type-arg]
    """Render for ``flavour`` and apply one of its Deployment patches to the addon's Deployment with kubectl."""
    r = flavour_profile(tmp_path, flavour, delivery=delivery)
    tree = materialize(r, tmp_path / "tree")
    deployment = ADDONS / f"{flavour}-deployment.yaml"
    patch = tree / "prometheus" / ("deployment-patch.yaml" if patch_type == "strategic"
                                   else "deployment-patch.json6902.json")
    out = run([kubectl, "patch", "--local", "-f", str(deployment), "--type", patch_type, "--patch-file", str(patch),
               "-o", "json"])
    return r, yaml.safe_load(deployment.read_text()), json.loads(out.stdout)


@pytest.mark.parametrize("flavour", sorted(FLAVOUR_VERSIONS))
@pytest.mark.parametrize("patch_type", ["strategic", "json"])
def test_deployment_patches_apply_to_each_flavour(tmp_path: Path, kubectl: str, flavour: str, patch_type: str) -> None:
    r, before, after = patch_addon(tmp_path, kubectl, flavour, patch_type, "mount")
    container = r.resolved.flavour.container
    conts = _containers(after)
    assert {"name": "config-rules", "mountPath": "/opt/rules", "readOnly": True} in conts[container]["volumeMounts"]
    for name, c in conts.items():  # the mount went into the flavour's container only
        if name != container:
            assert all(m["name"] != "config-rules" for m in c.get("volumeMounts", []))
    vols = after["spec"]["template"]["spec"]["volumes"]
    assert {"name": "config-rules", "configMap": {"name": "rules", "defaultMode": 420}} in vols
    ann = after["spec"]["template"]["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true"
    assert ann["prometheus.io/port"] == "9090"
    assert ann["prometheus.io/path"] == "/federate"
    assert ann["istiogen.io/rules-checksum"].startswith("sha256:")
    # what was there stays: existing volumes, mounts and annotations
    old_ann = before["spec"]["template"]["metadata"].get("annotations", {})
    assert old_ann.items() <= ann.items()
    assert len(vols) == len(before["spec"]["template"]["spec"]["volumes"]) + 1
    assert [c["name"] for c in after["spec"]["template"]["spec"]["containers"]] == [
        c["name"] for c in before["spec"]["template"]["spec"]["containers"]
    ]


@pytest.mark.parametrize("flavour", ["samples-1.7", "samples-1.14", "samples-1.22"])
@pytest.mark.parametrize("patch_type", ["strategic", "json"])
def test_projected_delivery_puts_the_rules_in_the_reloaded_config_volume(tmp_path: Path, kubectl: str, flavour: str,
                                                                        patch_type: str) -> None:
    r, before, after = patch_addon(tmp_path, kubectl, flavour, patch_type, "projected")
    assert r.resolved.delivery == "projected"
    vols = {v["name"]: v for v in after["spec"]["template"]["spec"]["volumes"]}
    config = vols["config-volume"]
    assert "configMap" not in config
    assert config["projected"]["sources"] == [
        {"configMap": {"name": "prometheus", "items": [{"key": k, "path": k} for k in (
            "prometheus.yml", "recording_rules.yml", "alerting_rules.yml")]}},
        {"configMap": {"name": "rules", "items": [{"key": "alerts.yaml", "path": "alerts"},
                                                  {"key": "rules.yaml", "path": "rules"}]}},
    ]
    assert set(vols) == {v["name"] for v in before["spec"]["template"]["spec"]["volumes"]}
    # the containers and their mounts are untouched: both the server and the reloader see the same volume
    assert after["spec"]["template"]["spec"]["containers"] == before["spec"]["template"]["spec"]["containers"]
    ann = after["spec"]["template"]["metadata"]["annotations"]
    assert ann["prometheus.io/path"] == "/federate"
    assert "istiogen.io/rules-checksum" not in ann  # the reloader picks up changes: no restart needed


def test_json_patch_refuses_a_deployment_of_another_shape(tmp_path: Path, kubectl: str) -> None:
    """The 1.5 patch (container index 0) must not land in the reloader container of a samples addon."""
    r = flavour_profile(tmp_path, "istioctl-1.5")
    tree = materialize(r, tmp_path / "tree")
    out = run([kubectl, "patch", "--local", "-f", str(ADDONS / "samples-1.22-deployment.yaml"), "--type", "json",
               "--patch-file", str(tree / "prometheus/deployment-patch.json6902.json"), "-o", "json"], check=False)
    assert out.returncode != 0
    assert "test" in out.stderr.lower() or "testing value" in out.stderr.lower()


def test_checksum_changes_with_the_rules(tmp_path: Path) -> None:
    """delivery: mount (the default of the istioctl addon, which has no config reloader)."""
    a = flavour_profile(tmp_path, "istioctl-1.5")
    b = flavour_profile(tmp_path, "istioctl-1.5", "rules:\n          window: 2m")
    ann = [yaml.safe_load(x.files["prometheus/deployment-patch.yaml"])["spec"]["template"]["metadata"]["annotations"]
           for x in (a, b)]
    assert ann[0]["istiogen.io/rules-checksum"] != ann[1]["istiogen.io/rules-checksum"]


def _kustomize_base(folder: Path, flavour: str) -> Path:
    base = folder / "base"
    base.mkdir(parents=True)
    (base / "deployment.yaml").write_text((ADDONS / f"{flavour}-deployment.yaml").read_text())
    (base / "kustomization.yaml").write_text("resources: [deployment.yaml]\n")
    return base


@pytest.mark.parametrize("delivery", ["mount", "projected"])
def test_kustomize_component_builds_with_kubectl(tmp_path: Path, kubectl: str, delivery: str) -> None:
    r = flavour_profile(tmp_path, "samples-1.22", delivery=delivery)
    tree = materialize(r, tmp_path / "site" / "istiogen")
    kust = yaml.safe_load((tree / "prometheus/kustomization.yaml").read_text())
    assert kust["kind"] == "Component"
    _kustomize_base(tmp_path / "site", "samples-1.22")
    (tmp_path / "site" / "kustomization.yaml").write_text("resources: [base]\ncomponents: [istiogen/prometheus]\n")
    out = run([kubectl, "kustomize", str(tmp_path / "site")])
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out.stdout)}
    assert ("ConfigMap", "rules") in docs
    dep = docs[("Deployment", "prometheus")]
    mounts = _containers(dep)["prometheus-server"]["volumeMounts"]
    config = next(v for v in dep["spec"]["template"]["spec"]["volumes"] if v["name"] == "config-volume")
    if delivery == "mount":
        assert any(m["mountPath"] == "/opt/rules" for m in mounts)
    else:
        assert "configMap" not in config and len(config["projected"]["sources"]) == 2
    assert dep["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"] == "/federate"


def test_kustomize_overlay_with_base_builds(tmp_path: Path, kubectl: str) -> None:
    site = tmp_path / "repo"
    _kustomize_base(site, "istioctl-1.5")
    live = tmp_path / "live.yaml"
    live.write_text((ADDONS / "istioctl-1.5-configmap.yaml").read_text())
    r = flavour_profile(tmp_path, "istioctl-1.5", "  live_config: live.yaml\n          kustomize: {base: ../../base}")
    materialize(r, site / "out")
    (site / "base" / "configmap.yaml").write_text(live.read_text())
    (site / "base" / "kustomization.yaml").write_text("resources: [deployment.yaml, configmap.yaml]\n")
    out = run([kubectl, "kustomize", str(site / "out" / "prometheus")])
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out.stdout)}
    cfg = yaml.safe_load(docs[("ConfigMap", "prometheus")]["data"]["prometheus.yml"])
    assert "/opt/rules/rules.yaml" in cfg["rule_files"]
    assert any(m["mountPath"] == "/opt/rules"
               for m in _containers(docs[("Deployment", "prometheus")])["prometheus"]["volumeMounts"])


RESTARTED = {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}


def _with_annotations(src: Path, dest: Path, ann: dict[str, str]) -> Path:
    """The addon Deployment as it is after e.g. ``kubectl rollout restart``: extra pod annotations."""
    d = yaml.safe_load(src.read_text())
    meta = d["spec"]["template"]["metadata"]
    meta["annotations"] = {**meta.get("annotations", {}), **ann}
    dest.write_text(yaml.safe_dump(d))
    return dest


def _json_patch(kubectl: str, deployment: Path, r: Rendered, tmp_path: Path) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    tree = materialize(r, tmp_path / "tree")
    out = run([kubectl, "patch", "--local", "-f", str(deployment), "--type", "json", "--patch-file",
               str(tree / "prometheus/deployment-patch.json6902.json"), "-o", "json"], check=False)
    return out.returncode, (json.loads(out.stdout) if out.returncode == 0 else {}), out.stderr


@pytest.mark.parametrize("flavour", sorted(FLAVOUR_VERSIONS))
def test_json_patch_adds_annotations_per_key_and_never_replaces_the_map(tmp_path: Path, kubectl: str,
                                                                        flavour: str) -> None:
    """kubectl patch --type json on the addon's Deployment as shipped and after a rollout restart:
    the pod template's annotations are kept (restartedAt included), or the patch refuses; it never
    replaces the annotations map."""
    r = flavour_profile(tmp_path, flavour)
    ours = {"prometheus.io/scrape": "true", "prometheus.io/port": "9090", "prometheus.io/path": "/federate"}
    stock = ADDONS / f"{flavour}-deployment.yaml"
    before = yaml.safe_load(stock.read_text())["spec"]["template"]["metadata"].get("annotations", {})
    # as shipped: the patch applies, whether the addon's pod template has annotations or not
    code, after, err = _json_patch(kubectl, stock, r, tmp_path)
    assert code == 0, err
    ann = after["spec"]["template"]["metadata"]["annotations"]
    assert before.items() <= ann.items() and ours.items() <= ann.items()
    assert set(ann) == set(before) | set(ours) | {"istiogen.io/rules-checksum"}
    # restarted: restartedAt stays, or (a flavour shipped without annotations) the patch refuses
    restarted = _with_annotations(stock, tmp_path / "restarted.yaml", RESTARTED)
    code, after, err = _json_patch(kubectl, restarted, r, tmp_path)
    if before:
        assert code == 0, err
        assert RESTARTED.items() <= after["spec"]["template"]["metadata"]["annotations"].items()
    else:
        assert code != 0 and "testing value /spec/template/metadata/annotations failed" in err
        # ... and rendered for a pod template that has annotations, it keeps them
        r2 = flavour_profile(tmp_path, flavour, "  template_annotations: true")
        code, after, err = _json_patch(kubectl, restarted, r2, tmp_path)
        assert code == 0, err
        ann = after["spec"]["template"]["metadata"]["annotations"]
        assert RESTARTED.items() <= ann.items() and ours.items() <= ann.items()


def test_json_patch_escapes_slashes_and_tildes_in_annotation_keys(tmp_path: Path, kubectl: str) -> None:
    """RFC 6901: '/' in a key is '~1' and '~' is '~0'; kubectl adds the keys exactly as named."""
    r = flavour_profile(tmp_path, "istioctl-1.5")
    ops = json.loads(r.files["prometheus/deployment-patch.json6902.json"])
    paths = {op["path"] for op in ops if op["op"] == "add" and "/annotations/" in op["path"]}
    assert "/spec/template/metadata/annotations/prometheus.io~1path" in paths
    assert "/spec/template/metadata/annotations/istiogen.io~1rules-checksum" in paths
    tilde = _with_annotations(ADDONS / "istioctl-1.5-deployment.yaml", tmp_path / "t.yaml", {"a~b/c": "kept"})
    code, after, err = _json_patch(kubectl, tilde, r, tmp_path)
    assert code == 0, err
    ann = after["spec"]["template"]["metadata"]["annotations"]
    assert ann["a~b/c"] == "kept" and ann["prometheus.io/path"] == "/federate"


def lay_out_config_volume(deployment: dict, configmaps: dict[str, dict], pod: Path) -> Path:  # type: ignore[type-arg]
    """Write the files of the Prometheus container's config volume as the kubelet would: each source of a
    projected volume in turn, its ``items`` (or every key) at their paths.  Returns the mount folder."""
    spec = deployment["spec"]["template"]["spec"]
    server = next(c for c in spec["containers"] if c["name"] == "prometheus-server")
    mount = next(m for m in server["volumeMounts"] if m["name"] == "config-volume")
    vol = next(v for v in spec["volumes"] if v["name"] == "config-volume")
    folder = pod / mount["mountPath"].lstrip("/")
    folder.mkdir(parents=True)
    sources = vol["projected"]["sources"] if "projected" in vol else [{"configMap": vol["configMap"]}]
    written: set[str] = set()
    for src in sources:
        data = configmaps[src["configMap"]["name"]]["data"]
        items = src["configMap"].get("items") or [{"key": k, "path": k} for k in data]
        for item in items:
            assert item["path"] not in written, f"two sources write {item['path']}"
            written.add(item["path"])
            (folder / item["path"]).parent.mkdir(parents=True, exist_ok=True)
            (folder / item["path"]).write_text(data[item["key"]])
    return folder


@pytest.mark.parametrize("flavour", ["samples-1.7", "samples-1.14", "samples-1.22"])
@pytest.mark.parametrize("patch_type", ["strategic", "json"])
def test_projected_rules_are_loaded_by_the_addons_own_config(tmp_path: Path, kubectl: str, promtool: str,
                                                           flavour: str, patch_type: str) -> None:
    """No edit of prometheus.yml: the addon's ConfigMap, unchanged, and the rules ConfigMap, laid out as the
    patched Deployment (kubectl patch --local) projects them, pass promtool check config with every recording
    rule and alert loaded from the rule files the addon's config already lists."""
    r, _, after = patch_addon(tmp_path, kubectl, flavour, patch_type, "projected")
    assert not any(p.startswith("prometheus/prometheus-config") for p in r.files)  # nothing to add by hand
    addon_cm = yaml.safe_load((ADDONS / f"{flavour}-configmap.yaml").read_text())
    rules_cm = yaml.safe_load(r.files["prometheus/rules-configmap.yaml"])
    pod = tmp_path / "pod"
    folder = lay_out_config_volume(after, {"prometheus": addon_cm, "rules": rules_cm}, pod)
    cfg = yaml.safe_load((folder / "prometheus.yml").read_text())
    assert cfg == yaml.safe_load(addon_cm["data"]["prometheus.yml"])
    cfg["rule_files"] = [str(pod) + f for f in cfg["rule_files"]]
    (folder / "prometheus.yml").write_text(yaml.safe_dump(without_kubernetes_sd(cfg)))
    out = run([promtool, "check", "config", str(folder / "prometheus.yml")])
    text = out.stdout + out.stderr
    n_rules = sum(len(g["rules"]) for g in yaml.safe_load(r.files["prometheus/rules.yaml"])["groups"])
    n_alerts = sum(len(g["rules"]) for g in yaml.safe_load(r.files["prometheus/alerts.yaml"])["groups"])
    assert n_rules and n_alerts
    assert f"Checking {folder}/rules\n  SUCCESS: {n_rules} rules found" in text
    assert f"Checking {folder}/alerts\n  SUCCESS: {n_alerts} rules found" in text
    assert f"Checking {folder}/recording_rules.yml\n  SUCCESS: 0 rules found" in text  # the user's, still loaded
    readme = r.files["README.md"].decode()
    assert "No edit of `prometheus.yml`" in readme and "Re-applying the addon's manifest" in readme


def test_projected_with_a_live_config_keeps_every_other_key(tmp_path: Path, kubectl: str) -> None:
    live = yaml.safe_load((ADDONS / "samples-1.22-configmap.yaml").read_text())
    live["data"]["tls.crt"] = "a file the user's config reads\n"
    (tmp_path / "live.yaml").write_text(yaml.safe_dump(live))
    r = flavour_profile(tmp_path, "samples-1.22", "  live_config: live.yaml", delivery="projected")
    tree = materialize(r, tmp_path / "tree")
    out = run([kubectl, "patch", "--local", "-f", str(ADDONS / "samples-1.22-deployment.yaml"), "--type", "strategic",
               "--patch-file", str(tree / "prometheus/deployment-patch.yaml"), "-o", "json"])
    folder = lay_out_config_volume(json.loads(out.stdout), {"prometheus": live, "rules": yaml.safe_load(
        r.files["prometheus/rules-configmap.yaml"])}, tmp_path / "pod")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["alerting_rules.yml", "alerts", "allow-snippet-annotations", "prometheus.yml", "recording_rules.yml",
         "rules", "tls.crt"])
    assert (folder / "rules").read_bytes() == r.files["prometheus/rules.yaml"]


def _fake_kubectl(folder: Path, data: dict[str, str], log: Path) -> str:
    """A kubectl that answers ``get configmap -o jsonpath={.data.KEY}`` from ``data`` and logs its calls."""
    folder.mkdir(exist_ok=True)
    for k, v in data.items():
        (folder / f"data-{k.replace(chr(92), '')}").write_text(v)
    script = folder / "kubectl"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {log}\n'
        'for a in "$@"; do case "$a" in jsonpath=*) k=${a#jsonpath=\\{.data.}; k=${k%\\}}; '
        'k=$(printf %s "$k" | tr -d "\\\\"); '
        f'[ -f {folder}/data-$k ] && cat {folder}/data-$k;; esac; done\n'
        "exit 0\n"
    )
    script.chmod(0o755)
    (folder / "helm").write_text(f'#!/bin/sh\necho "helm $*" >> {log}\n')
    (folder / "helm").chmod(0o755)
    # Sysdig Monitor accepting every alert (posting them is tested in test_sysdig_alerts.py)
    (folder / "curl").write_text(f'#!/bin/sh\necho "curl $*" >> {log}\ncat >/dev/null\nprintf "{{}}\\n201"\n')
    (folder / "curl").chmod(0o755)
    return f"{folder}:/usr/bin:/bin"


# apply.sh checks the Sysdig alert settings before anything else (they are not what these tests are about)
SYSDIG_ENV = ("SYSDIG_API_TOKEN=dummy", "SYSDIG_URL=http://127.0.0.1:9")


@pytest.mark.parametrize("profile", ["istio-1-22-current", "helm-prometheus"])
def test_apply_refuses_to_replace_rules_it_did_not_write(tmp_path: Path, profile: str,
                                                        examples_rendered: dict[str, Rendered]) -> None:
    """apply.sh, against a kubectl that serves the addon ConfigMap: it goes on when the rules/alerts keys hold
    the chart's {} placeholder or istiogen's own rules (a re-run), and stops, changing nothing, when they hold
    a user's rules."""
    r = examples_rendered[profile]
    tree = materialize(r, tmp_path / "tree")
    addon = yaml.safe_load((ADDONS / "samples-1.22-configmap.yaml").read_text())["data"]
    theirs = "groups:\n- name: team\n  rules:\n  - record: team:up:sum\n    expr: sum(up)\n"
    ours = yaml.safe_dump(yaml.safe_load(r.files["prometheus/rules.yaml"]))  # as the chart's toYaml writes it
    for n, (rules, expect) in enumerate([("{}\n", 0), (ours, 0), ("", 0), (theirs, 1), (ours + theirs[7:], 1)]):
        log = tmp_path / f"log{n}"
        log.write_text("")
        path = _fake_kubectl(tmp_path / f"bin{n}", {**addon, "rules": rules}, log)
        p = run(["env", f"PATH={path}", *SYSDIG_ENV, "sh", str(tree / "apply.sh")], check=False)
        assert p.returncode == expect, (n, p.stdout, p.stderr)
        calls = log.read_text()
        if expect:
            assert "hold rules istiogen did not write" in p.stderr
            assert "patch" not in calls and "helm upgrade" not in calls
        else:
            assert ("helm upgrade" in calls) == (profile == "helm-prometheus"), calls
            assert ("patch deployment" in calls) == (profile != "helm-prometheus"), calls


def test_apply_stops_until_the_cluster_label_is_in_the_config(tmp_path: Path,
                                                              examples_rendered: dict[str, Rendered]) -> None:
    """With a cluster label, the one edit of prometheus.yml left is external_labels: apply.sh checks it."""
    r = examples_rendered["staging"]
    tree = materialize(r, tmp_path / "tree")
    addon = yaml.safe_load((ADDONS / "samples-1.22-configmap.yaml").read_text())["data"]
    with_label = addon["prometheus.yml"].replace("  scrape_timeout: 10s\n",
                                                 "  scrape_timeout: 10s\n  external_labels:\n    cluster: staging\n")
    for n, (cfg, expect) in enumerate([(addon["prometheus.yml"], 1), (with_label, 0),
                                       (with_label.replace("staging", '"staging"'), 0),
                                       (with_label.replace("staging", "staging-2"), 1)]):
        log = tmp_path / f"log{n}"
        log.write_text("")
        path = _fake_kubectl(tmp_path / f"bin{n}", {**addon, "prometheus.yml": cfg}, log)
        p = run(["env", f"PATH={path}", *SYSDIG_ENV, "sh", str(tree / "apply.sh")], check=False)
        assert p.returncode == expect, (n, p.stderr)
        if expect:
            assert "external_labels cluster: staging" in p.stderr and "patch" not in log.read_text()
