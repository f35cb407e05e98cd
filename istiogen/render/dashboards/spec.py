"""The format-neutral dashboard description both serialisers read.

A :class:`Dashboard` is a list of :class:`Section` s, each a list of
:class:`Panel` s that flow left to right on a 24-column grid.  Every panel target
holds its final PromQL text (label matchers for template variables included,
written as quoted ``"$name"``: valid PromQL) and, when it comes from the query
catalog, the signal id and scope it was taken from.  Heights are a property of
the output format, so :func:`layout` places the panels for a given height table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

GRID_WIDTH = 24

PanelKind = Literal["timeseries", "stat", "text"]

# Units of the neutral description: a query's unit (istiogen.catalog.signals) plus
# "ops" (a per-second count: xDS pushes, injections), "factor" (candidate / baseline).
UNITS = ("reqps", "ratio", "ms", "s", "bytes", "Bps", "cps", "count", "ops", "factor")
# units whose series add up (a rate, a count); for the others (a ratio, a factor, a latency) the one series
# of a legend is taken as it is (max)
ADDITIVE = frozenset({"reqps", "cps", "ops", "Bps", "bytes", "count"})
_LEGEND_LABEL = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")


def aggregated(node: Any) -> bool:
    """Whether a parsed expression's result is aggregated: an aggregation (or a constant) at the top, through
    parentheses, arithmetic between aggregated sides and functions of aggregated arguments."""
    import promql_parser as pp

    if isinstance(node, pp.AggregateExpr | pp.NumberLiteral | pp.StringLiteral):
        return True
    if isinstance(node, pp.ParenExpr | pp.UnaryExpr):
        return aggregated(node.expr)
    if isinstance(node, pp.BinaryExpr):
        return aggregated(node.lhs) and aggregated(node.rhs)
    if isinstance(node, pp.Call):
        return node.func.name == "vector" or all(aggregated(a) for a in node.args)
    return False


def by_legend(expr: str, legend: str, unit: str) -> str:
    """``expr`` aggregated, as Sysdig's PromQL API wants a query that could return many series (1000 at most
    without aggregation): unchanged when it aggregates already, else by the labels its legend shows (a record
    carries one series each of them: the values stay as they are)."""
    import promql_parser as pp

    if aggregated(pp.parse(expr)):
        return expr
    labels = list(dict.fromkeys(_LEGEND_LABEL.findall(legend)))
    op = "sum" if unit in ADDITIVE else "max"
    return f"{op} by ({', '.join(labels)}) ({expr})" if labels else f"{op} ({expr})"


@dataclass(frozen=True)
class Variable:
    """A dashboard variable filtering by one label: a Grafana template variable, a Sysdig scope variable."""

    name: str  # "$name" in queries
    label: str  # the Prometheus label it filters
    title: str
    record: str  # a federated record carrying ``label`` (Grafana's label_values source)
    parents: tuple[Variable, ...] = ()  # variables whose selection narrows this one's values


@dataclass(frozen=True)
class Target:
    expr: str
    legend: str  # Grafana legendFormat / Sysdig timeSeriesDisplayNameTemplate ({{label}} placeholders)
    name: str  # short name of the query (Sysdig displayName)
    signal: str | None = None  # catalog signal id; None for a derived comparison (experiment records, constants)
    scope: str | None = None
    quantile: float | None = None


@dataclass(frozen=True)
class Panel:
    title: str
    kind: PanelKind
    unit: str  # one of UNITS
    targets: tuple[Target, ...]
    width: int = 12
    description: str = ""
    content: str = ""  # a text panel's Markdown

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unknown dashboard unit {self.unit!r}")
        if self.kind == "text":
            if self.targets or not self.content:
                raise ValueError(f"text panel {self.title!r} has queries or no content")
        elif not self.targets:
            raise ValueError(f"panel {self.title!r} has no query")
        if self.kind == "stat" and len(self.targets) != 1:
            raise ValueError(f"stat panel {self.title!r} must have exactly one query")
        if not 1 <= self.width <= GRID_WIDTH:
            raise ValueError(f"panel {self.title!r} is {self.width} columns wide")


@dataclass(frozen=True)
class Section:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    name: str  # file name without .json: "service-overview", "experiment-<name>"
    title: str
    description: str
    tags: tuple[str, ...]
    sections: tuple[Section, ...]
    variables: tuple[Variable, ...] = ()

    @property
    def panels(self) -> list[Panel]:
        return [p for s in self.sections for p in s.panels]

    @property
    def query_panels(self) -> list[Panel]:
        """The panels that query (not text)."""
        return [p for p in self.panels if p.kind != "text"]


@dataclass(frozen=True)
class Placed:
    """A section header (``panel`` None) or a panel at its grid position."""

    section: Section
    panel: Panel | None
    x: int
    y: int
    w: int
    h: int


def layout(d: Dashboard, heights: Mapping[PanelKind, int], header: int) -> Iterator[Placed]:
    """Place the sections and panels top to bottom; panels wrap at the grid width.

    ``header`` is the height of a section header (0: no header row).  A line of
    panels is as tall as its tallest panel.
    """
    y = 0
    for s in d.sections:
        if header:
            yield Placed(s, None, 0, y, GRID_WIDTH, header)
            y += header
        x = 0
        line_h = 0
        for p in s.panels:
            if x + p.width > GRID_WIDTH:
                y += line_h
                x, line_h = 0, 0
            h = heights[p.kind]
            yield Placed(s, p, x, y, p.width, h)
            x += p.width
            line_h = max(line_h, h)
        y += line_h


def quantile_name(v: float) -> str:
    """0.5 -> "p50", 0.99 -> "p99", 0.999 -> "p99.9"."""
    return f"p{v * 100:g}"
