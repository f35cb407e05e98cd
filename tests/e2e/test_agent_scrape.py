"""What the Sysdig agent ingests with the rendered config, a real Prometheus standing in for promscrape.

One Prometheus runs the rendered ``prometheus.yaml`` jobs of four profiles (promscrape v1 and v2,
each federating and remote-writing) against synthetic pods listening on loopback addresses:

* an Istio sidecar whose metrics Istio merges (annotated ``prometheus.io/port: "15020"``): pilot-agent
  serves app + envoy + raw ``istio_*`` on 15020, envoy serves envoy + raw ``istio_*`` on 15090;
* an Istio sidecar without merging, its app annotated on 8080;
* a Contour envoy (container ``envoy``), annotated on 8002;
* the Istio Prometheus, annotated as the rendered Deployment patch says (or not), serving ``/federate``.

The expected values follow from the pods' definitions and the agent's documented rules: the agent
ingests each envoy's stats once, no raw ``istio_*`` when the recorded series reach Sysdig anyway,
every app metric and the Contour envoy (the agent's default annotation scraping kept), and the
Istio Prometheus through the federation job only.  See agent.py for the v1 process-filter semantics.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from istiogen.pipeline import Rendered, render
from istiogen.validate import load
from tests.conftest import REPO, render_text, tool
from tests.e2e.agent import Pod, PodServers, Process, Target, process_filter_targets, v1_job, v1_takes, v2_job
from tests.e2e.prom import Prometheus
from tests.e2e.servers import RENDER, Servers, server

pytestmark = pytest.mark.e2e

RW = "remote_write: {url: 'https://us2.app.sysdig.com/prometheus/remote/write', secret: {name: rw, key: token}}"
PROFILES = {
    "v1": None,  # the embedded default: the documented scenario (v1, envoy filter, federation)
    "v1-rw": f"""
        name: v1-rw
        istio: {{version: "1.9"}}
        sysdig: {{mode: promscrape-v1, envoy_filter: true, federation: false}}
        {RW}
        """,
    "v2": """
        name: v2
        istio: {version: "1.22"}
        prometheus: {flavour: samples-1.22}
        sysdig: {mode: promscrape-v2, envoy_filter: true}
        """,
    "v2-rw": f"""
        name: v2-rw
        istio: {{version: "1.22"}}
        prometheus: {{flavour: samples-1.22}}
        sysdig: {{mode: promscrape-v2, envoy_filter: true, federation: false}}
        {RW}
        """,
    # ambient (ztunnel per node, a waypoint), promscrape v1 and v2, federating
    "v1-ambient": """
        name: v1-ambient
        istio: {version: "1.30", data_plane: {mode: ambient, namespaces: [{name: shop, mode: ambient, waypoint: wp}]}}
        prometheus: {flavour: samples-1.22}
        sysdig: {mode: promscrape-v1, agent_version: "13.0.0", envoy_filter: true}
        """,
    "v2-ambient": """
        name: v2-ambient
        istio: {version: "1.30", data_plane: {mode: ambient}}
        prometheus: {flavour: samples-1.22}
        sysdig: {mode: promscrape-v2, envoy_filter: true}
        """,
}
AMBIENT = ("v1-ambient", "v2-ambient")

ENVOY = 'envoy_server_uptime 3600\nenvoy_cluster_upstream_rq_total{cluster_name="outbound|9080||reviews"} 42\n'
RAW = ('istio_requests_total{reporter="destination",response_code="200"} 7\n'
       'istio_request_duration_milliseconds_bucket{reporter="destination",le="+Inf"} 7\n')
APP = "app_orders_total 5\n"
FEDERATED = 'destination:istio_requests:rate1m{sysdig="true",response_class="2xx"} 1.5\n'
PROXY_IMAGE = "docker.io/istio/proxyv2:1.22.0"
# the samples addon's pod labels (tests/fixtures/addons/samples-1.22-deployment.yaml); istioctl's 1.5 addon
# is selected by its deployment name
PROM_LABELS = {"app.kubernetes.io/component": "server", "app.kubernetes.io/name": "prometheus",
               "app.kubernetes.io/instance": "prometheus", "app": "prometheus", "release": "istio"}


def sidecar_pods() -> list[Pod]:
    merged = {"prometheus.io/scrape": "true", "prometheus.io/port": "15020", "prometheus.io/path": "/stats/prometheus"}
    declared = [("app", [("http", 8080)]), ("istio-proxy", [("http-envoy-prom", 15090)])]
    return [
        Pod("merged", merged, declared, [
            Process("app", "app", "shop/app:1", {8080: {"/metrics": APP}}),
            Process("envoy", "istio-proxy", PROXY_IMAGE, {15090: {"/stats/prometheus": ENVOY + RAW}}),
            Process("pilot-agent", "istio-proxy", PROXY_IMAGE, {15020: {"/stats/prometheus": APP + ENVOY + RAW}}),
        ]),
        Pod("unmerged", {"prometheus.io/scrape": "true", "prometheus.io/port": "8080",
                         "prometheus.io/path": "/metrics"}, declared, [
                Process("app", "app", "shop/app:1", {8080: {"/metrics": APP}}),
                Process("envoy", "istio-proxy", PROXY_IMAGE, {15090: {"/stats/prometheus": ENVOY + RAW}}),
                Process("pilot-agent", "istio-proxy", PROXY_IMAGE, {15020: {"/healthz/ready": ""}}),
        ]),
        Pod("contour", {"prometheus.io/scrape": "true", "prometheus.io/port": "8002",
                        "prometheus.io/path": "/stats/prometheus"},
            [("envoy", [("metrics", 8002)])],
            [Process("envoy", "envoy", "docker.io/envoyproxy/envoy:v1.30", {8002: {"/stats/prometheus": ENVOY}})],
            namespace="projectcontour"),
    ]


ZTUNNEL = ('istio_tcp_connections_opened_total{reporter="destination"} 3\n'
           "workload_manager_active_proxy_count 4\nprocess_open_fds 64\n")


def ambient_pods() -> list[Pod]:
    """A ztunnel and a waypoint as Istio 1.30's charts make them (ztunnel's DaemonSet: annotated scrape and
    port 15020, no path, label app=ztunnel, container istio-proxy; waypoint.yaml: annotated 15020
    /stats/prometheus, the gateway-class label, Envoy's 15090 declared)."""
    zt_image = "docker.io/istio/ztunnel:1.30.0"
    return [
        Pod("ztunnel", {"prometheus.io/scrape": "true", "prometheus.io/port": "15020"},
            [("istio-proxy", [("ztunnel-stats", 15020)])],
            [Process("ztunnel", "istio-proxy", zt_image, {15020: {"/metrics": ZTUNNEL}})],
            namespace="istio-system", labels={"app": "ztunnel", "app.kubernetes.io/name": "ztunnel"}),
        Pod("waypoint", {"prometheus.io/scrape": "true", "prometheus.io/port": "15020",
                         "prometheus.io/path": "/stats/prometheus"},
            [("istio-proxy", [("http-envoy-prom", 15090), ("status-port", 15021)])],
            [Process("envoy", "istio-proxy", PROXY_IMAGE, {15090: {"/stats/prometheus": ENVOY + RAW}}),
             Process("pilot-agent", "istio-proxy", PROXY_IMAGE, {15020: {"/stats/prometheus": ENVOY + RAW}})],
            labels={"gateway.networking.k8s.io/gateway-class-name": "istio-waypoint",
                    "gateway.networking.k8s.io/gateway-name": "wp"}),
    ]


def prometheus_pod(name: str, annotations: dict[str, str]) -> Pod:
    return Pod(f"prom-{name}", annotations, [("prometheus-server", [("http", 9090)])],
               [Process("prometheus", "prometheus-server", "prom/prometheus:v2.42.0",
                        {9090: {"/federate": FEDERATED, "/metrics": "prometheus_build_info 1\n"}})],
               deployment="prometheus", namespace="istio-system", labels=PROM_LABELS)


def pod_annotations(r: Rendered) -> dict[str, str]:
    """The annotations the rendered Deployment patch puts on the Istio Prometheus pod."""
    patch = yaml.safe_load(r.files["prometheus/deployment-patch.yaml"])
    return dict(patch["spec"]["template"].get("metadata", {}).get("annotations", {}))


def agent_files(r: Rendered) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the v1 process_filter, the prometheus.yaml jobs) the agent runs."""
    dragent = yaml.safe_load(r.files["sysdig/dragent.yaml"])
    patch = yaml.safe_load(r.files["sysdig/sysdig-agent-patch.yaml"])
    jobs = yaml.safe_load(patch["data"]["prometheus.yaml"])["scrape_configs"]
    return dragent["prometheus"].get("process_filter", []), jobs


@dataclass
class Agents:
    prom: Prometheus
    rendered: dict[str, Rendered]
    pods: dict[str, list[Pod]]
    v1_targets: dict[str, list[Target]]

    def series(self, name: str, expr: str) -> list[dict[str, str]]:
        """Series of profile ``name``'s jobs matching a selector body, e.g. ``__name__=~"istio_.*"``."""
        return [s["metric"] for s in self.prom.query(f'{{job=~"{name}/.*",{expr}}}')]


def scrape_config(rendered: dict[str, Rendered], pods: dict[str, list[Pod]],
                  v1_targets: dict[str, list[Target]]) -> dict[str, Any]:
    jobs: list[dict[str, Any]] = []
    for name, r in rendered.items():
        rules, rendered_jobs = agent_files(r)
        if r.resolved.sysdig_mode == "promscrape-v2":
            jobs += [v2_job(j, pods[name], name) for j in rendered_jobs]
            continue
        targets = v1_targets[name] = process_filter_targets(rules, pods[name])
        taken: set[int] = set()
        for j in rendered_jobs:
            if "sysdig_sd_configs" in j:
                mine = [t for t in targets if v1_takes(j, t)]
                taken |= {id(t) for t in mine}
                jobs.append(v1_job(j, mine, name))
        rest = [t for t in targets if id(t) not in taken]
        jobs += [v1_job(j, rest, name) for j in rendered_jobs if "sysdig_sd_configs" not in j]
    return {"global": {"scrape_interval": "1s"}, "scrape_configs": jobs}


@server("agents")
def _agents(work: Path) -> Iterator[Agents]:
    binary = tool("prometheus")
    with RENDER:
        rendered = {name: render(load(None)) if text is None else render_text(work / name, text)
                    for name, text in PROFILES.items()}
    pods = {name: [*sidecar_pods(), *ambient_pods(), prometheus_pod(name, pod_annotations(r))]
            for name, r in rendered.items()}
    with PodServers([p for ps in pods.values() for p in ps]):
        v1_targets: dict[str, list[Target]] = {}
        config = scrape_config(rendered, pods, v1_targets)
        prom = Prometheus(binary, yaml.safe_dump(config), work, "agent")
        try:
            prom.start()
            prom.wait_ready()
            wait_scraped(prom)
            yield Agents(prom, rendered, pods, v1_targets)
        finally:
            prom.stop()


@pytest.fixture(scope="module")
def agents(servers: Servers) -> Iterator[Agents]:
    yield servers.get("agents")
    servers.stop("agents")


def wait_scraped(prom: Prometheus, timeout: float = 30.0) -> None:
    """Until every active target has been scraped twice (its series are in)."""
    import json

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        active = json.loads(prom.get("/api/v1/targets"))["data"]["activeTargets"]
        if active and all(t["lastScrape"] != "0001-01-01T00:00:00Z" for t in active):
            time.sleep(2.5)
            down = [t["scrapeUrl"] for t in active if t["health"] != "up"]
            assert not down, f"targets down: {down}"
            return
        time.sleep(0.3)
    raise AssertionError("targets not scraped in time")


@pytest.mark.parametrize("name", list(PROFILES))
def test_no_raw_istio_series_when_the_recorded_ones_reach_sysdig(agents: Agents, name: str) -> None:
    """Federated or remote-written, the records reach Sysdig: no job ingests the raw istio_* too."""
    assert agents.series(name, '__name__=~"istio_.*"') == []
    assert agents.series(name, '__name__="envoy_cluster_upstream_rq_total"'), "envoy stats are still collected"


@pytest.mark.parametrize("name", list(PROFILES))
def test_each_istio_envoy_is_collected_once(agents: Agents, name: str) -> None:
    """envoy_filter with metrics merging: 15090 and the merged 15020 would both deliver envoy's stats."""
    for pod in ("merged", "unmerged"):
        endpoints = {s["instance"] for s in agents.series(name, f'__name__="envoy_server_uptime",'
                                                                 f'sysdig_k8s_pod_uid="{pod}"')}
        assert len(endpoints) == 1, f"{pod}: envoy collected from {sorted(endpoints)}"


@pytest.mark.parametrize("name", list(PROFILES))
def test_other_envoys_and_apps_keep_the_default_annotation_scraping(agents: Agents, name: str) -> None:
    """A user prometheus.yaml / process_filter replaces the agent's defaults: they must come back, and
    the envoy rule must not swallow envoys that are not Istio's (Contour here)."""
    assert agents.series(name, '__name__="envoy_server_uptime",sysdig_k8s_pod_uid="contour"'), \
        "the Contour envoy is no longer scraped"
    for pod in ("merged", "unmerged"):
        assert agents.series(name, f'__name__="app_orders_total",sysdig_k8s_pod_uid="{pod}"'), \
            f"{pod}: the app's annotated metrics are no longer scraped"


@pytest.mark.parametrize("name", list(PROFILES))
def test_the_istio_prometheus_is_scraped_by_the_federation_job_only(agents: Agents, name: str) -> None:
    """The prometheus.io/* annotations serve only where the agent finds /federate by them (v1 federating);
    elsewhere they make the annotation job scrape /federate (without match[]) for nothing."""
    r = agents.rendered[name]
    s = r.resolved.profile.sysdig
    jobs = {m["job"] for m in agents.series(name, f'sysdig_k8s_pod_uid="prom-{name}"')}
    assert jobs == ({f"{name}/{s.job_name}"} if s.federation else set())
    annotated = "prometheus.io/scrape" in pod_annotations(r)
    assert annotated == (r.resolved.sysdig_mode == "promscrape-v1" and s.federation)


@pytest.mark.parametrize("name", AMBIENT)
def test_ambient_ztunnel_and_waypoints_are_not_ingested_raw(agents: Agents, name: str) -> None:
    """The records of ztunnel's and the waypoints' series reach Sysdig through the federation: the agent
    scrapes neither pod (their charts annotate them, and their containers are named istio-proxy)."""
    for pod in ("ztunnel", "waypoint"):
        assert agents.series(name, f'sysdig_k8s_pod_uid="{pod}"') == [], pod


def test_without_ambient_the_ztunnel_pod_would_be_ingested(agents: Agents) -> None:
    """The same pods, a profile without ambient: the default annotation job ingests ztunnel's own series
    (so the test above can fail)."""
    assert agents.series("v2", '__name__="workload_manager_active_proxy_count",sysdig_k8s_pod_uid="ztunnel"')


def test_the_v1_envoy_rule_takes_istio_proxies_only(agents: Agents) -> None:
    """The documented scenario: where Istio merges, pilot-agent's 15020 (annotation rule) brings envoy's
    stats; elsewhere the envoy rule scrapes Istio's envoy on 15090; Contour's envoy goes to its annotation."""
    got = {(t.pod.uid, t.process.name, t.port, t.path) for t in agents.v1_targets["v1"]
           if t.pod.uid not in ("ztunnel", "waypoint")}  # a sidecar mesh's profile: see the ambient tests
    assert got == {
        ("merged", "pilot-agent", 15020, "/stats/prometheus"),
        ("unmerged", "envoy", 15090, "/stats/prometheus"),
        ("unmerged", "app", 8080, "/metrics"),
        ("contour", "envoy", 8002, "/stats/prometheus"),
        ("prom-v1", "prometheus", 9090, "/federate"),
    }


def test_the_default_v1_job_is_re_emitted() -> None:
    """prometheus-v1.default.yaml holds one job, ``default`` with sample_limit 40000: a user file replaces it."""
    r = render(load(None))
    _, jobs = agent_files(r)
    default = [j for j in jobs if j["job_name"] == "default"]
    assert len(default) == 1 and default[0]["sample_limit"] == 40000 and "sysdig_sd_configs" not in default[0]


def test_stand_in_fixture_is_not_stale() -> None:
    """The Prometheus pod labels above are the samples addon's (a guard on the fixture, not on istiogen)."""
    dep = yaml.safe_load((REPO / "tests/fixtures/addons/samples-1.22-deployment.yaml").read_text())
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert {k: v for k, v in PROM_LABELS.items() if k.startswith("app.kubernetes.io/")} == \
        {k: v for k, v in labels.items() if k.startswith("app.kubernetes.io/")}
