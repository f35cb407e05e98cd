"""The Prometheus side, checked with the real tools: promtool, kubectl patch --local, kubectl kustomize."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from istiogen.render import Rendered
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
    return render_text(
        tmp_path,
        f"""
        name: t-{flavour.replace('.', '-')}
        istio:
          version: "{FLAVOUR_VERSIONS[flavour]}"
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
                assert "global" not in yaml.safe_load(data), name
            elif a.kind == "helm-values-prometheus":
                assert "global" not in yaml.safe_load(data)["server"], name
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
    for rule in records:
        assert rule["labels"]["sysdig"] == "true", rule["record"]
        expr = rule["expr"]
        if "istio_" in expr and "_bucket" not in rule["record"] and "experiment:" not in rule["record"]:
            # never a sum of raw counters: every raw counter is read through rate()
            assert "rate(istio_" in expr, rule["record"]
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
    r = flavour_profile(tmp_path, "samples-1.22", delivery="projected")
    frag = yaml.safe_load(r.files["prometheus/prometheus-config-fragment.yaml"])
    assert frag == {"rule_files": ["/etc/config/istiogen/alerts.yaml", "/etc/config/istiogen/rules.yaml"]}
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
        {"configMap": {"name": "prometheus"}},
        {"configMap": {"name": "rules", "items": [{"key": "alerts.yaml", "path": "istiogen/alerts.yaml"},
                                                  {"key": "rules.yaml", "path": "istiogen/rules.yaml"}]}},
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
