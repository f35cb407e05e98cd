"""The live diff applies the Operator's merge patch as ``kubectl patch --type merge`` does: the
expected result comes from kubectl, on the rendered patch of every example that has one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from istiogen.jsonmerge import merge_patch
from tests.conftest import REPO, run

CR = REPO / "tests/fixtures/addons/prometheus-cr.yaml"


def test_merge_patch_equals_kubectl(examples_rendered: dict[str, Any], kubectl: str, tmp_path: Path) -> None:
    base = yaml.safe_load(CR.read_text(encoding="utf-8"))
    patches = {name: x.files[p] for name, x in examples_rendered.items() for p in x.files
               if p.endswith("prometheus-patch.merge.json")}
    assert patches, "an example profile renders the operator's merge patch"
    for name, data in sorted(patches.items()):
        patch = json.loads(data)
        # a removal and a nested replacement too, so null handling is compared with kubectl as well
        for extra in ({}, {"spec": {"serviceMonitorSelector": None, "podMetadata": {"labels": {"team": None}}}}):
            full = merge_patch(patch, extra) if extra else patch
            got = merge_patch(base, full)
            out = run([kubectl, "patch", "--local", "-f", str(CR), "--type", "merge", "-p", json.dumps(full),
                       "-o", "json"]).stdout
            assert got == json.loads(out), name
