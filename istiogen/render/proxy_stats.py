"""The proxies' stats inclusion Envoy's overflow counters need (``saturation.envoy_overflow``).

Istio's proxies export only the Envoy stats their bootstrap ``stats_matcher`` includes; the circuit-breaker
counters (``cluster.<name>.upstream_rq_pending_overflow`` and the like) are not among them.  Two ways to add
them, both emitted:

* ``istio/proxy-stats-patch.yaml``, a strategic-merge patch of a Deployment's pod template: the per-pod
  ``proxy.istio.io/config`` annotation with ``proxyStatsMatcher.inclusionRegexps`` (Istio 1.8 and later), or
  before that the ``sidecar.istio.io/statsInclusionRegexps`` annotation.  ``kubectl patch deployment <name>
  --patch-file istio/proxy-stats-patch.yaml`` rolls the pods; the annotation replaces any
  ``proxy.istio.io/config`` the pod template already has (merge it by hand there).
* ``istio/proxy-stats-meshconfig.yaml`` (Istio 1.8 and later), the same matcher mesh-wide as an IstioOperator
  overlay (``meshConfig.defaultConfig.proxyStatsMatcher``; with Helm, the istiod chart's ``meshConfig`` value);
  proxies pick it up when they restart.

Stage 1 warns about the extra series every proxy then exports (validate rule ``proxy-stats-series``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from istiogen.catalog import saturation as satcat
from istiogen.profile.resolve import Resolved
from istiogen.registry import Artifact
from istiogen.serial.yaml import dump

if TYPE_CHECKING:
    from istiogen.render.context import Context

PATCH_PATH = "istio/proxy-stats-patch.yaml"
MESH_CONFIG_PATH = "istio/proxy-stats-meshconfig.yaml"


def matcher() -> dict[str, Any]:
    return {"inclusionRegexps": [satcat.ENVOY_OVERFLOW_STATS_REGEX]}


def uses_matcher(r: Resolved) -> bool:
    return r.release.minor >= satcat.PROXY_STATS_MATCHER_SINCE


def pod_patch(r: Resolved) -> dict[str, Any]:
    if uses_matcher(r):
        value = dump({"proxyStatsMatcher": matcher()})
        annotations = {"proxy.istio.io/config": value}
    else:
        annotations = {"sidecar.istio.io/statsInclusionRegexps": satcat.ENVOY_OVERFLOW_STATS_REGEX}
    return {"spec": {"template": {"metadata": {"annotations": annotations}}}}


def mesh_config() -> dict[str, Any]:
    return {
        "apiVersion": "install.istio.io/v1alpha1",
        "kind": "IstioOperator",
        "spec": {"meshConfig": {"defaultConfig": {"proxyStatsMatcher": matcher()}}},
    }


def artifacts(ctx: Context) -> list[Artifact]:
    r = ctx.r
    p = r.profile
    if not p.saturation.envoy_overflow or "saturation" not in p.rules.sets:
        return []
    out = [Artifact(PATCH_PATH, "proxy-stats-patch", pod_patch(r), "yaml",
                    "strategic-merge patch of a workload's pod template: the proxy stats inclusion of Envoy's "
                    "overflow counters (kubectl patch deployment <name> --patch-file ...)")]
    if uses_matcher(r):
        out.append(Artifact(MESH_CONFIG_PATH, "proxy-stats-meshconfig", mesh_config(), "yaml",
                            "IstioOperator overlay: the same inclusion mesh-wide (meshConfig.defaultConfig)"))
    return out
