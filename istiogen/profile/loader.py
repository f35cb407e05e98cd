"""Load a profile: read, compose ``extends``, validate, check, resolve.

Every problem in a file is collected and reported at once (file, line, column,
field path, hint); nothing is rendered unless the profile is valid.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from istiogen.errors import ProfileError
from istiogen.problems import Problem, did_you_mean, sort_problems
from istiogen.profile.compose import merge_docs
from istiogen.source import PathT, SourceDoc, dotted, load_yaml, read_file

DEFAULT_PROFILE = "<embedded default profile>"
_YAML11_WORDS = "yes/no/on/off/y/n"


@dataclass
class LoadedProfile:
    """A validated profile and what it was read from (see :mod:`istiogen.profile.resolve`)."""

    model: Any  # istiogen.profile.models.Profile
    source: str  # display name of the file
    base_dir: Path | None  # folder relative paths in the profile are resolved against
    doc: SourceDoc
    files: list[str] = field(default_factory=list)  # every file composed into it
    warnings: list[Problem] = field(default_factory=list)


def default_profile_text() -> str:
    return resources.files("istiogen.profile").joinpath("default.yaml").read_text(encoding="utf-8")


def _read(path: Path | None, display: str) -> SourceDoc:
    text = default_profile_text() if path is None else read_file(path, display)
    return load_yaml(text, display)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def compose(path: Path | None, _chain: tuple[Path, ...] = ()) -> tuple[SourceDoc, list[str]]:
    """Read ``path`` and every profile it extends, merged; returns the doc and the files read."""
    display = DEFAULT_PROFILE if path is None else _display(path)
    doc = _read(path, display)
    if not isinstance(doc.data, dict):
        what = "a list" if isinstance(doc.data, list) else f"a {type(doc.data).__name__}"
        raise ProfileError(
            [Problem(display, 1, 1, "", f"a profile is a mapping of settings, not {what}", "profile-type")]
        )
    files = [display]
    ext = doc.data.get("extends")
    if ext is None:
        return doc, files
    bases = [ext] if isinstance(ext, str) else ext
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        mk = doc.mark(("extends",))
        raise ProfileError(
            [
                Problem(
                    display, mk.line if mk else None, mk.column if mk else None, "extends",
                    "extends is a path or a list of paths", "extends",
                )
            ]
        )
    if path is None:
        raise ProfileError([Problem(display, None, None, "extends", "the embedded profile cannot extend", "extends")])
    merged: SourceDoc | None = None
    for i, b in enumerate(bases):
        bpath = (path.parent / b).resolve()
        where: PathT = ("extends",) if isinstance(ext, str) else ("extends", i)
        mk = doc.mark(where)
        if bpath in (*_chain, path.resolve()):
            raise ProfileError(
                [
                    Problem(
                        display, mk.line if mk else None, mk.column if mk else None, dotted(where),
                        f"{b!r} extends itself (a cycle through {', '.join(p.name for p in (*_chain, bpath))})",
                        "extends-cycle",
                    )
                ]
            )
        if not bpath.is_file():
            raise ProfileError(
                [
                    Problem(
                        display, mk.line if mk else None, mk.column if mk else None, dotted(where),
                        f"base profile {b!r} not found (looked at {_display(bpath)})", "extends",
                    )
                ]
            )
        bdoc, bfiles = compose(bpath, (*_chain, path.resolve()))
        files += bfiles
        merged = bdoc if merged is None else merge_docs(merged, bdoc)
    assert merged is not None
    for k in ("abstract", "name", "extends"):
        if isinstance(merged.data, dict):
            merged.data.pop(k, None)
    out = merge_docs(merged, doc)
    out.data.pop("extends", None)
    return out, files


def load_profile(path: Path | None = None) -> LoadedProfile:
    """Load and validate a profile file, or the embedded default profile when ``path`` is None."""
    from pydantic import ValidationError

    from istiogen.profile import checks
    from istiogen.profile.models import Profile

    doc, files = compose(path)
    display = doc.file
    data = doc.data
    if "name" not in data:
        stem = "default" if path is None else path.stem
        data["name"] = stem
    problems: list[Problem] = []
    model = None
    try:
        model = Profile.model_validate(data)
    except ValidationError as e:
        problems += _from_validation(e, doc)
    if model is not None:
        problems += _yaml11_problems(model, doc)
        problems += checks.check(model, doc, path.parent if path else None)
    errors = [p for p in problems if p.level == "error"]
    if errors or model is None:
        raise ProfileError(sort_problems(problems))
    return LoadedProfile(
        model=model,
        source=display,
        base_dir=path.parent if path else None,
        doc=doc,
        files=files,
        warnings=sort_problems(p for p in problems if p.level == "warning"),
    )


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
    from pydantic import BaseModel

    from istiogen.profile.models import Profile

    ann: Any = Profile
    for part in loc:
        ann = _unwrap(ann)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            f = _field_by_alias(ann, str(part))
            if f is None:
                return []
            ann = f
        elif typing.get_origin(ann) in (list, dict):
            args = typing.get_args(ann)
            ann = args[-1] if args else Any
        else:
            return []
    ann = _unwrap(ann)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return [f.alias or n for n, f in ann.model_fields.items()]
    return []


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
            ann = models[0] if len(args) == 1 or models else args[0]
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
        return problem_at(doc, path[:-1], f"missing required key {path[-1]!r}", "missing-key", key=True)
    if all(e["type"] in _FRIENDLY for e in errs):
        wanted = " or ".join(dict.fromkeys(_FRIENDLY[e["type"]] for e in errs))
        msg = f"expected {wanted}, got {_describe(value)}"
        if isinstance(value, str) and value.lower() in ("yes", "no", "on", "off", "y", "n") and "true" in wanted:
            hint = "write true or false"
        elif isinstance(value, float) and path and path[-1] == "version":
            hint = 'quote it, e.g. "1.10": unquoted, YAML reads 1.10 as the number 1.1'
        elif isinstance(value, int | float) and not isinstance(value, bool) and "string" in wanted:
            hint = f'quote it: "{value}"'
        elif isinstance(value, str) and "integer" in wanted and value.strip().isdigit():
            hint = f"remove the quotes: {value.strip()}"
        return problem_at(doc, path, msg, "type", hint, key=is_key)
    if kind == "literal_error":
        expected = str(err.get("ctx", {}).get("expected", ""))
        options = [o.strip().strip("'") for o in expected.replace(" or ", ",").split(",") if o.strip()]
        hint = did_you_mean(str(value), options) if isinstance(value, str) else None
        return problem_at(
            doc, path, f"{_describe(value)} is not one of: {', '.join(options)}", "enum", hint, key=is_key
        )
    msg = err["msg"]
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        msg = f"{msg}, got {value!r}"
        if path and path[-1] == "port":
            hint = "ports are 1–65535"
    return problem_at(doc, path, msg, kind if "_" not in kind else kind.replace("_", "-"), hint, key=is_key)


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
