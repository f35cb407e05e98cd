"""RFC 7386 JSON merge patch, as ``kubectl patch --type merge`` applies it (the Operator's Prometheus
resource takes istiogen's changes this way): one definition for validation and for the live diff."""

from __future__ import annotations

import copy
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """Mappings merged key by key, ``null`` removes a key, anything else replaces; ``target`` is not changed."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out
