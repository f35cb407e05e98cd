"""The saturation rule set where container CPU and memory cannot be attributed.

Container CPU and memory come from cAdvisor, keyed by pod; istiogen attributes a pod to its service version and
workload through the Istio series its sidecar exports, which the flavour's scrape labels with the pod
(catalog/saturation.py).  The Mixer-era chart (flavour helm-1.4) has no such label (Mixer reports the standard
metrics), and without the service_version and workload scopes there is nothing to key them by: then only the
overflow signal is recorded, and a warning says so."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.catalog import saturation as satcat
from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "saturation-source"


def check(ctx: Context) -> Iterator[Problem]:
    p = ctx.profile
    if "saturation" not in p.rules.sets:
        return
    src = satcat.source(ctx.flavour.name, ctx.delivery)
    if src is None or src.pod_labels is None:
        yield ctx.warning(ID, ("rules", "sets"),
                          f"flavour {ctx.flavour.name}: the standard metrics carry no per-pod label (Mixer reports "
                          "them), so container CPU and memory cannot be attributed to services; only "
                          "saturation.overflow is recorded",
                          "use a Telemetry v2 flavour (istioctl-1.5 and later) for container saturation")
    elif not {"service_version", "workload"} & set(p.rules.scopes):
        yield ctx.warning(ID, ("rules", "scopes"),
                          "container CPU and memory are recorded per service version and workload, and neither "
                          "scope is enabled: only saturation.overflow is recorded",
                          "add service_version (or workload) to rules.scopes")
