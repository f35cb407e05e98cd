"""The review diff engine: what a profile change does, structurally.

Modules, in the order data flows through them:

* :mod:`~istiogen.diff.sources` and :mod:`~istiogen.diff.live`: what is compared
  (the output folder on disk, the profiles at a git ref, objects exported from a
  cluster with the rendered artifacts applied);
* :mod:`~istiogen.diff.objects`: files to documents, object identity, server-set
  fields, YAML held in ConfigMap strings;
* :mod:`~istiogen.diff.structural`: the differ (equal subtrees skipped first,
  named list items matched by key) and the RFC 6902 patch builder;
* :mod:`~istiogen.diff.strategic`: strategic-merge patches, as ``kubectl`` applies them;
* :mod:`~istiogen.diff.engine`: trees and files compared, ignore rules applied;
* :mod:`~istiogen.diff.ignore` and :mod:`~istiogen.diff.mask`: ignore rules, secrets;
* :mod:`~istiogen.diff.views` and :mod:`~istiogen.diff.formats`: the output formats.

Nothing heavy is imported here: the functions below import what they use.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from istiogen.diff.model import ObjectDiff, Result
    from istiogen.pipeline import Rendered

__all__ = ["diff_live", "diff_rendered"]


def _finish(objs: list[ObjectDiff], notes: list[str], title: str, ignore: Sequence[str],
            ignore_file: Path | None) -> Result:
    from istiogen.diff.engine import apply_ignore, sort_objects
    from istiogen.diff.ignore import Ignore
    from istiogen.diff.model import Result

    kept, dropped = apply_ignore(sort_objects(objs), Ignore.load(list(ignore), ignore_file))
    return Result(kept, notes, title, dropped)


def diff_rendered(rendered: Rendered | Sequence[Rendered], out_root: Path | str = "output", *,
                  ignore: Sequence[str] = (), ignore_file: Path | None = None) -> Result:
    """What writing ``rendered`` under ``out_root`` would change (old: the files there, new: ``rendered``).

    ``ignore`` holds ignore patterns (see :mod:`istiogen.diff.ignore`); ``ignore_file`` a
    ``.istiogenignore`` to read them from as well.  Format the result with :mod:`istiogen.diff.formats`."""
    from istiogen.diff.sources import against_disk
    from istiogen.pipeline import Rendered as _Rendered

    trees = [rendered] if isinstance(rendered, _Rendered) else list(rendered)
    notes: list[str] = []
    root = Path(out_root)
    objs = against_disk(trees, root, notes)
    return _finish(objs, notes, f"{root}/ on disk -> rendered profiles", ignore, ignore_file)


def diff_live(rendered: Rendered | Sequence[Rendered], export: Path | str, *, out_root: Path | str = "output",
              ignore: Sequence[str] = (), ignore_file: Path | None = None) -> Result:
    """What applying ``rendered`` would change in the objects exported (``kubectl get -o yaml``) to ``export``."""
    from istiogen.diff.live import effects, load_export
    from istiogen.pipeline import Rendered as _Rendered
    from istiogen.source import display

    trees = [rendered] if isinstance(rendered, _Rendered) else list(rendered)
    live = load_export(Path(export), display)
    notes: list[str] = live.notes()
    objs: list[ObjectDiff] = []
    for x in trees:
        objs += effects(x, live, display(Path(out_root) / x.resolved.output_dir), notes)
    return _finish(objs, notes, f"live objects in {export} -> with the rendered artifacts applied", ignore,
                   ignore_file)
