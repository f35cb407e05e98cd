"""Mesh benchmark (issue 3): raw vs federated series and rule evaluation time, in a real Prometheus.

    .venv/bin/python bench/mesh_bench.py [--pods 3 6] [--seconds 75]

A synthetic Telemetry-v2 mesh (20 services x 2 versions x N pods x 3 callers, an ingress
gateway and istiod; about 150,000 raw istio_* series at 3 pods) is scraped by a real
Prometheus (Debian's package) that loads the rules istiogen renders for it, and, for
comparison, the "workload:" rules of Istio's production-scale guide (sum without the
per-pod labels). Prints, per pod count: raw series, series our match[] federates, series
the workload rules would federate, the /federate response sizes, and rule evaluation time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from istiogen.pipeline import render  # noqa: E402
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


def run(pods: int, seconds: float, work: Path) -> dict[str, float]:
    rendered = render(load(_profile(work)))
    tree = materialize(rendered, work / f"tree-{pods}")
    (tree / "workload-rules.yaml").write_text(workload_rules())
    mesh = Mesh(services=20, versions=2, pods=pods, callers=3)
    exporter = Exporter(mesh)
    config = {
        "global": {"scrape_interval": f"{SCRAPE}s", "evaluation_interval": f"{SCRAPE}s",
                   "scrape_timeout": f"{SCRAPE}s"},
        "rule_files": [str(tree / "prometheus/rules.yaml"), str(tree / "workload-rules.yaml")],
        "scrape_configs": [
            {"job_name": "mesh", "metrics_path": "/mesh", "sample_limit": 0,
             "static_configs": [{"targets": [f"127.0.0.1:{exporter.port}"]}]},
            {"job_name": "istiod", "metrics_path": "/istiod",
             "static_configs": [{"targets": [f"127.0.0.1:{exporter.port}"], "labels": {"app": "istiod"}}]},
        ],
    }
    prom = Prometheus("/usr/bin/prometheus", yaml.safe_dump(config), work, f"prom-{pods}")
    try:
        prom.start()
        prom.wait_ready()
        time.sleep(seconds)
        out: dict[str, float] = {}
        out["raw"] = _count(prom, '{__name__=~"istio_.*"}')
        match = rendered.model.match_selectors()
        body = prom.get("/federate", [("match[]", m) for m in match])
        out["federated"] = sum(1 for x in body.decode().splitlines() if x and not x.startswith("#"))
        out["federated_bytes"] = len(body)
        out["workload"] = _count(prom, '{__name__=~"workload:.*"}')
        everything = prom.get("/federate", [("match[]", '{__name__=~"istio_.*"}')])
        out["everything_bytes"] = len(everything)
        groups = json.loads(prom.get("/api/v1/rules"))["data"]["groups"]
        ours = [g for g in groups if g["name"].startswith("istio.")]
        out["eval_max"] = max(g["evaluationTime"] for g in ours)
        out["eval_sum"] = sum(g["evaluationTime"] for g in ours)
        out["workload_eval"] = sum(g["evaluationTime"] for g in groups if g["name"] == "istio-docs.workload")
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


def _profile(work: Path) -> Path:
    path = work / "mesh-bench.yaml"
    path.write_text(PROFILE)
    return path


def _count(prom: Prometheus, selector: str) -> float:
    v = prom.vector(f"count({selector})")
    return next(iter(v.values()), 0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, nargs="+", default=[3, 6])
    ap.add_argument("--seconds", type=float, default=75.0, help="how long each mesh is scraped before measuring")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        for pods in args.pods:
            r = run(pods, args.seconds, Path(d))
            print(f"mesh 20 services x 2 versions x {pods} pods x 3 callers, scrape every {SCRAPE}s:")
            print(f"  raw istio_* series:                      {r['raw']:>9,.0f}")
            print(f"  federated by istiogen's match[]:         {r['federated']:>9,.0f}  [<= 1,500; "
                  f"{r['raw'] / max(r['federated'], 1):.0f}x fewer than raw]")
            print(f"  Istio's documented workload: rules:      {r['workload']:>9,.0f}")
            print(f"  /federate response: istiogen {r['federated_bytes'] / 1e6:.2f} MB, "
                  f"everything istio_* {r['everything_bytes'] / 1e6:.1f} MB")
            print(f"  rule evaluation: istiogen groups {r['eval_sum'] * 1000:.0f} ms in total "
                  f"(slowest group {r['eval_max'] * 1000:.0f} ms; interval {SCRAPE * 1000} ms); "
                  f"workload: rules {r['workload_eval'] * 1000:.0f} ms")
            print(f"  catalog questions answered: {r['answered']:.0f} of {r['questions']:.0f}")
    print("PromCat's Istio 1.5 rules on the same mesh, as measured for issue 3: 4,150 series, 10-22 s per evaluation "
          "(not rerun here: its bundle is GPL-3.0 and is not part of this project)")


if __name__ == "__main__":
    main()
