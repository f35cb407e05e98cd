"""Render benchmarks (issue 6): cold render time, CLI import, a large profile, scaling.

    .venv/bin/python bench/render_bench.py [--quick]

Prints the figures the README reports; targets in brackets. Not a test: timings depend on
the machine, so nothing here fails.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bench.profiles import write_large  # noqa: E402

ISTIOGEN = str(Path(sys.executable).parent / "istiogen")
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
          image: prom/prometheus:v2.15.1
          volumeMounts: [{name: config-volume, mountPath: /etc/prometheus}]
      volumes: [{name: config-volume, configMap: {name: prometheus}}]
"""


def timed(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before)


def peak_rss(argv: list[str], cwd: Path) -> int:
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], cwd=cwd, check=True, capture_output=True, text=True)
    return int(out.stderr.strip().splitlines()[-1])


def cold_render(runs: int) -> None:
    times, kust = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as d:
            w, _ = timed([ISTIOGEN, "render", "-q"], Path(d))
            times.append(w)
            site = Path(d) / "site"
            (site / "base").mkdir(parents=True)
            (site / "base" / "deployment.yaml").write_text(BASE)
            (site / "base" / "kustomization.yaml").write_text("resources: [deployment.yaml]\n")
            shutil.copytree(Path(d) / "output" / "default", site / "istiogen")
            (site / "kustomization.yaml").write_text("resources: [base]\ncomponents: [istiogen/prometheus]\n")
            k, _ = timed(["kubectl", "kustomize", str(site)], site,
                         env={**os.environ, "KUBECONFIG": "/nonexistent"})
            kust.append(k)
    med, kmed = statistics.median(times), statistics.median(kust)
    print(f"cold `istiogen render` (embedded default), median of {runs}: {med * 1000:.0f} ms  [<= 350 ms]")
    print(f"  `kubectl kustomize` on the same rendered overlay, median: {kmed * 1000:.0f} ms; "
          f"ratio render/kustomize = {med / kmed:.2f}")
    imports = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import istiogen.cli.main"], check=True)
        imports.append(time.perf_counter() - t)
    bare = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - t)
    print(f"CLI import (python -c 'import istiogen.cli.main'), median: {statistics.median(imports) * 1000:.0f} ms "
          f"(interpreter alone {statistics.median(bare) * 1000:.0f} ms)  [<= 150 ms]")


def large(runs: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        path = write_large(folder / "p", 1000, 3, 200)
        times = [timed([ISTIOGEN, "render", str(path), "--out", str(folder / f"out{i}"), "-q"], folder)[0]
                 for i in range(runs)]
        rss = peak_rss([ISTIOGEN, "render", str(path), "--out", str(folder / "outm"), "-q"], folder)
        size = sum(f.stat().st_size for f in (folder / "outm").rglob("*") if f.is_file())
        print(f"1,000 services x 3 versions, 200 experiments: render {statistics.median(times):.2f} s (median of "
              f"{runs}) [<= 3 s], peak RSS {rss / 1024:.0f} MB [<= 300 MB], tree {size / 1e6:.1f} MB")


def scaling(runs: int) -> None:
    from istiogen.profile.resolve import load
    from istiogen.render import render

    with tempfile.TemporaryDirectory() as d:
        results = {}
        for n in (250, 500, 1000, 2000):
            path = write_large(Path(d), n, 3, n // 5)
            best = []
            for _ in range(runs):
                t = time.perf_counter()
                render(load(path))
                best.append(time.perf_counter() - t)
            results[n] = min(best)
        line = ", ".join(f"{n}: {t:.2f} s" for n, t in results.items())
        ratios = [results[b] / results[a] for a, b in ((250, 500), (500, 1000), (1000, 2000))]
        print(f"scaling (load + render in process, best of {runs}): {line}")
        print(f"  time ratio per doubling of services: {', '.join(f'{x:.2f}x' for x in ratios)}  [<= 2.2x]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = ap.parse_args()
    runs = 3 if args.quick else 7
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.platform()}")
    cold_render(runs)
    large(3 if args.quick else 5)
    scaling(2 if args.quick else 3)


if __name__ == "__main__":
    main()
