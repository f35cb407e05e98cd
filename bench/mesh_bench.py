"""Mesh benchmark (issues 3 and 14): raw vs federated series, rule evaluation time against its floor, and what
prometheus.drop_unused saves, in a real Prometheus.

    .venv/bin/python bench/mesh_bench.py [--pods 3 6] [--seconds 75] [--drop off|on|both]

A synthetic Telemetry-v2 mesh (20 services x 2 versions x N pods x 3 callers, an ingress
gateway and istiod; about 150,000 raw istio_* series at 3 pods) is scraped by a real
Prometheus (Debian's package) that loads the rules istiogen renders for it, and, for
comparison, the "workload:" rules of Istio's production-scale guide (sum without the
per-pod labels). Prints, per pod count: raw series, series our match[] federates, series
the workload rules would federate, the /federate response sizes, and rule evaluation time.

Per rule group (issue 14): its evaluation time (Prometheus' own ``evaluationTime``, median over the
evaluations sampled while the mesh is scraped) next to the floor: the time the same Prometheus takes to
evaluate a bare ``count()`` of each raw selector the group's rules read (and ``count_over_time`` over the
rules' range, the samples a rate reads), from its query statistics (``stats=all``), median of 5.

With ``--drop on`` (or ``both``), the profile sets ``prometheus.drop_unused`` and the mesh job carries the
rendered metric_relabel_configs: the head series (``prometheus_tsdb_head_series``) and resident memory
(``process_resident_memory_bytes``) are printed with and without it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from istiogen.pipeline import Rendered, render  # noqa: E402
from istiogen.render import promql as q  # noqa: E402
from istiogen.validate import load  # noqa: E402
from tests.conftest import materialize  # noqa: E402
from tests.e2e.mesh import Mesh  # noqa: E402
from tests.e2e.prom import Prometheus  # noqa: E402

SCRAPE = 5
PROFILE = f"""
name: mesh-bench
istio: {{version: "1.22"}}
prometheus: {{flavour: samples-1.22, scrape_interval: {SCRAPE}s}}
rules: {{window: {4 * SCRAPE}s, interval: {SCRAPE}s}}
sysdig: {{mode: promscrape-v2}}
"""
ISTIO_METRICS = (
    "istio_requests_total", "istio_request_duration_milliseconds_bucket", "istio_request_duration_milliseconds_count",
    "istio_request_duration_milliseconds_sum", "istio_request_bytes_bucket", "istio_request_bytes_count",
    "istio_request_bytes_sum", "istio_response_bytes_bucket", "istio_response_bytes_count",
    "istio_response_bytes_sum", "istio_tcp_sent_bytes_total", "istio_tcp_received_bytes_total",
    "istio_tcp_connections_opened_total", "istio_tcp_connections_closed_total",
)


def workload_rules() -> str:
    """Istio's documented production-scale rules: only the per-pod labels removed."""
    drop = "instance, namespace, pod, node, pod_template_hash"
    rules = [{"record": f"workload:{m}", "expr": f"sum without({drop}) ({m})"} for m in ISTIO_METRICS]
    return yaml.safe_dump({"groups": [{"name": "istio-docs.workload", "interval": f"{SCRAPE}s", "rules": rules}]})


class Exporter:
    """Serves the mesh fast: label sets are formatted once, only values per scrape."""

    def __init__(self, mesh: Mesh) -> None:
        self.lines = []
        for line in mesh.exposition(1.0).splitlines():
            prefix, value = line.rsplit(" ", 1)
            self.lines.append((prefix, float(value)))
        self.istiod = mesh.istiod
        self.start = time.time() - 3600
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                t = time.time() - outer.start
                if self.path.startswith("/istiod"):
                    body = outer.istiod(t).encode()
                else:
                    body = ("\n".join(f"{p} {r * t:.3f}" for p, r in outer.lines) + "\n").encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain; version=0.0.4")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # a scrape that timed out
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class BenchPrometheus(Prometheus):
    """The tests' server, with a patient client: 150,000 series on a loaded machine take more than 10 s."""

    def get(self, path: str, params: list[tuple[str, str]] | None = None) -> bytes:
        import urllib.parse
        import urllib.request

        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        with urllib.request.urlopen(url, timeout=120) as r:
            return bytes(r.read())


def baseline_rules(path: Path) -> str:
    """Another rendering's rules (say, of an earlier commit), renamed so they evaluate beside ours in the same
    Prometheus: groups ``baseline/<name>``, records ``baseline:<name>`` (and every reference to them)."""
    import re

    doc = yaml.safe_load(path.read_text())
    names = sorted({r["record"] for g in doc["groups"] for r in g["rules"] if "record" in r}, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w:])(" + "|".join(re.escape(n) for n in names) + r")(?![\w:])")
    groups = []
    for g in doc["groups"]:
        rules = [{**r, "record": "baseline:" + r["record"], "expr": pattern.sub(r"baseline:\1", r["expr"])}
                 for r in g["rules"] if "record" in r]
        groups.append({**g, "name": "baseline/" + g["name"], "rules": rules})
    return yaml.safe_dump({"groups": groups})


def run(pods: int, seconds: float, work: Path, drop: bool = False, baseline: Path | None = None,
        workload: bool = True) -> dict[str, Any]:
    rendered = render(load(_profile(work, drop)))
    tag = f"{pods}-{'drop' if drop else 'keep'}"
    tree = materialize(rendered, work / f"tree-{tag}")
    (tree / "workload-rules.yaml").write_text(workload_rules())
    rule_files = [str(tree / "prometheus/rules.yaml"), *([str(tree / "workload-rules.yaml")] if workload else [])]
    if baseline is not None:
        (tree / "baseline-rules.yaml").write_text(baseline_rules(baseline))
        rule_files.append(str(tree / "baseline-rules.yaml"))
    mesh = Mesh(services=20, versions=2, pods=pods, callers=3)
    exporter = Exporter(mesh)
    relabel = {}
    if drop:
        (job,) = yaml.safe_load((tree / "prometheus/prometheus-config-fragment.yaml").read_text())["scrape_configs"]
        relabel = {"metric_relabel_configs": job["metric_relabel_configs"]}
    config = {
        "global": {"scrape_interval": f"{SCRAPE}s", "evaluation_interval": f"{SCRAPE}s",
                   "scrape_timeout": f"{SCRAPE}s"},
        "rule_files": rule_files,
        "scrape_configs": [
            {"job_name": "mesh", "metrics_path": "/mesh", "sample_limit": 0,
             "static_configs": [{"targets": [f"127.0.0.1:{exporter.port}"]}], **relabel},
            {"job_name": "istiod", "metrics_path": "/istiod",
             "static_configs": [{"targets": [f"127.0.0.1:{exporter.port}"], "labels": {"app": "istiod"}}]},
        ],
    }
    prom = BenchPrometheus("/usr/bin/prometheus", yaml.safe_dump(config), work, f"prom-{tag}")
    try:
        prom.start()
        prom.wait_ready()
        evals: dict[str, dict[str, float]] = {}  # group -> lastEvaluation -> evaluationTime
        rss: list[float] = []
        deadline = time.monotonic() + seconds
        settle = time.monotonic() + min(seconds / 2, 40.0)  # the first windows are not full yet
        while time.monotonic() < deadline:
            time.sleep(SCRAPE / 2)
            if time.monotonic() < settle:
                continue
            for g in json.loads(prom.get("/api/v1/rules"))["data"]["groups"]:
                if g.get("lastEvaluation", "").startswith("0001"):
                    continue
                evals.setdefault(g["name"], {})[g["lastEvaluation"]] = g["evaluationTime"]
            rss.append(_self_metric(prom, "process_resident_memory_bytes"))
        out: dict[str, Any] = {}
        out["raw"] = _count(prom, '{__name__=~"istio_.*"}')
        out["head"] = _self_metric(prom, "prometheus_tsdb_head_series")
        out["rss"] = statistics.median(rss) if rss else _self_metric(prom, "process_resident_memory_bytes")
        match = rendered.model.match_selectors()
        body = prom.get("/federate", [("match[]", m) for m in match])
        out["federated"] = sum(1 for x in body.decode().splitlines() if x and not x.startswith("#"))
        out["federated_bytes"] = len(body)
        out["workload"] = _count(prom, '{__name__=~"workload:.*"}')
        everything = prom.get("/federate", [("match[]", '{__name__=~"istio_.*"}')])
        out["everything_bytes"] = len(everything)
        medians = {name: statistics.median(times.values()) for name, times in evals.items()}
        ours = {name: t for name, t in medians.items() if name.startswith("istio.")}
        out["eval_max"] = max(ours.values())
        out["eval_sum"] = sum(ours.values())
        out["workload_eval"] = medians.get("istio-docs.workload", 0.0)
        out["samples"] = min(len(t) for t in evals.values())
        out["groups"] = [(g.name, ours.get(g.name, float("nan")), *_floor(prom, rendered, g.name))
                         for g in rendered.model.rule_groups]
        out["baseline"] = {name[len("baseline/"):]: t for name, t in medians.items() if name.startswith("baseline/")}
        answered = 0
        for q in rendered.model.queries:
            if q.signal == "errors.ratio_grpc":  # no gRPC traffic in this mesh
                continue
            answered += 1 if prom.query(q.expr) else 0
        out["answered"] = answered
        out["questions"] = sum(1 for q in rendered.model.queries if q.signal != "errors.ratio_grpc")
        return out
    finally:
        prom.stop()
        exporter.close()


def raw_selectors(rendered: Rendered, group: str) -> list[tuple[str, float | None]]:
    """The raw selectors the group's rules read (metrics no rule records), as text, with their range if any."""
    import promql_parser as pp

    from istiogen.promast import nodes

    recorded = {x.record for x in rendered.model.rules}
    ops = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}
    out: list[tuple[str, float | None]] = []
    for g in rendered.model.rule_groups:
        if g.name != group:
            continue
        for rule in g.rules:
            tree = pp.parse(rule.expr)
            ranges = {id(n.vector_selector): n.range.total_seconds() for n in nodes(tree)
                      if isinstance(n, pp.MatrixSelector)}
            for n in nodes(tree):
                if isinstance(n, pp.VectorSelector) and n.name and n.name not in recorded:
                    ms = [(m.name, ops[str(m.op)], m.value) for m in n.matchers.matchers if m.name != "__name__"]
                    out.append((q.selector(n.name, ms), ranges.get(id(n))))
    return out


def _timed(prom: Prometheus, expr: str, runs: int = 5) -> float:
    """The server's own evaluation time of an instant query (its query statistics), median of ``runs``."""
    times = []
    for _ in range(runs):
        body = json.loads(prom.get("/api/v1/query", [("query", expr), ("stats", "all")]))
        times.append(float(body["data"]["stats"]["timings"]["evalTotalTime"]))
    return statistics.median(times)


def _floor(prom: Prometheus, rendered: Rendered, group: str) -> tuple[int, float, float, float]:
    """(raw selectors, their count() times, their count(count_over_time()) times over the rules' ranges, and the
    group's rules' own expressions as queries, timed the same way and in turn with them: like with like)."""
    sels = raw_selectors(rendered, group)
    exprs = [r.expr for g in rendered.model.rule_groups if g.name == group for r in g.rules]
    bare, ranged, rules = [0.0] * 5, [0.0] * 5, [0.0] * 5
    for i in range(5):  # interleaved, so a burst of load on a shared machine hits all three alike
        bare[i] = sum(_timed(prom, f"count({s})", 1) for s, _ in sels)
        ranged[i] = sum(_timed(prom, f"count(count_over_time({s}[{int(r)}s]))" if r else f"count({s})", 1)
                        for s, r in sels)
        rules[i] = sum(_timed(prom, e, 1) for e in exprs)
    return len(sels), statistics.median(bare), statistics.median(ranged), statistics.median(rules)


def _self_metric(prom: Prometheus, name: str) -> float:
    """A metric of the Prometheus process itself, from its /metrics (it does not scrape itself here)."""
    for line in prom.get("/metrics").decode().splitlines():
        if line.startswith((name + " ", name + "{")):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def _profile(work: Path, drop: bool) -> Path:
    path = work / ("mesh-bench-drop.yaml" if drop else "mesh-bench.yaml")
    text = PROFILE.replace("flavour: samples-1.22,", "flavour: samples-1.22, drop_unused: true,") if drop else PROFILE
    assert not drop or "drop_unused" in text
    path.write_text(text)
    return path


def _count(prom: Prometheus, selector: str) -> float:
    v = prom.vector(f"count({selector})")
    return next(iter(v.values()), 0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, nargs="+", default=[3, 6])
    ap.add_argument("--seconds", type=float, default=75.0, help="how long each mesh is scraped before measuring")
    ap.add_argument("--drop", choices=["off", "on", "both"], default="both",
                    help="prometheus.drop_unused: off, on, or both (the head series and memory compared)")
    ap.add_argument("--baseline-rules", type=Path, help="a rules.yaml rendered for this benchmark's profile by "
                    "another version of istiogen: evaluated beside ours in the same Prometheus, groups compared")
    ap.add_argument("--no-workload", action="store_true", help="leave out Istio's documented workload: rules (the "
                    "heaviest group: its CPU competes with what is measured on a small machine)")
    args = ap.parse_args()
    variants = {"off": [False], "on": [True], "both": [False, True]}[args.drop]
    with tempfile.TemporaryDirectory() as d:
        for pods in args.pods:
            results = {drop: run(pods, args.seconds, Path(d), drop, args.baseline_rules, not args.no_workload)
                       for drop in variants}
            for drop, r in results.items():
                _report(pods, drop, r)
            if len(results) == 2:
                keep, dropped = results[False], results[True]
                print(f"  prometheus.drop_unused: head series {keep['head']:,.0f} -> {dropped['head']:,.0f} "
                      f"({dropped['head'] / keep['head']:.2f}x), resident memory {keep['rss'] / 2**20:,.0f} MiB -> "
                      f"{dropped['rss'] / 2**20:,.0f} MiB ({dropped['rss'] / keep['rss']:.2f}x)")
    print("PromCat's Istio 1.5 rules on the same mesh, as measured for issue 3: 4,150 series, 10-22 s per evaluation "
          "(not rerun here: its bundle is GPL-3.0 and is not part of this project)")


def _report(pods: int, drop: bool, r: dict[str, Any]) -> None:
    print(f"mesh 20 services x 2 versions x {pods} pods x 3 callers, scrape every {SCRAPE}s, "
          f"prometheus.drop_unused {'on' if drop else 'off'}:")
    print(f"  raw istio_* series:                      {r['raw']:>9,.0f}")
    print(f"  Prometheus head series:                  {r['head']:>9,.0f}   ({r['head'] - r['workload']:,.0f} without "
          f"the workload: comparison); resident memory {r['rss'] / 2**20:,.0f} MiB (median while scraped)")
    print(f"  federated by istiogen's match[]:         {r['federated']:>9,.0f}  [<= 1,500; "
          f"{r['raw'] / max(r['federated'], 1):.0f}x fewer than raw]")
    print(f"  Istio's documented workload: rules:      {r['workload']:>9,.0f}")
    print(f"  /federate response: istiogen {r['federated_bytes'] / 1e6:.2f} MB, "
          f"everything istio_* {r['everything_bytes'] / 1e6:.1f} MB")
    print(f"  rule evaluation: istiogen groups {r['eval_sum'] * 1000:.0f} ms in total "
          f"(slowest group {r['eval_max'] * 1000:.0f} ms; interval {SCRAPE * 1000} ms); "
          f"workload: rules {r['workload_eval'] * 1000:.0f} ms; median of {r['samples']} evaluations")
    print("  per group, ms: evaluationTime | its rules run as queries vs the floor: the same raw selectors' count(), "
          "count_over_time over the rules' ranges (query stats, interleaved, median of 5)")
    for name, ev, n, bare, ranged, rules in r["groups"]:
        ratio = f"{rules / bare:.1f}x count()" if bare else ""
        base = r["baseline"].get(name)
        was = f"; baseline's group {base * 1000:.1f}" if base is not None else ""
        print(f"    {name:<22} {ev * 1000:>7.1f} | as queries {rules * 1000:>7.1f} vs count() {bare * 1000:>7.1f}, "
              f"count_over_time {ranged * 1000:>7.1f}  [{ratio}; {n} raw selectors{was}]")
    print(f"  catalog questions answered: {r['answered']:.0f} of {r['questions']:.0f}")


if __name__ == "__main__":
    main()
