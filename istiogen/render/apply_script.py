"""``apply.sh``: the kubectl (or helm) commands, in order, with a ``--dry-run`` switch."""

from __future__ import annotations

import shlex

from istiogen.profile.resolve import Resolved
from istiogen.render import (
    agent_patch,
    deployment_patch,
    helm_prometheus,
    operator,
    prometheus_config,
    rules_configmap,
    telemetry,
)
from istiogen.render.artifact import Artifact, Script, Step

PATH = "apply.sh"


def _prometheus_steps(r: Resolved, rule_files: list[str]) -> list[Step]:
    p = r.profile
    ns = p.istio.namespace
    f = r.flavour
    if r.delivery == "helm-values":
        h = p.prometheus.helm
        return [Step(f"Upgrade the Helm release {ns}/{h.release} with the rules in serverFiles (no restart needed)",
                     ("helm", "upgrade", h.release, h.chart, "-n", ns, "--reuse-values", "-f",
                      helm_prometheus.PATH), dry_run="--dry-run")]
    if r.delivery == "operator":
        op = p.prometheus.operator
        return [
            Step("Create or update the PrometheusRule, PodMonitor and ServiceMonitors",
                 ("kubectl", "apply", "-k", "operator")),
            Step(f"Patch Prometheus {op.namespace}/{op.prometheus} (JSON merge patch: custom resources take no "
                 "strategic merge)",
                 ("kubectl", "-n", op.namespace, "patch", "prometheus", op.prometheus, "--type", "merge",
                  "--patch-file", operator.CR_PATCH_PATH)),
        ]
    steps = [Step("Create or update the recording-rules ConfigMap", ("kubectl", "apply", "-f", rules_configmap.PATH))]
    if r.live_config is not None:
        steps.append(
            Step(f"Add rule_files to ConfigMap {ns}/{f.config_map} (fails if it changed since it was exported)",
                 ("kubectl", "-n", ns, "patch", "configmap", f.config_map, "--type", "json",
                  "--patch-file", prometheus_config.JSON_PATH))
        )
    else:
        get = (f"kubectl -n {shlex.quote(ns)} get configmap {shlex.quote(f.config_map)} "
               f"-o jsonpath={shlex.quote('{.data.' + _jp(f.config_key) + '}')}")
        condition = f"cfg=$({get})" + "".join(
            f" && printf '%s' \"$cfg\" | grep -qF {shlex.quote(x)}" for x in rule_files
        )
        steps.append(
            Step(f"Check that ConfigMap {ns}/{f.config_map} loads the rules", (),
                 guard=(condition,
                        f"ConfigMap {ns}/{f.config_map} does not list {', '.join(rule_files)} in rule_files: add "
                        f"{prometheus_config.FRAGMENT_PATH} to it first (see README.md), or set "
                        "prometheus.live_config in the profile and render again"),
                 note="No live ConfigMap was given to the profile, so rule_files are added by hand.")
        )
    rolls = r.delivery == "mount" and f.restart_to_load_rules
    steps.append(
        Step(f"Mount the rules and annotate Deployment {ns}/{f.deployment}"
             + (" (the checksum annotation rolls the pod)" if rolls else " (the config reloader picks them up)"),
             ("kubectl", "-n", ns, "patch", "deployment", f.deployment, "--type", "strategic",
              "--patch-file", deployment_patch.STRATEGIC_PATH))
    )
    steps.append(
        Step("Wait for the Prometheus rollout",
             ("kubectl", "-n", ns, "rollout", "status", f"deployment/{f.deployment}", "--timeout=5m"), dry_run=None)
    )
    return steps


def script(r: Resolved, rule_files: list[str]) -> Script:
    p = r.profile
    steps = _prometheus_steps(r, rule_files)
    if p.istio.telemetry is not None:
        steps.append(Step("Remove high-cardinality labels at the source (Istio Telemetry)",
                          ("kubectl", "apply", "-f", telemetry.PATH)))
    s = p.sysdig
    steps.append(
        Step(f"Set prometheus.yaml in ConfigMap {s.namespace}/{s.config_map} (dragent.yaml is left untouched)",
             ("kubectl", "-n", s.namespace, "patch", "configmap", s.config_map, "--type", "strategic",
              "--patch-file", agent_patch.PATH),
             note="The agent reloads within a few seconds of the kubelet syncing the ConfigMap.\n"
                  "Merge sysdig/dragent.yaml into the agent's dragent.yaml (or Helm sysdig.settings) yourself:\n"
                  "patching the dragent.yaml key would replace every setting it holds.")
    )
    intro = (
        f"Applies the monitoring of profile {p.name} to the current kubectl context.",
        "Usage: ./apply.sh [--dry-run]   (--dry-run asks the API server to validate without persisting)",
    )
    return Script(tuple(steps), intro)


def _jp(key: str) -> str:
    return key.replace(".", "\\.")


def render(r: Resolved, rule_files: list[str]) -> Artifact:
    return Artifact(PATH, "apply-script", script(r, rule_files), "shell",
                    "the commands in order; ./apply.sh --dry-run to check first")
