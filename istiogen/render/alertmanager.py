"""Where the Istio Prometheus sends the alerts it evaluates: ``alerts.alertmanager``.

No addon flavour has an ``alerting:`` section, so without this the alerts fire nowhere
(the Sysdig form, :mod:`istiogen.render.sysdig_alerts`, is the other destination).
With ``urls``, the config fragment or the live ConfigMap gets Prometheus's ``alerting:
alertmanagers:`` (one entry per scheme and path prefix, static targets, the v2 API, which
Prometheus supports from 2.11 and Alertmanager 0.27+ alone serves).  With the operator,
``services`` become the Prometheus resource's ``spec.alerting.alertmanagers``
(``AlertmanagerEndpoints``: namespace, name, port, pathPrefix, apiVersion).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from istiogen.profile.resolve import Resolved


def config_entries(r: Resolved) -> list[dict[str, Any]]:
    """``alerting.alertmanagers`` entries of the Prometheus config, from ``alerts.alertmanager.urls``."""
    am = r.profile.alerts.alertmanager
    if am is None or not r.profile.alerts.enabled:
        return []
    grouped: dict[tuple[str, str], list[str]] = {}
    for url in am.urls:
        u = urlparse(url)
        grouped.setdefault((u.scheme, u.path.rstrip("/")), []).append(u.netloc)
    out = []
    for (scheme, prefix), targets in grouped.items():
        entry: dict[str, Any] = {"scheme": scheme}
        if prefix:
            entry["path_prefix"] = prefix
        entry["api_version"] = "v2"
        entry["static_configs"] = [{"targets": list(dict.fromkeys(targets))}]
        out.append(entry)
    return out


def alerting(r: Resolved) -> dict[str, Any] | None:
    """The ``alerting:`` section for the Prometheus config, or None."""
    entries = config_entries(r)
    return {"alertmanagers": entries} if entries else None


def operator_entries(r: Resolved) -> list[dict[str, Any]]:
    """``spec.alerting.alertmanagers`` of the Prometheus resource, from ``alerts.alertmanager.services``."""
    am = r.profile.alerts.alertmanager
    if am is None or not r.profile.alerts.enabled:
        return []
    out = []
    for s in am.services:
        entry: dict[str, Any] = {"namespace": s.namespace, "name": s.name, "port": s.port}
        if s.path_prefix:
            entry["pathPrefix"] = s.path_prefix
        entry["apiVersion"] = "v2"
        out.append(entry)
    return out
