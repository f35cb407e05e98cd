"""The render stage: a validated, resolved profile in, artifacts (data) out.

Each artifact comes from its own module as data; this module runs them in order
and lets later artifacts depend on earlier ones (the ConfigMap holds the rule
files, the Deployment patch carries their checksum).  Embedded documents are
serialised with :mod:`istiogen.serial`, the leaf serialiser (see
:mod:`istiogen.registry`); the texts serialised that way are handed on, so that
the pipeline (:mod:`istiogen.pipeline`) does not serialise them twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from istiogen.problems import Problem
from istiogen.profile.resolve import Resolved
from istiogen.registry import Artifact
from istiogen.render.estimate import Estimate
from istiogen.render.model import SignalModel


@dataclass
class Rendering:
    model: SignalModel
    artifacts: list[Artifact]  # ordered by path
    serialised: dict[str, bytes]  # path -> the bytes of the artifacts already serialised as embedded documents
    warnings: list[Problem] = field(default_factory=list)
    estimate: Estimate | None = None  # the series the Sysdig agent federates


def render(r: Resolved) -> Rendering:
    from istiogen.render import (
        agent_patch,
        alertmanager,
        apply_script,
        dashboards,
        deployment_patch,
        dragent,
        estimate,
        helm_prometheus,
        kustomize,
        prometheus_config,
        queries,
        readme,
        remote_write,
        rules,
        rules_configmap,
        sysdig_alerts,
        sysdig_helm,
        telemetry,
        unittests,
    )
    from istiogen.render import operator as operator_mod
    from istiogen.render.build import build
    from istiogen.serial import serialize

    model = build(r)
    est = estimate.estimate(r, model)
    name = r.name
    cache: dict[str, bytes] = {}

    def text_of(a: Artifact) -> bytes:  # each artifact is serialised once, however often it is read
        if a.path not in cache:
            cache[a.path] = serialize(a, name)
        return cache[a.path]

    arts = rules.render(model)
    rule_files: list[str] = []
    remote = [remote_write.config_entry(r, model)] if remote_write.enabled(r) else []
    if r.delivery in ("mount", "projected"):
        keys = {rules.RULES_PATH: r.profile.prometheus.rules_key, rules.ALERTS_PATH: rules_configmap.ALERTS_KEY}
        cm_files = {keys[a.path]: text_of(a).decode() for a in arts if a.path in keys}
        cm = rules_configmap.render(r, cm_files)
        arts.append(cm)
        rule_files = rules_configmap.rule_paths(r, list(cm_files))
        cfg = prometheus_config.render(r, rule_files, remote, alertmanager.alerting(r))
        arts += cfg
        digest = hashlib.sha256()
        for a in (cm, *cfg):
            digest.update(text_of(a))
        arts += deployment_patch.render(r, digest.hexdigest())
        arts.append(kustomize.render(r))
    elif r.delivery == "helm-values":
        arts.append(helm_prometheus.render(r, model))
    else:
        arts += operator_mod.render(r, model)
    if r.profile.istio.telemetry is not None:
        arts.append(telemetry.render(r))
    arts.append(dragent.render(r))
    arts.append(agent_patch.render(r, model))
    arts += sysdig_helm.render(r, model)
    arts += sysdig_alerts.render(r, model)
    arts.append(queries.render(model))
    arts += dashboards.render(r, model)
    test_art, test_warnings = unittests.render(r, model)
    arts.append(test_art)
    arts.append(apply_script.render(r, rule_files))
    arts.append(readme.render(r, model, arts, est))
    arts.sort(key=lambda a: a.path)
    return Rendering(model, arts, cache, [*r.warnings, *model.warnings, *test_warnings, *estimate.problems(r, est)],
                     est)

