"""A ``cluster`` label that the exported live config (``prometheus.live_config``) already sets to another value
in ``global.external_labels``.

istiogen patches the export in place: it would have to overwrite the cluster's own external label (which
every series remote-written or federated carries) or ignore the profile's; either is a silent change."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from istiogen.problems import Problem
from istiogen.validate.context import Context

ID = "live-external-label"


def _external_labels(config_text: str) -> dict[Any, Any]:
    from ruamel.yaml import YAML

    try:
        cfg = YAML(typ="safe").load(config_text)
    except Exception:  # the loader checked the export; a config it could not read sets nothing here
        return {}
    glob = cfg.get("global") if isinstance(cfg, dict) else None
    ext = glob.get("external_labels") if isinstance(glob, dict) else None
    return ext if isinstance(ext, dict) else {}


def check(ctx: Context) -> Iterator[Problem]:
    c, live = ctx.profile.cluster, ctx.live
    if c is None or live is None or ctx.profile.prometheus.live_config is None:
        return
    if ctx.delivery not in ("mount", "projected"):  # the other deliveries do not patch the export
        return
    ext = _external_labels(live.config_text)
    name, value = str(c.label), str(c.name)
    if name in ext and str(ext[name]) != value:
        yield ctx.error(ID, ("cluster", "name"), f"{live.display}: the live config's external_labels already set "
                        f"{name} to {ext[name]!r}, the profile's cluster.name says {value!r}",
                        "make them agree, or set cluster.label to another label")
