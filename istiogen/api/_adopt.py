"""Adopting istiogen: a profile imported from a cluster's exports (``istiogen import``), a repository
scaffolded around one (``istiogen init``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from istiogen.errors import FatalError

if TYPE_CHECKING:
    from istiogen.api.results import Imported, Scaffolded

PROFILE_NAME = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"


def import_profile(exports: list[Path], name: str, istio_version: str | None, output: Path | None) -> Imported:
    import re

    from istiogen.adopt.importer import import_profile as _import
    from istiogen.api.results import Imported
    from istiogen.emit.files import write_new_file
    from istiogen.source import display

    if not re.fullmatch(PROFILE_NAME, name):
        raise FatalError(f"--name {name!r}: a profile name is a DNS label (lower-case letters, digits, '-')")
    out = output or Path("profiles") / f"{name}.yaml"
    if out.exists() or out.is_symlink():
        raise FatalError(f"{display(out)} exists: import never overwrites (give -o another file)")
    result = _import(exports, name, istio_version, display)
    write_new_file(out, result.text.encode("utf-8"))
    return Imported(out, result)


def init(root: Path, exports: list[Path], name: str | None, istio_version: str | None) -> Scaffolded:
    import contextlib
    import tempfile

    from istiogen.adopt.scaffold import existing, plan
    from istiogen.api.results import Scaffolded
    from istiogen.emit.files import write_new_file
    from istiogen.emit.writer import write_tree
    from istiogen.pipeline import render
    from istiogen.profile.loader import default_profile_text
    from istiogen.source import display
    from istiogen.validate import load

    if root.exists() and not root.is_dir():
        raise FatalError(f"{display(root)} is not a folder")
    notes: list[str] = []
    if exports:
        from istiogen.adopt.importer import import_profile as _import

        name = name or "imported"
        result = _import(exports, name, istio_version, display)
        text = result.text
        notes = [f"unmapped {u.text()}" for u in result.imported.unmapped]
    else:
        text = default_profile_text()
        if name:
            import re

            text = re.sub(r"(?m)^name: .*$", f"name: {name}", text, count=1)
        else:
            name = load(None).name
    with tempfile.TemporaryDirectory(prefix="istiogen-init-") as tmp:
        probe = Path(tmp) / f"{name}.yaml"
        probe.write_text(text, encoding="utf-8")
        rendered = render(load(probe))
    files = plan(name, text, rendered.resolved.output_dir)
    clash = existing(root, files)
    if (root / "output" / rendered.resolved.output_dir).exists():
        clash.append(f"output/{rendered.resolved.output_dir}/")
    if clash:
        raise FatalError(f"{display(root)}: {', '.join(clash)} exist(s): init never overwrites; nothing "
                         "was written")
    created: list[Path] = []
    for f in files:
        write_new_file(root / f.path, f.data)
        created.append(root / f.path)
    with contextlib.chdir(root):  # index.json names the profile as `istiogen check` run there will
        rendered = render(load(Path("profiles") / f"{name}.yaml"))
        write_tree(Path("output"), rendered.resolved.output_dir, rendered.files)
    return Scaffolded(created, root / "output" / rendered.resolved.output_dir, len(rendered.files), notes)
