"""Values for a Helm-managed Prometheus (prometheus-community/prometheus, as Istio's samples addon).

The chart's default config lists ``/etc/config/recording_rules.yml``,
``alerting_rules.yml``, ``rules`` and ``alerts`` in ``rule_files``, and its config
reloader watches that folder.  The rules go into ``serverFiles.rules`` and
``serverFiles.alerts`` (the two the chart calls deprecated defaults, so users keep
theirs in the other two), reaching Prometheus without a restart or a config change;
``apply.sh`` refuses to overwrite rules it did not write there, and pins the chart
version (``prometheus.helm.chart_version``, default from the flavour) so that an
upgrade never jumps a chart major.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from istiogen.profile.resolve import Resolved
from istiogen.registry import Artifact
from istiogen.render import dragent, remote_write
from istiogen.render.model import SignalModel
from istiogen.render.rules import alerts_data, rules_data

if TYPE_CHECKING:
    from istiogen.render.context import Context

PATH = "prometheus/helm-values.yaml"


def values(r: Resolved, model: SignalModel) -> dict[str, Any]:
    server: dict[str, Any] = {}  # no global.evaluation_interval: the rule groups carry their own interval
    if remote_write.external_labels(r):  # merged key by key into the release's (--reuse-values)
        server["global"] = {"external_labels": remote_write.external_labels(r)}
    if dragent.federation_annotations(r):
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
    rules_slot, alerts_slot = slots(r)
    files: dict[str, Any] = {rules_slot: rules_data(model)}
    if model.alert_groups:
        files[alerts_slot] = alerts_data(model)
    return {"server": server, "serverFiles": files}


def slots(r: Resolved) -> tuple[str, str]:
    """The serverFiles keys the rules go into: the chart's ``rules`` and ``alerts``, which its
    default ``rule_files`` loads but its documentation steers users away from (they are to fill
    ``recording_rules.yml`` and ``alerting_rules.yml``, which stay theirs)."""
    s = r.flavour.rule_slots
    if s is None:  # the profile checks refuse helm-values for a flavour that is not the chart
        raise AssertionError(f"flavour {r.flavour.name} has no rule slots")
    return s


def chart_version(r: Resolved) -> str:
    """The chart version ``helm upgrade --version`` pins: the profile's, else the flavour's."""
    v = r.profile.prometheus.helm.chart_version or r.flavour.chart_version
    if v is None:
        raise AssertionError(f"flavour {r.flavour.name} names no chart version")
    return str(v)


def render(r: Resolved, model: SignalModel) -> Artifact:
    h = r.profile.prometheus.helm
    rules_slot, alerts_slot = slots(r)
    return Artifact(PATH, "helm-values-prometheus", values(r, model), "yaml",
                    f"values for {h.chart} {chart_version(r)} (helm upgrade {h.release} --version "
                    f"{chart_version(r)} --reuse-values -f): rules in serverFiles {rules_slot} and {alerts_slot}, "
                    "which the chart's rule_files loads; the config reloader applies them without a restart")


def artifacts(ctx: Context) -> list[Artifact]:
    return [render(ctx.r, ctx.model)] if ctx.r.delivery == "helm-values" else []
