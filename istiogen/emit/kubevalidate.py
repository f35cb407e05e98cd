"""Offline validation of every Kubernetes object a tree contains.

Built-in kinds are checked with kubernetes-validate (strict: unknown fields are
errors) against the schema of the profile's Kubernetes version; the custom
resources istiogen emits against their own structure (:mod:`istiogen.catalog.crds`).
Patches are not objects and are checked by applying them (see the tests).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from istiogen.problems import Problem

if TYPE_CHECKING:
    from istiogen.render import Rendered

OBJECT_KINDS = frozenset({
    "prometheus-rules-configmap", "prometheus-configmap", "istio-telemetry", "prometheus-rule", "pod-monitor",
    "service-monitor",
})


def _objects(rendered: Rendered) -> list[tuple[str, dict[str, Any]]]:
    from ruamel.yaml import YAML

    y = YAML(typ="safe")
    out: list[tuple[str, dict[str, Any]]] = []
    for a in rendered.artifacts:
        if a.kind not in OBJECT_KINDS:
            continue
        for doc in y.load_all(rendered.files[a.path]):
            if isinstance(doc, dict) and "apiVersion" in doc and "kind" in doc and "metadata" in doc:
                out.append((a.path, doc))
    return out


def validate(rendered: Rendered) -> list[Problem]:
    """Problems (errors) for every object that does not match its schema."""
    import jsonschema
    import kubernetes_validate

    from istiogen.catalog.crds import SCHEMAS

    version = rendered.resolved.profile.kubernetes.version
    if version.count(".") == 1:
        version += ".0"
    problems: list[Problem] = []
    for path, obj in _objects(rendered):
        key = (obj["apiVersion"], obj["kind"])
        where = f"{obj['kind']}/{obj['metadata'].get('name', '?')}"
        try:
            if key in SCHEMAS:
                jsonschema.validate(obj, SCHEMAS[key])
            else:
                kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(Problem(path, None, None, where, f"no schema for {key[0]} {key[1]}", "kube-schema"))
        except jsonschema.ValidationError as e:
            field = ".".join(str(x) for x in e.absolute_path)
            problems.append(Problem(path, None, None, f"{where} {field}".strip(),
                                    f"invalid for Kubernetes {version}: {e.message}", "kube-schema"))
    return problems
