"""Every performance figure of issue 14, each as a ratio against a yardstick measured in the same run.

    .venv/bin/python bench/run.py [--runs N]

Absolute times vary between machines and with the load of a shared one, so each figure is paired with
its yardstick: the two are run alternately (A B A B ...), and the ratio is of their medians.  Wall time
(time.perf_counter around each child process) is the figure; the children's CPU time (user + system,
from getrusage) is printed beside it, since a loaded machine stretches wall time more than CPU time.
Not a test: nothing here fails.

1. cold ``istiogen render`` of the embedded default, a new process into an empty folder, against
   ``kubectl kustomize`` building a Component (a rules ConfigMap and a strategic-merge patch, like the
   one istiogen renders) over a base Deployment of the samples flavour;                      [<= 1.0x]
2. ``istiogen check`` over every profile in profiles/, nothing stale, against a cold render of one
   (profiles/bookinfo.yaml);                                                                  [<= 1.0x]
3. ``istiogen --version`` against the interpreter alone (``python -c pass``, the same interpreter);
                                                                                              [<= 2.0x]
4. load + render in process of 1,000 services x 3 versions with 200 experiments            [<= 1.5 s],
   and of 2,000 x 3 with 400, against it                                                   [<= 2.0x];
5. lint of the rendered profiles/bookinfo.yaml tree (read + every check, in process), against load + render
   of the same profile in process (the absolute time is printed too: it was once a timed test, "well under
   a second")                                                                              [<= 1.0x];
6. ``istiogen lint`` of a Grafana dashboard of 4,000 panels, against one of 1,000 (linear is 4x plus the
   start-up's share; a regex search per position made it quadratic, 16x)                   [<= 6.0x];
7. the mesh benchmark (bench/mesh_bench.py --pods 3 --drop both --no-workload: a real Prometheus scraping
   150,000 raw series for minutes, 2 GiB of memory): each rule group's evaluation time next to the bare
   ``count()`` floor, and Prometheus' head series and resident memory with and without
   prometheus.drop_unused.  Left out by ``--only`` unless named.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bench.profiles import write_large  # noqa: E402

ISTIOGEN = str(Path(sys.executable).parent / "istiogen")
QUIET = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}

BASE = """apiVersion: apps/v1
kind: Deployment
metadata: {name: prometheus, namespace: istio-system, labels: {app: prometheus, release: istio}}
spec:
  selector: {matchLabels: {app: prometheus}}
  template:
    metadata: {labels: {app: prometheus, release: istio}, annotations: {sidecar.istio.io/inject: "false"}}
    spec:
      containers:
        - name: prometheus
          image: prom/prometheus:v2.41.0
          args: [--config.file=/etc/prometheus/prometheus.yml]
          volumeMounts: [{name: config-volume, mountPath: /etc/prometheus}]
      volumes: [{name: config-volume, configMap: {name: prometheus}}]
"""
COMPONENT = """apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources: [rules-configmap.yaml]
patches:
  - path: deployment-patch.yaml
"""
RULES_CM = """apiVersion: v1
kind: ConfigMap
metadata: {name: rules, namespace: istio-system}
data:
  rules.yaml: |
    groups:
      - name: istio.workload
        rules:
          - record: workload:istio_requests:rate1m
            expr: sum by (destination_workload, response_code) (rate(istio_requests_total[1m]))
"""
PATCH = """apiVersion: apps/v1
kind: Deployment
metadata: {name: prometheus, namespace: istio-system}
spec:
  template:
    metadata:
      annotations: {prometheus.io/scrape: "true", prometheus.io/port: "9090", prometheus.io/path: /federate}
    spec:
      volumes:
        - name: config-volume
          configMap: null
          projected:
            sources:
              - configMap: {name: prometheus}
              - configMap: {name: rules, items: [{key: rules.yaml, path: istiogen/rules.yaml}]}
"""


PHASES = """
import json, shutil, sys, time
from pathlib import Path
t = [time.perf_counter()]
import istiogen.cli.main
t.append(time.perf_counter())
import pydantic
t.append(time.perf_counter())
import istiogen.profile.models
t.append(time.perf_counter())
import ruamel.yaml, istiogen.source
t.append(time.perf_counter())
import promql_parser, istiogen.profile.promql, istiogen.profile.resolve, istiogen.validate.rules
t.append(time.perf_counter())
import istiogen.emit.writer, istiogen.pipeline
t.append(time.perf_counter())
r = istiogen.validate.load(None)
t.append(time.perf_counter())
x = istiogen.pipeline.render(r)
t.append(time.perf_counter())
istiogen.emit.writer.write_tree(Path(sys.argv[1]), "default", x.files)
t.append(time.perf_counter())
print(json.dumps([b - a for a, b in zip(t, t[1:])]))
"""
PHASE_NAMES = ("CLI and argparse", "pydantic import", "profile models (pydantic validators built)", "ruamel.yaml",
               "profile loader, cross-field rules, promql-parser", "render and emit modules", "loading the profile",
               "rendering", "writing the tree (fsync)")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"{now}; {platform.machine()}, nproc {os.cpu_count()}, {cpu}; load average {load}; "
            f"Python {platform.python_version()}, {platform.platform()}")


def child(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, **QUIET)  # type: ignore[call-overload]
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def peak_rss_mb(argv: list[str], cwd: Path) -> float:
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], cwd=cwd, check=True, capture_output=True, text=True)
    return int(out.stderr.strip().splitlines()[-1]) / 1024


def paired(runs: int, a: Callable[[], tuple[float, float]], b: Callable[[], tuple[float, float]]) \
        -> tuple[tuple[float, float], tuple[float, float]]:
    """Medians (wall, cpu) of A and of B, run alternately A B A B ... after one warm-up of each."""
    a(), b()
    ra, rb = [], []
    for _ in range(runs):
        ra.append(a())
        rb.append(b())
    med = statistics.median
    return (med(x[0] for x in ra), med(x[1] for x in ra)), (med(x[0] for x in rb), med(x[1] for x in rb))


def line(label: str, a: tuple[float, float], b: tuple[float, float], yardstick: str, target: float) -> None:
    ratio, cpu_ratio = a[0] / b[0], a[1] / b[1]
    verdict = "met" if ratio <= target else "NOT met"
    print(f"{label}: {ratio:.2f}x [<= {target:.1f}x: {verdict}]  (medians: {a[0] * 1000:.0f} ms vs {yardstick} "
          f"{b[0] * 1000:.0f} ms; CPU {a[1] * 1000:.0f} ms vs {b[1] * 1000:.0f} ms = {cpu_ratio:.2f}x)")


def cold_render(runs: int, work: Path) -> None:
    site = work / "kustomize"
    for folder, files in {"base": {"deployment.yaml": BASE, "kustomization.yaml": "resources: [deployment.yaml]\n"},
                          "component": {"kustomization.yaml": COMPONENT, "rules-configmap.yaml": RULES_CM,
                                        "deployment-patch.yaml": PATCH},
                          "overlay": {"kustomization.yaml": "resources: [../base]\ncomponents: [../component]\n"}
                          }.items():
        (site / folder).mkdir(parents=True)
        for name, text in files.items():
            (site / folder / name).write_text(text)
    check = subprocess.run(["kubectl", "kustomize", str(site / "overlay")], capture_output=True, text=True,
                           check=True, env={**os.environ, "KUBECONFIG": "/nonexistent"})
    assert "istiogen/rules.yaml" in check.stdout and "kind: ConfigMap" in check.stdout
    counter = iter(range(10**6))

    def render() -> tuple[float, float]:
        d = work / f"cold-{next(counter)}"
        d.mkdir()
        r = child([ISTIOGEN, "render", "-q"], d)
        shutil.rmtree(d)
        return r

    a, b = paired(runs, render, lambda: child(["kubectl", "kustomize", str(site / "overlay")], site))
    line("1. cold `istiogen render` (embedded default) / `kubectl kustomize` (Component over a base)", a, b,
         "kustomize", 1.0)
    # the floor: what any process validating the profile with pydantic pays before it reads the profile
    # (each leaves by os._exit, as the command does)
    floor = {"the interpreter (python -c pass)": "", "+ import pydantic.main": "import pydantic.main",
             "+ the profile's pydantic models built": "import istiogen.profile.models"}
    shares = []
    for label, code in floor.items():
        f, k = paired(runs, lambda code=code: child([sys.executable, "-c", f"{code}\nimport os; os._exit(0)"], work),
                      lambda: child(["kubectl", "kustomize", str(site / "overlay")], site))
        shares.append(f"{label} {f[0] * 1000:.0f} ms = {f[0] / k[0]:.2f}x")
    print(f"   the floor, against kustomize in the same pairs: {'; '.join(shares)}")
    d = work / "rss"
    d.mkdir()
    print(f"   peak RSS of the cold render: {peak_rss_mb([ISTIOGEN, 'render', '-q'], d):.0f} MB")
    import json

    samples = []
    for i in range(runs):
        res = subprocess.run([sys.executable, "-c", PHASES, str(work / f"phases-{i}")], capture_output=True,
                             text=True, check=True)
        samples.append(json.loads(res.stdout))
    medians = [statistics.median(s[i] for s in samples) for i in range(len(PHASE_NAMES))]
    parts = "; ".join(f"{n} {m * 1000:.0f} ms" for n, m in zip(PHASE_NAMES, medians, strict=True))
    bare = statistics.median(child([sys.executable, "-c", "pass"], work)[0] for _ in range(runs))
    print(f"   where a cold render goes (in-process phases, medians of {runs}; interpreter start {bare * 1000:.0f} "
          f"ms before them): {parts}; sum {sum(medians) * 1000:.0f} ms")


def check_vs_render(runs: int, work: Path) -> None:
    repo = work / "repo"
    for name in ("profiles", "output", "schema"):
        if (REPO / name).exists():
            shutil.copytree(REPO / name, repo / name)
    res = subprocess.run([ISTIOGEN, "check"], cwd=repo, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        print(f"2. skipped: `istiogen check` of the committed output exits {res.returncode}: {res.stdout.strip()}")
        return
    counter = iter(range(10**6))

    def render_one() -> tuple[float, float]:
        out = work / f"one-{next(counter)}"
        r = child([ISTIOGEN, "render", str(repo / "profiles/bookinfo.yaml"), "--out", str(out), "-q"], repo)
        shutil.rmtree(out)
        return r

    a, b = paired(runs, lambda: child([ISTIOGEN, "check"], repo), render_one)
    n = len([p for p in (repo / "output").iterdir() if p.is_dir()])
    line(f"2. `istiogen check` ({n} profiles, nothing stale) / cold render of profiles/bookinfo.yaml", a, b,
         "render", 1.0)
    full = statistics.median(child([ISTIOGEN, "check", "--full"], repo)[0] for _ in range(max(1, runs // 3)))
    print(f"   for comparison, `istiogen check --full` (renders and validates all): {full * 1000:.0f} ms "
          f"= {full / b[0]:.2f}x the render")


def startup(runs: int, work: Path) -> None:
    a, b = paired(runs * 2, lambda: child([ISTIOGEN, "--version"], work),
                  lambda: child([sys.executable, "-c", "pass"], work))
    line("3. `istiogen --version` / `python -c pass` (same interpreter)", a, b, "python", 2.0)


def large(runs: int, work: Path) -> None:
    from istiogen.api import render  # the pipeline and the second validation stage, as the CLI renders
    from istiogen.validate import load

    def timed(path: Path) -> Callable[[], tuple[float, float]]:
        def run() -> tuple[float, float]:
            t, c = time.perf_counter(), time.process_time()
            render(load(path))
            return time.perf_counter() - t, time.process_time() - c
        return run

    p1 = write_large(work / "large", 1000, 3, 200)
    p2 = write_large(work / "large", 2000, 3, 400)
    a, b = paired(runs, timed(p1), timed(p2))
    verdict = "met" if a[0] <= 1.5 else "NOT met"
    print(f"4. 1,000 services x 3 versions + 200 experiments, load + render in process: {a[0]:.2f} s "
          f"[<= 1.5 s: {verdict}] (CPU {a[1]:.2f} s)")
    line("   2,000 x 3 + 400 / 1,000 x 3 + 200 (doubling services)", b, a, "1,000", 2.0)
    out = work / "large-out"
    rss = peak_rss_mb([ISTIOGEN, "render", str(p1), "--out", str(out), "-q"], work)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"   peak RSS rendering the 1,000-service profile (CLI): {rss:.0f} MB; tree {size / 1e6:.1f} MB")


def lint_tree(runs: int, work: Path) -> None:
    from istiogen.api import render
    from istiogen.lint import engine, loader
    from istiogen.validate import load

    profile = REPO / "profiles/bookinfo.yaml"
    tree = work / "lint-tree"
    for rel, content in render(load(profile)).files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(content)

    def in_process(fn: Callable[[], object]) -> Callable[[], tuple[float, float]]:
        def run() -> tuple[float, float]:
            t, c = time.perf_counter(), time.process_time()
            fn()
            return time.perf_counter() - t, time.process_time() - c
        return run

    a, b = paired(runs, in_process(lambda: engine.lint(loader.load([tree]))),
                  in_process(lambda: render(load(profile))))
    line("5. lint of the bookinfo tree / load + render of profiles/bookinfo.yaml (in process)", a, b, "render", 1.0)
    verdict = "met" if a[0] < 1.0 else "NOT met"
    print(f"   the lint alone: {a[0] * 1000:.0f} ms [< 1 s: {verdict}]")


def lint_panels(runs: int, work: Path) -> None:
    import json

    for n in (1000, 4000):
        panels = [{"title": f"p{i}", "type": "graph", "targets": [
            {"expr": f'sum(rate(istio_requests_total{{destination_service_name="s{i}"}}[5m]))'}]} for i in range(n)]
        (work / f"d{n}.json").write_text(json.dumps({"title": "x", "panels": panels}, indent=2))
    a, b = paired(runs, lambda: child([ISTIOGEN, "lint", "d4000.json"], work),
                  lambda: child([ISTIOGEN, "lint", "d1000.json"], work))
    line("6. `istiogen lint` of a dashboard of 4,000 panels / of 1,000 panels", a, b, "1,000", 6.0)


def mesh() -> None:
    print("7. the mesh benchmark (bench/mesh_bench.py --pods 3 --drop both --no-workload):", flush=True)
    subprocess.run([sys.executable, str(HERE / "mesh_bench.py"), "--pods", "3", "--drop", "both", "--no-workload"],
                   check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7, help="pairs per figure (default: %(default)s)")
    ap.add_argument("--only", type=int, action="append", choices=range(1, 8), metavar="N",
                    help="print only figure N (repeatable; figures 4 share one step)")
    args = ap.parse_args()
    only = set(args.only or range(1, 8))
    print(f"machine: {machine()}")
    # what pip install does; here PYTHONDONTWRITEBYTECODE may be set, and every run would compile istiogen afresh
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "istiogen")], check=True, **QUIET)
    flag = os.environ.get("PYTHONDONTWRITEBYTECODE", "")
    print(f"istiogen's bytecode compiled first (PYTHONDONTWRITEBYTECODE={flag!r})")
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        steps = {1: lambda: cold_render(args.runs, work), 2: lambda: check_vs_render(args.runs, work),
                 3: lambda: startup(args.runs, work), 4: lambda: large(max(3, args.runs // 2), work),
                 5: lambda: lint_tree(args.runs, work), 6: lambda: lint_panels(args.runs, work),
                 7: mesh}
        for n, step in steps.items():
            if n in only:
                step()
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
