"""Remote write of the recorded series (instead of, or besides, federation through the agent).

Only series carrying the federation label are sent (``write_relabel_configs``),
and the credential is read from a mounted Secret: no secret value ever appears
in a generated file.
"""

from __future__ import annotations

import re
from typing import Any

from istiogen.catalog import sysdig
from istiogen.profile.resolve import Resolved
from istiogen.render.model import SignalModel

VOLUME = "istiogen-remote-write"


def enabled(r: Resolved) -> bool:
    rw = r.profile.remote_write
    return rw is not None and bool(rw.enabled)


def _keep(model: SignalModel) -> list[dict[str, Any]]:
    labels = [k for k, _ in model.federation_label]
    values = ";".join(re.escape(v) for _, v in model.federation_label)
    return [{"source_labels": labels, "regex": values, "action": "keep"}]


def external_labels(r: Resolved) -> dict[str, str]:
    """The cluster label, as Prometheus ``external_labels``: Prometheus adds it to every series it
    remote-writes and to every series ``/federate`` returns (unless the series has that label)."""
    c = r.profile.cluster
    return {} if c is None else {str(c.label): str(c.name)}


def url(r: Resolved) -> str:
    """The endpoint: the profile's url, or Sysdig's remote-write path on the region's host."""
    rw = r.profile.remote_write
    assert rw is not None
    if rw.url is not None:
        return str(rw.url)
    assert rw.sysdig_region is not None  # stage 1 (remote-write-target): one of the two
    return sysdig.remote_write_url(rw.sysdig_region)


def credentials_file(r: Resolved) -> str | None:
    rw = r.profile.remote_write
    if rw is None or rw.secret is None:
        return None
    return f"{rw.mount_path.rstrip('/')}/{rw.secret.key}"


def config_entry(r: Resolved, model: SignalModel) -> dict[str, Any]:
    """A ``remote_write`` entry of prometheus.yml."""
    rw = r.profile.remote_write
    assert rw is not None
    entry: dict[str, Any] = {"url": url(r)}
    cred = credentials_file(r)
    if rw.auth == "bearer" and cred:
        if r.flavour.name in ("helm-1.4", "istioctl-1.5"):  # Prometheus 2.15: no authorization block yet
            entry["bearer_token_file"] = cred
        else:
            entry["authorization"] = {"type": "Bearer", "credentials_file": cred}
    elif rw.auth == "basic" and cred:
        entry["basic_auth"] = {"username": rw.username or "", "password_file": cred}
    entry["write_relabel_configs"] = _keep(model)
    if rw.max_samples_per_send:
        entry["queue_config"] = {"max_samples_per_send": rw.max_samples_per_send}
    return entry


def operator_entry(r: Resolved, model: SignalModel) -> dict[str, Any]:
    """The same for a Prometheus custom resource (spec.remoteWrite), with Secret references."""
    rw = r.profile.remote_write
    assert rw is not None
    entry: dict[str, Any] = {"url": url(r)}
    if rw.secret is not None and rw.auth == "bearer":
        entry["authorization"] = {"type": "Bearer",
                                  "credentials": {"name": rw.secret.name, "key": rw.secret.key}}
    elif rw.secret is not None and rw.auth == "basic":
        entry["basicAuth"] = {"username": {"name": rw.secret.name, "key": "username"},
                              "password": {"name": rw.secret.name, "key": rw.secret.key}}
    entry["writeRelabelConfigs"] = [
        {"sourceLabels": x["source_labels"], "regex": x["regex"], "action": x["action"]} for x in _keep(model)
    ]
    if rw.max_samples_per_send:
        entry["queueConfig"] = {"maxSamplesPerSend": rw.max_samples_per_send}
    return entry


def secret_mode(r: Resolved) -> int:
    """File mode of the mounted credential, readable by the user the Prometheus container runs as.

    Secret files belong to root.  With a pod ``fsGroup`` the kubelet gives them that group (and
    group read), so owner and group read suffice; without one (the 1.22+ samples addon, the
    istioctl addon) Prometheus runs as ``nobody`` and can read the file only through the "other"
    bits.  Either way the file is never writable, and only the Prometheus container mounts it.
    """
    return 0o440 if r.flavour.fs_group is not None else 0o444


def volume(r: Resolved) -> dict[str, Any] | None:
    rw = r.profile.remote_write
    if not enabled(r) or rw is None or rw.secret is None:
        return None
    return {"name": VOLUME, "secret": {"secretName": rw.secret.name, "defaultMode": secret_mode(r)}}


def mount(r: Resolved) -> dict[str, Any] | None:
    rw = r.profile.remote_write
    if not enabled(r) or rw is None or rw.secret is None:
        return None
    return {"name": VOLUME, "mountPath": rw.mount_path, "readOnly": True}
