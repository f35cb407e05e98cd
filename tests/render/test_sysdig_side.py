"""The Sysdig agent side: dragent.yaml settings and the sysdig-agent ConfigMap patch."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from istiogen.pipeline import Rendered
from tests.conftest import REPO, materialize, render_text, run

AGENT_CM = REPO / "tests" / "fixtures" / "addons" / "sysdig-agent-configmap.yaml"


def agent_prometheus_yaml(r: Rendered) -> dict:  # type: ignore[type-arg]
    patch = yaml.safe_load(r.files["sysdig/sysdig-agent-patch.yaml"])
    assert list(patch) == ["data"] and list(patch["data"]) == ["prometheus.yaml"]
    return yaml.safe_load(patch["data"]["prometheus.yaml"])  # type: ignore[no-any-return]


def test_patch_sets_only_prometheus_yaml_and_leaves_dragent_untouched(tmp_path: Path, kubectl: str,
                                                                       default_rendered: Rendered) -> None:
    tree = materialize(default_rendered, tmp_path / "tree")
    before = yaml.safe_load(AGENT_CM.read_text())
    out = run([kubectl, "patch", "--local", "-f", str(AGENT_CM), "--type", "strategic",
               "--patch-file", str(tree / "sysdig/sysdig-agent-patch.yaml"), "-o", "json"])
    after = json.loads(out.stdout)
    assert after["data"]["dragent.yaml"] == before["data"]["dragent.yaml"]
    assert after["metadata"]["labels"] == before["metadata"]["labels"]
    prom = yaml.safe_load(after["data"]["prometheus.yaml"])
    # the federation job, then the agent's default v1 job (a user prometheus.yaml replaces the default file)
    assert [j["job_name"] for j in prom["scrape_configs"]] == ["istio-federation", "default"]


def test_v1_federation_job_is_the_documented_recipe(default_rendered: Rendered) -> None:
    job = agent_prometheus_yaml(default_rendered)["scrape_configs"][0]
    assert job["honor_labels"] is True
    assert job["metrics_path"] == "/federate"
    assert job["sysdig_sd_configs"] == [{"tags": {"namespace": "istio-system", "deployment": "prometheus"}}]
    assert job["metric_relabel_configs"] == [{"action": "labeldrop", "regex": "namespace|pod_name"}]
    assert "kubernetes_sd_configs" not in job


def test_match_is_derived_from_the_rendered_rules(default_rendered: Rendered) -> None:
    """match[] names exactly the recorded series that carry the federation label, nothing raw."""
    rules = yaml.safe_load(default_rendered.files["prometheus/rules.yaml"])
    records = sorted({r["record"] for g in rules["groups"] for r in g["rules"]
                      if r.get("labels", {}).get("sysdig") == "true"})
    job = agent_prometheus_yaml(default_rendered)["scrape_configs"][0]
    assert job["params"]["match[]"] == [f'{rec}{{sysdig="true"}}' for rec in records]
    assert not any(m.startswith("istio_") for m in job["params"]["match[]"])


def test_v2_uses_kubernetes_sd_with_hostips_and_selects_the_flavour_pod(tmp_path: Path) -> None:
    r = render_text(tmp_path, """
        name: v2
        istio: {version: "1.22"}
        sysdig: {mode: promscrape-v2, envoy_filter: true}
        """)
    jobs = {j["job_name"]: j for j in agent_prometheus_yaml(r)["scrape_configs"]}
    fed = jobs["istio-federation"]
    assert "sysdig_sd_configs" not in fed
    assert fed["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["istio-system"]}}]
    keep = [(x["source_labels"][0], x["regex"]) for x in fed["relabel_configs"] if x["action"] == "keep"]
    assert keep[0] == ("__meta_kubernetes_pod_host_ip", "__HOSTIPS__")
    assert ("__meta_kubernetes_pod_label_app_kubernetes_io_name", "prometheus") in keep
    assert ("__meta_kubernetes_pod_container_port_number", "9090") in keep
    assert set(jobs) == {"istio-federation", "istio-envoy", "k8s-pods"}
    envoy = jobs["istio-envoy"]
    assert envoy["metrics_path"] == "/stats/prometheus"
    assert any(x.get("regex") == "__HOSTIPS__" for x in envoy["relabel_configs"])
    # the default annotation job comes back (a user prometheus.yaml replaces the default), minus raw istio_*
    assert jobs["k8s-pods"]["metric_relabel_configs"] == [
        {"action": "drop", "source_labels": ["__name__"], "regex": "istio_.*"}
    ]
    dragent = yaml.safe_load(r.files["sysdig/dragent.yaml"])
    assert dragent["prometheus"]["prom_service_discovery"] is True
    assert "process_filter" not in dragent["prometheus"]  # ignored by v2


def test_v1_process_filter_envoy_first_then_the_agent_defaults(default_rendered: Rendered) -> None:
    d = yaml.safe_load(default_rendered.files["sysdig/dragent.yaml"])
    prom = d["prometheus"]
    assert d["use_promscrape"] is True
    assert prom["enabled"] is True and prom["prom_service_discovery"] is False
    assert (prom["max_metrics"], prom["max_metrics_per_process"]) == (3000, 20000)
    pf = prom["process_filter"]
    # Istio's envoy only (container istio-proxy), skipped where pilot-agent's merged 15020 serves its stats
    assert pf[0] == {"exclude": {"process.name": "envoy", "container.name": "istio-proxy",
                                 "kubernetes.pod.annotation.prometheus.io/port": "15020"}}
    assert pf[1] == {"include": {"process.name": "envoy", "container.name": "istio-proxy",
                                 "conf": {"port": 15090, "path": "/stats/prometheus"}}}
    includes = [rule["include"] for rule in pf[2:] if "include" in rule]
    pod_scrape = [k for k in includes if k.get("kubernetes.pod.annotation.prometheus.io/scrape") == "true"]
    assert pod_scrape, "the default annotation rules are re-emitted after ours"
    assert pod_scrape[-1]["conf"] == {"path": "{kubernetes.pod.annotation.prometheus.io/path}",
                                      "port": "{kubernetes.pod.annotation.prometheus.io/port}"}
    # templated values stay quoted strings for the agent
    text = default_rendered.files["sysdig/dragent.yaml"].decode()
    assert "path: '{kubernetes.pod.annotation.prometheus.io/path}'" in text
    assert "prometheus.io/port: '15020'" in text


def test_envoy_filter_off_and_no_defaults_still_finds_the_prometheus_pod(tmp_path: Path) -> None:
    r = render_text(tmp_path, """
        name: v1-minimal
        istio: {version: "1.5"}
        sysdig: {mode: promscrape-v1, envoy_filter: false, keep_default_rules: false}
        """)
    pf = yaml.safe_load(r.files["sysdig/dragent.yaml"])["prometheus"]["process_filter"]
    assert pf == [{"include": {"kubernetes.namespace.name": "istio-system", "kubernetes.deployment.name": "prometheus",
                               "conf": {"port": 9090, "path": "/federate"}}}]


def test_double_collection_is_a_warning(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """Remote-written and federated, the records would reach Sysdig twice: only the user can choose."""
    from tests.conftest import write_profile

    p = write_profile(tmp_path, """
        name: twice
        istio: {version: "1.9"}
        remote_write: {url: "https://us2.app.sysdig.com/prometheus/remote/write", secret: {name: rw, key: token}}
        """)
    res = cli("validate", str(p))
    assert res.code == 0
    assert "ingested twice" in res.out
    assert "[double-collection]" in res.out
    assert "profile.yaml:3:15: warning: remote_write" in res.out


def test_envoy_filter_with_metrics_merging_renders_without_warning(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """envoy_filter with merging is no double collection any more (prevented in the rendered config, see
    tests/e2e/test_agent_scrape.py): nothing to warn about, in either mode."""
    from tests.conftest import write_profile

    for mode in ("promscrape-v1", "promscrape-v2"):
        p = write_profile(tmp_path, f"""
            name: merged
            istio: {{version: "1.9", metrics_merging: true}}
            sysdig: {{mode: {mode}, envoy_filter: true}}
            """)
        res = cli("validate", str(p))
        # v1 is legacy: its deprecation is the one warning (tests/validate/test_agent_mode.py)
        warnings = [x for x in res.out.splitlines() if ": warning: " in x]
        assert res.code == 0 and all("[promscrape-v1-legacy]" in w for w in warnings), mode
        assert len(warnings) == (mode == "promscrape-v1"), mode


def test_the_default_profile_renders_without_warning(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """The embedded default is the documented scenario done right: nothing to warn about (its agent, of the
    guide's time, predates promscrape v2, so v1 is what that agent runs)."""
    res = cli("render", "--out", str(tmp_path / "out"))
    assert res.code == 0
    assert res.err == ""
    assert "warning" not in res.out
    assert "Warnings" not in (tmp_path / "out/default/README.md").read_text()


def _mesh_profile(tmp_path: Path, services: int, sysdig: str) -> Path:
    from tests.conftest import write_profile

    lines = "\n".join(f"  - {{name: s{i}, namespace: shop, versions: [v1, v2]}}" for i in range(services))
    return write_profile(tmp_path, f'name: mesh\nistio: {{version: "1.22"}}\nsysdig: {sysdig}\nservices:\n{lines}\n')


# Istio 1.22, default rules: per service version (the base key) 4 response classes + 2 gRPC statuses
# + 13 latency buckets (12 kept bounds and +Inf) + 4 TCP rates = 23; per service 2 × 12 size buckets
# + 6 gateway codes + 4 response classes seen by callers (client:istio_requests) = 34; fixed: 13 gateway
# latency buckets + 9 push types + 9 convergence buckets + 6 = 37.
# (The e2e test checks these bounds against a real federation.)
def _bound(services: int, versions: int) -> int:
    return services * versions * 23 + services * 34 + 37


def test_agent_limits_warn_when_the_federation_would_be_cut(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    p = _mesh_profile(tmp_path, 60, "{mode: promscrape-v2}")
    res = cli("validate", str(p))
    assert res.code == 0
    n = _bound(60, 2)
    assert n == 4837
    assert (f"profile.yaml:3:9: warning: sysdig.limits.max_metrics: the agent federates at most {n} series for "
            "the 60 listed service(s) (+57 per further service), above max_metrics 3000") in res.out
    assert "raise max_metrics and max_metrics_per_process to at least 7000" in res.out  # 4837 + a quarter, to 1000s
    assert f"mesh: the agent federates at most {n} series" in res.out and f"{n - 3000} series over the limit" in res.out
    # the tighter of the two limits counts: the federation is one process
    p = _mesh_profile(tmp_path, 60, "{mode: promscrape-v2, limits: {max_metrics: 50000, "
                      "max_metrics_per_process: 4000}}")
    assert "warning: sysdig.limits.max_metrics_per_process:" in cli("validate", str(p)).out
    p = _mesh_profile(tmp_path, 60, "{mode: promscrape-v2, limits: {max_metrics: 6000, "
                      "max_metrics_per_process: 6000}}")
    res = cli("validate", str(p))
    assert "0 warning(s)" in res.out and "room for about 20 more services" in res.out  # (6000 - 4837) // 57
    # remote-written, the records do not go through the agent: nothing to compare
    p = _mesh_profile(tmp_path, 60, "{mode: promscrape-v2, federation: false}\nremote_write: "
                      "{url: 'https://us2.app.sysdig.com/prometheus/remote/write', auth: none}")
    res = cli("validate", str(p))
    assert "0 warning(s)" in res.out and "remote-writes at most" in res.out


def test_agent_tag_limit_is_compared(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """Base key (6 destination labels) + response_class or le + the federation label: 8 labels."""
    p = _mesh_profile(tmp_path, 1, "{limits: {max_tags_per_metric: 7}}")
    assert "federated series carry up to 8 labels, above max_tags_per_metric 7" in cli("validate", str(p)).out
    p = _mesh_profile(tmp_path, 1, "{limits: {max_tags_per_metric: 8}}")
    assert "0 warning(s)" in cli("validate", str(p)).out


def test_the_tree_readme_states_the_series_budget(tmp_path: Path) -> None:
    r = render_text(tmp_path, _mesh_profile(tmp_path, 3, "{mode: promscrape-v2}").read_text())
    text = r.files["README.md"].decode()
    n = _bound(3, 2)
    assert f"ingests at most {n} series for the 3 listed service(s)" in text
    assert "| `destination:istio_requests:rate1m` | 24 |" in text  # 6 service versions × 4 classes
    assert "| `gateway:istio_requests:rate1m` | 18 |" in text  # 3 services × 6 codes
