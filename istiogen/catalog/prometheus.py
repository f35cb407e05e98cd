"""Prometheus addon flavours as data: what each Istio-shipped Prometheus looks like.

Every fact here can be overridden in a profile's ``prometheus:`` section; the
flavour only supplies defaults.  Facts were read off the addon manifests Istio
shipped for each range of releases.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Flavour:
    name: str
    description: str
    deployment: str
    container: str
    container_index: int  # position of ``container`` in the pod spec (for RFC 6902 paths)
    selector: tuple[tuple[str, str], ...]  # pod labels that select the Prometheus pod
    config_map: str
    config_key: str
    config_path: str  # where the container reads its config file
    port: int
    restart_to_load_rules: bool  # True when nothing reloads Prometheus when a mounted file changes
    reloader: str | None  # name of a config-reloader container, if any
    template_annotations: bool  # does the addon's pod template already carry annotations?
    drop_labels: tuple[str, ...]  # labels the scrape adds per target (pod, instance, ...)
    scrape_interval: str
    istiod_matcher: tuple[tuple[str, str], ...]  # labels that select istiod's series (the ``pilot`` family)
    service_port_name: str  # the Service port of the Prometheus API (for ServiceMonitors)
    config_volume: str  # the Deployment volume holding the config ConfigMap
    delivery: str  # default way the rules reach this Prometheus (see profile prometheus.delivery)
    fs_group: int | None  # the pod's securityContext.fsGroup, if any (kubelet makes volumes group-readable by it)
    # rule files the stock config's rule_files loads, as keys of config_map in the config folder
    config_rule_files: tuple[str, ...]
    # the two of them istiogen fills with its recording rules and alerts (projected and Helm deliveries):
    # the chart's deprecated placeholders, which it steers users away from, so users' own rules stay theirs
    rule_slots: tuple[str, str] | None
    chart_version: str | None  # prometheus-community/prometheus chart version this flavour's addon comes from
    # Control-plane metric families scraped by a job of their own (family -> matcher); the others, and
    # every family not listed, are selected by ``istiod_matcher``.  Families: see CONTROL_PLANE_FAMILIES.
    family_matchers: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    # the scrape jobs of the stock config that ingest the istio_* series: Mixer's adapter (istio-mesh) and
    # the sidecars' stats (envoy-stats) in the Mixer-era and 1.5 charts; the annotated pods from the samples
    # of 1.7 on (the sidecars carry prometheus.io/* annotations, merged on :15020)
    istio_jobs: tuple[str, ...] = ("istio-mesh", "envoy-stats")

    def control_plane_matcher(self, family: str) -> tuple[tuple[str, str], ...]:
        """The labels selecting one control-plane metric family's series."""
        assert family in CONTROL_PLANE_FAMILIES, family
        return dict(self.family_matchers).get(family, self.istiod_matcher)


# Control-plane metric families: ``pilot`` (xDS pushes, rejects, convergence, connected proxies, and the
# ``up`` of its target), ``injection`` (sidecar injection counters), ``csr`` (certificate signing).  Since
# Istio 1.5 istiod serves all three; the Mixer-era chart scrapes pilot, the sidecar injector and Citadel
# in separate jobs.
CONTROL_PLANE_FAMILIES = ("pilot", "injection", "csr")


# Each flavour is written as what changed since the one before it (the addons Istio shipped, in order).
_HELM_1_4 = Flavour(
    name="helm-1.4",
    description="Mixer-era Helm chart (Istio 1.0–1.4): Deployment prometheus, istio-mesh job on Mixer",
    deployment="prometheus",
    container="prometheus",
    container_index=0,
    selector=(("app", "prometheus"), ("release", "istio")),
    config_map="prometheus",
    config_key="prometheus.yml",
    config_path="/etc/prometheus/prometheus.yml",
    port=9090,
    restart_to_load_rules=True,
    reloader=None,
    template_annotations=True,
    drop_labels=("instance",),
    scrape_interval="15s",
    istiod_matcher=(("job", "pilot"),),
    service_port_name="http-prometheus",
    config_volume="config-volume",
    delivery="mount",
    fs_group=None,  # no securityContext; prom/prometheus runs as USER nobody
    config_rule_files=(),
    rule_slots=None,
    chart_version=None,
    # the chart's jobs `sidecar-injector` (istio-sidecar-injector;http-monitoring) and `citadel`
    # (istio-citadel;http-monitoring) scrape those components, not `pilot`
    family_matchers=(("injection", (("job", "sidecar-injector"),)), ("csr", (("job", "citadel"),))),
)
_ISTIOCTL_1_5 = replace(
    _HELM_1_4,
    name="istioctl-1.5",
    description="istioctl's istio-telemetry/prometheus chart (Istio 1.5–1.6): app=prometheus,release=istio",
    drop_labels=("instance", "namespace", "pod_name"),
    family_matchers=(),
)
_SAMPLES_1_7 = replace(
    _ISTIOCTL_1_5,
    name="samples-1.7",
    description="samples/addons/prometheus.yaml, stable/prometheus chart (Istio 1.7–1.13)",
    container="prometheus-server",
    container_index=1,
    selector=(("app", "prometheus"), ("component", "server"), ("release", "prometheus")),
    config_path="/etc/config/prometheus.yml",
    reloader="prometheus-server-configmap-reload",
    drop_labels=("instance", "kubernetes_namespace", "kubernetes_pod_name", "pod_template_hash"),
    istiod_matcher=(("app", "istiod"),),
    service_port_name="http",
    delivery="projected",
    fs_group=65534,  # securityContext runAsUser/runAsGroup/fsGroup 65534 (Istio 1.8 sample)
    config_rule_files=("recording_rules.yml", "alerting_rules.yml", "rules", "alerts"),
    rule_slots=("rules", "alerts"),
    chart_version="11.16.2",
    istio_jobs=("kubernetes-pods",),
)
_SAMPLES_1_14 = replace(
    _SAMPLES_1_7,
    name="samples-1.14",
    description="samples/addons/prometheus.yaml, prometheus-community chart 15–19 (Istio 1.14–1.21)",
    template_annotations=False,
    drop_labels=("instance", "namespace", "pod", "node", "pod_template_hash"),
    fs_group=65534,  # securityContext runAsUser/runAsGroup/fsGroup 65534 (Istio 1.20 sample)
    chart_version="19.6.1",
)
_SAMPLES_1_22 = replace(
    _SAMPLES_1_14,
    name="samples-1.22",
    description="samples/addons/prometheus.yaml, prometheus-community chart 25+ (Istio 1.22+)",
    selector=(
        ("app.kubernetes.io/component", "server"),
        ("app.kubernetes.io/instance", "prometheus"),
        ("app.kubernetes.io/name", "prometheus"),
    ),
    fs_group=None,  # securityContext: null (Istio 1.22+ sample); prom/prometheus is USER nobody
    chart_version="28.13.0",
)
FLAVOURS: dict[str, Flavour] = {
    f.name: f for f in (_HELM_1_4, _ISTIOCTL_1_5, _SAMPLES_1_7, _SAMPLES_1_14, _SAMPLES_1_22)
}
