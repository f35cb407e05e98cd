"""``sysdig.mode`` follows ``sysdig.agent_version``: promscrape v2 wherever the agent runs it, v1 only when asked
for (or on an agent that predates v2), with a deprecation warning; v2 on an agent without it is refused.

The versions are Sysdig's (docs.sysdig.com, "Collect Prometheus metrics": promscrape v2 from agent 10.5.0,
Prometheus collection on by default from 12.0.0; process-filter discovery is filed under "(Legacy) Working with
Prometheus Metrics"), written here as the test's own literals, not read from istiogen's catalog.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from istiogen.errors import ProfileError
from tests.conftest import load_text, render_text, write_profile


def _mode(tmp_path: Path, sysdig: str) -> tuple[bool, bool]:
    """(prom_service_discovery, has a process_filter) of the dragent.yaml rendered for ``sysdig``."""
    r = render_text(tmp_path, f'name: m\nistio: {{version: "1.22"}}\nsysdig: {sysdig}\n')
    prom = yaml.safe_load(r.files["sysdig/dragent.yaml"])["prometheus"]
    return prom["prom_service_discovery"], "process_filter" in prom


@pytest.mark.parametrize("sysdig", ["{}", "{agent_version: '14.7.4'}", "{agent_version: '12'}",
                                    "{agent_version: '10.5.0'}", "{agent_version: '11.4'}"])
def test_an_agent_that_runs_promscrape_v2_gets_it_by_default(tmp_path: Path, sysdig: str) -> None:
    assert _mode(tmp_path, sysdig) == (True, False)


def test_the_default_agent_is_a_current_one(tmp_path: Path) -> None:
    r = load_text(tmp_path, 'name: m\nistio: {version: "1.22"}\n')
    major = int(r.profile.sysdig.agent_version.split(".")[0])
    assert major >= 13 and r.sysdig_mode == "promscrape-v2"  # agent 12.0.0: v2 on by default, v1 legacy


def test_an_agent_older_than_10_5_gets_v1_without_a_warning(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """v1 is what an agent before 10.5.0 runs: the profile that says so describes it faithfully."""
    assert _mode(tmp_path, "{agent_version: '10.4.2'}") == (False, True)
    p = write_profile(tmp_path, 'name: m\nistio: {version: "1.22"}\nsysdig: {agent_version: "10.4.2"}\n')
    res = cli("validate", p.name, cwd=tmp_path)
    assert res.code == 0
    assert "1 profile(s) valid, 0 warning(s)" in res.out.splitlines()


def test_v1_only_when_asked_for_and_then_deprecated(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert _mode(tmp_path, "{mode: promscrape-v1}") == (False, True)
    p = write_profile(tmp_path, 'name: m\nistio: {version: "1.22"}\nsysdig: {mode: promscrape-v1, '
                                'agent_version: "13.0.1"}\n')
    res = cli("validate", p.name, cwd=tmp_path)
    assert res.code == 0
    assert res.out.splitlines()[0] == (
        "profile.yaml:3:16: warning: sysdig.mode: promscrape-v1 (process_filter discovery) is deprecated: legacy "
        "since agent 12.0.0 (agent_version 13.0.1) (use mode: promscrape-v2 (agent 10.5.0 or later; the agent's "
        "default from 12.0.0): targets come from prometheus.yaml's kubernetes_sd_configs) [promscrape-v1-legacy]")
    # the default agent is named as such
    p = write_profile(tmp_path, 'name: m\nistio: {version: "1.22"}\nsysdig: {mode: promscrape-v1}\n')
    assert "(agent_version 14.7.4, the default)" in cli("validate", p.name, cwd=tmp_path).out


def test_v2_on_an_agent_without_it_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as e:
        load_text(tmp_path, 'name: m\nistio: {version: "1.22"}\nsysdig: {mode: promscrape-v2, '
                            'agent_version: "10.4"}\n')
    (p,) = e.value.problems
    assert (p.rule, p.level, p.path, p.message, p.hint) == (
        "promscrape-v2-agent", "error", "sysdig.mode",
        "promscrape v2 needs agent 10.5.0 or later (this profile's agent: 10.4)",
        "upgrade the agent (agent_version: 10.5.0 or later), or mode: promscrape-v1")


@pytest.mark.parametrize("value", ["'v14'", "'14.7.4.1'", "'14.07'", "''"])
def test_an_agent_version_is_major_minor_patch(tmp_path: Path, value: str) -> None:
    with pytest.raises(ProfileError) as e:
        load_text(tmp_path, f'name: m\nistio: {{version: "1.22"}}\nsysdig: {{agent_version: {value}}}\n')
    (p,) = e.value.problems
    assert p.path == "sysdig.agent_version" and p.level == "error"
    assert "is not a Sysdig agent version: MAJOR[.MINOR[.PATCH]], e.g. 14.7.4" in p.message


def test_an_unquoted_agent_version_is_a_number_not_a_version(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as e:
        load_text(tmp_path, 'name: m\nistio: {version: "1.22"}\nsysdig: {agent_version: 14.7}\n')
    assert [p.path for p in e.value.problems] == ["sysdig.agent_version"]
