"""Structural schemas of the custom resources istiogen emits (checked offline with jsonschema).

kubernetes-validate knows only built-in kinds; these schemas cover the fields
istiogen writes, strictly (an unknown field is an error), following the CRDs of
the Prometheus Operator (monitoring.coreos.com/v1) and Istio (telemetry.istio.io).
"""

from __future__ import annotations

from typing import Any

_STR: dict[str, Any] = {"type": "string"}
_LABELS: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "string"}}
_META: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {"name": _STR, "namespace": _STR, "labels": _LABELS, "annotations": _LABELS},
}
_DURATION: dict[str, Any] = {"type": "string", "pattern": "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?"
                             "(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"}
_RELABEL: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "action": {"enum": ["replace", "keep", "drop", "labelmap", "labeldrop", "labelkeep", "hashmod",
                            "lowercase", "uppercase", "keepequal", "dropequal"]},
        "sourceLabels": {"type": "array", "items": _STR},
        "separator": _STR, "targetLabel": _STR, "regex": _STR, "replacement": _STR,
        "modulus": {"type": "integer"},
    },
}
_SELECTOR: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": _LABELS,
        "matchExpressions": {"type": "array", "items": {
            "type": "object", "required": ["key", "operator"], "additionalProperties": False,
            "properties": {"key": _STR, "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                           "values": {"type": "array", "items": _STR}}}},
    },
}
_NS_SELECTOR: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {"any": {"type": "boolean"}, "matchNames": {"type": "array", "items": _STR}},
}
_RULE: dict[str, Any] = {
    "type": "object",
    "required": ["expr"],
    "additionalProperties": False,
    "oneOf": [{"required": ["record"]}, {"required": ["alert"]}],
    "properties": {"record": _STR, "alert": _STR, "expr": _STR, "for": _DURATION, "labels": _LABELS,
                   "annotations": _LABELS},
}
_ENDPOINT_COMMON: dict[str, Any] = {
    "port": _STR, "path": _STR, "interval": _DURATION, "scrapeTimeout": _DURATION, "honorLabels": {"type": "boolean"},
    "params": {"type": "object", "additionalProperties": {"type": "array", "items": _STR}},
    "relabelings": {"type": "array", "items": _RELABEL},
    "metricRelabelings": {"type": "array", "items": _RELABEL},
    "scheme": {"enum": ["http", "https"]},
}


def _resource(api: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {"apiVersion": {"const": api}, "kind": {"const": kind}, "metadata": _META, "spec": spec},
    }


SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("monitoring.coreos.com/v1", "PrometheusRule"): _resource("monitoring.coreos.com/v1", "PrometheusRule", {
        "type": "object", "required": ["groups"], "additionalProperties": False,
        "properties": {"groups": {"type": "array", "items": {
            "type": "object", "required": ["name", "rules"], "additionalProperties": False,
            "properties": {"name": _STR, "interval": _DURATION, "rules": {"type": "array", "items": _RULE}}}}},
    }),
    ("monitoring.coreos.com/v1", "PodMonitor"): _resource("monitoring.coreos.com/v1", "PodMonitor", {
        "type": "object", "required": ["selector", "podMetricsEndpoints"], "additionalProperties": False,
        "properties": {
            "selector": _SELECTOR, "namespaceSelector": _NS_SELECTOR, "jobLabel": _STR,
            "podMetricsEndpoints": {"type": "array", "items": {
                "type": "object", "additionalProperties": False, "properties": dict(_ENDPOINT_COMMON)}},
        },
    }),
    ("monitoring.coreos.com/v1", "ServiceMonitor"): _resource("monitoring.coreos.com/v1", "ServiceMonitor", {
        "type": "object", "required": ["selector", "endpoints"], "additionalProperties": False,
        "properties": {
            "selector": _SELECTOR, "namespaceSelector": _NS_SELECTOR, "jobLabel": _STR,
            "targetLabels": {"type": "array", "items": _STR},
            "endpoints": {"type": "array", "items": {
                "type": "object", "additionalProperties": False, "properties": dict(_ENDPOINT_COMMON)}},
        },
    }),
}

_TELEMETRY_SPEC: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {"metrics": {"type": "array", "items": {
        "type": "object", "additionalProperties": False,
        "properties": {
            "providers": {"type": "array", "items": {"type": "object", "required": ["name"],
                                                     "additionalProperties": False, "properties": {"name": _STR}}},
            "overrides": {"type": "array", "items": {
                "type": "object", "additionalProperties": False,
                "properties": {
                    "match": {"type": "object", "additionalProperties": False, "properties": {
                        "metric": {"enum": ["ALL_METRICS", "REQUEST_COUNT", "REQUEST_DURATION", "REQUEST_SIZE",
                                            "RESPONSE_SIZE", "TCP_OPENED_CONNECTIONS", "TCP_CLOSED_CONNECTIONS",
                                            "TCP_SENT_BYTES", "TCP_RECEIVED_BYTES", "GRPC_REQUEST_MESSAGES",
                                            "GRPC_RESPONSE_MESSAGES"]},
                        "mode": {"enum": ["CLIENT_AND_SERVER", "CLIENT", "SERVER"]}}},
                    "disabled": {"type": "boolean"},
                    "tagOverrides": {"type": "object", "additionalProperties": {
                        "type": "object", "additionalProperties": False,
                        "properties": {"operation": {"enum": ["UPSERT", "REMOVE"]}, "value": _STR}}},
                }}},
        }}}},
}
for _api in ("telemetry.istio.io/v1", "telemetry.istio.io/v1alpha1"):
    SCHEMAS[(_api, "Telemetry")] = _resource(_api, "Telemetry", _TELEMETRY_SPEC)
