"""``istiogen import`` on exports shaped like real clusters (written for these tests from the
addon manifests' shapes): the imported profile validates and renders, its values are the facts the
exports hold (expected values read off the fixture files, not from istiogen), and ``diff --live``
of the imported profile against the same export changes only what istiogen adds on purpose.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

HERE = Path(__file__).parent
EXPORTS = HERE / "exports"

# What istiogen changes on purpose when it takes over a cluster's monitoring, per artifact kind:
# (object, dotted-path glob). Anything else in the live diff means the import got a fact wrong
# (a container, volume or ConfigMap name, a flavour) or istiogen would break something.
INTENDED_PROMETHEUS = [
    ("Deployment istio-system/prometheus", "spec.template.metadata.annotations*"),
    ("Deployment istio-system/prometheus", "spec.template.spec.volumes[name=*]*"),
    ("Deployment istio-system/prometheus", "spec.template.spec.containers[name={container}].volumeMounts*"),
    ("ConfigMap istio-system/prometheus", 'data["prometheus.yml"].rule_files*'),
    ("ConfigMap istio-system/prometheus", 'data["prometheus.yml"].global.evaluation_interval'),
    ("ConfigMap istio-system/prometheus", 'data["prometheus.yml"].alerting*'),
    ("ConfigMap istio-system/{rules}", "*"),
]
INTENDED_OPERATOR = [
    ("PrometheusRule monitoring/*", ""), ("PodMonitor monitoring/*", ""), ("ServiceMonitor monitoring/*", ""),
    ("Prometheus monitoring/k8s", "spec.podMetadata.annotations*"),
    ("Prometheus monitoring/k8s", "spec.evaluationInterval"),
    ("Prometheus monitoring/k8s", "spec.alerting*"),
]
INTENDED_AGENT = [
    ("ConfigMap {agent_ns}/sysdig-agent", 'data["dragent.yaml"].prometheus*'),
    ("ConfigMap {agent_ns}/sysdig-agent", 'data["dragent.yaml"].use_promscrape'),
    ("ConfigMap {agent_ns}/sysdig-agent", 'data["prometheus.yaml"]*'),
]

CASES: dict[str, dict[str, Any]] = {
    "istio-1.5-promcat": {
        "values": {
            ("istio", "version"): "1.5",  # docker.io/istio/pilot:1.5.10 in control-plane.yaml
            ("prometheus", "rules_config_map"): "prometheus-recording-rules",  # mounted by hand
            ("prometheus", "rules_volume"): "recording-rules",
            ("prometheus", "rules_mount_path"): "/etc/prometheus-rules",
            ("prometheus", "rules_key"): "recording_rules.yml",
            ("sysdig", "envoy_filter"): True,  # process_filter include on port 15090
            ("sysdig", "job_name"): "istio-prom-federate",
            ("sysdig", "scrape_interval"): "30s",
            ("sysdig", "limits", "max_metrics"): 10000,
            ("sysdig", "limits", "max_metrics_per_process"): 10000,
            # the process_filter: v1, never a default now (the default follows agent_version: v2 from 10.5)
            ("sysdig", "mode"): "promscrape-v1",
            ("sysdig", "agent_version"): "10.9.1",  # agent:10.9.1
        },
        "absent": [("prometheus", "flavour")],  # istioctl-1.5 is 1.5's default
        "records": ["mesh:istio_requests:sum_rate1m", "destination:istio_requests:rate1m:imported",
                    "workload:istio_request_duration_seconds:p95"],
        "renamed": ["destination:istio_requests:rate1m"],
        "unmapped": ["alert MeshRequestsDropped"],
        "container": "prometheus", "rules": "prometheus-recording-rules", "agent_ns": "sysdig-agent",
    },
    "samples-1.20": {
        "values": {("istio", "version"): "1.20"},
        "absent": [("prometheus", "flavour"), ("prometheus", "container"), ("sysdig", "mode")],
        "records": [], "renamed": [], "unmapped": ["scrape job 'old-job'"],
        "container": "prometheus-server", "rules": "rules", "agent_ns": "sysdig-agent", "new_objects": ["ConfigMap"],
    },
    "samples-1.30": {
        "values": {
            ("istio", "version"): "1.30",
            ("sysdig", "mode"): "promscrape-v2",  # agent-slim:13.5.0: v2 is the default from agent 12
            ("sysdig", "agent_version"): "13.5.0",
            ("sysdig", "namespace"): "sysdig",
            ("sysdig", "limits", "max_metrics"): 20000,
        },
        "absent": [("prometheus", "flavour")],
        "records": [], "renamed": [], "unmapped": [],
        "container": "prometheus-server", "rules": "rules", "agent_ns": "sysdig", "new_objects": ["ConfigMap"],
    },
    "operator": {
        "values": {
            ("istio", "version"): "1.22",
            ("prometheus", "delivery"): "operator",
            ("prometheus", "operator", "rule_labels"): {"role": "alert-rules"},
        },
        "absent": [("prometheus", "operator", "namespace"), ("prometheus", "operator", "prometheus")],
        "records": ["cluster:istio_requests:rate5m"], "renamed": [], "unmapped": ["no ConfigMap with a dragent.yaml"],
        "container": "prometheus", "rules": "rules", "agent_ns": "sysdig-agent",
        "new_objects": ["PodMonitor", "PrometheusRule", "ServiceMonitor", "ServiceMonitor"],
        "retire": ["kubectl delete -n monitoring prometheusrule/istio-hand-rules"],
    },
}


def _get(data: Any, path: tuple[str, ...]) -> Any:
    for k in path:
        if not isinstance(data, dict) or k not in data:
            return KeyError
        data = data[k]
    return data


def _intended(case: dict[str, Any]) -> list[tuple[str, str]]:
    return [(o.format(**case), p.format(**case).replace("[", "[[]"))  # '[' literal in fnmatch
            for o, p in INTENDED_PROMETHEUS + INTENDED_OPERATOR + INTENDED_AGENT]


@pytest.mark.parametrize("name", sorted(CASES))
def test_import_reproduces_the_cluster(name: str, tmp_path: Path, cli: Any) -> None:
    case = CASES[name]
    profile = tmp_path / "profiles" / "imported.yaml"
    res = res_import = cli("import", str(EXPORTS / name), "-o", str(profile), cwd=tmp_path)
    assert res.code == 0, res.err
    data = yaml.safe_load(profile.read_text(encoding="utf-8"))
    for path, want in case["values"].items():
        assert _get(data, path) == want, path
    for path in case["absent"]:
        assert _get(data, path) is KeyError, f"{path} equals the default and must not be set"
    records = [r["record"] for r in _get(data, ("rules", "custom")) or []] if case["records"] else []
    assert records == case["records"]
    for old in case["renamed"]:
        assert f"renamed  {old} -> {old}:imported" in res.out
    for text in case["unmapped"]:
        assert any(line.startswith("unmapped ") and text in line for line in res.out.splitlines()), res.out
    text = profile.read_text(encoding="utf-8")
    assert "# from Deployment istio-system/istiod .spec.template.spec.containers[0].image" in text

    assert cli("validate", str(profile), cwd=tmp_path).code == 0
    assert cli("render", str(profile), "--out", "out", cwd=tmp_path).code == 0
    res = cli("diff", str(profile), "--live", str(EXPORTS / name), "--output", "json", "--out", "out", cwd=tmp_path)
    assert res.code in (0, 1), res.err
    changes = json.loads(res.out)["changes"]
    intended = _intended(case)
    unexpected = [(c["object"], c["path"], c["type"]) for c in changes
                  if not any(fnmatch.fnmatchcase(c["object"], o) and fnmatch.fnmatchcase(c["path"], p)
                             for o, p in intended)]
    assert unexpected == [], "the live diff changes more than istiogen adds on purpose"
    new_objects = sorted(c["object"].split()[0] for c in changes if c["type"] == "added" and not c["path"])
    assert new_objects == case.get("new_objects", []), "objects istiogen adds on purpose, and only those"
    for r in case.get("retire", []):
        assert f"retire   after applying: {r}" in res_import.out


def test_import_refuses_to_overwrite_and_writes_nothing(tmp_path: Path, cli: Any) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text("keep me\n", encoding="utf-8")
    res = cli("import", str(EXPORTS / "samples-1.20"), "-o", str(profile), cwd=tmp_path)
    assert res.code == 2
    assert "exists: import never overwrites" in res.err
    assert profile.read_text(encoding="utf-8") == "keep me\n"


def test_import_without_a_version_names_what_to_export(tmp_path: Path, cli: Any) -> None:
    only = tmp_path / "only-agent.yaml"
    only.write_text((EXPORTS / "samples-1.30" / "sysdig-agent.yaml").read_text(encoding="utf-8").replace(
        "agent-slim:13.5.0", "agent-slim"), encoding="utf-8")
    res = cli("import", str(only), "-o", str(tmp_path / "p.yaml"), cwd=tmp_path)
    assert res.code == 2
    assert "no Istio version found in the export" in res.err and "--istio-version" in res.err
    assert not (tmp_path / "p.yaml").exists()
    res = cli("import", str(only), "-o", str(tmp_path / "p.yaml"), "--istio-version", "1.24", cwd=tmp_path)
    assert res.code == 0, res.err
    assert yaml.safe_load((tmp_path / "p.yaml").read_text(encoding="utf-8"))["istio"]["version"] == "1.24"
