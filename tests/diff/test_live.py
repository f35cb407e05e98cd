"""``istiogen diff --live``: rendered artifacts applied to objects exported from a cluster."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import CliResult, write_profile
from tests.diff.conftest import FIXTURES, PROFILE, load

LIVE = FIXTURES / "live-1.5"


def changes_by_object(r: CliResult) -> dict[str, list[tuple[str, str]]]:
    doc = json.loads(r.out)
    out: dict[str, list[tuple[str, str]]] = {}
    for c in doc["changes"]:
        out.setdefault(c["object"], []).append((c["path"], c["type"]))
    return out


def live_json(cli: Callable[..., CliResult], ws: Path, export: Path, *extra: str) -> CliResult:
    return cli("diff", "profiles/p.yaml", "--live", str(export), "-o", "json", *extra, cwd=ws)


def test_exported_deployment_and_configmap_show_exactly_the_volume_mount_annotations_and_rule_files(
        cli: Callable[..., CliResult], workspace: Path) -> None:
    r = live_json(cli, workspace, LIVE)
    assert r.code == 1, r.err
    doc = json.loads(r.out)
    got = changes_by_object(r)
    assert sorted(got["Deployment istio-system/prometheus"]) == sorted([
        ('spec.template.metadata.annotations["prometheus.io/scrape"]', "added"),
        ('spec.template.metadata.annotations["prometheus.io/port"]', "added"),
        ('spec.template.metadata.annotations["prometheus.io/path"]', "added"),
        ('spec.template.metadata.annotations["istiogen.io/rules-checksum"]', "added"),
        ("spec.template.spec.containers[name=prometheus].volumeMounts[name=config-rules]", "added"),
        ("spec.template.spec.volumes[name=config-rules]", "added"),
    ])
    assert got["ConfigMap istio-system/prometheus"] == [('data["prometheus.yml"].rule_files', "added")]
    rule_files = next(c for c in doc["changes"] if c["path"] == 'data["prometheus.yml"].rule_files')
    assert rule_files["new"] == ["/opt/rules/alerts.yaml", "/opt/rules/rules.yaml"]
    assert rule_files["artifact"].endswith("prometheus/prometheus-config-fragment.yaml")
    # the rules ConfigMap is not in the export: it would be created
    assert got["ConfigMap istio-system/rules"] == [("", "added")]
    assert set(got) == {"Deployment istio-system/prometheus", "ConfigMap istio-system/prometheus",
                        "ConfigMap istio-system/rules"}
    assert doc["summary"]["add"] == 1 and doc["summary"]["change"] == 2
    assert doc["summary"]["by_kind"]["deployment-patch-strategic"]["change"] == 1
    # the agent ConfigMap was not exported: said, not guessed
    assert any("ConfigMap sysdig-agent/sysdig-agent is not in the live export" in n for n in doc["notes"])


def test_live_text_output_shows_the_effect_not_the_server_fields(cli: Callable[..., CliResult],
                                                                  workspace: Path) -> None:
    r = cli("diff", "profiles/p.yaml", "--live", str(LIVE), cwd=workspace)
    assert r.code == 1
    for noise in ("managedFields", "resourceVersion", "uid:", "creationTimestamp", "status:",
                  "deployment.kubernetes.io/revision", "last-applied-configuration"):
        assert noise not in r.out, noise
    assert "+        - name: config-rules\n+          mountPath: /opt/rules\n" in r.out  # the mount
    assert "+      - name: config-rules\n+        configMap:\n" in r.out  # the volume
    assert "@@ -" in r.out and "+- /opt/rules/rules.yaml" in r.out


def kubectl_list(*objs: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": list(objs)}


def test_list_kinds_and_multi_document_exports_give_the_same_result(cli: Callable[..., CliResult],
                                                                   workspace: Path, tmp_path: Path) -> None:
    dep, cm = load(LIVE / "deployment-prometheus.yaml"), load(LIVE / "configmap-prometheus.yaml")
    expected = changes_by_object(live_json(cli, workspace, LIVE))
    as_list = tmp_path / "list"
    as_list.mkdir()
    (as_list / "all.yaml").write_text(yaml.safe_dump(kubectl_list(dep, cm)))
    multi = tmp_path / "multi.yaml"
    multi.write_text(yaml.safe_dump(dep) + "---\n" + yaml.safe_dump(cm))
    typed = tmp_path / "typed"
    typed.mkdir()
    items = [{k: v for k, v in dep.items() if k not in ("apiVersion", "kind")}]
    (typed / "deploy.json").write_text(json.dumps({"apiVersion": "apps/v1", "kind": "DeploymentList",
                                                   "items": items}))
    shutil.copy(LIVE / "configmap-prometheus.yaml", typed / "cm.yaml")
    for export in (as_list, multi, typed):
        assert changes_by_object(live_json(cli, workspace, export)) == expected, export


def test_objects_applied_as_rendered_show_no_difference(cli: Callable[..., CliResult], workspace: Path,
                                                        tmp_path: Path, kubectl: str) -> None:
    """The rules ConfigMap as the cluster returns it after kubectl apply: server fields, last-applied."""
    rendered = load(workspace / "output/p/prometheus/rules-configmap.yaml")
    live = json.loads(json.dumps(rendered))
    live["metadata"].update({"uid": "1", "resourceVersion": "9", "creationTimestamp": "2024-01-01T00:00:00Z",
                             "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                                             json.dumps(rendered)},
                             "managedFields": [{"manager": "kubectl"}]})
    export = tmp_path / "export"
    export.mkdir()
    (export / "rules.yaml").write_text(yaml.safe_dump(live))
    shutil.copy(LIVE / "deployment-prometheus.yaml", export)
    got = changes_by_object(live_json(cli, workspace, export))
    assert "ConfigMap istio-system/rules" not in got
    # a key the previous apply set and this one no longer does is removed; a key someone else added stays
    old = json.loads(json.dumps(rendered))
    old["data"]["old-rules.yaml"] = "groups: []\n"
    live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = json.dumps(old)
    live["data"]["old-rules.yaml"] = "groups: []\n"
    live["data"]["someone-else.yaml"] = "groups: []\n"
    (export / "rules.yaml").write_text(yaml.safe_dump(live))
    got = changes_by_object(live_json(cli, workspace, export))
    assert got["ConfigMap istio-system/rules"] == [('data["old-rules.yaml"]', "removed")]


def sysdig_configmap(dragent: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "sysdig-agent", "namespace": "sysdig-agent", "uid": "x", "resourceVersion": "5"},
            "data": {"dragent.yaml": yaml.safe_dump(dragent, sort_keys=False),
                     "prometheus.yaml": "global:\n  scrape_interval: 10s\nscrape_configs:\n"
                                        "- job_name: old-job\n  static_configs:\n  - targets: [localhost:9100]\n"}}


def test_agent_configmap_shows_the_prometheus_yaml_jobs_and_process_filter_order(
        cli: Callable[..., CliResult], workspace: Path, tmp_path: Path) -> None:
    ours = load(workspace / "output/p/sysdig/dragent.yaml")
    pf = ours["prometheus"]["process_filter"]
    live_dragent = {"new_k8s": True, "k8s_cluster_name": "prod", "use_promscrape": True,
                    "prometheus": {**ours["prometheus"], "process_filter": [*pf[1:], pf[0]]}}
    export = tmp_path / "export"
    export.mkdir()
    (export / "agent.yaml").write_text(yaml.safe_dump(sysdig_configmap(live_dragent)))
    r = live_json(cli, workspace, export)
    doc = json.loads(r.out)
    agent = [c for c in doc["changes"] if c["object"] == "ConfigMap sysdig-agent/sysdig-agent"]
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for c in agent:
        by_kind.setdefault(c["kind"], []).append((c["path"], c["type"]))
    assert sorted(by_kind["sysdig-agent-patch"]) == sorted([
        ('data["prometheus.yaml"].global.scrape_interval', "changed"),
        ('data["prometheus.yaml"].scrape_configs[job_name=old-job]', "removed"),
        ('data["prometheus.yaml"].scrape_configs[job_name=istio-federation]', "added"),
        ('data["prometheus.yaml"].scrape_configs[job_name=default]', "added"),
    ])
    # the first rule (the merged-envoy exclude) moved from last to first: a move, because the first matching rule wins
    moved = [c for c in agent if c["kind"] == "sysdig-dragent"]
    assert [(c["path"], c["type"]) for c in moved] == [('data["dragent.yaml"].prometheus.process_filter[0]',
                                                        "moved")]
    assert "first matching rule wins" in moved[0]["note"]
    # the settings the chart rendered stay (a merge, not a replacement)
    assert not any("k8s_cluster_name" in c["path"] for c in agent)


def test_json6902_config_patch_applies_and_reports_a_stale_export(cli: Callable[..., CliResult],
                                                                  tmp_path: Path) -> None:
    shutil.copy(LIVE / "configmap-prometheus.yaml", tmp_path / "live-cm.yaml")
    write_profile(tmp_path / "profiles", PROFILE.replace("flavour: istioctl-1.5",
                                                         "flavour: istioctl-1.5\n  live_config: ../live-cm.yaml"),
                  "p.yaml")
    export = tmp_path / "export"
    export.mkdir()
    shutil.copy(LIVE / "configmap-prometheus.yaml", export / "cm.yaml")
    r = cli("diff", "profiles/p.yaml", "--live", "export", "-o", "json", cwd=tmp_path)
    doc = json.loads(r.out)
    cfg = [c for c in doc["changes"] if c["object"] == "ConfigMap istio-system/prometheus"]
    assert [(c["path"], c["type"], c["artifact"].rsplit("/", 1)[-1]) for c in cfg] == [
        ('data["prometheus.yml"].rule_files', "added", "prometheus-configmap.json6902.json")]
    assert not doc["notes"] or all("would fail" not in n for n in doc["notes"])
    # someone edited the live config since it was exported: the guarded patch would fail
    text = (export / "cm.yaml").read_text().replace("scrape_interval: 15s", "scrape_interval: 30s")
    (export / "cm.yaml").write_text(text)
    r = cli("diff", "profiles/p.yaml", "--live", "export", "-o", "json", cwd=tmp_path)
    doc = json.loads(r.out)
    assert any("would fail on the live ConfigMap istio-system/prometheus" in n for n in doc["notes"])
    paths = {c["path"] for c in doc["changes"] if c["object"] == "ConfigMap istio-system/prometheus"}
    assert 'data["prometheus.yml"].rule_files' in paths
    assert 'data["prometheus.yml"].global.scrape_interval' in paths  # the replace would undo the edit


def test_a_deployment_shaped_differently_is_reported_for_the_json6902_patch(
        cli: Callable[..., CliResult], workspace: Path, tmp_path: Path) -> None:
    dep = load(LIVE / "deployment-prometheus.yaml")
    dep["spec"]["template"]["spec"]["containers"].reverse()  # istio-proxy first
    export = tmp_path / "export"
    export.mkdir()
    (export / "d.yaml").write_text(yaml.safe_dump(dep))
    doc = json.loads(live_json(cli, workspace, export).out)
    assert any("deployment-patch.json6902.json does not apply to the live Deployment istio-system/prometheus" in n
               for n in doc["notes"])
    # the strategic patch merges by name, whatever the order
    paths = {c["path"] for c in doc["changes"] if c["object"] == "Deployment istio-system/prometheus"}
    assert "spec.template.spec.containers[name=prometheus].volumeMounts[name=config-rules]" in paths


def test_an_object_already_patched_shows_no_change(cli: Callable[..., CliResult], workspace: Path,
                                                   tmp_path: Path) -> None:
    from istiogen.diff import strategic

    dep = load(LIVE / "deployment-prometheus.yaml")
    patched = strategic.apply(dep, load(workspace / "output/p/prometheus/deployment-patch.yaml"), "Deployment")
    export = tmp_path / "export"
    export.mkdir()
    (export / "d.yaml").write_text(yaml.safe_dump(patched))
    doc = json.loads(live_json(cli, workspace, export).out)
    assert "Deployment istio-system/prometheus" not in {c["object"] for c in doc["changes"]}
    # applying the RFC 6902 patch on top would add the volume a second time
    assert any("json6902.json and the strategic-merge patch would leave" in n for n in doc["notes"])


def test_bad_exports_are_errors(cli: Callable[..., CliResult], workspace: Path, tmp_path: Path) -> None:
    r = cli("diff", "profiles/p.yaml", "--live", str(tmp_path / "nope"), cwd=workspace)
    assert r.code == 2 and "no such file or folder" in r.err
    export = tmp_path / "export"
    export.mkdir()
    (export / "a.yaml").write_text((LIVE / "configmap-prometheus.yaml").read_text())
    (export / "b.yaml").write_text((LIVE / "configmap-prometheus.yaml").read_text().replace("15s", "20s"))
    r = cli("diff", "profiles/p.yaml", "--live", str(export), cwd=workspace)
    assert r.code == 2 and "exported twice with different content" in r.err
    (export / "b.yaml").write_text("just: a document\n---\n- not an object\n")
    r = cli("diff", "profiles/p.yaml", "--live", str(export), "-o", "json", cwd=workspace)
    assert r.code == 1 and "2 document(s) in the export are not Kubernetes objects" in r.out
    (export / "b.yaml").write_text("a: [unclosed\n")
    r = cli("diff", "profiles/p.yaml", "--live", str(export), cwd=workspace)
    assert r.code == 2 and "b.yaml" in r.err


def test_live_diff_shows_the_cluster_label_and_remote_write_the_fragment_adds(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    """The fragment merged as its README step says: the cluster label added beside the live config's own
    external labels, the remote_write entry appended."""
    from tests.diff.conftest import dump

    write_profile(tmp_path / "profiles", PROFILE + "cluster: {name: eu-1}\nremote_write:\n"
                  "  url: https://us2.app.sysdig.com/prometheus/remote/write\n"
                  "  secret: {name: t, key: token}\n", "p.yaml")
    assert cli("render", "profiles/p.yaml", cwd=tmp_path).code == 0
    export = tmp_path / "live"
    shutil.copytree(LIVE, export)
    cm = load(export / "configmap-prometheus.yaml")
    cfg = yaml.safe_load(cm["data"]["prometheus.yml"])
    cfg.setdefault("global", {})["external_labels"] = {"region": "eu"}
    cm["data"]["prometheus.yml"] = yaml.safe_dump(cfg)
    dump(export / "configmap-prometheus.yaml", cm)
    r = live_json(cli, tmp_path, export)
    got = changes_by_object(r)["ConfigMap istio-system/prometheus"]
    assert ('data["prometheus.yml"].global.external_labels.cluster', "added") in got
    assert ('data["prometheus.yml"].remote_write', "added") in got
    assert not any("region" in path for path, _ in got)


def test_projected_delivery_checks_the_live_config_loads_the_projected_rules(tmp_path: Path, cli: Any) -> None:
    """No edit of prometheus.yml is emitted for the samples addons: the live config must list the stock rule
    paths the rules are projected to (it does as the addon ships it; a hand-edited one may not)."""
    from tests.conftest import REPO

    addons = REPO / "tests/fixtures/addons"
    live = tmp_path / "live"
    live.mkdir()
    (live / "deployment.yaml").write_text((addons / "samples-1.22-deployment.yaml").read_text())
    cm = (addons / "samples-1.22-configmap.yaml").read_text()
    (live / "cm.yaml").write_text(cm)
    profile = write_profile(tmp_path, 'name: p\nistio: {version: "1.22"}\n')
    res = cli("diff", str(profile), "--live", str(live), cwd=tmp_path)
    assert res.code == 1 and "does not list" not in res.out + res.err
    assert "    - /etc/config/rules\n" in cm
    (live / "cm.yaml").write_text(cm.replace("    - /etc/config/rules\n", ""))
    res = cli("diff", str(profile), "--live", str(live), cwd=tmp_path)
    assert ("ConfigMap istio-system/prometheus: its prometheus.yml does not list /etc/config/rules in rule_files"
            in res.out + res.err)
