"""The strategic-merge implementation used by --live, checked against ``kubectl patch --local``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from istiogen.diff import strategic
from istiogen.diff.objects import strip_server_fields
from istiogen.errors import FatalError
from tests.conftest import run
from tests.diff.conftest import FIXTURES

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "prometheus", "namespace": "istio-system", "labels": {"app": "prometheus"}},
    "spec": {
        "selector": {"matchLabels": {"app": "prometheus"}},
        "template": {
            "metadata": {"labels": {"app": "prometheus"}, "annotations": {"sidecar.istio.io/inject": "false"}},
            "spec": {
                "initContainers": [{"name": "init", "image": "busybox"}],
                "containers": [
                    {"name": "prometheus", "image": "prom:1", "args": ["--a", "--b"],
                     "env": [{"name": "E1", "value": "1"}, {"name": "E2", "value": "2"}],
                     "ports": [{"containerPort": 9090, "name": "http"}],
                     "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/prometheus"},
                                      {"name": "certs", "mountPath": "/etc/certs"}]},
                    {"name": "istio-proxy", "image": "proxy:1"},
                ],
                "volumes": [{"name": "config-volume", "configMap": {"name": "prometheus"}},
                            {"name": "certs", "emptyDir": {"medium": "Memory"}}],
            },
        },
    },
}

PATCHES: dict[str, dict[str, Any]] = {
    "istiogen-shape": {"spec": {"template": {
        "metadata": {"annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9090"}},
        "spec": {"containers": [{"name": "prometheus", "volumeMounts": [
            {"name": "config-rules", "mountPath": "/opt/rules", "readOnly": True}]}],
                 "volumes": [{"name": "config-rules", "configMap": {"name": "rules", "defaultMode": 420}}]}}}},
    "new-and-merged-items-interleave": {"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "image": "s:1"},
        {"name": "prometheus", "env": [{"name": "E0", "value": "0"}, {"name": "E2", "value": "22"}],
         "volumeMounts": [{"name": "x", "mountPath": "/x"},
                          {"name": "config-volume", "mountPath": "/etc/prometheus", "readOnly": True}],
         "ports": [{"containerPort": 9091, "name": "web"}]},
    ]}}}},
    "lists-without-merge-key-are-replaced": {"spec": {"template": {"spec": {"containers": [
        {"name": "prometheus", "args": ["--c"]}]}}}},
    "null-deletes-and-maps-merge": {"metadata": {"labels": {"app": None, "team": "obs"}},
                                    "spec": {"template": {"metadata": {"annotations": {
                                        "sidecar.istio.io/inject": None}}}}},
    "patch-delete-an-item": {"spec": {"template": {"spec": {
        "volumes": [{"name": "certs", "$patch": "delete"}],
        "containers": [{"name": "istio-proxy", "$patch": "delete"}]}}}},
    "patch-replace-a-map": {"spec": {"template": {"spec": {
        "containers": [{"name": "prometheus", "$patch": "replace", "image": "prom:2"}]}}}},
    "init-containers-by-name": {"spec": {"template": {"spec": {"initContainers": [
        {"name": "first", "image": "a"}, {"name": "init", "image": "busybox:2"}]}}}},
}


def kubectl_patch(kubectl: str, tmp: Path, obj: Any, patch: Any) -> Any:
    src, p = tmp / "obj.json", tmp / "patch.json"
    src.write_text(json.dumps(obj))
    p.write_text(json.dumps(patch))
    out = run([kubectl, "patch", "--local", "-f", str(src), "--type", "strategic", "--patch-file", str(p),
               "-o", "json"])
    return json.loads(out.stdout)


@pytest.mark.parametrize("name", sorted(PATCHES))
def test_matches_kubectl(name: str, kubectl: str, tmp_path: Path) -> None:
    patch = PATCHES[name]
    ours = strategic.apply(DEPLOYMENT, patch, "Deployment")
    theirs = kubectl_patch(kubectl, tmp_path, DEPLOYMENT, patch)
    assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)
    assert ours != DEPLOYMENT or patch == {}
    assert json.loads(json.dumps(DEPLOYMENT)) == DEPLOYMENT  # the original is not modified


def test_the_rendered_patch_on_an_exported_deployment_matches_kubectl(kubectl: str, tmp_path: Path,
                                                                      workspace: Path) -> None:
    # kubectl --local drops managedFields; the live diff strips server fields before patching anyway
    live = strip_server_fields(yaml.safe_load((FIXTURES / "live-1.5" / "deployment-prometheus.yaml").read_text()))
    patch = yaml.safe_load((workspace / "output/p/prometheus/deployment-patch.yaml").read_text())
    ours = strategic.apply(live, patch, "Deployment")
    theirs = kubectl_patch(kubectl, tmp_path, live, patch)
    assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)
    mounts = ours["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "config-rules", "mountPath": "/opt/rules", "readOnly": True} in mounts


def test_the_rendered_agent_patch_replaces_only_its_key(kubectl: str, tmp_path: Path, workspace: Path) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "sysdig-agent", "namespace": "sysdig-agent"},
          "data": {"dragent.yaml": "k8s_cluster_name: prod\n", "prometheus.yaml": "scrape_configs: []\n"}}
    patch = yaml.safe_load((workspace / "output/p/sysdig/sysdig-agent-patch.yaml").read_text())
    ours = strategic.apply(cm, patch, "ConfigMap")
    assert json.dumps(ours, sort_keys=True) == json.dumps(kubectl_patch(kubectl, tmp_path, cm, patch), sort_keys=True)
    assert ours["data"]["dragent.yaml"] == "k8s_cluster_name: prod\n"
    assert ours["data"]["prometheus.yaml"] == patch["data"]["prometheus.yaml"]


def test_unsupported_directives_are_refused() -> None:
    with pytest.raises(FatalError, match="setElementOrder"):
        strategic.apply(DEPLOYMENT, {"spec": {"$setElementOrder/containers": [{"name": "a"}]}})
    with pytest.raises(FatalError, match="merge key"):
        strategic.apply(DEPLOYMENT, {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}})


def test_apply_does_not_modify_its_inputs() -> None:
    before = copy.deepcopy(DEPLOYMENT)
    patch = copy.deepcopy(PATCHES["new-and-merged-items-interleave"])
    p_before = copy.deepcopy(patch)
    strategic.apply(DEPLOYMENT, patch, "Deployment")
    assert before == DEPLOYMENT and patch == p_before
