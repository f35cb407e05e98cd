"""Values for a Helm-managed Prometheus (prometheus-community/prometheus, as Istio's samples addon).

The chart's config already lists ``/etc/config/recording_rules.yml`` and
``alerting_rules.yml`` in ``rule_files`` and its config reloader watches that
folder, so the rules go into ``serverFiles`` and reach Prometheus without a
restart or a config change.
"""

from __future__ import annotations

from typing import Any

from istiogen.profile.resolve import Resolved
from istiogen.render import remote_write
from istiogen.render.artifact import Artifact
from istiogen.render.model import SignalModel
from istiogen.render.rules import alerts_data, rules_data

PATH = "prometheus/helm-values.yaml"


def values(r: Resolved, model: SignalModel) -> dict[str, Any]:
    server: dict[str, Any] = {}  # no global.evaluation_interval: the rule groups carry their own interval
    if r.profile.prometheus.federation_annotations:
        server["podAnnotations"] = {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(r.flavour.port),
            "prometheus.io/path": "/federate",
        }
    if remote_write.enabled(r):
        server["remoteWrite"] = [remote_write.config_entry(r, model)]
        rw = r.profile.remote_write
        if rw is not None and rw.secret is not None:
            server["extraSecretMounts"] = [
                {"name": remote_write.VOLUME, "mountPath": rw.mount_path, "secretName": rw.secret.name,
                 "readOnly": True}
            ]
    files: dict[str, Any] = {"recording_rules.yml": rules_data(model)}
    if model.alert_groups:
        files["alerting_rules.yml"] = alerts_data(model)
    return {"server": server, "serverFiles": files}


def render(r: Resolved, model: SignalModel) -> Artifact:
    h = r.profile.prometheus.helm
    return Artifact(PATH, "helm-values-prometheus", values(r, model), "yaml",
                    f"values for {h.chart} (helm upgrade {h.release} --reuse-values -f): rules in serverFiles, "
                    "loaded by the config reloader without a restart")
