"""Reading YAML sources while keeping where every value came from.

Profiles, exported cluster objects and external bundles are read through here.
The document is *composed* (not constructed) so that every key and value keeps its
line and column; the node tree is then turned into plain Python data by
:func:`_Builder.build`, which also enforces the limits that keep a hostile file
harmless (size, node count after alias expansion, nesting depth) and reports
duplicate keys, which YAML parsers silently accept.

Positions are kept in a map from a *path* (a tuple of mapping keys and list
indexes) to a :class:`Mark`, so a validation error at ``("prometheus", "port")``
can be reported at the right line of the right file.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from istiogen.errors import ProfileError
from istiogen.problems import Problem

PathT = tuple[str | int, ...]

MAX_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64
MAX_NUMBER_CHARS = 40  # no range of any number read needs more (and int() refuses 4300 digits)

_STR = "tag:yaml.org,2002:str"
_SAFE_SCALAR_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
# a block value (after "key: " or "- ") that starts with a quote
_OPENING_QUOTE = re.compile(r"""^\s*(?:-\s+)?(?:[^\s:#"'-][^:#]*:\s+)?(["'])""")


@dataclass(frozen=True)
class Mark:
    file: str
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class SourceDoc:
    """One YAML document as plain data plus the position of every key and value."""

    file: str
    data: Any
    values: dict[PathT, Mark] = field(default_factory=dict)
    keys: dict[PathT, Mark] = field(default_factory=dict)
    # Paths of plain (unquoted) scalars that YAML 1.1 (and so kubectl) reads as a
    # boolean or null while YAML 1.2 reads them as strings: `on`, `yes`, `n`, ...
    yaml11_ambiguous: set[PathT] = field(default_factory=set)

    def mark(self, path: PathT, *, key: bool = False) -> Mark | None:
        """The closest known position for ``path`` (walking up to its parents)."""
        table = self.keys if key else self.values
        p = tuple(path)
        while True:
            if p in table:
                return table[p]
            if key and p in self.values:
                return self.values[p]
            if not p:
                return None
            p = p[:-1]


def _yaml11_resolver() -> Any:
    from ruamel.yaml.resolver import VersionedResolver

    return VersionedResolver(version=(1, 1))


class _Builder:
    def __init__(self, file: str) -> None:
        from ruamel.yaml import YAML

        self.file = file
        self.ctor = YAML(typ="safe").constructor
        self.r11 = _yaml11_resolver()
        self.nodes = 0
        self.problems: list[Problem] = []
        self.doc = SourceDoc(file=file, data=None)

    def mark_of(self, node: Any) -> Mark:
        m = node.start_mark
        return Mark(self.file, m.line + 1, m.column + 1)

    def problem(self, node: Any, path: PathT, message: str, rule: str, hint: str | None = None) -> None:
        mk = self.mark_of(node)
        self.problems.append(
            Problem(self.file, mk.line, mk.column, dotted(path), message, rule, "error", hint)
        )

    def build(self, node: Any, path: PathT = (), stack: tuple[int, ...] = ()) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            # reported at the top-level value being expanded: an alias's own position is not kept
            top = path[:1]
            raise _TooBig(
                self.doc.values.get(top) or self.mark_of(node), top,
                f"the document expands to more than {MAX_NODES} values (an alias/anchor bomb?)",
                "use aliases only for small shared values",
            )
        if len(stack) > MAX_DEPTH:
            raise _TooBig(self.mark_of(node), path[:1], f"the document nests deeper than {MAX_DEPTH} levels")
        if id(node) in stack:
            self.problem(node, path, "an alias refers to the collection that contains it", "yaml-recursive-alias")
            return None
        self.doc.values.setdefault(path, self.mark_of(node))
        tag = node.tag
        if tag == _MAP:
            return self._mapping(node, path, (*stack, id(node)))
        if tag == _SEQ:
            return [self.build(item, (*path, i), (*stack, id(node))) for i, item in enumerate(node.value)]
        if tag in _SAFE_SCALAR_TAGS and not isinstance(node.value, list):
            return self._scalar(node, path)
        self.problem(node, path, f"unsupported YAML tag {tag!r}", "yaml-tag", "remove the tag; only plain data is read")
        return None

    def _scalar(self, node: Any, path: PathT) -> Any:
        tag = node.tag
        if tag in (_STR, "tag:yaml.org,2002:timestamp"):
            if tag == _STR and not node.style:
                t11 = self.r11.resolve(type(node), node.value, (True, False))
                if t11 in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"):
                    self.doc.yaml11_ambiguous.add(path)
            return str(node.value)
        if tag in (_INT, _FLOAT) and len(node.value) > MAX_NUMBER_CHARS:
            self.problem(node, path, f"a number written with {len(node.value)} characters is out of range",
                         "number-range", "every number in a profile has a range: see istiogen schema")
            return None
        return self.ctor.construct_object(node, deep=True)

    def _mapping(self, node: Any, path: PathT, stack: tuple[int, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for knode, vnode in node.value:
            if knode.tag == _MERGE:
                for src in vnode.value if vnode.tag == _SEQ else [vnode]:
                    if src.tag != _MAP:
                        self.problem(src, path, "a merge key (<<) needs a mapping", "yaml-merge",
                                     "e.g. <<: *defaults, where &defaults marks a mapping")
                        continue
                    for k, v in self._mapping(src, path, (*stack, id(src))).items():
                        merged.setdefault(k, v)
                continue
            if getattr(knode, "tag", None) not in _SAFE_SCALAR_TAGS or isinstance(knode.value, list):
                self.problem(knode, path, "a mapping key must be a plain value", "yaml-key")
                continue
            key = str(knode.value)
            kpath = (*path, key)
            if key in first:
                prev = self.mark_of(first[key])
                self.problem(
                    knode,
                    kpath,
                    f"duplicate key {key!r} (first defined at line {prev.line})",
                    "yaml-duplicate-key",
                    "remove one of them; YAML keeps only the last silently",
                )
                continue
            first[key] = knode
            self.doc.keys[kpath] = self.mark_of(knode)
            self.doc.values[kpath] = self.mark_of(vnode)
            out[key] = self.build(vnode, kpath, stack)
        for k, v in merged.items():
            out.setdefault(k, v)
        return out


class _TooBig(Exception):
    def __init__(self, mark: Mark, path: PathT, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.mark, self.path, self.message, self.hint = mark, path, message, hint


def display(path: Path) -> str:
    """A path as messages print it: relative to the working folder when inside it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def dotted(path: PathT) -> str:
    """``("rules", "custom", 0, "expr")`` -> ``rules.custom[0].expr``."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + p
    return out


def decode(raw: bytes, file: str, *, max_bytes: int = MAX_BYTES) -> str:
    """Bytes to text, with a precise error for oversized or non-UTF-8 input."""
    if len(raw) > max_bytes:
        raise ProfileError(
            [
                Problem(
                    file, None, None, "",
                    f"the file is {len(raw)} bytes, more than the {max_bytes} allowed",
                    "file-too-large", hint="split it, or check that this is the file you meant",
                )
            ]
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ProfileError(
            [Problem(file, 1, 1, "", "the file is UTF-16, not UTF-8", "encoding", hint="save the file as UTF-8")]
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        before = raw[: e.start]
        line = before.count(b"\n") + 1
        col = e.start - (before.rfind(b"\n") + 1) + 1
        raise ProfileError(
            [
                Problem(
                    file, line, col, "",
                    f"not valid UTF-8 (byte 0x{raw[e.start]:02x})",
                    "encoding", hint="save the file as UTF-8",
                )
            ]
        ) from None


_FILE_TYPES = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"))


def read_bytes(path: Path, display: str | None = None, *, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file, at most ``max_bytes``: the one reader of every input istiogen reads.

    The file is opened with ``O_NONBLOCK`` (a FIFO does not block the open) and checked with ``fstat``
    before anything is read: a FIFO, a device, a socket or a folder is refused, so a read never waits
    and never runs on; the size is checked before reading, and the read stops one byte past the limit
    even if the file grows meanwhile."""
    name = display or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ProfileError([Problem(name, None, None, "", "no such file", "file-read")]) from None
    except PermissionError:
        raise ProfileError([Problem(name, None, None, "", "permission denied", "file-read")]) from None
    except OSError as e:
        raise ProfileError([Problem(name, None, None, "", f"cannot open: {e.strerror}", "file-read")]) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            what = next((w for test, w in _FILE_TYPES if test(st.st_mode)), "not a regular file")
            raise ProfileError([Problem(name, None, None, "", f"is {what}, not a regular file", "file-read",
                                        hint="give the path of a file")])
        if st.st_size > max_bytes:
            raise _too_large(name, st.st_size, max_bytes)
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            try:
                chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            except BlockingIOError:  # pragma: no cover - regular files do not block
                break
            except OSError as e:
                raise ProfileError([Problem(name, None, None, "", f"cannot read: {e.strerror}", "file-read")]) \
                    from None
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise _too_large(name, None, max_bytes)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _too_large(name: str, size: int | None, max_bytes: int) -> ProfileError:
    return ProfileError(
        [
            Problem(
                name, None, None, "",
                f"the file is {size} bytes, more than the {max_bytes} allowed" if size is not None
                else f"the file is larger than the {max_bytes} bytes allowed",
                "file-too-large", hint="split it, or check that this is the file you meant",
            )
        ]
    )


def read_file(path: Path, display: str | None = None, *, max_bytes: int = MAX_BYTES) -> str:
    """:func:`read_bytes`, decoded as UTF-8."""
    name = display or str(path)
    return decode(read_bytes(path, name, max_bytes=max_bytes), name, max_bytes=max_bytes)


def check_yaml_depth(text: str, file: str, max_depth: int = 4 * MAX_DEPTH) -> None:
    """Refuse YAML nested far deeper than :data:`MAX_DEPTH` before it is composed: the composers recurse
    (the C one without a limit: 100,000 nested brackets crash the process), the parser's events do not.
    Depths between the two limits are reported by the builder, with the field's path."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent

    depth = 0
    try:
        for ev in YAML(typ="safe").parse(text):
            if isinstance(ev, CollectionStartEvent):
                depth += 1
                if depth > max_depth:
                    m = ev.start_mark
                    raise ProfileError([Problem(file, m.line + 1, m.column + 1, "",
                                                f"the document nests deeper than {MAX_DEPTH} levels",
                                                "yaml-too-large")])
            elif isinstance(ev, CollectionEndEvent):
                depth -= 1
    except YAMLError:
        return  # the composer reports syntax errors, with their position and a hint


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def load_json(text: str, file: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """JSON with the limits of YAML input: nesting depth, number length; errors with their position."""
    import json

    depth = 0
    for m in _JSON_TOKEN.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > max_depth:
                line = text.count("\n", 0, m.start()) + 1
                col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
                raise ProfileError([Problem(file, line, col, "", f"the document nests deeper than {max_depth} levels",
                                            "json-too-large")])
        elif c in "]}":
            depth -= 1

    def number(kind: type[Any]) -> Any:
        def parse(s: str) -> Any:
            if len(s) > MAX_NUMBER_CHARS:
                raise _NumberTooLong(s)
            return kind(s)
        return parse

    try:
        return json.loads(text, parse_int=number(int), parse_float=number(float))
    except json.JSONDecodeError as e:
        raise ProfileError([Problem(file, e.lineno, e.colno, "", f"invalid JSON: {e.msg}", "json-syntax")]) from None
    except _NumberTooLong as e:
        raise ProfileError([Problem(file, None, None, "", f"a number written with {len(e.args[0])} characters is "
                                    "out of range", "number-range")]) from None
    except RecursionError:
        raise ProfileError([Problem(file, None, None, "", "the document nests too deeply", "json-too-large")]) \
            from None


class _NumberTooLong(ValueError):
    pass


def _iter_nodes(text: str, file: str) -> Iterator[Any]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    y = YAML(typ="safe")
    check_yaml_depth(text, file)
    try:
        yield from y.compose_all(text)
    except MarkedYAMLError as e:
        mk = e.problem_mark or e.context_mark
        msg = no_content(" ".join(x for x in (e.context, e.problem) if x)) or "invalid YAML"
        hint = None
        lines = text.splitlines()
        at = lines[mk.line][mk.column : mk.column + 1] if mk and mk.line < len(lines) else ""
        if "\t" in msg or "tab" in msg or at == "\t":
            hint = "indent with spaces; YAML does not allow tabs for indentation"
        elif "found unexpected ':'" in msg:
            hint = "quote a value that holds ':' (such as a rule name) inside [ ] or { }"
        elif mk:
            hint = _syntax_hint(e, lines, mk.line, mk.column)
        raise ProfileError(
            [
                Problem(
                    file,
                    (mk.line + 1) if mk else None,
                    (mk.column + 1) if mk else None,
                    "",
                    f"invalid YAML: {msg}",
                    "yaml-syntax",
                    hint=hint,
                )
            ]
        ) from None
    except ReaderError as e:
        pos = e.position if isinstance(e.position, int) else 0
        before = text[:pos]
        line, col = before.count("\n") + 1, pos - (before.rfind("\n") + 1) + 1
        char = e.character if isinstance(e.character, int) else 0
        raise ProfileError(
            [
                Problem(
                    file, line, col, "", f"invalid YAML: the control character U+{char:04X} is not allowed",
                    "yaml-syntax", hint="remove it; only printable characters, tabs and newlines are",
                )
            ]
        ) from None
    except YAMLError as e:
        msg = no_content(" ".join(str(getattr(e, "problem", None) or type(e).__name__).split()))
        raise ProfileError([Problem(file, None, None, "", f"invalid YAML: {msg}", "yaml-syntax")]) from None


_QUOTED = re.compile(r"""(?<![^\s(])(['"])[^'"\n]{4,}\1(?![^\s,.;:)])""")


def no_content(msg: str) -> str:
    """A parser's message without the text it quotes from the file (a mistyped token file, a credential
    in an export): punctuation such as ':' or '}' stays."""
    return _QUOTED.sub("(text not shown)", msg)



def _syntax_hint(e: Any, lines: list[str], line: int, column: int) -> str | None:
    """What probably went wrong at 0-based ``line``/``column``, from the parser's message."""
    cm = e.context_mark
    ctx = e.context or ""
    if cm and ("flow mapping" in ctx or "flow sequence" in ctx):
        bracket = "{" if "mapping" in ctx else "["
        return f"the '{bracket}' at line {cm.line + 1} column {cm.column + 1} is not closed"
    if "undefined alias" in (e.problem or ""):
        m = re.match(r"\*([^\s,\]}]+)", lines[line][column:]) if line < len(lines) else None
        name = m.group(1) if m else "name"
        return f"define the anchor &{name} before its first use as *{name}"
    quote = _unclosed_quote_hint(lines, line)
    if quote:
        return quote
    if "expected key" in (e.problem or "") or "mapping values are not allowed" in (e.problem or ""):
        return f"check the indentation of line {line + 1}, or quote a value that holds ': '"
    return None


def _unclosed_quote_hint(lines: list[str], upto: int) -> str | None:
    """The last line up to the error whose value opens a quote it does not close (a quoted value ran on)."""
    for i in range(min(upto, len(lines) - 1), -1, -1):
        m = _OPENING_QUOTE.match(lines[i])
        if not m:
            continue
        q = m.group(1)
        rest = lines[i][m.end():]
        rest = rest.replace("\\\\", "").replace('\\"', "") if q == '"' else rest.replace("''", "")
        if q not in rest:
            return f"the quote opened at line {i + 1} column {m.end()} is not closed on that line"
    return None


def _doc_from_node(node: Any, file: str) -> SourceDoc:
    b = _Builder(file)
    try:
        b.doc.data = b.build(node)
    except _TooBig as e:
        raise ProfileError(
            [Problem(file, e.mark.line, e.mark.column, dotted(e.path), e.message, "yaml-too-large", hint=e.hint)]
        ) from None
    except RecursionError:
        raise ProfileError([Problem(file, None, None, "", "the document nests too deeply", "yaml-too-large")]) from None
    if b.problems:
        raise ProfileError(b.problems)
    return b.doc


def load_yaml(text: str, file: str) -> SourceDoc:
    """Exactly one YAML document (an empty file is an error)."""
    nodes = list(_iter_nodes(text, file))
    if not nodes:
        raise ProfileError(
            [
                Problem(file, None, None, "", "the file is empty", "empty-file",
                        hint='a profile needs at least: istio: {version: "1.22"}')
            ]
        )
    if len(nodes) > 1:
        m = nodes[1].start_mark
        raise ProfileError(
            [
                Problem(
                    file, m.line + 1, m.column + 1, "",
                    "more than one YAML document (a '---' separator)",
                    "yaml-multi-document", hint="keep one profile per file",
                )
            ]
        )
    return _doc_from_node(nodes[0], file)


def load_yaml_all(text: str, file: str) -> list[SourceDoc]:
    """Every document of a multi-document stream; empty documents are skipped."""
    return [_doc_from_node(n, file) for n in _iter_nodes(text, file) if n is not None]
