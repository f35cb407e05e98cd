"""The profile format, as pydantic models.

Every model forbids unknown keys and is strict about types (a quoted ``"9090"`` is
not a port, ``yes`` is not a boolean), so that a typo is an error with a
"did you mean" rather than a silently ignored setting.  Defaults that depend on
the Istio version or the Prometheus flavour are ``None`` here and filled in by
:mod:`istiogen.profile.resolve`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from istiogen.catalog import istio as istio_catalog
from istiogen.catalog import sysdig as sysdig_catalog
from istiogen.catalog.prometheus import FLAVOURS
from istiogen.catalog.sysdig import CHARTS, MODES
from istiogen.profile.types import (
    AbsPath,
    AgentVersion,
    Bound,
    ConfigMapKey,
    Count,
    DnsLabel,
    DnsSubdomain,
    Duration,
    Factor,
    Floor,
    Index,
    LabelKey,
    LabelValue,
    LinkUrl,
    Millis,
    Port,
    PromLabel,
    PromMetric,
    Quantile,
    Rate,
    Ratio,
    RemoteUrl,
    Sample,
    Seconds,
    Version,
)

RULE_SETS = ("requests", "latency", "request_size", "response_size", "tcp", "gateway", "control_plane")
SCOPES = ("service", "service_version", "workload", "edge")
DEFAULT_SCOPES = ("service", "service_version", "workload")
DATA_PLANE = DEFAULT_SCOPES


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class GatewaySpec(Model):
    """The ingress gateway whose traffic is monitored (reporter=source)."""

    workload: DnsSubdomain = "istio-ingressgateway"
    namespace: DnsLabel | None = Field(None, description="defaults to istio.namespace")


TELEMETRY_METRICS = (
    "ALL_METRICS", "REQUEST_COUNT", "REQUEST_DURATION", "REQUEST_SIZE", "RESPONSE_SIZE",
    "TCP_OPENED_CONNECTIONS", "TCP_CLOSED_CONNECTIONS", "TCP_SENT_BYTES", "TCP_RECEIVED_BYTES",
    "GRPC_REQUEST_MESSAGES", "GRPC_RESPONSE_MESSAGES",
)


class TelemetryLabelRemoval(Model):
    label: PromLabel
    metrics: list[Literal[TELEMETRY_METRICS]] = ["ALL_METRICS"]  # type: ignore[valid-type]


class TelemetrySpec(Model):
    """An Istio Telemetry resource (telemetry.istio.io, Istio 1.12+) removing labels at the source."""

    name: DnsSubdomain = "istiogen-metrics"
    remove_labels: list[TelemetryLabelRemoval] = Field(
        default=[], description="labels to remove from the Istio metrics (tagOverrides operation REMOVE)"
    )


DataPlaneMode = Literal["sidecar", "ambient"]


class DataPlaneSpec(Model):
    """How a service's (or a namespace's) pods are in the mesh: README "Data-plane modes"."""

    mode: DataPlaneMode = Field(description="sidecar: an Envoy in every pod; ambient: ztunnel per node (L4 only)")
    waypoint: DnsSubdomain | None = Field(
        None, description="ambient: the waypoint (its Gateway/Deployment name) serving it L7; none: L4 only",
    )
    waypoint_namespace: DnsLabel | None = Field(None, description="the waypoint's namespace (default: its own)")
    ingress_use_waypoint: bool = Field(
        False, description="istio.io/ingress-use-waypoint: the ingress gateway routes through the waypoint",
    )


class NamespaceDataPlane(DataPlaneSpec):
    name: DnsLabel


class MeshDataPlane(Model):
    mode: DataPlaneMode = Field("sidecar", description="the mesh-wide default (ambient from Istio 1.24)")
    namespaces: list[NamespaceDataPlane] = Field(default=[], description="namespaces with a mode of their own")
    nodes: Count | None = Field(
        None, description="nodes running ztunnel: bounds ztunnel's per-node series in the series estimate")


class IstioSpec(Model):
    version: str = Field(description='Istio release, "1.5" to "1.30" (quote it: 1.10 unquoted is the number 1.1)')
    namespace: DnsLabel = "istio-system"
    metrics_merging: bool | None = Field(
        None,
        description="meshConfig.enablePrometheusMerge: sidecars expose merged metrics on 15020 "
        "(default from the version: off before 1.7, on from 1.7)",
    )
    ingress_gateway: GatewaySpec = GatewaySpec()
    telemetry: TelemetrySpec | None = Field(None, description="emit a Telemetry resource (only when set)")
    data_plane: MeshDataPlane = Field(MeshDataPlane(), description="sidecar or ambient, mesh-wide and per namespace")

    @field_validator("version")
    @classmethod
    def _known_version(cls, v: str) -> str:
        try:
            return istio_catalog.release(v).version
        except KeyError:
            raise PydanticCustomError(
                "istio_version",
                "unknown Istio version '{value}'; istiogen knows {known}",
                {"value": v, "known": istio_catalog.version_range()},
            ) from None


FlavourName = Literal["helm-1.4", "istioctl-1.5", "samples-1.7", "samples-1.14", "samples-1.22"]
assert set(FlavourName.__args__) == set(FLAVOURS)  # type: ignore[attr-defined]


class OperatorSpec(Model):
    """The Prometheus Operator (prometheus.delivery: operator)."""

    namespace: DnsLabel = Field("monitoring", description="namespace of the operator's Prometheus and the CRs")
    prometheus: DnsSubdomain = Field("k8s", description="name of the Prometheus custom resource")
    rule_labels: dict[LabelKey, LabelValue] = Field(
        default={}, description="labels the Prometheus ruleSelector matches (put on the PrometheusRule)"
    )
    monitor_labels: dict[LabelKey, LabelValue] = Field(
        default={}, description="labels the Pod/ServiceMonitor selectors match"
    )
    federation_monitor_labels: dict[LabelKey, LabelValue] = Field(
        default={}, description="labels of the federation ServiceMonitor (for the Prometheus that federates)"
    )
    scrape_interval: Duration = "15s"


class HelmSpec(Model):
    """A Helm-managed Prometheus (prometheus-community/prometheus; prometheus.delivery: helm-values)."""

    release: DnsLabel = "prometheus"
    chart: str = "prometheus-community/prometheus"
    chart_version: str | None = Field(
        None,
        description="chart version helm upgrade pins (--version), so it never jumps a chart major; default: the "
        "version the flavour's addon was generated from (samples-1.7 11.16.2, samples-1.14 19.6.1, "
        "samples-1.22 28.13.0)",
    )

    @field_validator("chart_version")
    @classmethod
    def _exact_version(cls, v: str | None) -> str | None:
        import re

        if v is not None and not re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?", v):
            raise PydanticCustomError(
                "chart_version", "'{value}' is not an exact chart version (e.g. 28.13.0)", {"value": v}
            )
        return v


class KustomizeSpec(Model):
    base: str | None = Field(
        None,
        description="path of a kustomize base holding the Istio Prometheus, relative to the rendered "
        "prometheus/ folder; without it the overlay is a kustomize Component to include from your own",
    )


Delivery = Literal["mount", "projected", "helm-values", "operator"]


class PrometheusSpec(Model):
    flavour: FlavourName | None = Field(None, description="addon flavour; default from istio.version")
    delivery: Delivery | None = Field(
        None,
        description="how the rules reach Prometheus: mount (a volume at rules_mount_path, pod rolled by a "
        "checksum), projected (into the reloaded config folder: no restart), helm-values (the chart's "
        "serverFiles), operator (PrometheusRule and monitors); default from the flavour",
    )
    deployment: DnsSubdomain | None = None
    container: DnsLabel | None = None
    container_index: Index | None = Field(
        None, description="position of the container in the pod spec (RFC 6902 paths)"
    )
    selector: dict[LabelKey, LabelValue] | None = Field(None, description="pod labels of the Prometheus pod")
    config_map: DnsSubdomain | None = None
    config_key: ConfigMapKey | None = None
    config_path: AbsPath | None = None
    port: Port | None = None
    restart_to_load_rules: bool | None = None
    template_annotations: bool | None = Field(
        None,
        description="whether the Deployment's pod template already has an annotations map (e.g. after kubectl "
        "rollout restart): the RFC 6902 patch then adds to it; without one, it creates the map and refuses a "
        "template that has one",
    )
    drop_labels: list[PromLabel] | None = Field(None, description="labels the scrape adds per target")
    scrape_interval: Duration | None = None
    istiod_matcher: dict[PromLabel, str] | None = Field(None, description="labels selecting istiod's series")
    rules_config_map: DnsSubdomain = "rules"
    rules_key: ConfigMapKey = "rules.yaml"
    rules_volume: DnsLabel = "config-rules"
    rules_mount_path: AbsPath = "/opt/rules"
    federation_annotations: bool = Field(
        True, description="add prometheus.io/* pod annotations so the agent finds /federate (used only in "
        "promscrape v1, federating, with the default rules kept: elsewhere the agent does not need them)"
    )
    live_config: str | None = Field(
        None, description="exported ConfigMap (kubectl get cm prometheus -o yaml), relative to the profile"
    )
    drop_unused: bool = Field(
        False, description="drop at ingestion (metric_relabel_configs of the Istio scrape job: the operator's "
        "PodMonitor, the live config's job, or the config fragment) the raw istio_* series no generated rule, "
        "alert or panel reads, and the histogram buckets outside the kept bounds; Istio's own dashboards and "
        "Kiali then lose them (a warning names what)"
    )
    kustomize: KustomizeSpec = KustomizeSpec()
    operator: OperatorSpec = OperatorSpec()
    helm: HelmSpec = HelmSpec()


class CustomRuleTest(Model):
    """A promtool unit test for a custom rule: input series and the samples expected."""

    input_series: list[dict[str, str]]
    exp_samples: list[dict[str, str | Sample]]
    eval_time: Duration = "10m"
    interval: Duration = "15s"


def _check_promql(v: str | None) -> str | None:
    from istiogen.profile.promql import promql_error

    if v is None:
        return v
    err = promql_error(v, instant=True)
    if err:
        raise PydanticCustomError("promql", "invalid PromQL: {err}", {"err": err})
    return v


class CustomRule(Model):
    record: PromMetric
    expr: str
    labels: dict[PromLabel, str] = {}
    test: CustomRuleTest | None = None

    _expr = field_validator("expr")(_check_promql)


class RulePatch(Model):
    """Declarative change of a generated rule, matched by its record or alert name."""

    name: str = Field(description="record or alert name of a generated rule")
    expr: str | None = None
    labels: dict[PromLabel, str] | None = None
    for_: Duration | None = Field(None, alias="for")

    _expr = field_validator("expr")(_check_promql)


class RulesSpec(Model):
    sets: list[Literal[RULE_SETS]] = Field(  # type: ignore[valid-type]
        default=list(RULE_SETS), description="recording-rule sets to emit"
    )
    scopes: list[Literal[SCOPES]] = Field(  # type: ignore[valid-type]
        default=list(DEFAULT_SCOPES), description="aggregation scopes; 'edge' (source → destination) is opt-in"
    )
    version_labels: Literal["app", "canonical"] = Field(
        "app",
        description="service × version by destination_app/destination_version, or by canonical service/revision",
    )
    window: Duration = Field("1m", description="rate window of every recording rule")
    interval: Duration = Field("15s", description="evaluation interval of the rule groups")
    federation_label: dict[PromLabel, LabelValue] = Field(
        default={"sysdig": "true"}, description="label every federated rule carries; match[] selects it"
    )
    kept_labels: list[PromLabel] = Field(default=[], description="extra Istio labels kept in every aggregation")
    latency_buckets: list[Bound] | None = Field(
        None,
        description="histogram bounds kept for latency, in the version's unit (default: a subset "
        "covering 5 ms–30 s); +Inf is always kept",
    )
    size_buckets: list[Bound] | None = Field(
        None, description="histogram bounds kept for request/response sizes, in bytes (default: every bound "
        "from 100 B to 600 kB)"
    )
    size_scopes: list[Literal[DATA_PLANE]] = Field(  # type: ignore[valid-type]
        default=["service"],
        description="scopes request/response sizes are recorded at (each costs a full set of buckets per key)",
    )
    quantiles: list[Quantile] = Field(
        default=[], description="also record these latency quantiles per scope (aggregatable buckets always are)"
    )
    custom: list[CustomRule] = []
    exclude: list[str] = Field(default=[], description="record or alert names of generated rules to leave out")
    patches: list[RulePatch] = []

    @field_validator("sets", "scopes", "kept_labels", "size_scopes")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        dup = sorted({x for x in v if v.count(x) > 1})
        if dup:
            raise PydanticCustomError("duplicate", "listed more than once: {dup}", {"dup": ", ".join(dup)})
        return v


class LimitsSpec(Model):
    max_metrics: Count = 3000
    max_metrics_per_process: Count = 20000
    max_tags_per_metric: Count = 40


class SecretRef(Model):
    name: DnsSubdomain
    key: ConfigMapKey


class RemoteWriteSpec(Model):
    """Send the recorded (federation-labelled) series to a remote-write endpoint instead of federating."""

    enabled: bool = True
    url: RemoteUrl | None = Field(
        None, description="the endpoint, e.g. https://eu1.app.sysdig.com/prometheus/remote/write; or sysdig_region"
    )
    sysdig_region: Literal[sysdig_catalog.REGION_NAMES] | None = Field(  # type: ignore[valid-type]
        None,
        description="remote write to Sysdig Monitor in this region (" + ", ".join(
            f"{k}: {v}" for k, v in sysdig_catalog.REGIONS.items()) + "): the URL is the region host's "
        f"{sysdig_catalog.REMOTE_WRITE_PATH}, the auth a bearer token, and secret the Secret holding a Sysdig "
        "API token (not the agent access key); instead of url",
    )
    auth: Literal["bearer", "basic", "none"] = "bearer"
    username: str | None = Field(None, description="basic auth user (not a secret); the password is in the Secret")
    secret: SecretRef | None = Field(None, description="Secret holding the bearer token or the basic-auth password")
    mount_path: AbsPath = "/etc/istiogen/remote-write"
    max_samples_per_send: Count | None = None


class ClusterSpec(Model):
    """This cluster's identity on every series its Prometheus sends out (federated or remote-written):
    a Prometheus ``external_labels`` entry, so two clusters writing to one Sysdig account stay apart."""

    name: LabelValue = Field(description="the label's value, e.g. prod-eu")
    label: PromLabel = Field("cluster", description="the label's name")

    @field_validator("name")
    @classmethod
    def _not_empty(cls, v: str) -> str:
        if not v:
            raise PydanticCustomError("empty", "the cluster name is empty: an empty label is no label", {})
        return v


class SysdigSpec(Model):
    namespace: DnsLabel = "sysdig-agent"
    config_map: DnsSubdomain = "sysdig-agent"
    agent_version: AgentVersion = Field(
        sysdig_catalog.DEFAULT_AGENT_VERSION,
        description="the Sysdig agent release installed, e.g. 14.7.4; it sets the default mode. Default: "
        f"{sysdig_catalog.DEFAULT_AGENT_VERSION}, the agent the sysdig-deploy chart installs today (chart 1.116.5, "
        "agent subchart 2.10.2): a current agent, since new installs get one",
    )
    mode: Literal[MODES] | None = Field(  # type: ignore[valid-type]
        None,
        description="promscrape-v2 (targets from prometheus.yaml's service discovery) or promscrape-v1 (targets "
        "from dragent.yaml's process_filter: legacy since agent 12.0.0, only when asked for, with a warning). "
        "Default: by agent_version, promscrape-v2 from agent 10.5.0 (the agent's own default from 12.0.0), "
        "promscrape-v1 before",
    )
    envoy_filter: bool = Field(
        False,
        description="also scrape the envoy of every Istio proxy on 15090 /stats/prometheus for its raw envoy_* "
        "series (where Istio merges metrics, the annotation rules get them from 15020 instead; the raw istio_* "
        "are dropped whenever the recorded series reach Sysdig)",
    )
    federation: bool = Field(True, description="federate the Istio Prometheus's recorded series")
    job_name: str = "istio-federation"
    scrape_interval: Duration = "15s"
    helm_values: list[Literal[CHARTS]] = Field(  # type: ignore[valid-type]
        default=[], description="also emit Helm values for these charts: agent, sysdig-deploy (the agent's keys "
        "under agent.) and/or shield (features.monitor.prometheus and host.additional_settings)"
    )
    keep_default_rules: bool = Field(
        True,
        description="re-emit the agent's default annotation rules/jobs after ours (a user list replaces them)",
    )
    limits: LimitsSpec = LimitsSpec()


class AlertThresholds(Model):
    error_ratio_5xx: Ratio | None = 0.05
    error_ratio_4xx: Ratio | None = None
    latency_p99_ms: Millis | None = 1000.0
    connection_error_ratio: Ratio | None = Field(
        0.05, description="share of closed TCP connections with a failure flag (the L4-only signal of ambient "
        "services without a waypoint); gated by min_request_rate connections per second")
    min_request_rate: Rate = 0.1
    for_: Duration = Field("5m", alias="for")


class AlertThresholdOverrides(Model):
    error_ratio_5xx: Ratio | None = None
    error_ratio_4xx: Ratio | None = None
    latency_p99_ms: Millis | None = None
    connection_error_ratio: Ratio | None = None
    min_request_rate: Rate | None = None
    disabled: bool = False


class GatewayAlerts(Model):
    error_ratio_5xx: Ratio | None = 0.05
    min_request_rate: Rate = 0.1
    for_: Duration = Field("5m", alias="for")


class ControlPlaneAlerts(Model):
    convergence_p99_seconds: Seconds | None = 1.0
    for_: Duration = Field("10m", alias="for")


class SysdigAlertsSpec(Model):
    """The alerts also as Sysdig Monitor PromQL alerts (``sysdig/alerts.json``), over the federated series."""

    enabled: bool = True
    scope: dict[PromLabel, str] = Field(
        default={},
        description="equality matchers added to every series the Sysdig alerts read, e.g. {kube_cluster_name: "
        "prod} when several clusters send the same series to one Sysdig account",
    )


class AlertmanagerService(Model):
    """An Alertmanager Service, for the Prometheus Operator's spec.alerting.alertmanagers."""

    namespace: DnsLabel
    name: DnsSubdomain
    port: str = Field("web", description="the Service's port name")
    path_prefix: str | None = None


class AlertmanagerSpec(Model):
    """Where the Istio Prometheus sends the alerts it evaluates (its ``alerting:`` section)."""

    urls: list[str] = Field(
        default=[], description="Alertmanager base URLs, e.g. http://alertmanager.monitoring:9093 (mount, projected)"
    )
    services: list[AlertmanagerService] = Field(default=[], description="Alertmanager Services (delivery: operator)")

    @field_validator("urls")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        from urllib.parse import urlparse

        from istiogen.profile.types import check_alertmanager_url

        for url in v:
            check_alertmanager_url(url)  # never quoted back: it may hold a credential
            u = urlparse(url)
            if u.query or u.fragment:
                raise PydanticCustomError("url", "an Alertmanager URL has no query or fragment (Prometheus's "
                                          "alerting config takes a scheme, a host and a path prefix)", {})
        return v


class AlertsSpec(Model):
    enabled: bool = True
    sysdig: SysdigAlertsSpec = SysdigAlertsSpec()
    alertmanager: AlertmanagerSpec | None = None
    services: AlertThresholds = AlertThresholds()
    gateway: GatewayAlerts = GatewayAlerts()
    control_plane: ControlPlaneAlerts = ControlPlaneAlerts()
    runbook_url: LinkUrl | None = Field(
        None, description="template; {alert}, {signal}, {service}, {namespace} are filled in"
    )
    dashboard_url: LinkUrl | None = Field(None, description="template, as runbook_url")


class ServiceOverride(Model):
    name: DnsSubdomain
    namespace: DnsLabel
    alerts: AlertThresholdOverrides = AlertThresholdOverrides()
    window: Duration | None = Field(
        None, description="rate window for this service's series (e.g. longer for a low-traffic service)"
    )
    kept_labels: list[PromLabel] = Field(
        default=[], description="extra Istio labels kept for this service only (on top of rules.kept_labels)"
    )
    versions: list[Version] = Field(default=[], description="versions expected (used by dashboards and tests)")
    data_plane: DataPlaneSpec | None = Field(None, description="this service's own data-plane mode")


class ExperimentThresholds(Model):
    error_ratio_delta: Ratio | None = 0.01
    error_ratio_factor: Factor | None = 2.0
    error_ratio_floor: Floor = Field(
        0.001, description="5xx ratios below this count as this in the candidate/baseline factor, so two healthy "
        "versions compare as 1, not 0/0, and a clean baseline does not make the factor infinite")
    latency_p99_factor: Factor | None = 1.5
    min_request_rate: Rate = 0.1
    split_tolerance: Ratio | None = 0.1


class Experiment(Model):
    name: DnsLabel
    service: DnsSubdomain
    namespace: DnsLabel
    baseline: Version
    candidate: Version
    expected_split: Ratio = Field(0.5, description="share of the service's traffic the candidate should get")
    thresholds: ExperimentThresholds = ExperimentThresholds()
    for_: Duration = Field("10m", alias="for")


class DashboardsSpec(Model):
    grafana: bool = True
    sysdig: bool = True


class KubernetesSpec(Model):
    version: str = Field("1.30", description="Kubernetes version the emitted objects are validated against")

    @field_validator("version")
    @classmethod
    def _version(cls, v: str) -> str:
        import re

        m = re.fullmatch(r"1\.(\d{1,3})(\.\d{1,4})?", v)
        if not m or not 25 <= int(m.group(1)) <= 37:
            raise PydanticCustomError(
                "k8s_version", "Kubernetes '{value}' is not one istiogen can validate against (1.25–1.37)", {"value": v}
            )
        return v


class OutputSpec(Model):
    dir: str | None = Field(None, description="folder under the output root; default: the profile name")


class Profile(Model):
    name: DnsLabel = Field(description="profile name; default: the file name without .yaml")
    description: str = ""
    extends: str | list[str] | None = Field(
        None, description="base profile(s) to deep-merge under this one, relative to this file"
    )
    abstract: bool = Field(False, description="a base for other profiles: validated when extended, never rendered")
    istio: IstioSpec
    prometheus: PrometheusSpec = PrometheusSpec()
    rules: RulesSpec = RulesSpec()
    sysdig: SysdigSpec = SysdigSpec()
    alerts: AlertsSpec = AlertsSpec()
    services: list[ServiceOverride] = []
    experiments: list[Experiment] = []
    dashboards: DashboardsSpec = DashboardsSpec()
    remote_write: RemoteWriteSpec | None = None
    cluster: ClusterSpec | None = Field(
        None, description="label every series this Prometheus federates or remote-writes with the cluster's name"
    )
    kubernetes: KubernetesSpec = KubernetesSpec()
    output: OutputSpec = OutputSpec()
