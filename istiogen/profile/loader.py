"""Load a profile: read, compose ``extends``, validate the schema (cross-field rules: :mod:`istiogen.validate`).

Every problem in a file is collected and reported at once (file, line, column,
field path, hint); nothing is rendered unless the profile is valid.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from istiogen.errors import ProfileError
from istiogen.problems import Problem, did_you_mean, sort_problems
from istiogen.profile.compose import merge_docs
from istiogen.source import PathT, SourceDoc, dotted, load_yaml, read_file
from istiogen.source import display as _display

if TYPE_CHECKING:
    from istiogen.profile.models import Profile
    from istiogen.profile.resolve import LiveConfig

DEFAULT_PROFILE = "<embedded default profile>"
_YAML11_WORDS = "yes/no/on/off/y/n"


MAX_EXTENDS = 16  # bases in one chain (a base extending a base ...)
MAX_FILES = 64  # profile files composed into one profile


def referenced(problems: list[Problem], ref: tuple[SourceDoc, PathT, str] | None) -> list[Problem]:
    """Problems of a file a profile references: those without a position in that file (it is a FIFO,
    too large, unreadable) are reported where the profile names it, so every error has a position."""
    if ref is None:
        return problems
    doc, where, shown = ref
    return [p if p.line is not None else
            problem_at(doc, where, f"{shown}: {p.message}", p.rule, p.hint) for p in problems]


@dataclass
class LoadedProfile:
    """A validated profile and what it was read from (see :mod:`istiogen.profile.resolve`)."""

    model: Profile
    source: str  # display name of the file
    base_dir: Path | None  # folder relative paths in the profile are resolved against
    doc: SourceDoc
    files: list[str] = field(default_factory=list)  # every file composed into it
    warnings: list[Problem] = field(default_factory=list)
    live: LiveConfig | None = None  # read (and checked) with the profile
    root: Path | None = None  # the folder the profile and everything it references stay inside


def default_profile_text() -> str:
    return resources.files("istiogen.profile").joinpath("default.yaml").read_text(encoding="utf-8")


def _read(path: Path | None, display: str) -> SourceDoc:
    text = default_profile_text() if path is None else read_file(path, display)
    return load_yaml(text, display)


def boundary(path: Path) -> Path:
    """The folder a profile and the files it references must stay inside: the git work tree holding it
    (found by its ``.git``; no git is run), else the working folder if it holds the profile, else the
    profile's own folder."""
    folder = path.resolve().parent
    for d in (folder, *folder.parents):
        if (d / ".git").exists():
            return d
    cwd = Path.cwd().resolve()
    return cwd if inside(cwd, folder) else folder


def _where(root: Path) -> str:
    """How a boundary is named in messages (not by its path: that depends on where the user cloned)."""
    return "the repository (outside a git repository: the working folder)"


def inside(root: Path, target: Path) -> bool:
    """Whether ``target`` (symlinks resolved) lies inside ``root``."""
    try:
        target.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


class _Composer:
    """Reads a profile and the profiles it extends; every problem of every file is collected."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.problems: list[Problem] = []
        self.files: list[str] = []
        self.incomplete = False  # a base could not be read: keys it would have set may be "missing"
        self.count = 0  # files composed (a diamond of extends must not be read 2**n times)

    def fail(self, e: ProfileError) -> None:
        self.problems += e.problems

    def compose(self, path: Path | None, chain: tuple[Path, ...] = (),
                ref: tuple[SourceDoc, PathT, str] | None = None) -> SourceDoc | None:
        display = DEFAULT_PROFILE if path is None else _display(path)
        self.count += 1
        try:
            doc = _read(path, display)
        except ProfileError as e:
            self.problems += referenced(e.problems, ref)
            return None
        if not isinstance(doc.data, dict):
            self.problems.append(
                Problem(display, 1, 1, "", f"a profile is a mapping of settings, not {_kind(doc.data)}",
                        "profile-type", hint='e.g. istio: {version: "1.22"}'))
            return None
        self.files.append(display)
        ext = doc.data.get("extends")
        if ext is None:
            return doc
        bases = [ext] if isinstance(ext, str) else ext
        if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
            self.problems.append(problem_at(doc, ("extends",), "extends is a path or a list of paths", "extends"))
            doc.data.pop("extends", None)
            return doc
        if path is None:
            self.problems.append(Problem(display, None, None, "extends", "the embedded profile cannot extend",
                                         "extends"))
            return doc
        merged: SourceDoc | None = None
        here = path.resolve()
        listed: set[Path] = set()
        for i, b in enumerate(bases):
            where: PathT = ("extends",) if isinstance(ext, str) else ("extends", i)
            if isinstance(b, str) and b and (path.parent / b).resolve() in listed:
                self.problems.append(problem_at(doc, where, f"{_quoted(b)} is extended twice", "extends",
                                                "list each base once"))
                continue
            if isinstance(b, str) and b:
                listed.add((path.parent / b).resolve())
            bdoc = self._base(doc, where, path, b, (*chain, here))
            if bdoc is None:
                self.incomplete = True
                continue
            merged = bdoc if merged is None else merge_docs(merged, bdoc)
        doc.data.pop("extends", None)
        if merged is None:
            return doc
        for k in ("abstract", "name", "extends"):
            if isinstance(merged.data, dict):
                merged.data.pop(k, None)
        out = merge_docs(merged, doc)
        out.data.pop("extends", None)
        return out

    def _base(self, doc: SourceDoc, where: PathT, path: Path, b: str, chain: tuple[Path, ...]) -> SourceDoc | None:
        def err(msg: str, rule: str = "extends", hint: str | None = None) -> None:
            self.problems.append(problem_at(doc, where, msg, rule, hint))

        shown = _quoted(b)
        if not b or "\0" in b:
            err(f"{shown} is not a path")
            return None
        bpath = (path.parent / b).resolve()
        if bpath in chain:
            err(f"{shown} extends itself (a cycle through {', '.join(p.name for p in (*chain[:-1], bpath))})",
                "extends-cycle")
            return None
        if len(chain) > MAX_EXTENDS:
            err(f"more than {MAX_EXTENDS} profiles extend one another in a chain", "extends",
                "flatten the chain: a profile can extend several bases")
            return None
        if self.count >= MAX_FILES:
            err(f"more than {MAX_FILES} profile files are composed through extends", "extends",
                "extend each base once, from one place")
            return None
        if self.root is not None and not inside(self.root, bpath):
            err(f"{shown} leaves {_where(self.root)}: a profile and the files it references stay inside it",
                "path-outside", "move the base inside, or copy what it sets")
            return None
        if not bpath.exists():
            err(f"base profile {shown} not found (looked at {_display(bpath)})")
            return None
        return self.compose(bpath, chain, (doc, where, shown))


def _quoted(s: str, limit: int = 80) -> str:
    """``s`` quoted for a message, at most ``limit`` characters (newlines and controls escaped)."""
    return repr(s if len(s) <= limit else s[:limit] + "...")


def compose(path: Path | None, root: Path | None = None) -> tuple[SourceDoc, list[str]]:
    """Read ``path`` and every profile it extends, merged; returns the doc and the files read."""
    c = _Composer(root)
    doc = c.compose(path)
    if c.problems or doc is None:
        raise ProfileError(sort_problems(c.problems))
    return doc, c.files


def load_profile(path: Path | None = None, root: Path | None = None) -> LoadedProfile:
    """Load a profile file (the schema: YAML, ``extends``, types, unknown keys, the files it references), or
    the embedded default profile when ``path`` is None; raises :class:`ProfileError` with every problem.

    The cross-field rules are not run here: :func:`istiogen.validate.load` runs them (stage 1)."""
    loaded, problems = read_profile(path, root)
    if loaded is None or any(p.level == "error" for p in problems):
        raise ProfileError(sort_problems(problems))
    return loaded


def read_profile(path: Path | None = None, root: Path | None = None) -> tuple[LoadedProfile | None, list[Problem]]:
    """Read, compose and validate the schema of a profile: every problem, never a raise.

    ``root`` is the folder the profile and every file it references must stay inside (default:
    :func:`boundary`).  Every problem is reported at once: in the profile, in the profiles it extends
    and in the ConfigMap export it points at.  The profile is None when it did not validate (or a base
    could not be read); otherwise it is returned even with problems, so that the cross-field rules
    run on it and report in the same run."""
    from pydantic import ValidationError

    from istiogen.profile.live import read_live
    from istiogen.profile.models import Profile

    if path is not None and root is None:
        root = boundary(path)
    c = _Composer(root)
    doc = c.compose(path)
    problems = list(c.problems)
    if doc is None:
        return None, sort_problems(problems)
    display = doc.file
    data = doc.data
    if "name" not in data:
        stem = "default" if path is None else path.stem
        data["name"] = stem
    model = None
    try:
        model = Profile.model_validate(data)
    except ValidationError as e:
        found = _from_validation(e, doc)
        # a base that could not be read may hold the keys reported missing: only the errors in what was read
        problems += [p for p in found if not (c.incomplete and p.rule == "missing-key")]
    if model is not None and not c.incomplete:
        problems += _yaml11_problems(model, doc)
    if c.incomplete:
        model = None
    live = None
    live_rel = _get(data, ("prometheus", "live_config"))
    if isinstance(live_rel, str) and path is not None and not any(p.path == "prometheus.live_config"
                                                                  for p in problems if p.level == "error"):
        live, live_problems = read_live(doc, path.parent, live_rel, root, model)
        problems += live_problems
    if model is None:
        return None, sort_problems(problems)
    return LoadedProfile(
        model=model,
        source=display,
        base_dir=path.parent if path else None,
        doc=doc,
        files=c.files,
        warnings=sort_problems(p for p in problems if p.level == "warning"),
        live=live,
        root=root,
    ), problems


def problem_at(
    doc: SourceDoc, path: PathT, message: str, rule: str, hint: str | None = None, *,
    level: str = "error", key: bool = False,
) -> Problem:
    mk = doc.mark(path, key=key)
    return Problem(
        mk.file if mk else doc.file,
        mk.line if mk else None,
        mk.column if mk else None,
        dotted(path),
        message,
        rule,
        "warning" if level == "warning" else "error",
        hint,
    )


# --- pydantic errors -> problems -------------------------------------------------------------


def _clean_loc(loc: tuple[Any, ...], data: Any) -> tuple[PathT, bool, bool]:
    """Drop pydantic's union/validator tags from ``loc``; report whether it names a dict key."""
    out: list[str | int] = []
    cur = data
    is_key = False
    tagged = False
    for part in loc:
        if part == "[key]":
            is_key = True
            continue
        if isinstance(part, int) and isinstance(cur, list) and 0 <= part < len(cur):
            out.append(part)
            cur = cur[part]
        elif isinstance(part, str) and isinstance(cur, dict) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(part, str) and ("[" in part or part in _TYPE_TAGS):
            tagged = True
        else:
            out.append(part)
            cur = None
    return tuple(out), is_key, tagged


_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "none", "is-instance"}


def _model_fields_at(loc: PathT) -> list[str]:
    """Field names (aliases) of the model found by walking ``loc`` from Profile."""
    model = _model_at(loc)
    return [f.alias or n for n, f in model.model_fields.items()] if model is not None else []


def _field_by_alias(model: Any, name: str) -> Any:
    for n, f in model.model_fields.items():
        if (f.alias or n) == name:
            return f.annotation
    return None


def _unwrap(ann: Any) -> Any:
    while True:
        origin = typing.get_origin(ann)
        if origin is typing.Annotated:
            ann = typing.get_args(ann)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            models = [a for a in args if isinstance(a, type)]
            ann = args[0] if len(args) == 1 else models[0] if models else args[0]
            if len(args) == 1:
                continue
            return ann
        else:
            return ann


_FRIENDLY = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
}


def _kind(v: Any) -> str:
    """What a value is, without quoting it: a file given by mistake may hold a credential."""
    if isinstance(v, bool | int | float):
        return "a number" if not isinstance(v, bool) else "a boolean"
    if isinstance(v, str):
        return "a string"
    return _describe(v)


def _describe(v: Any) -> str:
    if isinstance(v, bool):
        return f"the boolean {str(v).lower()}"
    if isinstance(v, int | float):
        return f"the number {v!r}"
    if isinstance(v, str):
        return f"the string {v!r}"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    if v is None:
        return "null"
    return type(v).__name__


def _from_validation(exc: Any, doc: SourceDoc) -> list[Problem]:
    grouped: dict[tuple[PathT, bool], list[dict[str, Any]]] = {}
    for err in exc.errors(include_url=False):
        path, is_key, _tagged = _clean_loc(err["loc"], doc.data)
        grouped.setdefault((path, is_key), []).append(err)
    problems = []
    for (path, is_key), errs in grouped.items():
        problems.append(_one_problem(doc, path, is_key, errs))
    return problems


_MISSING_HINTS = {
    ("istio",): 'e.g. istio: {version: "1.22"}',
    ("istio", "version"): 'the Istio release of the mesh, quoted: version: "1.22"',
}


def _one_problem(doc: SourceDoc, path: PathT, is_key: bool, errs: list[dict[str, Any]]) -> Problem:
    err = errs[0]
    kind = err["type"]
    value = err.get("input")
    hint: str | None = None
    if kind == "extra_forbidden":
        fields = _model_fields_at(path[:-1])
        hint = did_you_mean(str(path[-1]), fields)
        if hint is None and fields:
            hint = "known keys: " + ", ".join(sorted(fields))
        return problem_at(doc, path, f"unknown key {path[-1]!r}", "unknown-key", hint, key=True)
    if kind == "missing":
        hint = _MISSING_HINTS.get(tuple(p for p in path if isinstance(p, str)))
        return problem_at(doc, path[:-1], f"missing required key {path[-1]!r}", "missing-key", hint, key=True)
    if all(e["type"] in _FRIENDLY for e in errs):
        wanted = " or ".join(dict.fromkeys(_FRIENDLY[e["type"]] for e in errs))
        msg = f"expected {wanted}, got {_describe(value)}"
        return problem_at(doc, path, msg, "type", _type_hint(path, wanted, value), key=is_key)
    if kind == "literal_error":
        expected = str(err.get("ctx", {}).get("expected", ""))
        options = [o.strip().strip("'") for o in expected.replace(" or ", ",").split(",") if o.strip()]
        hint = did_you_mean(str(value), options) if isinstance(value, str) else None
        ends = [o for o in options if isinstance(value, str) and value and o.endswith(value)]
        if hint is None and len(ends) == 1:
            hint = f"did you mean {ends[0]!r}?"
        return problem_at(
            doc, path, f"{_describe(value)} is not one of: {', '.join(options)}", "enum", hint, key=is_key
        )
    msg = err["msg"]
    ctx = err.get("ctx") or {}
    if kind == "finite_number":
        msg = f"expected a finite number, got {_describe(value)}"
        hint = "infinity and NaN are not thresholds; every number has a range: see istiogen schema"
    elif kind in _BOUNDS:
        word, limit = _BOUNDS[kind], ctx.get(kind_short(kind))
        msg = f"must be {word} {_num(limit)}, got {_num(value)}"
        if path and path[-1] == "port":
            hint = "ports are 1–65535"
        elif "quantiles" in path:
            hint = "a quantile lies between 0 and 1, e.g. 0.99"
        elif kind == "less_than_equal" and limit == 1 and isinstance(value, int | float) and 1 < value <= 100:
            hint = f"a ratio between 0 and 1: {_num(value / 100)} for {_num(value)}%"
    elif ctx.get("suggest"):
        hint = f"did you mean {ctx['suggest']!r}?"
    return problem_at(doc, path, msg, kind if "_" not in kind else kind.replace("_", "-"), hint, key=is_key)


_BOUNDS = {
    "greater_than_equal": "at least",
    "less_than_equal": "at most",
    "greater_than": "greater than",
    "less_than": "less than",
}


def kind_short(kind: str) -> str:
    """pydantic's context key for a bound: ``greater_than_equal`` -> ``ge``."""
    return {"greater_than_equal": "ge", "less_than_equal": "le", "greater_than": "gt", "less_than": "lt"}[kind]


def _num(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _type_hint(path: PathT, wanted: str, value: Any) -> str | None:
    """What was probably meant, from the value written and the type expected."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    text = value.strip() if isinstance(value, str) else None
    if text is not None and text.lower() in ("yes", "no", "on", "off", "y", "n") and "true" in wanted:
        return "write true or false"
    if text is not None and text.lower() in ("true", "false") and "true" in wanted:
        return f"remove the quotes: {text.lower()}"
    if isinstance(value, float) and path and path[-1] == "version":
        return 'quote it, e.g. "1.10": unquoted, YAML reads 1.10 as the number 1.1'
    if number and "string" in wanted and _is_duration(path):
        return f'a duration needs a unit: "{_num(value)}s"'
    if number and "string" in wanted:
        return f'quote it: "{value}"'
    if text is not None and "integer" in wanted and text.isdigit():
        return f"remove the quotes: {text}"
    if text is not None and "number" in wanted:
        if _is_number(text):
            return f"remove the quotes: {text}"
        if text.endswith("%") and _is_number(text[:-1]):
            return f"write the ratio as a number: {_num(float(text[:-1]) / 100)}"
    if wanted == "a list" and (number or text is not None):
        return f"write a list: [{value}]"
    if wanted == "a mapping" and isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        return f"remove the '- ': the keys of {path[-1] if path else 'the profile'} are not list items"
    if wanted == "a mapping" and isinstance(value, list):
        return "write key: value pairs, e.g. {name: value}"
    if wanted == "a mapping" and value is None:
        return "its keys go on the lines below it, indented"
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_duration(path: PathT) -> bool:
    """Whether the field at ``path`` is a :data:`istiogen.profile.types.Duration` (optional or not)."""
    from istiogen.profile.types import check_duration

    model = _model_at(path[:-1]) if path else None
    info = next((f for n, f in model.model_fields.items() if (f.alias or n) == path[-1]), None) if model else None
    if info is None:
        return False
    todo: list[Any] = [*info.metadata, info.annotation]
    while todo:
        a = todo.pop()
        if getattr(a, "func", None) is check_duration:
            return True
        todo += [*getattr(a, "__metadata__", ()), *typing.get_args(a)]
    return False


def _model_at(loc: PathT) -> Any:
    """The pydantic model class found by walking ``loc`` from Profile (None when it is not a model)."""
    from pydantic import BaseModel

    from istiogen.profile.models import Profile

    ann: Any = Profile
    for part in loc:
        ann = _unwrap(ann)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            ann = _field_by_alias(ann, str(part))
            if ann is None:
                return None
        elif typing.get_origin(ann) in (list, dict):
            args = typing.get_args(ann)
            ann = args[-1] if args else Any
        else:
            return None
    ann = _unwrap(ann)
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


def _yaml11_problems(model: Any, doc: SourceDoc) -> list[Problem]:
    """Unquoted yes/no/on/off where a string is meant: kubectl (YAML 1.1) would read a boolean."""
    problems = []
    for path in sorted(doc.yaml11_ambiguous, key=str):
        value = _get(doc.data, path)
        if not isinstance(value, str):
            continue
        problems.append(
            problem_at(
                doc, path,
                f"unquoted {value!r} is a boolean in YAML 1.1 (kubectl, Helm) but a string here",
                "yaml11-boolean",
                f"quote it: \"{value}\" (or write true/false if a boolean is meant; {_YAML11_WORDS} are ambiguous)",
            )
        )
    return problems


def _get(data: Any, path: PathT) -> Any:
    cur = data
    for p in path:
        try:
            cur = cur[p]
        except (KeyError, IndexError, TypeError):
            return None
    return cur
