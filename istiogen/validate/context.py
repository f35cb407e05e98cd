"""What every cross-field rule reads: the loaded profile, where its fields are, and the facts of its Istio release
and Prometheus flavour (looked up once, here)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from istiogen.catalog import istio as istio_catalog
from istiogen.catalog.prometheus import FLAVOURS, Flavour
from istiogen.problems import Problem
from istiogen.source import PathT, SourceDoc

if TYPE_CHECKING:
    from istiogen.catalog.istio import Release, Telemetry
    from istiogen.profile.models import Profile
    from istiogen.profile.resolve import LiveConfig


@dataclass(frozen=True)
class Context:
    profile: Profile
    doc: SourceDoc
    live: LiveConfig | None = None  # the exported ConfigMap of prometheus.live_config, read by the loader

    @cached_property
    def release(self) -> Release:
        return istio_catalog.release(self.profile.istio.version)

    @property
    def tel(self) -> Telemetry:
        return self.release.telemetry

    @cached_property
    def flavour(self) -> Flavour:
        """The catalog's flavour (without the profile's overrides)."""
        return FLAVOURS[self.profile.prometheus.flavour or self.release.default_flavour]

    @cached_property
    def drop(self) -> frozenset[str]:
        """The labels added per scrape target, which the rules aggregate away."""
        pr = self.profile.prometheus
        return frozenset(pr.drop_labels if pr.drop_labels is not None else self.flavour.drop_labels)

    @property
    def scrape_interval(self) -> str:
        return self.profile.prometheus.scrape_interval or self.flavour.scrape_interval

    @property
    def sysdig_mode(self) -> str:
        """The agent's mode: the profile's, or the default of its agent version."""
        from istiogen.catalog import sysdig

        s = self.profile.sysdig
        return str(s.mode or sysdig.default_mode(s.agent_version))

    @property
    def delivery(self) -> str:
        return self.profile.prometheus.delivery or self.flavour.delivery

    def error(self, rule: str, path: PathT, message: str, hint: str | None = None) -> Problem:
        from istiogen.profile.loader import problem_at

        return problem_at(self.doc, path, message, rule, hint)

    def warning(self, rule: str, path: PathT, message: str, hint: str | None = None) -> Problem:
        from istiogen.profile.loader import problem_at

        return problem_at(self.doc, path, message, rule, hint, level="warning")


def repeated(keys: Iterable[str]) -> Iterator[tuple[int, str, int]]:
    """``(index, key, first index)`` for every key met again after its first place in ``keys``."""
    first: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k in first:
            yield i, k, first[k]
        else:
            first[k] = i
