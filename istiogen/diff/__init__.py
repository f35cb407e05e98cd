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
    from istiogen.diff.ignore import Ignore
    from istiogen.diff.model import ObjectDiff, Result
    from istiogen.pipeline import Rendered

__all__ = ["diff_live", "diff_rendered", "diff_trees", "load_ignore"]


def load_ignore(ignore: Sequence[str] | Ignore = (), ignore_file: Path | None = None) -> Ignore:
    """Ignore rules from patterns and a ``.istiogenignore`` file (which need not exist)."""
    from istiogen.diff.ignore import Ignore as _Ignore

    if isinstance(ignore, _Ignore):
        return ignore
    return _Ignore.load(list(ignore), ignore_file)


def _finish(objs: list[ObjectDiff], notes: list[str], title: str, ignore: Sequence[str] | Ignore,
            ignore_file: Path | None) -> Result:
    from istiogen.diff.engine import apply_ignore, sort_objects
    from istiogen.diff.model import Result

    rules = load_ignore(ignore, ignore_file)
    kept, dropped = apply_ignore(sort_objects(objs), rules)
    return Result(kept, notes, title, dropped, rules)


def _trees(rendered: Rendered | Sequence[Rendered]) -> list[Rendered]:
    from istiogen.pipeline import Rendered as _Rendered

    return [rendered] if isinstance(rendered, _Rendered) else list(rendered)


def diff_rendered(rendered: Rendered | Sequence[Rendered], out_root: Path | str = "output", *,
                  ignore: Sequence[str] | Ignore = (), ignore_file: Path | None = None) -> Result:
    """What writing ``rendered`` under ``out_root`` would change (old: the files there, new: ``rendered``).

    ``ignore`` holds ignore patterns (see :mod:`istiogen.diff.ignore`), or rules already loaded; ``ignore_file``
    a ``.istiogenignore`` to read them from as well.  Format the result with :mod:`istiogen.diff.formats`."""
    from istiogen.diff.sources import against_disk

    notes: list[str] = []
    objs = against_disk(_trees(rendered), Path(out_root), notes)
    return _finish(objs, notes, f"{str(out_root).rstrip('/')}/ on disk -> rendered profiles", ignore, ignore_file)


def diff_trees(old: Sequence[Rendered], new: Sequence[Rendered], out_root: Path | str = "output", *, title: str,
               notes: Sequence[str] = (), ignore: Sequence[str] | Ignore = (),
               ignore_file: Path | None = None) -> Result:
    """What turning the trees ``old`` into ``new`` changes, tree by tree matched by output folder (a tree on
    one side only is all added or all removed); ``notes`` come first in the result's notes."""
    from istiogen.diff.sources import against_trees

    kept = list(notes)
    objs = against_trees({x.resolved.output_dir: x for x in old}, {x.resolved.output_dir: x for x in new},
                         Path(out_root), kept)
    return _finish(objs, kept, title, ignore, ignore_file)


def diff_live(rendered: Rendered | Sequence[Rendered], export: Path | str, *, out_root: Path | str = "output",
              ignore: Sequence[str] | Ignore = (), ignore_file: Path | None = None) -> Result:
    """What applying ``rendered`` would change in the objects exported (``kubectl get -o yaml``) to ``export``."""
    from istiogen.diff.live import effects, load_export
    from istiogen.source import display

    live = load_export(Path(export), display)
    notes: list[str] = live.notes()
    objs: list[ObjectDiff] = []
    for x in _trees(rendered):
        objs += effects(x, live, display(Path(out_root) / x.resolved.output_dir), notes)
    return _finish(objs, notes, f"live objects in {export} -> with the rendered artifacts applied", ignore,
                   ignore_file)
