"""``alerts.alertmanager`` given in the form the delivery cannot write.

With delivery operator the Prometheus resource names Alertmanager Services (not URLs); the other deliveries
write URLs into prometheus.yml; with helm-values the chart's own alerting settings apply."""

from __future__ import annotations

from collections.abc import Iterator

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "alertmanager-delivery"


def check(ctx: Context) -> Iterator[Problem]:
    am, delivery = ctx.profile.alerts.alertmanager, ctx.delivery
    if am is None:
        return
    if delivery == "operator" and am.urls:
        yield ctx.error(ID, ("alerts", "alertmanager", "urls"), "with delivery operator, the Prometheus resource "
                        "names Alertmanager Services, not URLs", "use services: [{namespace, name, port}]")
    if delivery != "operator" and am.services:
        yield ctx.error(ID, ("alerts", "alertmanager", "services"), "Alertmanager Services are for delivery "
                        f"operator (this is {delivery})", "use urls: [http://alertmanager.monitoring:9093]")
    if delivery == "helm-values":
        yield ctx.error(ID, ("alerts", "alertmanager"), "istiogen does not write the chart's alerting settings "
                        "with delivery helm-values", "set them in your chart values")
