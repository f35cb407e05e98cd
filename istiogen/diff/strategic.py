"""A small strategic-merge patch (``kubectl patch --type strategic``) for the kinds istiogen patches.

It knows the merge keys of the pod spec (containers, init containers, volumes,
env and image pull secrets by ``name``, volume mounts by ``mountPath``,
container ports by ``containerPort``) and of Service ports; mappings are merged,
``null`` deletes a key, and any other list is replaced whole.  Merged lists are
ordered as the API machinery orders them: the patch's items in patch order,
with the items only the live object has slotted in by their live order
(``normalizeElementOrder`` in k8s.io/apimachinery).  The ``$patch`` directive
(``replace``, ``delete``, ``merge``) is understood; other directives are
refused.  Checked against ``kubectl patch --local`` in the tests.
"""

from __future__ import annotations

import copy
from typing import Any

from istiogen.errors import FatalError

MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "imagePullSecrets": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "schedulingGates": "name",
}
SERVICE_MERGE_KEYS = {**MERGE_KEYS, "ports": "port"}
DIRECTIVE = "$patch"


def apply(original: Any, patch: Any, kind: str = "") -> Any:
    """``original`` with the strategic-merge ``patch`` applied (neither is modified)."""
    keys = SERVICE_MERGE_KEYS if kind == "Service" else MERGE_KEYS
    if not isinstance(patch, dict):
        raise FatalError("a strategic-merge patch is a mapping")
    return _merge_map(copy.deepcopy(original) if isinstance(original, dict) else {}, patch, keys)


def _merge_map(orig: dict[str, Any], patch: dict[str, Any], keys: dict[str, str]) -> Any:
    directive = patch.get(DIRECTIVE)
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != DIRECTIVE}
    if directive == "delete":
        return None
    if directive not in (None, "merge"):
        raise FatalError(f"unsupported strategic-merge directive $patch: {directive}")
    for k, v in patch.items():
        if k == DIRECTIVE:
            continue
        if isinstance(k, str) and k.startswith("$"):
            raise FatalError(f"unsupported strategic-merge directive {k}")
        if v is None:
            orig.pop(k, None)
            continue
        cur = orig.get(k)
        if isinstance(v, dict):
            merged = _merge_map(cur if isinstance(cur, dict) else {}, v, keys)
            if merged is None:
                orig.pop(k, None)
            else:
                orig[k] = merged
        elif isinstance(v, list):
            orig[k] = _merge_list(cur if isinstance(cur, list) else [], v, keys.get(k), keys)
        else:
            orig[k] = copy.deepcopy(v)
    return orig


def _merge_list(orig: list[Any], patch: list[Any], merge_key: str | None, keys: dict[str, str]) -> list[Any]:
    if any(isinstance(p, dict) and p.get(DIRECTIVE) == "replace" for p in patch):
        return [_clean(p) for p in patch if not (isinstance(p, dict) and p.get(DIRECTIVE) == "replace")]
    if merge_key is None or not all(isinstance(p, dict) for p in patch) or not all(
        isinstance(o, dict) for o in orig
    ):
        return [_clean(p) for p in patch]
    for p in patch:
        if merge_key not in p:
            raise FatalError(f"a strategic-merge list item lacks its merge key {merge_key!r}: {p}")

    def find(items: list[Any], value: Any) -> int:
        for i, it in enumerate(items):
            if it.get(merge_key) == value:
                return i
        return -1

    merged = list(orig)
    for p in patch:
        i = find(merged, p[merge_key])
        if p.get(DIRECTIVE) == "delete":
            if i >= 0:
                del merged[i]
            continue
        if i >= 0:
            merged[i] = _merge_map(merged[i], p, keys)
        else:
            merged.append(_merge_map({}, p, keys))
    # order as the API machinery does: patch items by patch order, server-only items by server order,
    # interleaved where both appear in the server's list
    patch_values = [p[merge_key] for p in patch if p.get(DIRECTIVE) != "delete"]
    patch_items = sorted((m for m in merged if m.get(merge_key) in patch_values),
                         key=lambda m: patch_values.index(m.get(merge_key)))
    server_order = [o.get(merge_key) for o in orig]
    server_only = [m for m in merged if m.get(merge_key) not in patch_values]
    return _merge_sorted(server_only, patch_items, server_order, merge_key)


def _merge_sorted(left: list[Any], right: list[Any], server_order: list[Any], merge_key: str) -> list[Any]:
    def index(item: Any) -> int:
        v = item.get(merge_key)
        return server_order.index(v) if v in server_order else -1

    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li, ri = index(left[i]), index(right[j])
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def _clean(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items() if k != DIRECTIVE}
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v
