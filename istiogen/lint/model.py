"""The bundle model: what the lint knows about a set of monitoring files.

The loader (:mod:`istiogen.lint.loader`) turns files into one :class:`Bundle` per
rendered tree or per set of external files; the checks only read bundles.  Every
item keeps the :class:`Loc` (file, line, column, field path) it was read from, so
a finding points at the offending value.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

QueryKind = Literal["rule", "alert", "dashboard", "catalog", "variable"]


@dataclass(frozen=True)
class Loc:
    file: str
    line: int | None
    column: int | None
    path: str


@dataclass(eq=False)
class PromExpr:
    """A PromQL expression as written, and as given to the parser.

    Dashboards use template variables (``$namespace``, ``[$__rate_interval]``); they
    are substituted before parsing (:func:`istiogen.lint.promql.substitute`), and
    ``templated`` records that the parsed text is not the text as written.
    """

    text: str
    loc: Loc
    parse_text: str = ""
    templated: bool = False
    _parsed: bool = field(default=False, repr=False)
    _ast: Any = field(default=None, repr=False)
    _error: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.parse_text:
            self.parse_text = self.text

    def _parse(self) -> None:
        if self._parsed:
            return
        self._parsed = True
        from istiogen.lint.promql import parse

        self._ast, self._error = parse(self.parse_text)

    @property
    def ast(self) -> Any:
        self._parse()
        return self._ast

    @property
    def error(self) -> str | None:
        self._parse()
        return self._error


@dataclass(eq=False)
class Rule:
    name: str
    expr: PromExpr
    labels: dict[str, str]
    loc: Loc  # the `record` or `alert` value
    label_locs: dict[str, Loc]
    group: str


@dataclass(eq=False)
class RecordRule(Rule):
    pass


@dataclass(eq=False)
class AlertRule(Rule):
    annotations: dict[str, str] = field(default_factory=dict)
    annotation_locs: dict[str, Loc] = field(default_factory=dict)


@dataclass(eq=False)
class RuleGroup:
    name: str
    loc: Loc


@dataclass(eq=False)
class FedSelector:
    expr: PromExpr


@dataclass(eq=False)
class FedJob:
    """A ``/federate`` scrape job: what the agent pulls from Prometheus."""

    name: str
    loc: Loc
    selectors: list[FedSelector]
    labeldrop: list[str]  # regexes of metric_relabel_configs `labeldrop` actions
    source: Literal["agent", "catalog"] = "agent"


@dataclass(eq=False)
class Text:
    """A title or legend, with where it is."""

    value: str
    loc: Loc


@dataclass(eq=False)
class UserQuery:
    """A query that reads series: a dashboard target, a catalog entry, a template variable."""

    kind: QueryKind
    expr: PromExpr
    owner: str  # for messages: 'panel "Request rate"', 'queries.yaml latency.p99/service'
    title: Text | None = None
    legends: list[Text] = field(default_factory=list)
    declared_quantile: float | None = None  # the catalog's `quantile:` field


@dataclass
class Bundle:
    name: str
    files: list[str] = field(default_factory=list)
    records: list[RecordRule] = field(default_factory=list)
    alerts: list[AlertRule] = field(default_factory=list)
    groups: list[tuple[str, list[RuleGroup]]] = field(default_factory=list)  # per file
    fed_jobs: list[FedJob] = field(default_factory=list)
    catalog_fed: list[FedJob] = field(default_factory=list)
    dashboards: list[UserQuery] = field(default_factory=list)
    catalog: list[UserQuery] = field(default_factory=list)
    has_catalog: bool = False
    has_dashboards: bool = False
    # (where, value): queries.yaml scrape_interval, a Prometheus config's global.scrape_interval, ...
    catalog_scrape_interval: tuple[Loc, str] | None = None
    config_scrape_intervals: list[tuple[Loc, str]] = field(default_factory=list)

    @property
    def federation(self) -> list[FedJob]:
        """The federation jobs: the agent's, else the one the query catalog records."""
        return self.fed_jobs or self.catalog_fed

    def expressions(self) -> Iterator[tuple[QueryKind, PromExpr]]:
        for r in self.records:
            yield "rule", r.expr
        for a in self.alerts:
            yield "alert", a.expr
        for q in self.dashboards:
            yield q.kind, q.expr
        for q in self.catalog:
            yield "catalog", q.expr
