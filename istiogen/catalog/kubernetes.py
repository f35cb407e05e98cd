"""Kubernetes facts: the fields an API server sets on the objects it returns."""

from __future__ import annotations

from typing import Any

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
SERVER_METADATA = (
    "managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink",
    "deletionTimestamp", "deletionGracePeriodSeconds",
)
SERVER_ANNOTATIONS = (LAST_APPLIED, "deployment.kubernetes.io/revision")


def drop_server_fields(obj: Any) -> None:
    """Remove, in place, what the server set on an exported object (``status``, ``metadata.uid``, the
    last-applied annotation, ...).  In place so that a round-trip document keeps its comments."""
    if not isinstance(obj, dict):
        return
    obj.pop("status", None)
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        for f in SERVER_METADATA:
            meta.pop(f, None)
        ann = meta.get("annotations")
        if isinstance(ann, dict):
            for a in SERVER_ANNOTATIONS:
                ann.pop(a, None)
            if not ann:
                del meta["annotations"]
