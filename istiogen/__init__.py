"""istiogen: typed profiles to Istio monitoring manifests, with a reviewable diff."""

from __future__ import annotations

__version__ = "0.1.0"
