"""The signal model: one description of what is recorded, federated, queried and alerted on.

:func:`istiogen.render.build.build` turns a resolved profile into a :class:`SignalModel`:

* **recording rules**, built hierarchically: raw Istio metrics are aggregated once
  per rule set into *base* series keyed by the union of the enabled scopes'
  labels (rates, and bucket rates for histograms, never sums of raw counters);
  experiment comparisons are derived from those recorded series;
* the **federation selection**: exactly the records that carry the federation label;
* the **query catalog**: for every signal × scope, the PromQL over the federated
  series that answers it (aggregating the base series further);
* the **alerts**, built from the query catalog.

Every other artifact (rule files, federation jobs, dashboards, unit tests, lint)
reads this model, so they agree by construction.  This module holds the types;
the labels the builder keys series by are in :mod:`.labels`, the PromQL text
helpers in :mod:`.promql`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from istiogen.problems import Problem
from istiogen.render import promql as q

GROUP_PREFIX = "istio"


@dataclass(frozen=True)
class Rule:
    record: str
    expr: str
    labels: tuple[tuple[str, str], ...]
    group: str
    rule_set: str  # a rule set id, "experiments" or "custom"
    uses: tuple[str, ...] = ()  # recorded series this rule reads
    federated: bool = True


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    labels: tuple[tuple[str, str], ...]
    annotations: tuple[tuple[str, str], ...]
    group: str
    signal: str
    uses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Query:
    signal: str
    scope: str
    expr: str
    labels: tuple[str, ...]  # labels of the result
    unit: str
    uses: tuple[str, ...]

    def with_matchers(self, matchers: Sequence[q.Matcher]) -> str:
        """The query with extra label matchers on every federated series it reads.

        Dashboards use this to filter by template variables, e.g.
        ``[("destination_service_namespace", "=~", "$namespace")]``.
        """
        return q.with_matchers(self.expr, self.uses, matchers)


@dataclass(frozen=True)
class Group:
    name: str
    interval: str
    rules: tuple[Rule, ...] = ()
    alerts: tuple[Alert, ...] = ()


@dataclass
class SignalModel:
    window: str
    interval: str
    scrape_interval: str
    federation_label: tuple[tuple[str, str], ...]
    rule_groups: list[Group] = field(default_factory=list)
    alert_groups: list[Group] = field(default_factory=list)
    queries: list[Query] = field(default_factory=list)
    latency_unit: str = "ms"
    base_labels: tuple[str, ...] = ()
    scope_labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    # the rules and alerts as built, before rules.exclude and rules.patches (what stage 2 checks those against)
    built_rules: tuple[Rule, ...] = ()
    built_alerts: tuple[Alert, ...] = ()

    @property
    def rules(self) -> list[Rule]:
        return [r for g in self.rule_groups for r in g.rules]

    @property
    def alerts(self) -> list[Alert]:
        return [a for g in self.alert_groups for a in g.alerts]

    @property
    def federated_records(self) -> list[str]:
        return sorted({r.record for r in self.rules if r.federated})

    def match_selectors(self) -> list[str]:
        """The federation ``match[]``: one selector per federated record, with the federation label."""
        return [q.selector(rec, q.eq(self.federation_label)) for rec in self.federated_records]

    def query(self, signal: str, scope: str) -> Query | None:
        for x in self.queries:
            if x.signal == signal and x.scope == scope:
                return x
        return None
