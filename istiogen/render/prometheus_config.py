"""The Prometheus config change: ``rule_files`` (and ``remote_write``, ``alerting``, ``external_labels``, and with
``prometheus.drop_unused`` the Istio scrape job's ``metric_relabel_configs``).

Every rule group carries its own ``interval``, so the global
``evaluation_interval`` (which every other rule file of that Prometheus follows)
is left as it is.

Without a live ConfigMap this is a fragment to merge by hand.  With one
(``prometheus.live_config``), the exported ConfigMap is edited in place in
round-trip mode, so comments, key order and quoting survive, and a unified diff
and a guarded RFC 6902 patch (``test`` the old value, then ``replace``) are
emitted as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from istiogen.profile.resolve import LiveConfig, Resolved
from istiogen.registry import Artifact, RoundTripDoc, TextDiff

if TYPE_CHECKING:
    from istiogen.render.context import Context

FRAGMENT_PATH = "prometheus/prometheus-config-fragment.yaml"
CONFIGMAP_PATH = "prometheus/prometheus-configmap.yaml"
DIFF_PATH = "prometheus/prometheus-configmap.diff"
JSON_PATH = "prometheus/prometheus-configmap.json6902.json"



def to_add(r: Resolved, rule_files: list[str]) -> list[str]:
    """The rule files the config must list that the flavour's stock config does not already load."""
    from istiogen.render.rules_configmap import stock_rule_paths

    stock = set(stock_rule_paths(r))
    return [p for p in rule_files if p not in stock]


def fragment_needed(r: Resolved, rule_files: list[str], alerting: dict[str, Any] | None = None, *,
                    drop: bool = True) -> bool:
    """Does prometheus.yml need an edit at all?  Not when the stock config already loads the rules
    (the samples addons with ``delivery: projected``) and nothing else is to be added."""
    from istiogen.render import remote_write

    return (bool(to_add(r, rule_files)) or remote_write.enabled(r) or bool(remote_write.external_labels(r))
            or bool(alerting) or (drop and r.profile.prometheus.drop_unused))


def scrape_jobs(r: Resolved, relabel: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Istio scrape jobs of the stock config with the entries to append to their metric_relabel_configs."""
    return [{"job_name": job, "metric_relabel_configs": relabel} for job in r.flavour.istio_jobs] if relabel else []


def fragment(r: Resolved, rule_files: list[str], remote: list[dict[str, Any]],
             alerting: dict[str, Any] | None = None, relabel: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    from istiogen.render import remote_write

    out: dict[str, Any] = {}  # no global.evaluation_interval: the rule groups carry their own interval
    ext = remote_write.external_labels(r)
    if ext:
        out["global"] = {"external_labels": ext}
    if rule_files:
        out["rule_files"] = list(rule_files)
    if alerting:
        out["alerting"] = alerting
    if remote:
        out["remote_write"] = remote
    if relabel:  # appended to the jobs' own metric_relabel_configs (by hand: a job is not merged by name)
        out["scrape_configs"] = scrape_jobs(r, relabel)
    return out


def render(r: Resolved, rule_files: list[str], remote: list[dict[str, Any]] | None = None,
           alerting: dict[str, Any] | None = None, relabel: list[dict[str, Any]] | None = None) -> list[Artifact]:
    from istiogen.render import remote_write

    remote = remote or []
    relabel = relabel or []
    jobs = " and ".join(r.flavour.istio_jobs)
    if r.live_config is None:
        if not fragment_needed(r, rule_files, alerting):
            return []
        adds = to_add(r, rule_files)
        what = ", ".join((["rule_files"] if adds else [])
                         + (["external_labels"] if remote_write.external_labels(r) else [])
                         + (["alerting"] if alerting else []) + (["remote_write"] if remote else [])
                         + ([f"metric_relabel_configs of job {jobs}"] if relabel else []))
        return [
            Artifact(FRAGMENT_PATH, "prometheus-config-patch", fragment(r, adds, remote, alerting, relabel), "yaml",
                     f"{what} to add to {r.flavour.config_map}/{r.flavour.config_key}")
        ]
    what = ", ".join(["rule_files"] + (["external_labels"] if remote_write.external_labels(r) else [])
                     + (["alerting"] if alerting else []) + (["remote_write"] if remote else [])
                     + ([f"metric_relabel_configs of job {jobs}"] if relabel else []))
    import jsonpointer

    from istiogen.serial import roundtrip_text

    cm_doc, old_cfg, new_cfg = patch_live(r.live_config, r.flavour.config_key, rule_files,
                                          remote, remote_write.external_labels(r), alerting,
                                          scrape_jobs(r, relabel))
    new_cm_text = roundtrip_text(cm_doc)
    key = jsonpointer.escape(r.flavour.config_key)
    ops = [
        {"op": "test", "path": f"/data/{key}", "value": old_cfg},
        {"op": "replace", "path": f"/data/{key}", "value": new_cfg},
    ]
    return [
        Artifact(CONFIGMAP_PATH, "prometheus-configmap", cm_doc, "yaml-roundtrip",
                 f"the exported ConfigMap {r.flavour.config_map} with {what} added (comments kept)"),
        Artifact(DIFF_PATH, "prometheus-config-diff",
                 TextDiff(r.live_config.text, new_cm_text, f"a/{r.live_config.path}", f"b/{CONFIGMAP_PATH}"),
                 "diff", "unified diff of the ConfigMap change"),
        Artifact(JSON_PATH, "prometheus-config-patch", ops, "json",
                 "RFC 6902 patch (kubectl patch --type json): fails if the live config changed since export"),
    ]


def _indent_of(text: str) -> tuple[Any, int, int, int]:
    from ruamel.yaml.util import load_yaml_guess_indent

    data, indent, block_seq_indent = load_yaml_guess_indent(text)
    ind = indent or 2
    bsi = block_seq_indent or 0
    return data, ind, max(ind, bsi + 2) if bsi else ind, bsi


def _load_rt(text: str) -> tuple[Any, int, int, int]:
    from ruamel.yaml import YAML

    _, mapping, sequence, offset = _indent_of(text)
    y = YAML(typ="rt")
    y.preserve_quotes = True
    return y.load(text), mapping, sequence, offset


def patch_live(live: LiveConfig, key: str, rule_files: list[str],
               remote: list[dict[str, Any]] | None = None,
               external: dict[str, str] | None = None,
               alerting: dict[str, Any] | None = None,
               jobs: list[dict[str, Any]] | None = None) -> tuple[RoundTripDoc, str, str]:
    """Returns the patched ConfigMap document, and the old and new embedded config text."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import LiteralScalarString

    from istiogen.catalog.kubernetes import drop_server_fields
    from istiogen.serial import roundtrip_text

    cm, m, s, o = _load_rt(live.text)
    drop_server_fields(cm)
    old_cfg = str(cm["data"][key])
    cfg, cm_m, cm_s, cm_o = _load_rt(old_cfg)
    if cfg is None:
        cfg = CommentedMap()
    if external:
        glob = cfg.get("global")
        if glob is None:
            glob = CommentedMap()
            cfg.insert(0, "global", glob)
        ext = glob.get("external_labels")
        if ext is None:
            ext = CommentedMap()
            glob["external_labels"] = ext
        for name, value in external.items():
            if name in ext and str(ext[name]) != value:  # refused by stage 1 (live-external-label)
                continue
            ext[name] = value
    rf = cfg.get("rule_files")
    if rf is None:
        rf = CommentedSeq()
        keys = list(cfg.keys())
        cfg.insert(keys.index("global") + 1 if "global" in keys else 0, "rule_files", rf)
    for path in rule_files:
        if path not in rf:
            rf.append(path)
    if alerting:
        _add_alertmanagers(cfg, alerting["alertmanagers"])
    if remote:
        rw = cfg.get("remote_write")
        if rw is None:
            rw = CommentedSeq()
            cfg["remote_write"] = rw
        urls = {x.get("url") for x in rw if isinstance(x, dict)}
        for entry in remote:
            if entry["url"] not in urls:
                rw.append(entry)
    for job in jobs or []:
        _add_metric_relabel(cfg, job["job_name"], job["metric_relabel_configs"])
    new_cfg = roundtrip_text(RoundTripDoc(cfg, cm_m, cm_s, cm_o))
    if not old_cfg.endswith("\n"):
        new_cfg = new_cfg.rstrip("\n")
    cm["data"][key] = LiteralScalarString(new_cfg)
    return RoundTripDoc(cm, m, s, o), old_cfg, new_cfg


def _add_metric_relabel(cfg: Any, job_name: str, entries: list[dict[str, Any]]) -> None:
    """Append the entries to the job's ``metric_relabel_configs`` (those it already has stay first)."""
    from ruamel.yaml.comments import CommentedSeq

    for job in cfg.get("scrape_configs") or []:
        if not isinstance(job, dict) or job.get("job_name") != job_name:
            continue
        mrc = job.get("metric_relabel_configs")
        if mrc is None:
            mrc = CommentedSeq()
            job["metric_relabel_configs"] = mrc
        for entry in entries:
            if entry not in [dict(x) for x in mrc if isinstance(x, dict)]:
                mrc.append(entry)


def _add_alertmanagers(cfg: Any, entries: list[dict[str, Any]]) -> None:
    """Append our ``alerting.alertmanagers`` entries to the live config, keeping any it has."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    al = cfg.get("alerting")
    if al is None:
        al = CommentedMap()
        keys = list(cfg.keys())
        cfg.insert(keys.index("rule_files") + 1 if "rule_files" in keys else len(keys), "alerting", al)
    ams = al.get("alertmanagers")
    if ams is None:
        ams = CommentedSeq()
        al["alertmanagers"] = ams
    for entry in entries:
        if entry not in [dict(x) for x in ams if isinstance(x, dict)]:
            ams.append(entry)


def artifacts(ctx: Context) -> list[Artifact]:
    r = ctx.r
    if r.delivery not in ("mount", "projected"):
        return []
    from istiogen.render import alertmanager, remote_write

    remote = [remote_write.config_entry(r, ctx.model)] if remote_write.enabled(r) else []
    relabel: list[dict[str, Any]] = []
    if r.profile.prometheus.drop_unused:
        from istiogen.render.drop import relabel_configs

        relabel = relabel_configs(ctx.model)
    return render(r, ctx.rule_files, remote, alertmanager.alerting(r), relabel)
