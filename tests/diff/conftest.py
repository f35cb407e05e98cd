"""Fixtures for the diff engine's tests: a rendered workspace to edit, and small helpers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CliResult, write_profile

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Istio 1.5 with istioctl's Prometheus and the agent in promscrape v1 with the envoy rule:
# every artifact kind the live diff acts on, and a process_filter.
PROFILE = """
name: p
istio:
  version: "1.5"
prometheus:
  flavour: istioctl-1.5
sysdig:
  mode: promscrape-v1
  envoy_filter: true
"""


@pytest.fixture
def workspace(tmp_path: Path, cli: Callable[..., CliResult]) -> Path:
    """A folder with profiles/p.yaml rendered into output/p."""
    write_profile(tmp_path / "profiles", PROFILE, "p.yaml")
    r = cli("render", "profiles/p.yaml", cwd=tmp_path)
    assert r.code == 0, r.err
    return tmp_path


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def dump(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=100_000))


def edit_yaml(path: Path, fn: Callable[[Any], None]) -> None:
    data = load(path)
    fn(data)
    dump(path, data)
