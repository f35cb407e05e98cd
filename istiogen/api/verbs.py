"""The verbs as functions: what each ``istiogen`` verb computes, returned as data (:mod:`istiogen.api.results`).

Re-exported by :mod:`istiogen.api`; like it, this module imports nothing heavy at its top.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

# istiogen.registry.IGNORE_FILE, written again so that building the parser imports no dataclass machinery
# (tests/api/test_verbs.py checks the two agree)
IGNORE_FILE = ".istiogenignore"

if TYPE_CHECKING:
    from istiogen.api.results import Batch, CheckResult, Imported, Scaffolded, Validation
    from istiogen.diff.model import Result
    from istiogen.lint.engine import Result as LintResult
    from istiogen.pipeline import Rendered
    from istiogen.problems import Problem
    from istiogen.profile.resolve import Resolved

PROFILES_DIR = "profiles"
OUTPUT_ROOT = "output"
SCHEMA_FILE = "schema/profile.schema.json"


# --- several profiles at once (what every verb works on) -------------------------------------------


def discover(folder: str | Path) -> list[Path]:
    """Every profile (``*.yaml``, ``*.yml``) under ``folder``, sorted, but the abstract (``abstract: true``)
    bases, which are only rendered through the profiles extending them."""
    from istiogen.api._batch import discover as _discover

    return _discover(Path(folder))


def select_profiles(profiles: Sequence[str | Path] = (), *, all_profiles: bool = False,
                    profiles_dir: str | Path = PROFILES_DIR) -> list[Path | None]:
    """The profiles named (a folder stands for every profile in it), then with ``all_profiles`` every one under
    ``profiles_dir``; ``[None]``, the embedded default profile, when that is nothing."""
    from istiogen.api._batch import select

    return select([Path(p) for p in profiles], Path(profiles_dir) if all_profiles else None)


def load_profiles(paths: Sequence[str | Path | None], root: str | Path | None = None) -> list[Resolved]:
    """Load every profile (``None``: the embedded default); every problem of every file is raised together, and
    two profiles writing to one folder (or one inside the other's) is one.  ``root``: the folder every profile
    and what it references must stay inside (default: each profile's repository)."""
    from istiogen.api._batch import load_all

    return load_all([Path(p) if p is not None else None for p in paths], Path(root) if root is not None else None)


def render_profiles(profiles: Sequence[Resolved | str | Path | None], root: str | Path | None = None) -> Batch:
    """Render several profiles (loaded, or paths loaded with :func:`load_profiles`); every problem of every
    profile is raised together."""
    from istiogen.api._batch import render_all
    from istiogen.api.results import Batch
    from istiogen.profile.resolve import Resolved as _Resolved

    if all(isinstance(p, _Resolved) for p in profiles):
        resolved = [p for p in profiles if isinstance(p, _Resolved)]
    else:
        if any(isinstance(p, _Resolved) for p in profiles):
            raise TypeError("render_profiles: give loaded profiles or paths, not both")
        resolved = load_profiles([p for p in profiles if not isinstance(p, _Resolved)], root)
    return Batch(render_all(resolved))


# --- the verbs --------------------------------------------------------------------------------------


def validate(paths: Sequence[str | Path | None]) -> Validation:
    """Load and render every profile (a ProfileError carries every problem), then check every Kubernetes
    object against the schema of the profile's kubernetes.version; writes nothing."""
    from istiogen.api.results import Validation

    batch = render_profiles(paths)
    return Validation(batch.rendered, _invalid_objects(batch.rendered), batch.warnings)


def _invalid_objects(rendered: Sequence[Rendered]) -> list[Problem]:
    """The rendered objects the schema of kubernetes.version refuses."""
    from istiogen import verify

    return [p for x in rendered for p in verify.run(x, verify.schema_rules())]


def check(profiles_dir: str | Path = PROFILES_DIR, out_root: str | Path = OUTPUT_ROOT, *,
          schema: str | Path | None = SCHEMA_FILE, full: bool = False) -> CheckResult:
    """Are the trees under ``out_root`` current with every profile in ``profiles_dir`` (and the published JSON
    Schema at ``schema``, when that file exists, with :func:`schema_text`)?

    When every tree's ``index.json`` digest matches what it would be rendered from now and every file is as
    listed, nothing is rendered (``proven``); otherwise, or with ``full``, every profile is rendered, its
    objects validated (``invalid``) and each tree compared file by file (``stale``)."""
    from istiogen.api._check import check as _check

    return _check(Path(profiles_dir), Path(out_root), Path(schema) if schema is not None else None, full,
                  _invalid_objects)


def schema_text() -> str:
    """The JSON Schema of the profile format, as ``istiogen schema`` prints it."""
    import json

    from istiogen.profile.models import Profile

    schema = Profile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "istiogen profile"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def diff_profiles(profiles: Sequence[str | Path] = (), *, all_profiles: bool = False,
                  profiles_dir: str | Path = PROFILES_DIR, out_root: str | Path = OUTPUT_ROOT,
                  live: str | Path | None = None, against_ref: str | None = None, ignore: Sequence[str] = (),
                  ignore_file: str | Path | None = IGNORE_FILE) -> Result:
    """What a profile change does, as ``istiogen diff`` compares it (old -> new): the trees under ``out_root``
    -> the profiles rendered (default); with ``against_ref``, the profiles at that git ref, rendered -> the
    profiles in the working tree, rendered (without profiles named: every one, as with ``all_profiles``);
    with ``live``, objects exported from a cluster -> the same with the rendered artifacts applied.

    ``ignore`` holds glob patterns on dotted paths, read from ``ignore_file`` too when it exists."""
    from istiogen.api._diff import diff_profiles as _diff

    if live is not None and against_ref is not None:
        from istiogen.errors import FatalError

        raise FatalError("compare with a git ref or with live objects, not both")
    return _diff([Path(p) for p in profiles], all_profiles, Path(profiles_dir), str(out_root),
                 None if live is None else str(live), against_ref, ignore,
                 Path(ignore_file) if ignore_file is not None else None)


def lint_report(paths: Sequence[str | Path] = (), *, config: str | Path | None = None, exclude: Sequence[str] = (),
                scrape_interval: str | None = None) -> LintResult:
    """Lint rendered trees or bundles (default: the ``output/`` folder here) with the exclusions of ``config``
    (default: ``.istiogen-lint.yaml`` if present) and ``exclude`` (``RULE[:GLOB]=REASON``); ``scrape_interval``
    a duration such as ``15s``.  Returns the findings and the counts."""
    from istiogen.errors import FatalError
    from istiogen.lint import config as lint_config
    from istiogen.lint import engine, loader
    from istiogen.lint import promql as pq
    from istiogen.lint.registry import IDS

    interval = None
    if scrape_interval is not None:
        interval = pq.duration(scrape_interval)
        if not interval:
            raise FatalError(f"--scrape-interval {scrape_interval!r}: not a duration (e.g. 15s, 1m)")
    cfg = lint_config.load(Path(config) if config else None, IDS)
    exclusions = [*cfg.exclusions, *lint_config.from_cli(list(exclude), IDS)]
    targets = [Path(p) for p in paths]
    if not targets:
        root = Path(OUTPUT_ROOT)
        if not root.is_dir():
            raise FatalError(f"no {OUTPUT_ROOT}/ folder here: render first, or name what to lint")
        targets = [root]
    return engine.lint(loader.load(targets), exclusions=exclusions, scrape_interval=interval)


def lint_rules() -> list[tuple[str, str, str]]:
    """(ID, level, description) of every lint rule."""
    from istiogen.lint.registry import CHECKS

    return [(c.ID, c.LEVEL, c.DESCRIPTION) for c in CHECKS]


def import_profile(exports: Sequence[str | Path], name: str = "imported", *, istio_version: str | None = None,
                   output: str | Path | None = None) -> Imported:
    """Write a profile reproducing the monitoring in ``exports`` (``kubectl get -o yaml`` files or folders) to
    ``output`` (default: ``profiles/NAME.yaml``); refuses to overwrite a file."""
    from istiogen.api._adopt import import_profile as _import

    return _import([Path(x) for x in exports], name, istio_version, Path(output) if output else None)


def init(folder: str | Path = ".", *, exports: Sequence[str | Path] = (), name: str | None = None,
         istio_version: str | None = None) -> Scaffolded:
    """Scaffold a repository in ``folder``: a profile (imported from ``exports`` when given, else the embedded
    default), its rendered tree, pre-commit hooks, a pull-request workflow.  When any file it would write
    exists, nothing is written (FatalError)."""
    from istiogen.api._adopt import init as _init

    return _init(Path(folder), [Path(x) for x in exports], name, istio_version)


def display(path: str | Path) -> str:
    """A path as istiogen's messages print it: relative to the working folder when inside it."""
    from istiogen.source import display as _display

    return _display(Path(path))
