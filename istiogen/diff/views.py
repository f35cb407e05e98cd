"""Unified diffs of what changed, readable: one hunk group per changed piece, in context.

A line diff of two whole generated files is noise; a diff of a 20,000-rule
ConfigMap is slow.  So each change is shown inside its *anchor*: the nearest
named list item above it (the rule, the container, the scrape job), or the
object itself when no item is closer.  Both sides of the anchor are turned into
views and dumped in the artifact's own format:

* YAML held in ConfigMap strings appears as data, so a formatting-only change
  adds no lines (it is noted instead);
* lists matched by key are lined up in the new order (a reorder is not a
  change), so only real changes show; lists where order matters are left as
  they are, so a move shows as one;
* ignored changes are folded into the old side, so they print nothing;
* secrets are masked on both sides.

The hunk headers carry the anchor's path: ``@@ -3,4 +3,5 @@ spec.template.spec.containers[name=prometheus]``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from typing import Any, Literal

from istiogen.diff.mask import CHANGED, HIDDEN, scrub, scrub_pair, sensitive_path
from istiogen.diff.model import MISSING, Change, ObjectDiff, Seg, dotted, prefixes
from istiogen.diff.objects import parse_embedded
from istiogen.diff.structural import UNORDERED, Path, canon, item_seg, keyed, list_name, same

SIZE_LIMIT = 1500  # values in an anchor before a smaller one is used
Side = Literal["old", "new"]
Ignored = Callable[[Path], bool]


def _never(_: Path) -> bool:
    return False


def resolve(data: Any, path: Path, side: Side) -> Any:
    """The value at ``path`` in one side's document (parsing embedded documents); MISSING if absent."""
    cur = data
    for s in path:
        if cur is MISSING:
            return MISSING
        if s.is_key:
            if not isinstance(cur, dict) or s.key not in cur:
                return MISSING
            cur = cur[s.key]
        else:
            i = s.index(side)
            if i is None or not isinstance(cur, list) or i >= len(cur):
                return MISSING
            cur = cur[i]
        if s.embedded and isinstance(cur, str):
            cur = parse_embedded(cur)
    return cur


def _size(x: Any, cap: int) -> int:
    n = 0
    stack = [x]
    while stack and n <= cap:
        v = stack.pop()
        n += 1
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return n


def anchor(obj: ObjectDiff, c: Change) -> Path:
    p = c.path
    if c.type in ("formatting", "mode") or not p:
        return p
    a: Path = ()
    for n in range(len(p) - 1, 0, -1):
        if p[n - 1].kfield is not None or p[n - 1].embedded:
            a = p[:n]
            break
    while len(a) < len(p):
        here = resolve(obj.new, a, "new")
        if here is MISSING:
            here = resolve(obj.old, a, "old")
        if _size(here, SIZE_LIMIT) <= SIZE_LIMIT:
            break
        a = p[: len(a) + 1]
    return a


def anchors(obj: ObjectDiff) -> list[tuple[Path, list[Change]]]:
    """Changes grouped by anchor, an anchor inside another one folded into it; in change order."""
    groups: dict[Path, list[Change]] = {}
    for c in obj.changes:
        groups.setdefault(anchor(obj, c), []).append(c)
    final: dict[Path, list[Change]] = {}
    for a in sorted(groups, key=len):
        outer = next((f for f in final if a[: len(f)] == f), None)
        if outer is not None:
            final[outer] += groups[a]
        else:
            final[a] = list(groups[a])
    order = {id(c): i for i, c in enumerate(obj.changes)}
    return sorted(final.items(), key=lambda kv: min(order[id(c)] for c in kv[1]))


# ----------------------------------------------------------------------------------------------- views

def align(o: Any, n: Any, path: Path, embedded: Callable[[Path], bool] | None, ignored: Ignored) -> tuple[Any, Any]:
    """Views of both sides: embedded documents parsed, keyed lists in the new order, ignored changes hidden."""
    if o is MISSING or n is MISSING:
        return o, n
    if same(o, n) or ignored(path):
        return n, n
    if isinstance(o, str) and isinstance(n, str) and embedded is not None and path and embedded(path):
        po, pn = parse_embedded(o), parse_embedded(n)
        if po is not MISSING and pn is not MISSING:
            return align(po, pn, (*path[:-1], Seg(key=path[-1].key, embedded=True)), None, ignored)
        return o, n
    if isinstance(o, dict) and isinstance(n, dict):
        ov: dict[Any, Any] = {}
        nv: dict[Any, Any] = {}
        for k, v in n.items():
            p = (*path, Seg(key=k))
            if k in o:
                ov[k], nv[k] = align(o[k], v, p, embedded, ignored)
            else:
                nv[k] = v
                if ignored(p):
                    ov[k] = v
        for k, v in o.items():
            if k not in n and not ignored((*path, Seg(key=k))):
                ov[k] = v
        return ov, nv
    if isinstance(o, list) and isinstance(n, list):
        name = list_name(path)
        kk = keyed(name, o, n)
        if kk is not None:
            ka, kb = kk
            pos_o = {k: i for i, k in enumerate(ka)}
            in_n = set(kb)
            ol: list[Any] = []
            nl: list[Any] = []
            for j, k in enumerate(kb):
                i = pos_o.get(k)
                if i is not None:
                    x, y = align(o[i], n[j], (*path, item_seg(k, i, j)), embedded, ignored)
                    ol.append(x)
                    nl.append(y)
                else:
                    nl.append(n[j])
                    if ignored((*path, item_seg(k, None, j))):
                        ol.append(n[j])
            ol += [o[i] for i, k in enumerate(ka) if k not in in_n and not ignored((*path, item_seg(k, i, None)))]
            return ol, nl
        if name in UNORDERED:
            left = [canon(x) for x in o]
            ol = []
            for y in n:
                c = canon(y)
                if c in left:
                    left.remove(c)
                    ol.append(y)
            ol += [x for x in o if canon(x) in left]
            return ol, n
    return o, n


def mask_view(v: Any, path: Path, secret: bool, changed: set[str], side: Side) -> Any:
    """A view with every secret replaced; the new side says which secrets changed."""
    if v is MISSING:
        return v

    def touched(p: Path) -> bool:
        return side == "new" and any(t in changed for t in prefixes(p))

    if sensitive_path(path, secret) and not isinstance(v, dict | list):
        return CHANGED if touched(path) else HIDDEN
    if isinstance(v, dict):
        return {k: mask_view(x, (*path, Seg(key=k)), secret, changed, side) for k, x in v.items()}
    if isinstance(v, list):
        kk = keyed(list_name(path), v, v)
        out = []
        for i, x in enumerate(v):
            seg = item_seg(kk[0][i], i, i) if kk is not None else Seg(old=i, new=i)
            out.append(mask_view(x, (*path, seg), secret, changed, side))
        return out
    if isinstance(v, str):
        s = scrub(v)
        if s != v and touched(path):
            return scrub(v, CHANGED)
        return s
    return v


# ----------------------------------------------------------------------------------------------- dumps

def dump(v: Any, fmt: str) -> list[str]:
    """A view as lines, in the artifact's format (YAML unless it is JSON)."""
    if v is MISSING:
        return []
    if isinstance(v, str):
        return v.split("\n") if v else [""]
    if not isinstance(v, dict | list):
        return [json.dumps(v, ensure_ascii=False, default=str)]
    if fmt == "json":
        return json.dumps(v, indent=2, ensure_ascii=False, default=str).split("\n")
    from istiogen.serial.yaml import dump as yaml_dump

    return yaml_dump(v).rstrip("\n").split("\n")


def hunks(old: list[str], new: list[str], context: int, title: str) -> list[str]:
    out = []
    for line in list(difflib.unified_diff(old, new, n=context, lineterm=""))[2:]:
        if line.startswith("@@") and title:
            line = f"{line} {title}"
        out.append(line)
    return out


def _change_note(c: Change) -> str | None:
    where = dotted(c.path) or "(the whole file)"
    if c.type == "formatting":
        return f"# {where}: {c.note or 'formatting only'}"
    if c.type == "moved":
        return f"# {where}: moved from [{c.old}] to [{c.new}]" + (f" ({c.note})" if c.note else "")
    return None


def object_lines(obj: ObjectDiff, context: int, ignored: Ignored = _never, header: bool = True) -> list[str]:
    """The unified diff of one object: file headers, then hunks per anchor."""
    lines: list[str] = []
    if header:
        suffix = f"\t{obj.label}" if obj.label else ""
        lines += [f"--- {obj.old_name}{suffix}", f"+++ {obj.new_name}{suffix}"]
    if obj.format == "text" or obj.status != "changed":
        lines += _whole(obj, context)
        return lines
    changed = {c.dotted for c in obj.changes}
    for a, changes in anchors(obj):
        o, n = align(resolve(obj.old, a, "old"), resolve(obj.new, a, "new"), a,
                     obj.embedded if not any(s.embedded for s in a) else None, ignored)
        o = mask_view(o, a, obj.secret, changed, "old")
        n = mask_view(n, a, obj.secret, changed, "new")
        lines += hunks(dump(o, obj.format), dump(n, obj.format), context, dotted(a) or "(top level)")
        for c in changes:
            note = _change_note(c)
            if note:
                lines.append(note)
    return lines


def _whole(obj: ObjectDiff, context: int) -> list[str]:
    """Text files, added and removed objects, mode changes."""
    from istiogen.diff.mask import mask_value

    notes = [n for n in (_change_note(c) for c in obj.changes) if n]
    if obj.changes and obj.changes[0].type == "mode":
        return [f"old mode {obj.changes[0].old}", f"new mode {obj.changes[0].new}"]
    if obj.format == "text":
        o = obj.old if isinstance(obj.old, str) else ""
        n = obj.new if isinstance(obj.new, str) else ""
        o, n = scrub_pair(o, n)
        return hunks(o.split("\n") if obj.old is not MISSING else [],
                     n.split("\n") if obj.new is not MISSING else [], context, "") + notes
    old = mask_value(obj.old, (), obj.secret)
    new = mask_value(obj.new, (), obj.secret)
    return hunks(dump(old, obj.format), dump(new, obj.format), context, "") + notes


# ---------------------------------------------------------------------------------------------- colour

RED, GREEN, CYAN, YELLOW, BOLD, RESET = "\x1b[31m", "\x1b[32m", "\x1b[36m", "\x1b[33m", "\x1b[1m", "\x1b[0m"


def colorize(line: str) -> str:
    if line.startswith(("--- ", "+++ ")):
        return BOLD + line + RESET
    if line.startswith("@@"):
        return CYAN + line + RESET
    if line.startswith("-"):
        return RED + line + RESET
    if line.startswith("+"):
        return GREEN + line + RESET
    if line.startswith("#"):
        return YELLOW + line + RESET
    return line
