"""Dashboards (Grafana and Sysdig Monitor) built from the query catalog."""

from __future__ import annotations

from istiogen.profile.resolve import Resolved
from istiogen.render.artifact import Artifact
from istiogen.render.model import SignalModel


def render(r: Resolved, model: SignalModel) -> list[Artifact]:
    return []
