"""Synthetic large profiles for the benchmarks."""

from __future__ import annotations

from pathlib import Path


def large_profile(services: int, versions: int = 3, experiments: int = 0, name: str = "large") -> str:
    lines = [f"name: {name}", 'istio: {version: "1.22"}', "prometheus: {flavour: samples-1.22}",
             "sysdig: {mode: promscrape-v2}", "services:"]
    vs = ", ".join(f"v{i + 1}" for i in range(versions))
    for i in range(services):
        extra = ", alerts: {error_ratio_5xx: 0.02}" if i % 10 == 0 else ""
        lines.append(f"  - {{name: svc-{i:04d}, namespace: ns-{i % 20:02d}, versions: [{vs}]{extra}}}")
    if experiments:
        lines.append("experiments:")
        for i in range(experiments):
            lines.append(f"  - {{name: canary-{i:04d}, service: svc-{i:04d}, namespace: ns-{i % 20:02d}, "
                         f"baseline: v1, candidate: v{versions}, expected_split: 0.1}}")
    return "\n".join(lines) + "\n"


def write_large(folder: Path, services: int, versions: int = 3, experiments: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"large-{services}.yaml"
    path.write_text(large_profile(services, versions, experiments, name=f"large-{services}"))
    return path
