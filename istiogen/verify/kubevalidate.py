"""Offline validation of every Kubernetes object a tree contains.

Built-in kinds are checked with kubernetes-validate (strict: unknown fields are
errors) against the schema of the profile's Kubernetes version.  Custom
resources are checked against the upstream CRDs' own OpenAPI schemas, as the
cloudcoil model packages carry them (pydantic models generated from the CRDs,
with their types, required fields, enums and patterns):

* ``cloudcoil-models-prometheus-operator`` 0.80.1.0: the CRDs of Prometheus
  Operator v0.80.1 (PrometheusRule, PodMonitor, ServiceMonitor, Prometheus);
* ``cloudcoil-models-istio`` 1.24.2.1: the CRDs of Istio 1.24.2 (Telemetry,
  ``telemetry.istio.io/v1`` and ``v1alpha1``).

The models are validated in strict JSON mode (no coercion: ``"2"`` is not an
integer).  They ignore unknown fields rather than refusing them, so each object
is also compared with the model's own dump of it: a field the CRD does not know
is dropped there and reported here.  The merge patch of the Prometheus resource
is checked by applying it (RFC 7386) to the named resource and validating the
result.  The packages are imported only when something is validated (they take
a few seconds to load).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from istiogen.jsonmerge import merge_patch
from istiogen.problems import Problem
from istiogen.registry import kinds_with

if TYPE_CHECKING:
    from istiogen.pipeline import Rendered

OBJECT_KINDS = kinds_with(validator="kube-objects")
MERGE_PATCH_KINDS = kinds_with(validator="merge-patched-resource")

_OPERATOR = "cloudcoil.models.prometheus_operator.v1"
CRD_MODELS: dict[tuple[str, str], tuple[str, str]] = {
    ("monitoring.coreos.com/v1", "PrometheusRule"): (_OPERATOR, "PrometheusRule"),
    ("monitoring.coreos.com/v1", "PodMonitor"): (_OPERATOR, "PodMonitor"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"): (_OPERATOR, "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "Prometheus"): (_OPERATOR, "Prometheus"),
    ("telemetry.istio.io/v1", "Telemetry"): ("cloudcoil.models.istio.telemetry.v1", "Telemetry"),
    ("telemetry.istio.io/v1alpha1", "Telemetry"): ("cloudcoil.models.istio.telemetry.v1alpha1", "Telemetry"),
}
CRD_GROUPS = frozenset({"monitoring.coreos.com", "telemetry.istio.io"})
SOURCES = {
    "monitoring.coreos.com": "the Prometheus Operator v0.80.1 CRD",
    "telemetry.istio.io": "the Istio 1.24.2 CRD",
}


def _objects(rendered: Rendered) -> list[tuple[str, dict[str, Any]]]:
    from ruamel.yaml import YAML

    y = YAML(typ="safe")
    out: list[tuple[str, dict[str, Any]]] = []
    for a in rendered.artifacts:
        if a.kind in MERGE_PATCH_KINDS:
            out.append((a.path, merge_patch(_patched_base(rendered), json.loads(rendered.files[a.path]))))
        if a.kind not in OBJECT_KINDS:
            continue
        for doc in y.load_all(rendered.files[a.path]):
            if isinstance(doc, dict) and "apiVersion" in doc and "kind" in doc and "metadata" in doc:
                out.append((a.path, doc))
    return out


def _patched_base(rendered: Rendered) -> dict[str, Any]:
    """The Prometheus resource the merge patch is for, as far as the profile names it."""
    op = rendered.resolved.profile.prometheus.operator
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
            "metadata": {"name": op.prometheus, "namespace": op.namespace}, "spec": {}}




def _dropped(given: Any, kept: Any, path: str) -> Iterator[tuple[str, str]]:
    """Where the model's dump differs from the object: fields the schema does not know (dropped)."""
    if isinstance(given, dict) and isinstance(kept, dict):
        for k, v in given.items():
            where = f"{path}.{k}" if path else str(k)
            if k not in kept:
                yield where, "unknown field"
            else:
                yield from _dropped(v, kept[k], where)
    elif isinstance(given, list) and isinstance(kept, list) and len(given) == len(kept):
        for i, (g, k) in enumerate(zip(given, kept, strict=True)):
            yield from _dropped(g, k, f"{path}.{i}" if path else str(i))
    elif given != kept or type(given) is not type(kept):
        yield path, f"{given!r} is read as {kept!r}"


def crd_errors(obj: dict[str, Any]) -> list[tuple[str, str]] | None:
    """(field path, message) for each way ``obj`` breaks its upstream CRD schema; None when no
    schema is known for its apiVersion and kind."""
    import pydantic

    key = (str(obj.get("apiVersion")), str(obj.get("kind")))
    if key not in CRD_MODELS:
        return None
    module, name = CRD_MODELS[key]
    model: type[pydantic.BaseModel] = getattr(importlib.import_module(module), name)
    try:
        parsed = model.model_validate_json(json.dumps(obj), strict=True)
    except pydantic.ValidationError as e:
        return [(".".join(str(x) for x in err["loc"]), err["msg"]) for err in e.errors()]
    kept = parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return list(_dropped(obj, kept, ""))


def validate(rendered: Rendered) -> list[Problem]:
    """Problems (errors) for every object that does not match its schema."""
    import jsonschema
    import kubernetes_validate

    version = rendered.resolved.profile.kubernetes.version
    if version.count(".") == 1:
        version += ".0"
    problems: list[Problem] = []
    for path, obj in _objects(rendered):
        api, kind = str(obj["apiVersion"]), str(obj["kind"])
        where = f"{kind}/{obj['metadata'].get('name', '?')}"
        group = api.split("/", 1)[0]
        if group in CRD_GROUPS:
            errors = crd_errors(obj)
            if errors is None:
                problems.append(Problem(path, None, None, where, f"no schema for {api} {kind}", "kube-schema"))
            for field, message in errors or []:
                problems.append(Problem(path, None, None, f"{where} {field}".strip(),
                                        f"invalid for {SOURCES[group]}: {message}", "kube-schema"))
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(Problem(path, None, None, where, f"no schema for {api} {kind}", "kube-schema"))
        except jsonschema.ValidationError as e:
            field = ".".join(str(x) for x in e.absolute_path)
            problems.append(Problem(path, None, None, f"{where} {field}".strip(),
                                    f"invalid for Kubernetes {version}: {e.message}", "kube-schema"))
    return problems
