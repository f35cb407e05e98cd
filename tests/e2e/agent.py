"""A stand-in for the Sysdig agent's scraping: synthetic pods on loopback addresses, the agent's
v1 ``process_filter`` evaluated as documented, and a real Prometheus running the rendered
``prometheus.yaml`` jobs in place of promscrape.

* **Pods** listen on their own address (``127.x.y.z``) on their real ports (15020, 15090, 8080,
  ...), so the rendered relabel rules (port rewrites included) run unchanged.
* **promscrape v2**: each job's ``kubernetes_sd_configs`` becomes a ``static_configs`` list of the
  targets Kubernetes pod discovery would produce (one per declared container port, with the
  ``__meta_kubernetes_pod_*`` labels), and ``__HOSTIPS__`` becomes the node's address, as the
  agent does.
* **promscrape v1**: :func:`process_filter_targets` applies the agent's documented rule semantics
  (written here from the agent's documentation and source notes, not from istiogen): rules in
  order, the first whose conditions all match wins; an exclude stops; an include whose port the
  process does not listen on skips the process; nothing matched, nothing scraped.  The targets it
  finds are handed to the job that takes them (``sysdig_sd_configs`` jobs select by tags; every
  other target goes to the ``default`` job).
"""

from __future__ import annotations

import fnmatch
import random
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NODE = "127.0.0.1"  # the node the agent runs on: what __HOSTIPS__ stands for


@dataclass
class Process:
    name: str  # comm
    container: str
    image: str
    ports: dict[int, dict[str, str]]  # listening port -> {path: exposition body}


@dataclass
class Pod:
    uid: str
    annotations: dict[str, str]
    containers: list[tuple[str, list[tuple[str, int]]]]  # (container name, [(port name, port)]) as declared
    processes: list[Process]
    ip: str = ""
    deployment: str = ""
    namespace: str = "shop"
    labels: dict[str, str] = field(default_factory=dict)

    def sd_targets(self) -> list[dict[str, Any]]:
        """What Kubernetes pod discovery yields: one target per declared container port."""
        out = []
        for cname, ports in self.containers:
            for pname, port in ports:
                labels = {
                    "__meta_kubernetes_namespace": self.namespace,
                    "__meta_kubernetes_pod_host_ip": NODE,
                    "__meta_kubernetes_pod_ip": self.ip,
                    "__meta_kubernetes_pod_uid": self.uid,
                    "__meta_kubernetes_pod_container_name": cname,
                    "__meta_kubernetes_pod_container_port_name": pname,
                    "__meta_kubernetes_pod_container_port_number": str(port),
                }
                for k, v in self.labels.items():
                    labels["__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", k)] = v
                for k, v in self.annotations.items():
                    name = re.sub(r"[^a-zA-Z0-9_]", "_", k)
                    labels[f"__meta_kubernetes_pod_annotation_{name}"] = v
                    labels[f"__meta_kubernetes_pod_annotationpresent_{name}"] = "true"
                out.append({"targets": [f"{self.ip}:{port}"], "labels": labels})
        return out


@dataclass
class Target:
    pod: Pod
    process: Process
    port: int
    path: str


def _matches(cond: dict[str, Any], pod: Pod, proc: Process) -> bool:
    for key, want in cond.items():
        if key == "conf":
            continue
        if key == "process.name":
            have: str | None = proc.name
        elif key == "container.name":
            have = proc.container
        elif key == "container.image":
            have = proc.image
        elif key.startswith("kubernetes.pod.annotation."):
            have = pod.annotations.get(key.removeprefix("kubernetes.pod.annotation."))
        elif key.startswith("kubernetes.pod.label."):  # an infrastructure tag: the pod's label
            have = pod.labels.get(key.removeprefix("kubernetes.pod.label."))
        elif key == "kubernetes.namespace.name":
            have = pod.namespace
        elif key == "kubernetes.deployment.name":
            have = pod.deployment
        else:  # container labels, service annotations, app checks: these pods have none
            have = None
        text = str(want).lower() if isinstance(want, bool) else str(want)
        if have is None or not fnmatch.fnmatchcase(have, text):
            return False
    return True


def _template(value: Any, pod: Pod) -> str:
    return re.sub(r"\{kubernetes\.pod\.annotation\.([^}]+)\}", lambda m: pod.annotations.get(m.group(1), ""),
                  str(value))


def process_filter_targets(rules: list[dict[str, Any]], pods: list[Pod]) -> list[Target]:
    out = []
    for pod in pods:
        for proc in pod.processes:
            for rule in rules:
                (kind, cond), = rule.items()
                if cond in ("all", "always"):
                    cond = {}
                if not _matches(cond, pod, proc):
                    continue
                if kind == "include":
                    conf = cond.get("conf", {})
                    port_text = _template(conf.get("port", ""), pod)
                    port = int(port_text) if port_text.isdigit() else 0
                    if port in proc.ports:
                        path = _template(conf.get("path", "/metrics"), pod) or "/metrics"
                        out.append(Target(pod, proc, port, path if path.startswith("/") else "/" + path))
                break  # first match wins
    return out


@dataclass
class PodServers:
    """Every pod's processes, listening on the pod's own loopback address."""

    pods: list[Pod]
    servers: list[ThreadingHTTPServer] = field(default_factory=list)

    def __enter__(self) -> PodServers:
        rng = random.Random()
        for pod in self.pods:
            for _ in range(50):
                pod.ip = f"127.{rng.randint(1, 250)}.{rng.randint(1, 250)}.{rng.randint(2, 250)}"
                try:
                    started = [self._serve(pod.ip, port, paths) for proc in pod.processes
                               for port, paths in proc.ports.items()]
                except OSError:  # an address another test run uses: try another
                    self._stop(self.servers)
                    self.servers = []
                    continue
                self.servers += started
                break
            else:
                raise AssertionError("no free loopback address")
        return self

    def _serve(self, ip: str, port: int, paths: dict[str, str]) -> ThreadingHTTPServer:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = paths.get(self.path.split("?")[0])
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        httpd = ThreadingHTTPServer((ip, port), Handler)
        self.servers.append(httpd)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        return httpd

    @staticmethod
    def _stop(servers: list[ThreadingHTTPServer]) -> None:
        """Shut every server down at once: each ``shutdown`` waits for its loop's next poll (up to 0.5 s)."""
        stoppers = [threading.Thread(target=s.shutdown) for s in servers]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join()
        for s in servers:
            s.server_close()

    def __exit__(self, *exc: object) -> None:
        self._stop(self.servers)


def v2_job(job: dict[str, Any], pods: list[Pod], prefix: str) -> dict[str, Any]:
    """A rendered promscrape-v2 job with pod discovery swapped for the pods' discovered targets."""
    out: dict[str, Any] = {k: v for k, v in job.items() if k != "kubernetes_sd_configs"}
    out["job_name"] = f"{prefix}/{job['job_name']}"
    out["static_configs"] = [t for p in pods for t in p.sd_targets()]
    out["relabel_configs"] = [{**r, "regex": re.escape(NODE)} if r.get("regex") == "__HOSTIPS__" else r
                              for r in job.get("relabel_configs", [])]
    out["scrape_interval"] = "1s"
    out["scrape_timeout"] = "1s"
    return out


def v1_job(job: dict[str, Any], targets: list[Target], prefix: str) -> dict[str, Any]:
    """A rendered promscrape-v1 job scraping the process-filter targets it takes (one static group each,
    with the pod's uid as promscrape attaches it)."""
    out: dict[str, Any] = {k: v for k, v in job.items() if k != "sysdig_sd_configs"}
    out["job_name"] = f"{prefix}/{job['job_name']}"
    out["static_configs"] = [
        {"targets": [f"{t.pod.ip}:{t.port}"],
         "labels": {"__metrics_path__": t.path, "sysdig_k8s_pod_uid": t.pod.uid}} for t in targets
    ]
    out["scrape_interval"] = "1s"
    out["scrape_timeout"] = "1s"
    return out


def v1_takes(job: dict[str, Any], target: Target) -> bool:
    """Whether a v1 job's sysdig_sd_configs select a process-filter target (the tags documented for v1)."""
    for sd in job.get("sysdig_sd_configs", []):
        tags = sd.get("tags", {})
        have = {"namespace": target.pod.namespace, "deployment": target.pod.deployment,
                "process": target.process.name}
        if all(k in have and fnmatch.fnmatchcase(have[k], str(v)) for k, v in tags.items()):
            return True
    return False
