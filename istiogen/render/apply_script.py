"""``apply.sh``: the kubectl (or helm) commands, in order, with a ``--dry-run`` switch."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from istiogen.profile.resolve import Resolved
from istiogen.registry import Artifact, Script, Step

if TYPE_CHECKING:
    from istiogen.render.context import Context

from istiogen.render import (
    agent_patch,
    alertmanager,
    deployment_patch,
    helm_prometheus,
    operator,
    prometheus_config,
    remote_write,
    rules_configmap,
    sysdig_alerts,
    telemetry,
)

if TYPE_CHECKING:
    from istiogen.render.context import Context

PATH = "apply.sh"


def _prometheus_steps(r: Resolved, rule_files: list[str]) -> list[Step]:
    p = r.profile
    ns = p.istio.namespace
    f = r.flavour
    if r.delivery == "helm-values":
        h = p.prometheus.helm
        version = helm_prometheus.chart_version(r)
        return [*_slots_guard(r),
                Step(f"Upgrade the Helm release {ns}/{h.release} to chart {h.chart} {version} with the rules in "
                     "serverFiles (no restart needed)",
                     ("helm", "upgrade", h.release, h.chart, "--version", version, "-n", ns, "--reuse-values", "-f",
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
        labels = remote_write.external_labels(r)
        condition += "".join(  # the cluster label, as the fragment asks (values are [-._a-zA-Z0-9]: no quoting)
            f" && printf '%s\\n' \"$cfg\" | grep -qE {shlex.quote(_label_line(k, v))}" for k, v in labels.items()
        )
        also = "".join(f" and external_labels {k}: {v}" for k, v in labels.items())
        if prometheus_config.fragment_needed(r, rule_files, alertmanager.alerting(r), drop=False):
            fix = (f"add {prometheus_config.FRAGMENT_PATH} to it first (see README.md), or set "
                   "prometheus.live_config in the profile and render again")
            note = "No live ConfigMap was given to the profile, so rule_files are added by hand."
        else:
            fix = "the addon's own config lists them: re-apply the addon's manifest, or add them to rule_files"
            note = "The addon's config already loads these files: prometheus.yml needs no edit."
        if p.prometheus.drop_unused:
            note = note.replace(": prometheus.yml needs no edit.", ".")
            note += (" For prometheus.drop_unused, append the metric_relabel_configs of "
                     f"{prometheus_config.FRAGMENT_PATH} to job {' and '.join(f.istio_jobs)} by hand.")
        steps.append(
            Step(f"Check that ConfigMap {ns}/{f.config_map} loads the rules", (),
                 guard=(condition,
                        f"ConfigMap {ns}/{f.config_map} does not list {', '.join(rule_files)} in rule_files{also}: "
                        f"{fix}"),
                 note=note)
        )
    if r.delivery == "projected":
        steps += _slots_guard(r)
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


# POSIX sh; the request body shape and the API are documented in istiogen/render/sysdig_alerts.py.
# The token goes to curl through its config on stdin (-K -), so it never shows in a process list.
SYSDIG_POST = r"""sysdig_post_alerts() {
  # POST each element of the JSON array in $1 to $SYSDIG_URL/api/v2/alerts; with --dry-run, print them
  n=$(jq length "$1")
  i=0
  failed=0
  while [ "$i" -lt "$n" ]; do
    body=$(jq -c ".[$i]" "$1")
    name=$(jq -r ".[$i].alert.name" "$1")
    if [ "${2:-}" = --dry-run ]; then
      printf 'POST %s/api/v2/alerts %s\n' "${SYSDIG_URL:-\$SYSDIG_URL}" "$body"
    elif reply=$(printf 'header = "Authorization: Bearer %s"\n' "$SYSDIG_API_TOKEN" |
        curl -sS -K - -X POST -H 'Content-Type: application/json' --data-binary "$body" \
          -w '\n%{http_code}' "${SYSDIG_URL%/}/api/v2/alerts"); then
      code=$(printf '%s\n' "$reply" | tail -n 1)
      case "$code" in
        2??) printf 'created in Sysdig Monitor: %s\n' "$name" ;;
        *) printf 'Sysdig Monitor refused %s (HTTP %s): %s\n' "$name" "$code" \
             "$(printf '%s\n' "$reply" | sed '$d')" >&2
           failed=1 ;;
      esac
    else
      failed=1
    fi
    i=$((i + 1))
  done
  return "$failed"
}
"""


def _sysdig_checks() -> list[Step]:
    return [
        Step("Check that curl and jq are installed (they post the Sysdig alerts)", (),
             guard=("command -v curl >/dev/null && command -v jq >/dev/null",
                    "curl and jq are needed to create the Sysdig alerts: install them, or set "
                    "alerts.sysdig.enabled: false in the profile and render again")),
        Step("Check that SYSDIG_API_TOKEN and SYSDIG_URL are set (not needed with --dry-run)", (),
             guard=('[ -n "$DRY_RUN" ] || { [ -n "${SYSDIG_API_TOKEN:-}" ] && [ -n "${SYSDIG_URL:-}" ]; }',
                    "set SYSDIG_API_TOKEN (a Sysdig Monitor API token, not the agent access key) and SYSDIG_URL "
                    "(e.g. https://eu1.app.sysdig.com) to create the Sysdig alerts, or set alerts.sysdig.enabled: "
                    "false in the profile and render again"),
             note="Checked first, so that nothing is applied when the Sysdig step could not run."),
    ]


def _slots_guard(r: Resolved) -> list[Step]:
    """Refuse to take the flavour's rule slots (``rules``, ``alerts``) while they hold rules istiogen did not write.

    A slot is free when it is absent, empty or the chart's ``{}`` placeholder, or when every rule
    group in it is one of istiogen's (named ``istio.*``: a re-run).
    """
    from istiogen.render.model import GROUP_PREFIX

    f = r.flavour
    if f.rule_slots is None:
        return []
    ns = r.profile.istio.namespace
    mine = shlex.quote(f"^[- ]*name: {GROUP_PREFIX}\\.")
    parts = []
    for key in f.rule_slots:
        get = (f"kubectl -n {shlex.quote(ns)} get configmap {shlex.quote(f.config_map)} "
               f"-o jsonpath={shlex.quote('{.data.' + _jp(key) + '}')}")
        parts.append(
            f"c=$({get}) && {{ [ -z \"$(printf '%s' \"$c\" | tr -d '{{}} \\t\\n')\" ] || "
            f"{{ printf '%s\\n' \"$c\" | grep -q {mine} && "
            f"! printf '%s\\n' \"$c\" | grep '^[- ]*name: ' | grep -qv {mine}; }}; }}"
        )
    keys = " and ".join(f.rule_slots)
    where = ("serverFiles." + "/".join(f.rule_slots) if r.delivery == "helm-values"
             else f"keys {keys} of ConfigMap {ns}/{f.config_map}")
    own = ("serverFiles recording_rules.yml / alerting_rules.yml" if r.delivery == "helm-values"
           else "its recording_rules.yml / alerting_rules.yml keys")
    hint = (", as prometheus.config_map names the chart's server ConfigMap"
            if r.delivery == "helm-values" else "")
    return [Step(f"Check that {where} hold no rules istiogen did not write (its rules go there)", (),
                 guard=(" && ".join(parts),
                        f"{where} hold rules istiogen did not write (or ConfigMap {ns}/{f.config_map} could not be "
                        f"read{hint}): istiogen's rules would replace them. Move them to {own} first"))]


def script(r: Resolved, rule_files: list[str]) -> Script:
    p = r.profile
    post = sysdig_alerts.enabled(r)
    steps = [*(_sysdig_checks() if post else []), *_prometheus_steps(r, rule_files)]
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
    if post:
        steps.append(
            Step(f"Create the alerts in Sysdig Monitor (POST {sysdig_alerts.API_PATH}, one per alert in "
                 f"{sysdig_alerts.PATH})", ("sysdig_post_alerts", sysdig_alerts.PATH), dry_run="--dry-run",
                 note="The token comes from SYSDIG_API_TOKEN, never from the profile. Sysdig keeps alert names\n"
                      "unique: an alert created by an earlier run is refused (and reported); edit it in Sysdig.")
        )
    intro = (
        f"Applies the monitoring of profile {p.name} to the current kubectl context.",
        "Usage: ./apply.sh [--dry-run]   (--dry-run asks the API server to validate without persisting)",
    )
    return Script(tuple(steps), intro, (SYSDIG_POST,) if post else ())


def _label_line(name: str, value: str) -> str:
    """An extended regex matching ``name: value`` on a line of YAML, the value quoted or not."""
    v = value.replace(".", "\\.")
    return f"^[[:space:]]*{name}:[[:space:]]*(\"{v}\"|'{v}'|{v})[[:space:]]*$"


def _jp(key: str) -> str:
    return key.replace(".", "\\.")


def render(r: Resolved, rule_files: list[str]) -> Artifact:
    return Artifact(PATH, "apply-script", script(r, rule_files), "shell",
                    "the commands in order; ./apply.sh --dry-run to check first")


def artifacts(ctx: Context) -> list[Artifact]:
    return [render(ctx.r, ctx.rule_files)]
