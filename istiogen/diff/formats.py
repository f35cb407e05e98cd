"""The output formats of ``istiogen diff``; every one starts with the summary.

* ``text``: unified diffs with context, coloured on a terminal;
* ``semantic``: one line per change: artifact, object, dotted path, change type, old → new;
* ``json``: the summary and the list of changes, for machines;
* ``markdown``: a pull-request comment: summary table, then a collapsible
  section per artifact, kept under :data:`MARKDOWN_LIMIT` characters;
* ``github``: workflow annotations on the changed files;
* ``patch``: an RFC 6902 patch per changed object.

No format prints a secret (see :mod:`istiogen.diff.mask`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from istiogen.diff.ignore import Ignore
from istiogen.diff.mask import CHANGED, mask_pair, mask_value, scrub, sensitive_path
from istiogen.diff.model import MISSING, Change, ObjectDiff, Result, Seg, Summary, dotted, pointer
from istiogen.diff.views import Ignored, colorize, object_lines
from istiogen.problems import workflow_command

FORMATS = ("text", "semantic", "json", "markdown", "github", "patch")
MARKDOWN_LIMIT = 65_000
SHORT = 160


def _ignored_for(ignore: Ignore | None, o: ObjectDiff) -> Ignored:
    if ignore is None:
        return lambda _: False
    return ignore.for_artifact(o.artifact, o.kind)


def summary_lines(res: Result) -> list[str]:
    s = res.summary
    out = [f"istiogen diff: {res.title}"] if res.title else []
    out.append(f"Plan: {s.line()}.")
    width = max((len(k) for k in s.by_kind), default=0)
    for kind, counts in s.by_kind.items():
        out.append(f"  {kind + ':':<{width + 1}} {Summary.kind_line(counts)}")
    if res.ignored:
        out.append(f"  ({res.ignored} ignored change(s) not shown)")
    return out


def _notes(res: Result) -> list[str]:
    return [f"note: {n}" for n in res.notes]


# ------------------------------------------------------------------------------------------------ text

def text(res: Result, context: int = 3, color: bool = False, ignore: Ignore | None = None) -> str:
    lines = summary_lines(res)
    if not res.objects:
        lines.append("No differences.")
    for o in res.objects:
        lines.append("")
        lines += object_lines(o, context, _ignored_for(ignore, o))
    if res.notes:
        lines.append("")
        lines += _notes(res)
    if color:
        head = len(summary_lines(res))
        lines = [f"\x1b[1m{x}\x1b[0m" if i < head else colorize(x) for i, x in enumerate(lines)]
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------------------------------- semantic

def _json(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, default=str, sort_keys=False)


def _short(v: Any, limit: int = SHORT) -> str:
    s = _json(v)
    if len(s) <= limit:
        return s
    return s[: limit - 1] + f"… ({len(s)} characters)"


def _excerpt(old: str, new: str, keep: int = 30) -> tuple[str, str]:
    """The part of two long strings that differs, with a little context."""
    p = 0
    while p < min(len(old), len(new)) and old[p] == new[p]:
        p += 1
    s = 0
    while s < min(len(old), len(new)) - p and old[-1 - s] == new[-1 - s]:
        s += 1
    start = max(0, p - keep)
    o_end, n_end = len(old) - max(0, s - keep), len(new) - max(0, s - keep)
    pre = "…" if start > 0 else ""
    o = pre + old[start:o_end] + ("…" if o_end < len(old) else "")
    n = pre + new[start:n_end] + ("…" if n_end < len(new) else "")
    return o, n


def _values(c: Change, o: ObjectDiff) -> str:
    old, new = mask_pair(c.old, c.new, c.path, o.secret)
    if c.type == "added":
        return f"added: {_short(new)}" if c.path else "added"
    if c.type == "removed":
        return f"removed: {_short(old)}" if c.path else "removed"
    if c.type == "moved":
        return f"moved: [{c.old}] → [{c.new}]" + (f" ({c.note})" if c.note else "")
    if c.type == "formatting":
        return c.note or "formatting only"
    if c.type == "mode":
        return f"mode: {c.old} → {c.new}"
    if o.format == "text" and not c.path and isinstance(old, str) and isinstance(new, str):
        a, b = old.split("\n"), new.split("\n")
        import difflib

        plus = minus = 0
        for line in difflib.unified_diff(a, b, n=0, lineterm=""):
            if line.startswith("+") and not line.startswith("+++"):
                plus += 1
            elif line.startswith("-") and not line.startswith("---"):
                minus += 1
        return f"changed: +{plus} -{minus} lines"
    if isinstance(old, str) and isinstance(new, str) and len(_json(old)) + len(_json(new)) > 2 * SHORT:
        old, new = _excerpt(old, new)
    return f"changed: {_short(old)} → {_short(new)}"


def semantic_line(o: ObjectDiff, c: Change) -> str:
    where = o.artifact + (f" [{o.label}]" if o.label else "")
    path = f" {c.dotted}" if c.path else ""
    return f"{where}{path}: {_values(c, o)}"


def semantic(res: Result) -> str:
    lines = summary_lines(res)
    if not res.objects:
        lines.append("No differences.")
    else:
        lines.append("")
    for o in res.objects:
        for c in o.changes:
            lines.append(semantic_line(o, c))
    if res.notes:
        lines += ["", *_notes(res)]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ json

def _plain(v: Any) -> Any:
    return None if v is MISSING else v


def change_record(o: ObjectDiff, c: Change) -> dict[str, Any]:
    old, new = mask_pair(c.old, c.new, c.path, o.secret)
    if o.format == "text" and isinstance(old, str) and isinstance(new, str):
        old, new = scrub(old), scrub(new)
    rec: dict[str, Any] = {
        "artifact": o.artifact,
        "kind": o.kind,
        "object": o.label or None,
        "path": c.dotted,
        "type": c.type,
        "old": _plain(old),
        "new": _plain(new),
    }
    if c.note:
        rec["note"] = c.note
    return rec


def as_json(res: Result) -> str:
    doc = {
        "summary": res.summary.as_dict(),
        "title": res.title,
        "ignored": res.ignored,
        "changes": [change_record(o, c) for o in res.objects for c in o.changes],
        "notes": list(res.notes),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n"


# -------------------------------------------------------------------------------------------- markdown

def _fence(body: str) -> str:
    n = 3
    while "`" * n in body:
        n += 1
    return "`" * n


def _md_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace("|", "\\|")


def markdown(res: Result, context: int = 3, limit: int = MARKDOWN_LIMIT, ignore: Ignore | None = None) -> str:
    s = res.summary
    head = ["### istiogen diff", ""]
    if res.title:
        head += [f"{_md_escape(res.title)}", ""]
    head += [f"**{s.line()}**", ""]
    if s.by_kind:
        head += ["| artifact kind | to add | to change | to remove |", "|---|---:|---:|---:|"]
        head += [f"| `{k}` | {v['add']} | {v['change']} | {v['remove']} |" for k, v in s.by_kind.items()]
        head.append("")
    if res.ignored:
        head += [f"_{res.ignored} ignored change(s) not shown._", ""]
    if not res.objects:
        head += ["No differences.", ""]
    for n in res.notes:
        head += [f"> **Note:** {_md_escape(n)}", ""]
    by_artifact: dict[str, list[ObjectDiff]] = {}
    for o in res.objects:
        by_artifact.setdefault(o.artifact, []).append(o)
    sections = []
    for artifact, objs in by_artifact.items():
        counts = {"added": 0, "changed": 0, "removed": 0}
        for o in objs:
            counts[o.status] += 1
        what = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
        body = "\n".join(line for o in objs for line in object_lines(o, context, _ignored_for(ignore, o)))
        fence = _fence(body)
        title = f"<code>{_md_escape(artifact)}</code> ({_md_escape(objs[0].kind)}): {what}"
        sections.append((artifact, title, fence, body))
    out = "\n".join(head) + "\n"
    budget = limit - 600  # room for the note on what was cut
    cut: list[str] = []
    for artifact, title, fence, body in sections:
        full = f"<details><summary>{title}</summary>\n\n{fence}diff\n{body}\n{fence}\n\n</details>\n\n"
        if not cut and len(out) + len(full) <= budget:
            out += full
            continue
        if not cut:
            room = budget - len(out) - len(title) - 200
            if room > 500:
                lines = body.split("\n")
                kept: list[str] = []
                used = 0
                for line in lines:
                    if used + len(line) + 1 > room:
                        break
                    kept.append(line)
                    used += len(line) + 1
                more = len(lines) - len(kept)
                out += (f"<details><summary>{title} (cut)</summary>\n\n{fence}diff\n" + "\n".join(kept)
                        + f"\n{fence}\n\n_{more} more line(s) not shown._\n\n</details>\n\n")
                cut.append(f"{artifact} (partly)")
                continue
        cut.append(artifact)
    if cut:
        names = ", ".join(f"`{c}`" for c in cut[:15]) + (f" and {len(cut) - 15} more" if len(cut) > 15 else "")
        out += (f"> **Output cut** to stay under {limit:,} characters: {len(cut)} artifact(s) not shown in full: "
                f"{names}. Run `istiogen diff` locally for everything.\n")
    return out.rstrip("\n") + "\n"


# ---------------------------------------------------------------------------------------------- github

def github(res: Result, line_of: Callable[[ObjectDiff, Change], int | None] | None = None) -> str:
    s = res.summary
    kinds = "; ".join(f"{k}: {Summary.kind_line(v)}" for k, v in s.by_kind.items())
    out = [workflow_command("notice", [("title", "istiogen diff")], s.line() + (f" ({kinds})" if kinds else ""))]
    for o in res.objects:
        file = o.new_file or o.old_file or o.artifact
        first = o.changes[0] if o.changes else None
        line = line_of(o, first) if line_of is not None and first is not None else None
        what = {"added": "to add", "removed": "to remove", "changed": "to change"}[o.status]
        title = f"istiogen diff: {o.label or o.kind} {what}"
        details = [(f"{c.dotted}: " if c.path else "") + _values(c, o) for c in o.changes[:25]]
        if len(o.changes) > 25:
            details.append(f"… and {len(o.changes) - 25} more change(s)")
        props: list[tuple[str, object]] = [("file", file)]
        if line is not None:
            props.append(("line", line))
        props.append(("title", title))
        out.append(workflow_command("notice", props, "\n".join(details)))
    for n in res.notes:
        out.append(workflow_command("warning", [("title", "istiogen diff")], n))
    return "\n".join(out) + "\n"


def source_line(o: ObjectDiff, c: Change) -> int | None:
    """The line of a change in the file it was read from (the new side, or the old one for removals)."""
    side: Any = "new" if c.type != "removed" and o.new_source is not None else "old"
    text = o.new_source if side == "new" else o.old_source
    if text is None or len(text) > 1_000_000 or o.format == "text":
        return None
    from istiogen.errors import ProfileError
    from istiogen.source import load_yaml, load_yaml_all

    try:
        docs = load_yaml_all(text, o.artifact)
    except ProfileError:
        return None
    if o.doc_index >= len(docs):
        return None
    outer = pointer(c.path, side)
    if outer is None:
        outer = pointer(c.path[:-1], side) or ()
    doc = docs[o.doc_index]
    mk = doc.mark(outer)
    if mk is None:
        return None
    n = len(outer)
    if n and n <= len(c.path) and c.path[n - 1].embedded and len(c.path) > n:
        value: Any = doc.data
        for k in outer:
            value = value[k]
        if isinstance(value, str):
            try:
                inner_doc = load_yaml(value, o.artifact)
            except ProfileError:
                return mk.line
            inner = pointer(c.path[n:], side) or ()
            imk = inner_doc.mark(inner)
            if imk is not None:
                return mk.line + imk.line
    return mk.line


# ----------------------------------------------------------------------------------------------- patch

def patch(res: Result, ignore: Ignore | None = None) -> str:
    from istiogen.diff.structural import make_patch_ops

    patches = []
    for o in res.objects:
        rec: dict[str, Any] = {"artifact": o.artifact, "kind": o.kind, "object": o.label or None,
                               "target": o.ident.as_dict() if o.ident is not None else None}
        if o.status == "added":
            rec["action"] = "create"
            value = mask_value(o.new, (), o.secret) if o.format != "text" else scrub(o.new)
            rec["patch"] = [{"op": "add", "path": "", "value": value}]
        elif o.status == "removed":
            rec["action"] = "delete"
            rec["patch"] = None
        else:
            rec["action"] = "patch"
            ops = make_patch_ops(o.old, o.new, _skip(o, ignore))
            rec["patch"] = [_mask_op(op, path, o.secret) for op, path in ops]
        patches.append(rec)
    doc = {"summary": res.summary.as_dict(), "title": res.title, "patches": patches, "notes": list(res.notes)}
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n"


def _skip(o: ObjectDiff, ignore: Ignore | None) -> Callable[[tuple[Seg, ...]], bool] | None:
    """Leave out of the patch what the ignore rules hid: ignored paths, and strings holding a document
    whose every change is ignored."""
    if ignore is None:
        return None
    pi = ignore.for_artifact(o.artifact, o.kind)
    if not pi:
        return None
    kept = {c.dotted for c in o.changes}

    def skip(path: tuple[Seg, ...]) -> bool:
        if pi(path):
            return True
        if o.embedded is not None and path and o.embedded(path):
            mine = [k for k in kept if k.startswith(dotted(path))]
            return not mine
        return False

    return skip


def _mask_op(op: dict[str, Any], path: tuple[Seg, ...], secret: bool) -> dict[str, Any]:
    if "value" not in op:
        return op
    if sensitive_path(path, secret):
        return {**op, "value": mask_value(op["value"], path, secret, CHANGED)}
    return {**op, "value": mask_value(op["value"], path, secret)}
