"""From a validated profile to the concrete facts renderers use.

Version- and flavour-dependent defaults are filled in here, once, so that
renderers never look anything up themselves.  The files a profile points at (an
exported live ConfigMap: :mod:`.live`) are read while loading: rendering stays pure.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from istiogen.catalog import istio as istio_catalog
from istiogen.catalog import sysdig as sysdig_catalog
from istiogen.catalog.prometheus import FLAVOURS, Flavour
from istiogen.problems import Problem
from istiogen.profile.loader import LoadedProfile
from istiogen.source import SourceDoc

if TYPE_CHECKING:
    from istiogen.profile.models import Profile


@dataclass(frozen=True)
class LiveConfig:
    """An exported Prometheus ConfigMap: the raw text (patched in place, comments kept)."""

    path: str  # as written in the profile
    display: str
    text: str
    config_text: str  # the prometheus.yml held in the ConfigMap
    keys: tuple[str, ...] = ()  # the ConfigMap's data keys, in their order


@dataclass(frozen=True)
class Target:
    """The Prometheus that evaluates the rules and serves ``/federate``."""

    namespace: str
    kind: str  # "deployment" or "statefulset"
    workload: str
    pod_labels: tuple[tuple[str, str], ...]
    port: int
    service_labels: tuple[tuple[str, str], ...]
    service_port: str
    # the one pod to federate when the workload runs replicas that each evaluate the same rules:
    # /federate adds each replica's external label, so federating every replica multiplies every sum
    federated_pod: str | None = None


@dataclass(frozen=True)
class Resolved:
    profile: Profile
    source: str
    release: istio_catalog.Release
    flavour: Flavour  # the flavour with the profile's overrides applied
    metrics_merging: bool
    gateway_namespace: str
    live_config: LiveConfig | None
    output_dir: str
    delivery: str
    target: Target
    sysdig_mode: str = "promscrape-v2"  # the profile's sysdig.mode, or the default of its agent_version
    warnings: tuple[Problem, ...] = ()
    doc: SourceDoc | None = None

    @property
    def name(self) -> str:
        return str(self.profile.name)


_OVERRIDABLE = (
    "deployment", "container", "container_index", "config_map", "config_key", "config_path", "port",
    "restart_to_load_rules", "template_annotations", "scrape_interval",
)


def resolve(loaded: LoadedProfile) -> Resolved:
    p = loaded.model
    rel = istio_catalog.release(p.istio.version)
    pr = p.prometheus
    flavour = FLAVOURS[pr.flavour or rel.default_flavour]
    changes: dict[str, Any] = {k: getattr(pr, k) for k in _OVERRIDABLE if getattr(pr, k) is not None}
    if pr.selector is not None:
        changes["selector"] = tuple(sorted(pr.selector.items()))
    if pr.drop_labels is not None:
        changes["drop_labels"] = tuple(pr.drop_labels)
    if pr.istiod_matcher is not None:
        changes["istiod_matcher"] = tuple(sorted(pr.istiod_matcher.items()))
        changes["family_matchers"] = ()  # the profile's matcher selects every control-plane family
    flavour = dataclasses.replace(flavour, **changes)
    live = loaded.live if pr.live_config is not None else None
    delivery = pr.delivery or flavour.delivery
    if delivery == "operator":
        op = pr.operator
        pods = (("app.kubernetes.io/name", "prometheus"), ("prometheus", op.prometheus))
        target = Target(op.namespace, "statefulset", f"prometheus-{op.prometheus}", pods, 9090,
                        (("operated-prometheus", "true"),), "web", federated_pod=f"prometheus-{op.prometheus}-0")
    else:
        target = Target(p.istio.namespace, "deployment", flavour.deployment, flavour.selector, flavour.port,
                        flavour.selector, flavour.service_port_name)
    return Resolved(
        profile=p,
        source=loaded.source,
        release=rel,
        flavour=flavour,
        metrics_merging=p.istio.metrics_merging if p.istio.metrics_merging is not None else rel.metrics_merging,
        gateway_namespace=p.istio.ingress_gateway.namespace or p.istio.namespace,
        live_config=live,
        output_dir="/".join(Path(p.output.dir).parts) if p.output.dir else p.name,  # team//x/ is team/x
        delivery=delivery,
        target=target,
        sysdig_mode=p.sysdig.mode or sysdig_catalog.default_mode(p.sysdig.agent_version),
        warnings=tuple(loaded.warnings),
        doc=loaded.doc,
    )
