"""A label removed at the source (``istio.telemetry.remove_labels``) that the generated rules read.

Removing it in the Telemetry resource breaks the recording rules, dashboards or alerts that aggregate by it
(a warning: the removal may be meant)."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "label-needed"


def needed_labels(ctx: Context) -> dict[str, str]:
    """Istio labels the generated rules read, and what for."""
    p = ctx.profile
    needed: dict[str, str] = {"reporter": "every rule", "response_code": "error ratios",
                              "le": "latency and size quantiles"}
    app = ("destination_canonical_service", "destination_canonical_revision") \
        if p.rules.version_labels == "canonical" else ("destination_app", "destination_version")
    scopes = {
        "service": ("destination_service_namespace", "destination_service_name"),
        "service_version": ("destination_workload_namespace", *app),
        "workload": ("destination_workload_namespace", "destination_workload"),
        "edge": ("source_workload_namespace", "source_workload"),
    }
    for scope in p.rules.scopes:
        for lab in scopes[scope]:
            needed.setdefault(lab, f"the {scope} scope")
    for lab in p.rules.kept_labels:
        needed.setdefault(lab, "rules.kept_labels")
    if "gateway" in p.rules.sets:
        for lab in ("source_workload", "source_workload_namespace"):
            needed.setdefault(lab, "the ingress gateway rules")
    if ctx.tel.has_grpc_status and "requests" in p.rules.sets:
        needed.setdefault("grpc_response_status", "the gRPC error ratio")
        needed.setdefault("request_protocol", "the gRPC error ratio")
    return needed


def check(ctx: Context) -> Iterator[Problem]:
    t = ctx.profile.istio.telemetry
    if t is None:
        return
    needed = needed_labels(ctx)
    for i, rm in enumerate(t.remove_labels):
        if rm.label in needed:
            yield ctx.warning(ID, ("istio", "telemetry", "remove_labels", i, "label"),
                              f"{rm.label!r} is needed by the recording rules, dashboards or alerts "
                              f"({needed[rm.label]}): removing it at the source breaks them")
