"""Every Kubernetes object of the tree is valid for its schema (:mod:`istiogen.verify.kubevalidate`): built-in
kinds for the profile's Kubernetes version, custom resources for their upstream CRDs.

Heavy (it loads kubernetes-validate and the CRD models, seconds): run only by ``istiogen validate`` and
``istiogen check`` (:func:`istiogen.verify.schema_rules`), not by every render."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from istiogen.problems import Problem

if TYPE_CHECKING:
    from istiogen.pipeline import Rendered

ID = "kube-schema"
HEAVY = True


def check(rendered: Rendered) -> Iterator[Problem]:
    from istiogen.verify.kubevalidate import validate

    yield from validate(rendered)
