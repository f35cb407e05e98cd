"""``istiogen check``: the committed trees against what the profiles render now, proven from the index.json
digests when possible (nothing rendered), else rendered, validated and compared file by file."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from istiogen.api.results import CheckResult
    from istiogen.pipeline import Rendered
    from istiogen.problems import Problem
    from istiogen.profile.resolve import Resolved


def check(profiles_dir: Path, out_root: Path, schema: Path | None, full: bool,
          invalid_objects: Callable[[Sequence[Rendered]], list[Problem]]) -> CheckResult:
    from istiogen.api._batch import discover, load_all, render_all
    from istiogen.api.results import CheckResult, Stale
    from istiogen.emit.writer import plan
    from istiogen.source import display

    paths: list[Path | None] = list(discover(profiles_dir))
    if not paths:
        return CheckResult(0, 0)
    resolved = load_all(paths)
    proven = None if full else _proven(out_root, resolved)
    if proven is not None:
        return CheckResult(len(resolved), proven, proven=True, schema_stale=_schema_stale(schema))
    rendered = render_all(resolved)
    invalid = invalid_objects(rendered)
    if invalid:
        return CheckResult(len(rendered), 0, invalid=invalid)
    stale: list[Stale] = []
    resealed = 0
    for x in rendered:
        folder = out_root / x.resolved.output_dir
        for c in plan(folder, x.files):
            if c.status == "changed" and c.path == "index.json" and _only_digest(folder / c.path, x.files[c.path]):
                resealed += 1
                continue
            if c.status != "ok":
                stale.append(Stale(c.status, display(folder / c.path), x.resolved.source))
    return CheckResult(len(rendered), sum(len(x.files) for x in rendered), stale=stale,
                       schema_stale=_schema_stale(schema), resealed=resealed)


def _only_digest(path: Path, new: bytes) -> bool:
    """Does the tree's index.json differ from the rendered one in its digest alone?  The digest only lets
    check skip rendering; a tree that renders the same bytes is current whatever code sealed it."""
    import json

    try:
        old = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    fresh = json.loads(new)
    if not isinstance(old, dict):
        return False
    old.pop("digest", None)
    fresh.pop("digest", None)
    return bool(old == fresh)


def _proven(root: Path, resolved: list[Resolved]) -> int | None:
    """The number of files when every tree is proven current from its index.json digest, else None."""
    from istiogen.pipeline.index import input_digest, proven_current

    if len({r.output_dir for r in resolved}) != len(resolved):
        return None  # two profiles share a folder: rendering reports it
    total = 0
    for r in resolved:
        n = proven_current(root / r.output_dir, input_digest(r))
        if n is None:
            return None
        total += n
    return total


def _schema_stale(schema: Path | None) -> str | None:
    """The published JSON Schema as messages print it, when it exists and is not what istiogen prints now."""
    if schema is None or not schema.is_file():
        return None
    from istiogen.api.verbs import schema_text
    from istiogen.source import display

    if schema.read_text(encoding="utf-8") == schema_text():
        return None
    return display(schema)
