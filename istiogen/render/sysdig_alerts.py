"""``sysdig/alerts.json``: the model's alerts as Sysdig Monitor PromQL ("Prometheus") alerts.

The alert definitions stay one source (:mod:`istiogen.render.alerts` builds them into the
model); this module only translates each one to the form Sysdig Monitor's alerts API takes.
In Sysdig the expression runs over the series the agent federates from the Istio
Prometheus: they carry the same names and labels as the recorded series there (the
federation job keeps them with ``honor_labels``), so the expression is the Prometheus
one, with the federation label (and the optional ``alerts.sysdig.scope``) added to every
series it reads, so that nothing else sent to Sysdig under the same name is read.

The shape, the request body of ``POST <SYSDIG_URL>/api/v2/alerts`` (one request per alert,
``Authorization: Bearer <Sysdig Monitor API token>``), follows the Sysdig Terraform provider
(github.com/sysdiglabs/terraform-provider-sysdig), which creates these alerts through that API:

* ``sysdig/internal/client/v2/alerts_v2.go``: ``CreateAlertV2Path = "%s/api/v2/alerts"`` (POST),
  ``AlertV2AlertTypePrometheus = "PROMETHEUS"``, severities ``high|medium|low|info``,
  link types ``runbook|dashboard``;
* ``sysdig/internal/client/v2/model.go``: ``alertV2PrometheusWrapper`` (``{"alert": ...}``),
  ``AlertV2Common`` (``name``, ``description``, ``type``, ``group``, ``severity``, ``enabled``,
  ``notificationChannelConfigList``, ``links``, ``labels``) and ``AlertV2ConfigPrometheus``
  (``query``, ``duration`` in seconds, the resource's ``duration_seconds``);
* ``sysdig/internal/client/v2/sysdig.go``: the ``Authorization: Bearer`` header.

Sysdig's docs (docs.sysdig.com, "PromQL Alerts") describe the same fields in the UI: a PromQL
condition, a duration the condition must hold. Not carried over: per-series label templates
(``{{ $labels.x }}``) in labels and descriptions, whose Sysdig form the sources above do not
document; the notification already names the series' labels. Notification channels are left
empty (their ids exist only in the Sysdig account).

An alert is left out, and named in the artifact's summary, if it reads a series the federation
does not deliver, or more distinct metric names than Sysdig's PromQL API allows in one query.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from istiogen.profile.resolve import Resolved
from istiogen.profile.types import duration_seconds
from istiogen.promast import metric_names
from istiogen.registry import Artifact
from istiogen.render.model import Alert, SignalModel
from istiogen.render.promql import with_matchers

if TYPE_CHECKING:
    from istiogen.render.context import Context

PATH = "sysdig/alerts.json"
API_PATH = "/api/v2/alerts"
SEVERITY = {"critical": "high", "warning": "medium", "info": "info"}
MAX_METRICS_PER_QUERY = 10  # Sysdig PromQL API service limits: distinct metric names per query
_TEMPLATE = re.compile(r"\{\{\s*\$labels\.(\w+)\s*\}\}")
_VALUE = re.compile(r"\{\{[^}]*\$value[^}]*\}\}")


def enabled(r: Resolved) -> bool:
    return bool(r.profile.alerts.enabled and r.profile.alerts.sysdig.enabled)


def _plain(text: str) -> str:
    """A Prometheus annotation without its templates: labels by name, the value as "the value"."""
    return _VALUE.sub("the value", _TEMPLATE.sub(r"<\1>", text))


def query(r: Resolved, model: SignalModel, a: Alert) -> str:
    """The alert's expression with the federation label and the scope on every series it reads."""
    matchers = [(k, "=", v) for k, v in (*model.federation_label, *sorted(r.profile.alerts.sysdig.scope.items()))]
    return with_matchers(a.expr, a.uses, matchers)


def omitted(model: SignalModel) -> dict[str, str]:
    """Alerts the Sysdig form leaves out, and why."""
    fed = set(model.federated_records)
    out: dict[str, str] = {}
    for a in model.alerts:
        raw = sorted(set(a.uses) - fed)
        names = metric_names(a.expr)
        if raw:
            out[a.name] = "reads series not federated: " + ", ".join(raw)
        elif not names <= fed:
            out[a.name] = "reads series not federated: " + ", ".join(sorted(names - fed))
        elif len(names) > MAX_METRICS_PER_QUERY:
            out[a.name] = f"reads {len(names)} metrics, more than Sysdig's {MAX_METRICS_PER_QUERY} per query"
    return out


def alert_body(r: Resolved, model: SignalModel, a: Alert, name: str) -> dict[str, Any]:
    labels = {k: v for k, v in a.labels if k != "severity" and "{{" not in v}
    ann = dict(a.annotations)
    links = [{"type": kind, "href": ann[key]} for key, kind in (("runbook_url", "runbook"),
                                                                 ("dashboard_url", "dashboard"))
             if key in ann and "{{" not in ann[key]]
    return {"alert": {
        "name": name,
        "description": _plain(f"{ann.get('summary', a.name)}. {ann.get('description', '')}".strip()),
        "type": "PROMETHEUS",
        "group": a.group.lower(),
        "severity": SEVERITY.get(dict(a.labels).get("severity", ""), "low"),
        "enabled": True,
        "notificationChannelConfigList": [],
        "links": links,
        "labels": {"generated_by": "istiogen", "istiogen_profile": r.name, "alert": a.name, **labels},
        "config": {"query": query(r, model, a), "duration": round(duration_seconds(a.for_))},
    }}


def bodies(r: Resolved, model: SignalModel, skip: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """One request body per alert.  Sysdig alert names are unique per team, so each carries the
    profile name, and the ``for`` when one alert is defined for several.  ``skip``: :func:`omitted`, when
    the caller has it already (it parses every alert)."""
    skip = omitted(model) if skip is None else skip
    kept = [a for a in model.alerts if a.name not in skip]
    count: dict[str, int] = {}
    for a in kept:
        count[a.name] = count.get(a.name, 0) + 1
    out = []
    for a in kept:
        name = f"{a.name} ({r.name})" if count[a.name] == 1 else f"{a.name} for {a.for_} ({r.name})"
        out.append(alert_body(r, model, a, name))
    return out


def render(r: Resolved, model: SignalModel) -> list[Artifact]:
    if not enabled(r):
        return []
    skip = omitted(model)
    summary = f"the alerts as Sysdig Monitor PromQL alerts (POST {API_PATH}, one per element)"
    if skip:
        summary += "; left out: " + "; ".join(f"{k} ({v})" for k, v in sorted(skip.items()))
    return [Artifact(PATH, "sysdig-alerts", bodies(r, model, skip), "json", summary)]


def artifacts(ctx: Context) -> list[Artifact]:
    return render(ctx.r, ctx.model)
