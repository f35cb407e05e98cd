"""Values for the Sysdig shield chart, against the chart itself (tests/fixtures/sysdig/shield-chart-1.49.4.yaml:
values, schema and template lines copied from sysdiglabs/charts@1e57ebb4; helm is not installed, so the few
template lines that read these keys are emulated here, each next to the line it stands for)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml

from istiogen.pipeline import Rendered
from tests.conftest import REPO, render_text
from tests.render.test_sysdig_side import agent_prometheus_yaml

CHART = yaml.safe_load((REPO / "tests/fixtures/sysdig/shield-chart-1.49.4.yaml").read_text())
DEFAULTS = yaml.safe_load(CHART["values"])
SHIELD = "sysdig/helm-values-shield.yaml"


def _coalesce(base: Any, over: Any) -> Any:
    """Helm's merge of user values over the chart's defaults: maps deep-merged, anything else replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{k: _coalesce(base.get(k), v) for k, v in over.items()}}
    return over


def _monitor_key(features: dict[str, Any]) -> str:
    assert '{{- if hasKey . "monitoring" }}' in CHART["helpers_template"]
    return "monitoring" if "monitoring" in features else "monitor"


def _chart_render(values: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(the host ConfigMap's prometheus.yaml, the parts of its dragent.yaml that come from these keys)."""
    features = values["features"]
    prom = features[_monitor_key(features)]["prometheus"]
    # configmap.yaml: {{- if (include "host.prometheus_enabled" .Values.features) }} prometheus.yaml: toYaml (dig
    # (include "host.monitor_key" .) "prometheus" "prometheus_yaml" list .)
    assert 'toYaml (dig (include "host.monitor_key" .) "prometheus" "prometheus_yaml" list .)' in \
        CHART["configmap_template"]
    prometheus_yaml = prom.get("prometheus_yaml") if prom.get("enabled", False) else None
    # _configmap_helpers.tpl: "prometheus" (dict "enabled" (dig ... "prometheus" "enabled" false .)); the agent mode
    # is "monitor" when host.features.monitor_enabled, else secure_light (or secure): no Prometheus collection
    dragent: dict[str, Any] = {"prometheus": {"enabled": bool(prom.get("enabled", False))},
                               "feature": {"mode": "monitor" if prom.get("enabled", False) else "secure_light"}}
    # {{- if .Values.host.additional_settings }} $config = mergeOverwrite $config (host.config_override)
    assert "mergeOverwrite $config (include \"host.config_override\"" in CHART["configmap_helpers_template"]
    settings = values["host"]["additional_settings"]
    if settings:
        dragent = _coalesce(dragent, settings)
    return prometheus_yaml, dragent


def _shield(tmp_path: Path, sysdig: str = "{helm_values: [shield]}") -> Rendered:
    return render_text(tmp_path, f'name: shield\nistio: {{version: "1.22"}}\nsysdig: {sysdig}\n')


def test_shield_values_are_the_charts_keys_and_types(tmp_path: Path) -> None:
    ours = yaml.safe_load(_shield(tmp_path).files[SHIELD])
    merged = _coalesce(DEFAULTS, ours)
    # the schema's FeatureGroupMonitoring (Prometheus: additionalProperties false, prometheus_yaml an object)
    group = CHART["feature_group_monitoring_schema"]
    # the chart says https://json-schema.org/draft-07/schema#; jsonschema knows draft 7 by its http id
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "$defs": {"FeatureGroupMonitoring": group},
              "$ref": "#/$defs/FeatureGroupMonitoring"}
    jsonschema.validate(merged["features"]["monitor"], schema)
    assert set(ours) == {"features", "host"}
    assert set(ours["features"]) == {"monitor"} and set(ours["features"]["monitor"]) == {"prometheus"}
    assert set(ours["host"]) == {"additional_settings"}
    assert isinstance(ours["features"]["monitor"]["prometheus"]["prometheus_yaml"], dict)  # a map, never a string


def test_the_chart_writes_the_same_prometheus_yaml_and_dragent_as_the_patch(tmp_path: Path) -> None:
    for sysdig in ("{helm_values: [shield]}", "{helm_values: [shield], mode: promscrape-v1, envoy_filter: true}"):
        r = _shield(tmp_path, sysdig)
        prometheus_yaml, dragent = _chart_render(_coalesce(DEFAULTS, yaml.safe_load(r.files[SHIELD])))
        assert prometheus_yaml == agent_prometheus_yaml(r), sysdig
        ours = yaml.safe_load(r.files["sysdig/dragent.yaml"])
        assert dragent["feature"] == {"mode": "monitor"}  # Prometheus collection on in the shield agent
        assert {k: dragent[k] for k in ours} == ours, sysdig


def test_without_shield_values_the_chart_collects_no_prometheus(tmp_path: Path) -> None:
    """The chart's own default: the feature off, no prometheus.yaml: why the values are needed at all."""
    prometheus_yaml, dragent = _chart_render(DEFAULTS)
    assert prometheus_yaml is None and dragent["prometheus"] == {"enabled": False}


def test_the_default_agent_version_is_the_one_the_shield_chart_installs(tmp_path: Path) -> None:
    r = _shield(tmp_path)
    assert r.resolved.profile.sysdig.agent_version == DEFAULTS["host"]["image"]["tag"]
    assert yaml.safe_load(r.files["sysdig/dragent.yaml"])["prometheus"]["prom_service_discovery"] is True


def test_the_shield_file_is_its_own_kind(tmp_path: Path) -> None:
    import json

    r = _shield(tmp_path, "{helm_values: [agent, sysdig-deploy, shield]}")
    kinds = {a["path"]: a["kind"] for a in json.loads(r.files["index.json"])["artifacts"]}
    assert kinds[SHIELD] == "sysdig-shield-values"
    assert kinds["sysdig/helm-values-agent.yaml"] == kinds["sysdig/helm-values-sysdig-deploy.yaml"] == \
        "sysdig-helm-values"
