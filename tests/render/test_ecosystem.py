"""Outputs for the other ways people run Prometheus and the agent, checked with the real tools."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from istiogen.pipeline import Rendered
from istiogen.verify.kubevalidate import validate as kube_validate
from tests.conftest import REPO, materialize, render_text, run

ADDONS = REPO / "tests" / "fixtures" / "addons"


def docs(r: Rendered, path: str) -> Any:
    return yaml.safe_load(r.files[path])


def promtool_rules(promtool: str, folder: Path, groups: list[Any]) -> None:
    f = folder / "extracted-rules.yaml"
    f.write_text(yaml.safe_dump({"groups": groups}))
    out = run([promtool, "check", "rules", str(f)])
    assert "SUCCESS" in out.stdout


# --- Prometheus Operator ------------------------------------------------------------------------

def test_operator_resources_build_validate_and_carry_the_rules(tmp_path: Path, kubectl: str, promtool: str,
                                                               examples_rendered: dict[str, Rendered]) -> None:
    r = examples_rendered["operator"]
    assert r.resolved.delivery == "operator"
    assert not any(p.startswith(("prometheus/rules-configmap", "prometheus/deployment-patch")) for p in r.files)
    tree = materialize(r, tmp_path / "tree")
    out = run([kubectl, "kustomize", str(tree / "operator")])
    objs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out.stdout)}
    assert set(objs) == {("PrometheusRule", "istiogen-operator"), ("PodMonitor", "istio-envoy"),
                         ("ServiceMonitor", "istiod"), ("ServiceMonitor", "istiogen-operator-federation")}
    rule = objs[("PrometheusRule", "istiogen-operator")]
    assert rule["metadata"]["labels"]["role"] == "alert-rules"  # matches the Prometheus ruleSelector
    promtool_rules(promtool, tmp_path, rule["spec"]["groups"])
    records = {x["record"] for g in rule["spec"]["groups"] for x in g["rules"] if "record" in x}
    assert records == {x.record for x in r.model.rules}
    pm = objs[("PodMonitor", "istio-envoy")]["spec"]
    ep = pm["podMetricsEndpoints"][0]
    assert (ep["port"], ep["path"]) == ("http-envoy-prom", "/stats/prometheus")
    assert {"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_container_name"],
            "regex": "istio-proxy"} in ep["relabelings"]
    sm = objs[("ServiceMonitor", "istiod")]["spec"]
    assert sm["endpoints"][0]["port"] == "http-monitoring"
    assert sm["namespaceSelector"] == {"matchNames": ["istio-system"]}
    fed = objs[("ServiceMonitor", "istiogen-operator-federation")]
    assert fed["metadata"]["labels"]["prometheus"] == "global"
    ep = fed["spec"]["endpoints"][0]
    assert ep["path"] == "/federate" and ep["honorLabels"] is True
    assert ep["params"]["match[]"] == r.model.match_selectors()
    assert kube_validate(r) == []


@pytest.mark.parametrize("patch_type", ["merge", "strategic"])
def test_prometheus_cr_patch_is_a_merge_patch(tmp_path: Path, kubectl: str, patch_type: str,
                                              examples_rendered: dict[str, Rendered]) -> None:
    r = examples_rendered["operator"]
    tree = materialize(r, tmp_path / "tree")
    res = run([kubectl, "patch", "--local", "-f", str(ADDONS / "prometheus-cr.yaml"), "--type", patch_type,
               "--patch-file", str(tree / "operator/prometheus-patch.merge.json"), "-o", "json"], check=False)
    if patch_type == "strategic":  # why the patch is a merge patch: kubectl refuses strategic merge on CRs
        assert res.returncode != 0 and "strategic merge patch is not supported" in res.stderr
        return
    after = json.loads(res.stdout)
    ann = after["spec"]["podMetadata"]["annotations"]
    # promscrape v2: the agent's federation job selects the pod by its labels, no prometheus.io/* annotations
    assert ann == {"existing": "kept"}
    assert after["spec"]["podMetadata"]["labels"] == {"team": "platform"}
    assert after["spec"]["ruleSelector"] == {"matchLabels": {"role": "alert-rules"}}


def test_operator_remote_write_and_json_patch(tmp_path: Path, kubectl: str) -> None:
    r = render_text(tmp_path, """
        name: op-rw
        istio: {version: "1.22"}
        prometheus: {delivery: operator}
        remote_write:
          url: https://us2.app.sysdig.com/prometheus/remote/write
          secret: {name: sysdig-token, key: token}
        sysdig: {federation: false}
        """)
    patch = json.loads(r.files["operator/prometheus-patch.merge.json"])
    rw = patch["spec"]["remoteWrite"][0]
    assert rw["authorization"] == {"type": "Bearer", "credentials": {"name": "sysdig-token", "key": "token"}}
    assert rw["writeRelabelConfigs"] == [{"sourceLabels": ["sysdig"], "regex": "true", "action": "keep"}]
    # the same change as an RFC 6902 patch applies too
    ops = [{"op": "add", "path": "/spec/remoteWrite", "value": patch["spec"]["remoteWrite"]}]
    out = run([kubectl, "patch", "--local", "-f", str(ADDONS / "prometheus-cr.yaml"), "--type", "json",
               "-p", json.dumps(ops), "-o", "json"])
    assert json.loads(out.stdout)["spec"]["remoteWrite"][0]["url"].endswith("/remote/write")


def test_agent_federates_the_operator_statefulset(examples_rendered: dict[str, Rendered], tmp_path: Path) -> None:
    r = examples_rendered["operator"]
    prom = yaml.safe_load(docs(r, "sysdig/sysdig-agent-patch.yaml")["data"]["prometheus.yaml"])
    fed = next(j for j in prom["scrape_configs"] if j["job_name"] == "istio-federation")
    assert fed["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["monitoring"]}}]
    keeps = {(x["source_labels"][0], x["regex"]) for x in fed["relabel_configs"] if x["action"] == "keep"}
    assert ("__meta_kubernetes_pod_label_prometheus", "k8s") in keeps
    v1 = render_text(tmp_path, "name: opv1\nistio: {version: '1.22'}\nprometheus: {delivery: operator}\n"
                     "sysdig: {mode: promscrape-v1}\n")
    prom1 = yaml.safe_load(docs(v1, "sysdig/sysdig-agent-patch.yaml")["data"]["prometheus.yaml"])
    # one replica (tests/e2e/test_replicas.py): the StatefulSet's first pod, by its name
    assert ("__meta_kubernetes_pod_name", "prometheus-k8s-0") in keeps
    assert prom1["scrape_configs"][0]["sysdig_sd_configs"] == [
        {"tags": {"namespace": "monitoring", "pod": "prometheus-k8s-0"}}
    ]
    # (with the default annotation rules both pods are scraped, but /federate without match[] returns nothing)
    v1x = render_text(tmp_path / "x", "name: opv1x\nistio: {version: '1.22'}\nprometheus: {delivery: operator}\n"
                      "sysdig: {mode: promscrape-v1, keep_default_rules: false}\n")
    rule = yaml.safe_load(v1x.files["sysdig/dragent.yaml"])["prometheus"]["process_filter"]
    assert {"include": {"kubernetes.namespace.name": "monitoring", "kubernetes.pod.name": "prometheus-k8s-0",
                        "conf": {"port": 9090, "path": "/federate"}}} in rule
    # and so does the ServiceMonitor another Prometheus federates with
    sm = docs(r, "operator/servicemonitor-federation.yaml")["spec"]["endpoints"][0]
    assert sm["relabelings"] == [{"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_name"],
                                  "regex": "prometheus-k8s-0"}]


# --- Helm-managed Prometheus --------------------------------------------------------------------

def test_helm_values_put_the_rules_in_server_files(tmp_path: Path, promtool: str,
                                                   examples_rendered: dict[str, Rendered]) -> None:
    r = examples_rendered["helm-prometheus"]
    values = docs(r, "prometheus/helm-values.yaml")
    files = values["serverFiles"]
    assert set(files) == {"rules", "alerts"}  # the chart's deprecated defaults: users' own rules are elsewhere
    for f in files.values():  # maps, not strings: the chart renders them with toYaml
        assert isinstance(f, dict)
        promtool_rules(promtool, tmp_path, f["groups"])
    assert "podAnnotations" not in values["server"]  # promscrape v2: the federation job selects the pod by labels
    assert not any(p.startswith("prometheus/deployment-patch") for p in r.files)
    script = r.files["apply.sh"].decode()
    assert "helm upgrade prometheus prometheus-community/prometheus --version 28.13.0 -n istio-system " \
           "--reuse-values -f prometheus/helm-values.yaml" in script


CHART_RULE_FILES = ["/etc/config/recording_rules.yml", "/etc/config/alerting_rules.yml", "/etc/config/rules",
                    "/etc/config/alerts"]  # prometheus-community/prometheus values.yaml, serverFiles."prometheus.yml"


def helm_coalesce(old: Any, new: Any) -> Any:
    """Helm's merge of ``--reuse-values`` with ``-f``: maps key by key, anything else replaced."""
    if isinstance(old, dict) and isinstance(new, dict):
        return {**old, **{k: helm_coalesce(old.get(k), v) for k, v in new.items()}}
    return new


def test_helm_values_keep_the_users_rules_and_load_in_the_charts_config(tmp_path: Path, promtool: str,
                                                                       examples_rendered: dict[str, Rendered]) -> None:
    """A release whose values already fill recording_rules.yml and alerting_rules.yml (where the chart's
    documentation puts users' rules) keeps them after the upgrade, and the chart's default rule_files
    loads the user's files and istiogen's (checked by promtool on the files as the chart lays them out)."""
    r = examples_rendered["helm-prometheus"]
    user = {"groups": [{"name": "team", "rules": [{"record": "team:up:sum", "expr": "sum(up)"}]}]}
    user_alerts = {"groups": [{"name": "team-alerts", "rules": [{"alert": "TeamDown", "expr": "up == 0"}]}]}
    defaults = {"rules": {}, "alerts": {}, "recording_rules.yml": {}, "alerting_rules.yml": {},
                "prometheus.yml": {"rule_files": CHART_RULE_FILES}}
    release = {"serverFiles": helm_coalesce(defaults, {"recording_rules.yml": user, "alerting_rules.yml": user_alerts})}
    merged = helm_coalesce(release, docs(r, "prometheus/helm-values.yaml"))["serverFiles"]
    assert merged["recording_rules.yml"] == user and merged["alerting_rules.yml"] == user_alerts
    etc = tmp_path / "etc/config"
    etc.mkdir(parents=True)
    for key, value in merged.items():  # the chart's ConfigMap: one file per serverFiles key, mounted at /etc/config
        if key != "prometheus.yml":
            (etc / key).write_text(yaml.safe_dump(value))
    cfg = {"rule_files": [str(tmp_path) + f for f in merged["prometheus.yml"]["rule_files"]]}
    (etc / "prometheus.yml").write_text(yaml.safe_dump(cfg))
    out = run([promtool, "check", "config", str(etc / "prometheus.yml")])
    text = out.stdout + out.stderr
    ours = yaml.safe_load(r.files["prometheus/rules.yaml"])
    n_rules = sum(len(g["rules"]) for g in ours["groups"])
    assert f"{etc}/rules\n  SUCCESS: {n_rules} rules found" in text
    assert f"{etc}/recording_rules.yml\n  SUCCESS: 1 rules found" in text
    assert f"{etc}/alerting_rules.yml\n  SUCCESS: 1 rules found" in text


def test_helm_chart_version_is_pinned_and_validated(tmp_path: Path, cli: Any) -> None:
    from tests.conftest import write_profile

    r = render_text(tmp_path, "name: h\nistio: {version: '1.20'}\nprometheus: {flavour: samples-1.14, "
                              "delivery: helm-values, helm: {chart_version: 19.6.0}}\n")
    assert "helm upgrade prometheus prometheus-community/prometheus --version 19.6.0 " in r.files["apply.sh"].decode()
    d = render_text(tmp_path, "name: d\nistio: {version: '1.20'}\nprometheus: {delivery: helm-values}\n", "d.yaml")
    assert " --version 19.6.1 " in d.files["apply.sh"].decode()  # the chart of Istio 1.20's samples addon
    write_profile(tmp_path, "name: x\nistio: {version: '1.22'}\nprometheus: {delivery: helm-values, "
                            "helm: {chart_version: '^28'}}\n", "x.yaml")
    res = cli("validate", "x.yaml", cwd=tmp_path)
    assert res.code == 2
    assert "prometheus.helm.chart_version: '^28' is not an exact chart version (e.g. 28.13.0)" in res.out


def test_helm_values_need_the_chart_flavour(tmp_path: Path, cli: Any) -> None:
    from tests.conftest import write_profile

    write_profile(tmp_path, "name: x\nistio: {version: '1.5'}\nprometheus: {delivery: helm-values}\n")
    res = cli("validate", "profile.yaml", cwd=tmp_path)
    assert res.code == 2
    assert ("profile.yaml:3:24: error: prometheus.delivery: flavour istioctl-1.5 is not the prometheus-community "
            "Helm chart (use delivery: mount, or a samples-* flavour) [helm-values-flavour]") in res.out


# --- Sysdig agent Helm values -------------------------------------------------------------------

def test_agent_and_sysdig_deploy_values(examples_rendered: dict[str, Rendered]) -> None:
    r = examples_rendered["agent-helm-values"]
    agent = docs(r, "sysdig/helm-values-agent.yaml")
    deploy = docs(r, "sysdig/helm-values-sysdig-deploy.yaml")
    assert deploy == {"agent": agent}
    assert agent["sysdig"]["settings"] == docs(r, "sysdig/dragent.yaml")
    assert agent["prometheus"]["file"] is True
    prom = agent["prometheus"]["yaml"]
    assert isinstance(prom, dict), "prometheus.yaml must be a map in values, never a string"
    assert prom == yaml.safe_load(docs(r, "sysdig/sysdig-agent-patch.yaml")["data"]["prometheus.yaml"])


# --- Remote write -------------------------------------------------------------------------------

def test_remote_write_sends_only_recorded_series_with_a_mounted_credential(
        tmp_path: Path, kubectl: str, promtool: str, examples_rendered: dict[str, Rendered]) -> None:
    r = examples_rendered["remote-write"]
    frag = docs(r, "prometheus/prometheus-config-fragment.yaml")
    (rw,) = frag["remote_write"]
    assert rw["authorization"] == {"type": "Bearer", "credentials_file": "/etc/istiogen/remote-write/token"}
    assert rw["write_relabel_configs"] == [{"source_labels": ["sysdig"], "regex": "true", "action": "keep"}]
    # no federation job for the agent, and no secret value anywhere
    prom = yaml.safe_load(docs(r, "sysdig/sysdig-agent-patch.yaml")["data"]["prometheus.yaml"])
    assert all(j["job_name"] != "istio-federation" for j in prom["scrape_configs"])
    # the Secret is mounted read-only into the Prometheus container
    tree = materialize(r, tmp_path / "tree")
    out = run([kubectl, "patch", "--local", "-f", str(ADDONS / "samples-1.22-deployment.yaml"), "--type",
               "strategic", "--patch-file", str(tree / "prometheus/deployment-patch.yaml"), "-o", "json"])
    spec = json.loads(out.stdout)["spec"]["template"]["spec"]
    assert {"name": "istiogen-remote-write", "secret": {"secretName": "sysdig-remote-write", "defaultMode": 0o444}} \
        in spec["volumes"]
    server = next(c for c in spec["containers"] if c["name"] == "prometheus-server")
    assert {"name": "istiogen-remote-write", "mountPath": "/etc/istiogen/remote-write", "readOnly": True} \
        in server["volumeMounts"]
    # promtool accepts the config with the credential file in place
    pod = tmp_path / "pod"
    (pod / "secret").mkdir(parents=True)
    (pod / "secret/token").write_text("not-a-real-token\n")
    rw["authorization"]["credentials_file"] = str(pod / "secret/token")
    (pod / "prometheus.yml").write_text(yaml.safe_dump({"remote_write": [rw]}))
    check = run([promtool, "check", "config", str(pod / "prometheus.yml")])
    assert "SUCCESS" in check.stdout + check.stderr


IMAGE_USER = 65534  # prom/prometheus's Dockerfile: USER nobody (group nogroup, 65534)


def kubelet_can_read_secret(pod_spec: dict[str, Any], volume: str) -> bool:
    """Can the Prometheus container read the files of a Secret volume, by the kubelet's rules?

    Secret files are written by root (owner 0, group 0) with the volume's ``defaultMode``
    (0644 when unset); with a pod ``fsGroup`` the kubelet gives them that group and ORs 0440
    into the mode (SetVolumeOwnership, read-only volumes).  The process runs with the pod's
    runAsUser/runAsGroup (else the image's user) and the fsGroup and supplementalGroups as
    supplementary groups.  The expected answer follows from those POSIX rules and the
    addon's own securityContext, not from istiogen."""
    sc = pod_spec.get("securityContext") or {}
    uid = sc.get("runAsUser", IMAGE_USER)
    fs_group = sc.get("fsGroup")
    groups = {sc.get("runAsGroup", IMAGE_USER), *sc.get("supplementalGroups", [])}
    vol = next(v for v in pod_spec["volumes"] if v["name"] == volume)
    mode = vol["secret"].get("defaultMode", 0o644)
    file_gid = 0
    if fs_group is not None:
        groups.add(fs_group)
        file_gid = fs_group
        mode |= 0o440
    if uid == 0:
        return True
    if file_gid in groups:
        return bool(mode & 0o040)
    return bool(mode & 0o004)


@pytest.mark.parametrize("flavour", ["istioctl-1.5", "samples-1.7", "samples-1.14", "samples-1.22"])
@pytest.mark.parametrize("patch_type", ["strategic", "json"])
def test_remote_write_credential_is_readable_by_the_prometheus_user(tmp_path: Path, kubectl: str, flavour: str,
                                                                   patch_type: str) -> None:
    """The Secret is mounted readable by the user the addon runs Prometheus as: no fsGroup and
    runAsUser nobody on the 1.22+ samples addon and the istioctl addon (a 0400 root-owned file is
    unreadable there), fsGroup 65534 on the 1.7–1.21 samples addons."""
    version = {"istioctl-1.5": "1.5", "samples-1.7": "1.8", "samples-1.14": "1.20", "samples-1.22": "1.22"}[flavour]
    r = render_text(tmp_path, f"""
        name: rw
        istio: {{version: "{version}"}}
        prometheus: {{flavour: {flavour}}}
        remote_write:
          url: https://us2.app.sysdig.com/prometheus/remote/write
          secret: {{name: sysdig-token, key: token}}
        sysdig: {{federation: false}}
        """)
    tree = materialize(r, tmp_path / "tree")
    patch = tree / "prometheus" / ("deployment-patch.yaml" if patch_type == "strategic"
                                   else "deployment-patch.json6902.json")
    out = run([kubectl, "patch", "--local", "-f", str(ADDONS / f"{flavour}-deployment.yaml"), "--type", patch_type,
               "--patch-file", str(patch), "-o", "json"])
    spec = json.loads(out.stdout)["spec"]["template"]["spec"]
    assert kubelet_can_read_secret(spec, "istiogen-remote-write")
    vol = next(v for v in spec["volumes"] if v["name"] == "istiogen-remote-write")
    assert not vol["secret"]["defaultMode"] & 0o222  # never writable
    # the catalog's facts are the addon's: the fsGroup the pod runs with
    sc = spec.get("securityContext") or {}
    assert r.resolved.flavour.fs_group == sc.get("fsGroup")
    server = next(c for c in spec["containers"] if c["name"] == r.resolved.flavour.container)
    assert {"name": "istiogen-remote-write", "mountPath": "/etc/istiogen/remote-write", "readOnly": True} \
        in server["volumeMounts"]


def test_remote_write_refuses_credentials_in_the_url(tmp_path: Path, cli: Any) -> None:
    from tests.conftest import write_profile

    write_profile(tmp_path, "name: x\nistio: {version: '1.22'}\n"
                            "remote_write: {url: 'https://u:p4ss@x.example.com/write', auth: none}\n")
    res = cli("validate", "profile.yaml", cwd=tmp_path)
    assert res.code == 2
    assert "remote_write.url: the URL carries a credential: put it in a Secret (remote_write.secret)" in res.out
    assert "p4ss" not in res.out


# --- Cluster label -----------------------------------------------------------------------------

def test_cluster_label_in_every_delivery(tmp_path: Path, kubectl: str, promtool: str) -> None:
    """external_labels in the fragment (promtool accepts it), in the live ConfigMap patch, in the Helm
    values' server.global, and in the operator's merge patch (kubectl merges it into the resource's own)."""
    cluster = "cluster: {name: eu-west-1}\n"
    frag = docs(render_text(tmp_path, "name: a\nistio: {version: '1.5'}\n" + cluster),
                "prometheus/prometheus-config-fragment.yaml")
    assert frag["global"]["external_labels"] == {"cluster": "eu-west-1"}
    (tmp_path / "p.yml").write_text(yaml.safe_dump({"global": frag["global"]}))
    assert "SUCCESS" in run([promtool, "check", "config", str(tmp_path / "p.yml")]).stdout
    (tmp_path / "live.yaml").write_text((ADDONS / "samples-1.22-configmap.yaml").read_text())
    live = render_text(tmp_path, "name: b\nistio: {version: '1.22'}\nprometheus: {live_config: live.yaml}\n"
                                 "cluster: {name: eu-west-1, label: k8s_cluster}\n", "b.yaml")
    cfg = yaml.safe_load(docs(live, "prometheus/prometheus-configmap.yaml")["data"]["prometheus.yml"])
    assert cfg["global"]["external_labels"] == {"k8s_cluster": "eu-west-1"}
    helm = render_text(tmp_path, "name: c\nistio: {version: '1.22'}\nprometheus: {delivery: helm-values}\n" + cluster,
                       "c.yaml")
    assert docs(helm, "prometheus/helm-values.yaml")["server"]["global"]["external_labels"] == {"cluster": "eu-west-1"}
    op = render_text(tmp_path, "name: d\nistio: {version: '1.22'}\nprometheus: {delivery: operator}\n" + cluster,
                     "d.yaml")
    tree = materialize(op, tmp_path / "tree")
    cr = yaml.safe_load((ADDONS / "prometheus-cr.yaml").read_text())
    cr["spec"]["externalLabels"] = {"region": "eu"}
    (tmp_path / "cr.yaml").write_text(yaml.safe_dump(cr))
    out = run([kubectl, "patch", "--local", "-f", str(tmp_path / "cr.yaml"), "--type", "merge", "--patch-file",
               str(tree / "operator/prometheus-patch.merge.json"), "-o", "json"])
    assert json.loads(out.stdout)["spec"]["externalLabels"] == {"region": "eu", "cluster": "eu-west-1"}
    assert kube_validate(op) == []


def test_cluster_label_is_validated(tmp_path: Path, cli: Any) -> None:
    from tests.conftest import write_profile

    write_profile(tmp_path, "name: x\nistio: {version: '1.22'}\ncluster: {name: eu, label: sysdig}\n")
    res = cli("validate", "profile.yaml", cwd=tmp_path)
    assert res.code == 2
    assert "cluster.label: 'sysdig' is the federation label: the recorded series carry it" in res.out
    write_profile(tmp_path, "name: y\nistio: {version: '1.22'}\ncluster: {name: eu, label: destination_cluster}\n",
                  "y.yaml")
    assert "'destination_cluster' is an Istio metric label" in cli("validate", "y.yaml", cwd=tmp_path).out
    write_profile(tmp_path, "name: z\nistio: {version: '1.22'}\ncluster: {name: 'eu west', label: __c}\n", "z.yaml")
    res = cli("validate", "z.yaml", cwd=tmp_path)
    assert res.code == 2
    assert "cluster.name: 'eu west' is not a valid Kubernetes label value" in res.out
    assert "cluster.label: '__c': label names starting with '__' are reserved" in res.out


def test_cluster_label_conflicting_with_the_live_config_is_an_error(tmp_path: Path, cli: Any) -> None:
    from tests.conftest import write_profile

    live = yaml.safe_load((ADDONS / "samples-1.22-configmap.yaml").read_text())
    cfg = yaml.safe_load(live["data"]["prometheus.yml"])
    cfg["global"]["external_labels"] = {"cluster": "us-1"}
    live["data"]["prometheus.yml"] = yaml.safe_dump(cfg)
    (tmp_path / "live.yaml").write_text(yaml.safe_dump(live))
    write_profile(tmp_path, "name: x\nistio: {version: '1.22'}\nprometheus: {live_config: live.yaml}\n"
                            "cluster: {name: eu-1}\n")
    res = cli("render", "profile.yaml", cwd=tmp_path)
    assert res.code != 0
    assert "external_labels already set cluster to 'us-1', the profile's cluster.name says 'eu-1'" in res.err


# --- Telemetry API ------------------------------------------------------------------------------

def test_telemetry_removes_labels_and_warns_about_needed_ones(tmp_path: Path, cli: Any,
                                                              examples_rendered: dict[str, Rendered]) -> None:
    t = docs(examples_rendered["operator"], "istio/telemetry.yaml")
    assert t["apiVersion"] == "telemetry.istio.io/v1"
    assert t["spec"]["metrics"][0]["overrides"] == [{
        "match": {"metric": "ALL_METRICS", "mode": "CLIENT_AND_SERVER"},
        "tagOverrides": {"destination_principal": {"operation": "REMOVE"},
                         "source_principal": {"operation": "REMOVE"}},
    }]
    from tests.conftest import write_profile

    write_profile(tmp_path, """
        name: x
        istio:
          version: "1.14"
          telemetry:
            remove_labels:
              - {label: destination_version, metrics: [REQUEST_DURATION]}
        """)
    res = cli("validate", "profile.yaml", cwd=tmp_path)
    assert res.code == 0
    assert ("istio.telemetry.remove_labels[0].label: 'destination_version' is needed by the recording rules, "
            "dashboards or alerts (the service_version scope)") in res.out
    r = render_text(tmp_path, "name: yy\nistio: {version: '1.14', telemetry: {remove_labels: [{label: "
                              "request_protocol}]}}\n", "y.yaml")
    assert docs(r, "istio/telemetry.yaml")["apiVersion"] == "telemetry.istio.io/v1alpha1"
    write_profile(tmp_path, "name: zz\nistio: {version: '1.9', telemetry: {remove_labels: []}}\n", "z.yaml")
    old = cli("validate", "z.yaml", cwd=tmp_path)
    assert old.code == 2 and "the Telemetry API needs Istio 1.12 or later (this is 1.9)" in old.out


# --- Schemas: kubernetes-validate, and the upstream CRDs (cloudcoil's models of them) ------------

CRD_KINDS = {("monitoring.coreos.com/v1", k) for k in ("PrometheusRule", "PodMonitor", "ServiceMonitor", "Prometheus")}


def test_every_object_of_every_example_validates(examples_rendered: dict[str, Rendered]) -> None:
    from istiogen.verify.kubevalidate import _objects

    kinds = set()
    for name, r in examples_rendered.items():
        assert kube_validate(r) == [], name
        kinds |= {(o["apiVersion"], o["kind"]) for _, o in _objects(r)}
    # every kind of custom resource istiogen writes was among them (the Prometheus: merge patch applied)
    assert kinds >= CRD_KINDS | {("telemetry.istio.io/v1", "Telemetry"), ("v1", "ConfigMap")}


def test_an_invalid_object_is_reported(examples_rendered: dict[str, Rendered]) -> None:
    import copy

    r = copy.copy(examples_rendered["bookinfo"])
    bad = yaml.safe_load(r.files["prometheus/rules-configmap.yaml"])
    bad["data"]["rules.yaml"] = 42
    bad["spec"] = {}
    r.files = {**r.files, "prometheus/rules-configmap.yaml": yaml.safe_dump(bad).encode()}
    (problem,) = kube_validate(r)
    assert problem.file == "prometheus/rules-configmap.yaml" and problem.rule == "kube-schema"
    assert "invalid for Kubernetes 1.30.0" in problem.message


def _with(r: Rendered, path: str, change: Any, fmt: str = "yaml") -> Rendered:
    import copy

    out = copy.copy(r)
    doc = json.loads(r.files[path]) if fmt == "json" else yaml.safe_load(r.files[path])
    change(doc)
    out.files = {**r.files, path: (json.dumps(doc) if fmt == "json" else yaml.safe_dump(doc)).encode()}
    return out


@pytest.mark.parametrize(("path", "change", "where", "message"), [
    ("operator/podmonitor-envoy.yaml", lambda d: d["spec"]["podMetricsEndpoints"][0].update(portt="x"),
     "PodMonitor/istio-envoy spec.podMetricsEndpoints.0.portt", "unknown field"),
    ("operator/podmonitor-envoy.yaml", lambda d: d["spec"]["podMetricsEndpoints"][0].update(interval="15 s"),
     "PodMonitor/istio-envoy spec.podMetricsEndpoints.0.interval", "should match pattern"),
    ("operator/servicemonitor-federation.yaml", lambda d: d["spec"]["endpoints"][0].update(honorLabels="true"),
     "ServiceMonitor/istiogen-operator-federation spec.endpoints.0.honorLabels", "Input should be a valid boolean"),
    ("operator/prometheusrule.yaml", lambda d: d["spec"]["groups"][0].update(interval=15),
     "PrometheusRule/istiogen-operator spec.groups.0.interval", "Input should be a valid string"),
    ("operator/prometheusrule.yaml", lambda d: d["spec"]["groups"][0]["rules"][0].update(keepFiringFor="1m"),
     "PrometheusRule/istiogen-operator spec.groups.0.rules.0.keepFiringFor", "unknown field"),  # CRD: keep_firing_for
    ("istio/telemetry.yaml", lambda d: d["spec"]["metrics"][0].update(provider=[{"name": "prometheus"}]),
     "Telemetry/istiogen-metrics spec.metrics.0.provider", "unknown field"),
    ("istio/telemetry.yaml",
     lambda d: d["spec"]["metrics"][0]["overrides"][0]["tagOverrides"]["source_principal"].update(operation="DELETE"),
     "Telemetry/istiogen-metrics spec.metrics.0.overrides.0.tagOverrides.source_principal.operation",
     "Input should be 'UPSERT' or 'REMOVE'"),
])
def test_the_upstream_crd_schemas_catch_an_invalid_field(examples_rendered: dict[str, Rendered], path: str,
                                                          change: Any, where: str, message: str) -> None:
    (problem,) = kube_validate(_with(examples_rendered["operator"], path, change))
    assert (problem.file, problem.path, problem.rule) == (path, where, "kube-schema")
    assert message in problem.message
    assert problem.message.startswith(("invalid for the Prometheus Operator v0.80.1 CRD",
                                       "invalid for the Istio 1.24.2 CRD"))


def test_the_upstream_crd_schemas_know_fields_istiogen_does_not_write(examples_rendered: dict[str, Rendered]) -> None:
    """The schemas are the CRDs', not a list of what istiogen writes: upstream fields it never emits pass."""
    def more(d: Any) -> None:
        d["spec"]["groups"][0]["rules"][0]["keep_firing_for"] = "5m"
        d["spec"]["groups"][0]["limit"] = 10

    def telemetry(d: Any) -> None:
        d["spec"]["accessLogging"] = [{"providers": [{"name": "envoy"}]}]
        d["spec"]["metrics"][0]["reportingInterval"] = "10s"

    r = examples_rendered["operator"]
    assert kube_validate(_with(r, "operator/prometheusrule.yaml", more)) == []
    assert kube_validate(_with(r, "istio/telemetry.yaml", telemetry)) == []
    assert kube_validate(_with(r, "operator/podmonitor-envoy.yaml",
                               lambda d: d["spec"]["podMetricsEndpoints"][0].update(enableHttp2=False))) == []


def test_the_prometheus_resource_after_the_merge_patch_validates(tmp_path: Path, kubectl: str,
                                                                 examples_rendered: dict[str, Rendered]) -> None:
    from istiogen.verify.kubevalidate import crd_errors

    rw = render_text(tmp_path, """
        name: op-rw
        istio: {version: "1.22"}
        prometheus: {delivery: operator}
        remote_write:
          url: https://us2.app.sysdig.com/prometheus/remote/write
          secret: {name: sysdig-token, key: token}
        """)
    base = yaml.safe_load((ADDONS / "prometheus-cr.yaml").read_text())
    assert crd_errors(base) == []
    for r in (examples_rendered["operator"], rw):
        tree = materialize(r, tmp_path / r.name)
        out = run([kubectl, "patch", "--local", "-f", str(ADDONS / "prometheus-cr.yaml"), "--type", "merge",
                   "--patch-file", str(tree / "operator/prometheus-patch.merge.json"), "-o", "json"])
        after = json.loads(out.stdout)
        assert after["spec"]["podMetadata"]["annotations"]["existing"] == "kept"  # a merge patch keeps the rest
        assert crd_errors(after) == [], r.name
    assert "remoteWrite" in after["spec"]
    # a field the Prometheus CRD does not have, in the patch, is reported by istiogen validate
    bad = _with(examples_rendered["operator"], "operator/prometheus-patch.merge.json",
                lambda d: d["spec"].update(evaluationIntervall="15s"), "json")
    (problem,) = kube_validate(bad)
    assert problem.file == "operator/prometheus-patch.merge.json"
    assert problem.path == "Prometheus/k8s spec.evaluationIntervall"
    assert problem.message == "invalid for the Prometheus Operator v0.80.1 CRD: unknown field"


# --- Profiles at scale --------------------------------------------------------------------------

def test_a_base_change_reaches_every_cluster_and_cluster_overrides_win(tmp_path: Path, cli: Any) -> None:
    fleet = tmp_path / "profiles" / "fleet"
    shutil.copytree(REPO / "profiles" / "fleet", fleet)
    assert cli("render", "--all", cwd=tmp_path).code == 0
    prod = yaml.safe_load((tmp_path / "output/fleet-prod-eu/prometheus/alerts.yaml").read_text())
    expr = next(a["expr"] for g in prod["groups"] for a in g["rules"] if a["alert"] == "IstioServiceHighErrorRatio5xx")
    assert "vector(0.005)" in expr  # the cluster's override, not the base's 0.01
    staging = yaml.safe_load((tmp_path / "output/fleet-staging/queries.yaml").read_text())
    assert "tcp.sent_bytes.rate" not in staging["signals"]  # staging's own rule sets
    before = {p: (tmp_path / "output" / p / "prometheus/rules.yaml").read_text()
              for p in ("fleet-prod-eu", "fleet-staging")}
    base = fleet / "base.yaml"
    base.write_text(base.read_text().replace("window: 2m", "window: 5m"))
    res = cli("render", "--all", cwd=tmp_path)
    assert res.code == 0
    for p in ("fleet-prod-eu", "fleet-staging"):
        after = (tmp_path / "output" / p / "prometheus/rules.yaml").read_text()
        assert after != before[p] and "rate5m" in after and "rate2m" not in after
        assert f"changed  output/{p}/prometheus/rules.yaml" in res.out
    assert not (tmp_path / "output" / "base").exists()  # abstract: never rendered itself


def test_a_profile_folder_renders_in_one_call(tmp_path: Path, cli: Any) -> None:
    shutil.copytree(REPO / "profiles" / "fleet", tmp_path / "fleet")
    res = cli("render", "fleet", cwd=tmp_path)
    assert res.code == 0, res.err
    assert sorted(p.name for p in (tmp_path / "output").iterdir()) == ["fleet-prod-eu", "fleet-staging"]


def test_extends_merges_lists_of_named_things_by_key(tmp_path: Path) -> None:
    from istiogen.profile.loader import load_profile
    from tests.conftest import write_profile

    write_profile(tmp_path, """
        abstract: true
        istio: {version: "1.22"}
        services:
          - {name: a, namespace: ns, versions: [v1], alerts: {error_ratio_5xx: 0.1}}
          - {name: b, namespace: ns}
        rules: {kept_labels: [request_protocol]}
        """, "base.yaml")
    child = write_profile(tmp_path, """
        name: child
        extends: base.yaml
        services:
          - {name: b, namespace: ns, versions: [v2]}
          - {name: a, namespace: ns, alerts: {latency_p99_ms: 100}}
          - {name: c, namespace: ns}
        rules: {kept_labels: [grpc_response_status]}
        """, "child.yaml")
    p = load_profile(child).model
    assert [(s.name, s.versions) for s in p.services] == [("a", ["v1"]), ("b", ["v2"]), ("c", [])]
    a = p.services[0].alerts
    assert (a.error_ratio_5xx, a.latency_p99_ms) == (0.1, 100)
    assert p.rules.kept_labels == ["grpc_response_status"]  # a plain list is replaced


def test_extends_errors_point_at_the_right_file(tmp_path: Path) -> None:
    from istiogen.errors import ProfileError
    from istiogen.profile.loader import load_profile
    from tests.conftest import write_profile

    write_profile(tmp_path, "abstract: true\nistio: {version: '1.22'}\nsysdig: {mdoe: x}\n", "base.yaml")
    child = write_profile(tmp_path, "name: c\nextends: base.yaml\nrules: {window: 1q}\n", "c.yaml")
    with pytest.raises(ProfileError) as e:
        load_profile(child)
    texts = sorted(x.text().replace(str(tmp_path) + "/", "") for x in e.value.problems if x.level == "error")
    assert texts[0].startswith("base.yaml:3:10: error: sysdig.mdoe: unknown key 'mdoe' (did you mean 'mode'?)")
    assert texts[1].startswith("c.yaml:3:17: error: rules.window: '1q' is not a Prometheus duration")
    cyc = write_profile(tmp_path, "name: d\nextends: d.yaml\n", "d.yaml")
    with pytest.raises(ProfileError) as e2:
        load_profile(cyc)
    assert "extends itself" in e2.value.problems[0].message


def test_a_folder_without_profiles_is_an_error(tmp_path: Path, cli: Any) -> None:
    (tmp_path / "empty").mkdir()
    res = cli("render", "empty", cwd=tmp_path)
    assert res.code == 2
    assert "no profiles in empty" in res.err
    assert not (tmp_path / "output").exists()
