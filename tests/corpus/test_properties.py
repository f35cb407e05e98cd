"""Properties of random valid profiles (hypothesis): they load and render, their rule files pass
``promtool check rules`` and their unit tests ``promtool test rules``, both Deployment patches apply
with ``kubectl patch --local`` to an addon-shaped Deployment with the rules where the flavour needs
them, and writing the tree a second time changes nothing, not even a modification time.

The profiles are drawn from strategies over the schema: every known Istio version, flavour,
delivery-independent Prometheus overrides, subsets of rule sets, scopes, kept labels and histogram
bounds that the version has, durations, DNS names, thresholds, Sysdig modes, services, experiments,
custom rules from a small PromQL grammar, and patches/exclusions of alerts the profile generates.
Examples are derandomized (the same in every run), and the real tools run once per batch.
"""

from __future__ import annotations

import itertools
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from istiogen.catalog import istio as istio_catalog
from istiogen.catalog.prometheus import FLAVOURS
from tests.conftest import REPO, run
from tests.corpus.common import differences, snapshot

EXAMPLES = 24
ADDONS = REPO / "tests" / "fixtures" / "addons"
FIXTURE = {"helm-1.4": "istioctl-1.5"}  # the Mixer-era chart has the same Deployment shape as istioctl 1.5's

RULE_SETS = ("requests", "latency", "request_size", "response_size", "tcp", "gateway", "control_plane",
             "saturation")
SCOPES = ("service", "service_version", "workload", "edge")
DATA_PLANE = ("service", "service_version", "workload")
DURATIONS = ("30s", "1m", "90s", "2m", "5m", "1h")

dns_label = st.from_regex(r"[a-z]([-a-z0-9]{0,8}[a-z0-9])?", fullmatch=True)
prom_label = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
label_value = st.from_regex(r"[a-z0-9]([-a-z0-9_.]{0,8}[a-z0-9])?", fullmatch=True)
ratio = st.sampled_from([0.001, 0.01, 0.05, 0.1, 0.5, 1.0])


def subset(items: Any, *, min_size: int = 0) -> st.SearchStrategy[list[Any]]:
    items = sorted(items, key=str)
    return st.lists(st.sampled_from(items), min_size=min_size, max_size=len(items), unique=True) if items \
        else st.just([])


@st.composite
def promql(draw: st.DrawFn) -> str:
    """A small grammar of valid PromQL over Istio's and Prometheus's own series."""
    metric = draw(st.sampled_from(["istio_requests_total", "istio_tcp_sent_bytes_total",
                                   "pilot_xds_pushes", "process_cpu_seconds_total"]))
    matcher = draw(st.sampled_from(["", '{reporter="destination"}', '{response_code=~"5.."}',
                                    '{job!="kubernetes-pods"}']))
    window = draw(st.sampled_from(["1m", "5m", "10m"]))
    fn = draw(st.sampled_from(["rate", "irate", "increase"]))
    by = draw(subset(["destination_app", "reporter", "namespace"]))
    agg = draw(st.sampled_from(["sum", "max", "min", "avg", "count"]))
    inner = f"{fn}({metric}{matcher}[{window}])"
    vec = f"{agg} by ({', '.join(by)}) ({inner})" if by else f"{agg}({inner})"
    shape = draw(st.sampled_from(["plain", "ratio", "scaled", "clamped", "quantile"]))
    if shape == "ratio":
        return f"{vec} / on() group_left() sum({fn}({metric}[{window}]))" if by else f"{vec} / sum({inner})"
    if shape == "scaled":
        return f"100 * {vec}"
    if shape == "clamped":
        return f"clamp_min({vec}, 0)"
    if shape == "quantile":
        return f"histogram_quantile(0.9, sum by (le) (rate(istio_request_duration_milliseconds_bucket[{window}])))"
    return vec


@st.composite
def profiles(draw: st.DrawFn) -> dict[str, Any]:
    version = draw(st.sampled_from([f"1.{m}" for era in istio_catalog.ERAS for m in range(era.first, era.last + 1)]))
    rel = istio_catalog.release(version)
    tel = rel.telemetry
    flavour_name = draw(st.one_of(st.none(), st.sampled_from(sorted(FLAVOURS))))
    flavour = FLAVOURS[flavour_name or rel.default_flavour]
    p: dict[str, Any] = {"name": draw(dns_label), "istio": {"version": version}}
    if draw(st.booleans()):
        p["istio"]["namespace"] = draw(dns_label)
    if draw(st.booleans()):
        p["istio"]["metrics_merging"] = draw(st.booleans())

    prom: dict[str, Any] = {}
    if flavour_name:
        prom["flavour"] = flavour_name
    for key, strat in (("port", st.integers(1, 65535)), ("federation_annotations", st.booleans()),
                       ("rules_config_map", dns_label), ("rules_volume", dns_label),
                       ("rules_mount_path", dns_label.map(lambda s: f"/etc/{s}")),
                       ("rules_key", st.sampled_from(["rules.yaml", "istio-rules.yaml", "recording.rules"])),
                       ("scrape_interval", st.sampled_from(["10s", "15s", "30s"]))):
        if draw(st.booleans()):
            prom[key] = draw(strat)
    if prom.get("rules_volume") == flavour.config_volume:
        del prom["rules_volume"]
    if prom:
        p["prometheus"] = prom

    experiments = draw(st.lists(st.tuples(dns_label, dns_label, dns_label, st.sampled_from(["v1", "v2", "v3"]),
                                          st.sampled_from(["v2", "v3", "canary"]), ratio),
                                max_size=2, unique_by=lambda e: e[0]))
    one_per_service = {(e[2], e[1]): e for e in reversed(experiments) if e[3] != e[4]}  # one running per service
    experiments = [e for e in experiments if one_per_service.get((e[2], e[1])) is e]
    sets = draw(subset(RULE_SETS, min_size=1))
    scopes = draw(subset(SCOPES, min_size=1))
    if experiments:
        sets = sorted({*sets, "requests", "latency"})
        scopes = sorted({*scopes, "service_version"})
    rules: dict[str, Any] = {"sets": sets, "scopes": scopes,
                             "window": draw(st.sampled_from(DURATIONS)),
                             "interval": draw(st.sampled_from(["15s", "30s", "1m"]))}
    if tel.has_canonical and draw(st.booleans()):
        rules["version_labels"] = "canonical"
    rules["federation_label"] = draw(st.dictionaries(prom_label, label_value, min_size=1, max_size=2))
    keepable = set(tel.labels) - set(flavour.drop_labels)
    rules["kept_labels"] = draw(subset(keepable).map(lambda x: x[:2]))
    if draw(st.booleans()):
        rules["latency_buckets"] = draw(subset(tel.duration_buckets, min_size=1))
    if draw(st.booleans()):
        rules["size_buckets"] = draw(subset(tel.size_buckets, min_size=1))
    rules["size_scopes"] = draw(subset(DATA_PLANE, min_size=1))
    if "latency" in sets:
        rules["quantiles"] = draw(subset([0.5, 0.95, 0.99]))
    rules["custom"] = [
        {"record": f"custom:{word}:{i}", "expr": expr, "labels": labels}
        for i, (word, expr, labels) in enumerate(draw(st.lists(
            st.tuples(prom_label, promql(), st.dictionaries(prom_label, label_value, max_size=2)), max_size=3)))
    ]
    p["rules"] = rules

    p["sysdig"] = {
        "mode": draw(st.sampled_from(["promscrape-v1", "promscrape-v2"])),
        "envoy_filter": draw(st.booleans()),
        "federation": draw(st.booleans()),
        "keep_default_rules": draw(st.booleans()),
        "scrape_interval": draw(st.sampled_from(["10s", "15s", "30s", "1m"])),
        "limits": {"max_metrics": draw(st.integers(1, 100_000))},
    }
    p["alerts"] = {
        "enabled": draw(st.booleans()),
        "services": {"error_ratio_5xx": draw(ratio), "latency_p99_ms": draw(st.sampled_from([50.0, 250.0, 1000.0])),
                     "min_request_rate": draw(st.sampled_from([0, 0.1, 2.5])), "for": draw(st.sampled_from(DURATIONS))},
    }
    if draw(st.booleans()):
        p["alerts"]["runbook_url"] = "https://runbooks.example.com/{alert}/{namespace}/{service}"
    services = draw(st.lists(st.tuples(dns_label, dns_label), max_size=3, unique=True))
    p["services"] = [
        {"name": n, "namespace": ns, "versions": ["v1", "v2"][: 1 + i % 2],
         "alerts": {"disabled": True} if i == 2 else {"error_ratio_5xx": 0.02}}
        for i, (n, ns) in enumerate(services)
    ]
    # an experiment's service is declared, with the versions it compares
    declared = {(s["namespace"], s["name"]): s for s in p["services"]}
    for _, svc, ns, b, c, _ in experiments:
        if (ns, svc) in declared:
            declared[(ns, svc)]["versions"] = sorted({*declared[(ns, svc)]["versions"], b, c})
        else:
            declared[(ns, svc)] = {"name": svc, "namespace": ns, "versions": sorted({b, c})}
            p["services"].append(declared[(ns, svc)])
    p["experiments"] = [
        {"name": n, "service": svc, "namespace": ns, "baseline": b, "candidate": c, "expected_split": split}
        for n, svc, ns, b, c, split in experiments
    ]
    p["dashboards"] = {"grafana": draw(st.booleans()), "sysdig": draw(st.booleans())}
    if draw(st.booleans()):
        p["output"] = {"dir": f"team/{p['name']}"}
    return p


@dataclass
class Example:
    profile: dict[str, Any]
    tree: Path
    resolved: Any


class _Dumper(yaml.SafeDumper):
    """Quotes every string that YAML 1.1 reads as a boolean or null (PyYAML leaves y and n bare)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    from ruamel.yaml.nodes import ScalarNode

    from istiogen.source import _yaml11_resolver

    t11 = _yaml11_resolver().resolve(ScalarNode, value, (True, False))
    ambiguous = t11 in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:null")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"' if ambiguous else None)


_Dumper.add_representer(str, _str)


def render_profile(folder: Path, data: dict[str, Any]) -> Any:
    from istiogen.pipeline import render
    from istiogen.validate import load

    path = folder / "profile.yaml"
    path.write_text(yaml.dump(data, Dumper=_Dumper, sort_keys=False))
    return render(load(path))


def alert_edits(draw: Any, data: dict[str, Any], alerts: list[str]) -> None:
    """Exclude or patch some of the alerts the profile generates (nothing uses an alert)."""
    if not alerts:
        return
    chosen = draw(st.lists(st.sampled_from(sorted(alerts)), max_size=2, unique=True))
    for i, name in enumerate(chosen):
        if i == 0 and draw(st.booleans()):
            data["rules"]["exclude"] = [name]
        else:
            data["rules"]["patches"] = [{"name": name, "labels": {"severity": "page"},
                                         "for": draw(st.sampled_from(DURATIONS))}]


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> list[Example]:
    """Random valid profiles, each loaded, rendered, written twice (the pure-Python properties)."""
    from istiogen.emit.writer import write_tree

    base = tmp_path_factory.mktemp("properties")
    out: list[Example] = []
    calls = itertools.count()

    # no shrinking: a render costs 0.1-0.4 s, and the failing profile is printed whole anyway
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def load_render_write_twice(data: st.DataObject) -> None:
        folder = base / f"example-{next(calls)}"
        folder.mkdir()
        profile = data.draw(profiles(), label="profile")
        first = render_profile(folder, profile)
        alert_edits(data.draw, profile, [a.name for a in first.model.alerts])
        rendered = render_profile(folder, profile) if "exclude" in profile["rules"] or \
            "patches" in profile["rules"] else first
        assert rendered.files["index.json"]
        root = folder / "out"
        changes = write_tree(root, rendered.resolved.output_dir, rendered.files)
        assert {c.status for c in changes} == {"created"}
        before = snapshot(root)
        again = write_tree(root, rendered.resolved.output_dir, rendered.files)
        assert {c.status for c in again} == {"ok"}
        assert differences(before, snapshot(root)) == []
        out.append(Example(profile, root / rendered.resolved.output_dir, rendered.resolved))

    load_render_write_twice()
    return out


def test_random_valid_profiles_render_and_a_second_write_changes_nothing(examples: list[Example]) -> None:
    assert len(examples) >= EXAMPLES * 3 // 4
    # the strategies reach across the schema (a generator stuck on one corner proves little)
    assert len({e.resolved.release.version for e in examples}) >= 8
    assert len({e.resolved.flavour.name for e in examples}) >= 4
    assert {e.profile["sysdig"]["mode"] for e in examples} == {"promscrape-v1", "promscrape-v2"}
    assert any(e.profile["experiments"] for e in examples)
    assert any("saturation" in e.profile["rules"]["sets"] for e in examples[::3])  # promtool-tested ones too
    assert any(e.profile["rules"]["custom"] for e in examples)
    assert any("patches" in e.profile["rules"] or "exclude" in e.profile["rules"] for e in examples)


def test_rules_and_alerts_pass_promtool_check(examples: list[Example], promtool: str) -> None:
    files = [str(f) for e in examples for f in (e.tree / "prometheus/rules.yaml", e.tree / "prometheus/alerts.yaml")
             if f.exists()]
    assert len(files) >= len(examples)
    res = run([promtool, "check", "rules", *files], check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("SUCCESS") == len(files)


def test_shipped_unit_tests_pass_promtool_test(examples: list[Example], promtool: str) -> None:
    """Every third example: one file takes promtool about 2 s of evaluation."""
    tests = [str(e.tree / "prometheus/rules.test.yaml") for e in examples[::3]
             if (e.tree / "prometheus/rules.test.yaml").exists()]
    assert len(tests) >= len(examples) // 6
    halves = [tests[0::2], tests[1::2]]  # two processes: two cores
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda fs: run([promtool, "test", "rules", *fs], check=False), halves))
    for res in results:
        assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]


def _containers(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in obj["spec"]["template"]["spec"]["containers"]}


def patched(e: Example, kubectl: str, patch: str, kind: str) -> dict[str, Any]:
    flavour = e.resolved.flavour.name
    dep = yaml.safe_load((ADDONS / f"{FIXTURE.get(flavour, flavour)}-deployment.yaml").read_text())
    dep["metadata"]["namespace"] = e.profile["istio"].get("namespace", "istio-system")
    src = e.tree.parent / f"deployment-{kind}.json"
    src.write_text(json.dumps(dep))
    res = run([kubectl, "patch", "--local", "-f", str(src), "--type", kind, "--patch-file",
               str(e.tree / "prometheus" / patch), "-o", "json"], check=False)
    assert res.returncode == 0, f"{e.profile}\n{res.stderr}"
    out: dict[str, Any] = json.loads(res.stdout)
    return out


def test_deployment_patches_apply_with_the_rules_in_the_right_container(examples: list[Example],
                                                                       kubectl: str) -> None:
    todo = [(e, patch, kind) for e in examples if (e.tree / "prometheus/deployment-patch.yaml").exists()
            for patch, kind in (("deployment-patch.yaml", "strategic"), ("deployment-patch.json6902.json", "json"))]
    assert len(todo) >= len(examples)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda t: (t[0], patched(t[0], kubectl, t[1], t[2])), todo))
    for e, dep in results:
        fl = e.resolved.flavour
        pr = e.resolved.profile.prometheus
        spec = dep["spec"]["template"]["spec"]
        containers = _containers(dep)
        mounts = {m["name"]: m for m in containers[fl.container].get("volumeMounts", [])}
        volumes = {v["name"]: v for v in spec["volumes"]}
        if pr.rules_volume in mounts:  # the rules ConfigMap mounted in the Prometheus container
            assert mounts[pr.rules_volume] == {"name": pr.rules_volume, "mountPath": pr.rules_mount_path,
                                               "readOnly": True}
            assert volumes[pr.rules_volume]["configMap"]["name"] == pr.rules_config_map
        else:  # or projected into the config volume the container already mounts (and its reloader watches)
            sources = volumes[fl.config_volume]["projected"]["sources"]
            assert {"name": pr.rules_config_map} in [
                {"name": s["configMap"]["name"]} for s in sources if "configMap" in s]
            assert fl.config_volume in mounts
        for name, c in containers.items():
            if name != fl.container:
                assert all(m["name"] != pr.rules_volume for m in c.get("volumeMounts", [])), name
        ann = dep["spec"]["template"]["metadata"].get("annotations", {})
        # the agent finds /federate by the annotations only in promscrape v1, federating, default rules kept
        sd = e.resolved.profile.sysdig
        assert (ann.get("prometheus.io/path") == "/federate") == (
            pr.federation_annotations and sd.mode == "promscrape-v1" and sd.federation and sd.keep_default_rules)
    branches = {"mount" if e.resolved.profile.prometheus.rules_volume in
                {m["name"] for c in _containers(dep).values() for m in c.get("volumeMounts", [])} else "projected"
                for e, dep in results}
    assert branches == {"mount", "projected"}  # both deliveries were exercised
    # both forms of the patch give the same Deployment
    by_example: dict[int, list[dict[str, Any]]] = {}
    for e, dep in results:
        by_example.setdefault(id(e), []).append(dep)
    for strategic, json_patched in by_example.values():
        assert _normal(strategic) == _normal(json_patched)


def _normal(dep: dict[str, Any]) -> Any:
    """A Deployment with its lists keyed by name (the two patch forms may order entries differently)."""
    spec = dep["spec"]["template"]["spec"]
    return {
        "annotations": dep["spec"]["template"]["metadata"].get("annotations", {}),
        "volumes": {v["name"]: v for v in spec["volumes"]},
        "containers": {c["name"]: {**c, "volumeMounts": sorted(c.get("volumeMounts", []), key=json.dumps)}
                       for c in spec["containers"]},
    }
