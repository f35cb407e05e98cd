"""Objects: parsing files into documents, identity, server-set fields, embedded documents.

* A YAML file may hold several documents; a ``List`` (``kubectl get a,b -o yaml``)
  is flattened into its items.
* A Kubernetes object is known by (apiVersion, kind, namespace, name); other
  documents by their file and position.
* Objects exported from a cluster carry fields the server sets; they are
  removed before comparing (:func:`strip_server_fields`).
* ConfigMap values under keys ending in ``.yaml``/``.yml``/``.json`` (and the
  value of an RFC 6902 operation on such a key) are documents: they are parsed
  and compared as data (:func:`embedded_policy`).

Parsing uses ruamel's C loader (``YAML(typ="safe")``); parsed texts are cached
for the run, so a rule file and the ConfigMap holding the same text are parsed
once.  Parsed data is shared: never mutate it, copy first.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from istiogen.catalog.kubernetes import LAST_APPLIED as LAST_APPLIED
from istiogen.catalog.kubernetes import SERVER_ANNOTATIONS as SERVER_ANNOTATIONS
from istiogen.catalog.kubernetes import SERVER_METADATA as SERVER_METADATA
from istiogen.catalog.kubernetes import drop_server_fields
from istiogen.diff import incremental
from istiogen.diff.model import MISSING, Format, Ident, Seg

DOC_SUFFIXES = (".yaml", ".yml", ".json")


class ParseError(ValueError):
    pass


def file_format(rel: str) -> Format:
    low = rel.lower()
    if low.endswith((".yaml", ".yml")):
        return "yaml"
    if low.endswith(".json"):
        return "json"
    return "text"


@lru_cache(maxsize=2)
def _loader(pure: bool = False) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=pure)


_CACHE: OrderedDict[tuple[str, Format], tuple[Any, ...]] = OrderedDict()
CACHE_SIZE = 64


def remember(text: str, fmt: Format, docs: tuple[Any, ...]) -> None:
    """Record what ``text`` parses to (a rendered file and the data it was written from), so that the
    text is never parsed: a rendered rule file and the ConfigMap holding the same text cost nothing."""
    _CACHE[(text, fmt)] = docs
    _CACHE.move_to_end((text, fmt))
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)


def clear_cache() -> None:
    _CACHE.clear()
    parse_embedded.cache_clear()


def load_documents(text: str, fmt: Format) -> tuple[Any, ...]:
    """Every document of ``text`` (empty ones dropped), parsed once per run.  Raises :class:`ParseError`."""
    hit = _CACHE.get((text, fmt))
    if hit is not None:
        _CACHE.move_to_end((text, fmt))
        return hit
    docs = _incremental(text) if fmt == "yaml" and len(text) >= incremental.MIN_SIZE else None
    if docs is None:
        docs = _load(text, fmt)
    remember(text, fmt, docs)
    return docs


def _incremental(text: str) -> tuple[Any, ...] | None:
    """A large YAML text parsed by reusing a similar text parsed (or rendered) before, if there is one."""
    split = incremental.prepare(text)
    if split is None:
        return None
    tries = 0
    for (ref_text, ref_fmt), ref_docs in reversed(_CACHE.items()):
        if ref_fmt != "yaml" or len(ref_docs) != 1 or len(ref_text) < incremental.MIN_SIZE // 2:
            continue
        doc = incremental.load(text, ref_text, ref_docs[0], lambda t: _load(t, "yaml"), split)
        if doc is not None:
            return (doc,)
        tries += 1
        if tries >= 3:
            break
    return None


MAX_VALUES = 2_000_000  # values of a parsed document with every alias expanded


def _load(text: str, fmt: Format) -> tuple[Any, ...]:
    """Parse with the limits of :mod:`istiogen.source`: nesting depth checked before parsing, numbers of
    bounded length, and at most :data:`MAX_VALUES` values once aliases are expanded (an alias bomb
    parses into a few shared objects that every later walk would expand)."""
    from istiogen.errors import ProfileError
    from istiogen.source import check_yaml_depth, load_json, no_content

    if fmt == "json":
        try:
            return (load_json(text, "<json>"),)
        except ProfileError as e:
            p = e.problems[0]
            where = f" (line {p.line}, column {p.column})" if p.line else ""
            raise ParseError(f"{p.message}{where}") from None
    from ruamel.yaml.error import YAMLError

    try:
        check_yaml_depth(text, "<yaml>")
    except ProfileError as e:
        p = e.problems[0]
        raise ParseError(f"{p.message} (line {p.line}, column {p.column})") from None
    try:
        docs = tuple(d for d in _loader().load_all(text) if d is not None)
    except (YAMLError, ValueError, TypeError, RecursionError):
        # libyaml (the C loader) refuses some YAML other parsers take, such as ``[localhost:9100]``, which
        # Prometheus configs are full of: try the pure-Python loader before giving up
        try:
            docs = tuple(d for d in _loader(True).load_all(text) if d is not None)
        except (YAMLError, ValueError, TypeError, RecursionError) as e:
            raise ParseError(no_content(f"invalid YAML: {e}".splitlines()[0])) from None
    if expanded_size(docs) > MAX_VALUES:
        raise ParseError(f"the document expands to more than {MAX_VALUES} values (an alias/anchor bomb?)")
    return docs


def expanded_size(x: Any) -> int:
    """How many values ``x`` holds with every shared (aliased) object counted each time it is used;
    linear in the distinct objects (memoized by identity)."""
    memo: dict[int, int] = {}

    def size(v: Any) -> int:
        if isinstance(v, dict | list | tuple):
            k = id(v)
            if k not in memo:
                memo[k] = -1
                items = v.values() if isinstance(v, dict) else v
                memo[k] = 1 + sum(size(c) for c in items)
            elif memo[k] < 0:
                raise ParseError("an alias refers to the collection that contains it")
            return memo[k]
        return 1

    return size(x)


@lru_cache(maxsize=256)
def parse_embedded(text: str) -> Any:
    """A string held in a ConfigMap, as data; MISSING unless it is one mapping or list."""
    if not text.strip():
        return MISSING
    try:
        docs = load_documents(text, "yaml")
    except ParseError:
        return MISSING
    if len(docs) != 1 or not isinstance(docs[0], dict | list):
        return MISSING
    return docs[0]


def is_plain(x: Any, depth: int = 0) -> bool:
    """Plain JSON-like data (exact dict, list, str, int, float, bool, None; string keys): what parsing the
    YAML or JSON a renderer wrote from it gives back."""
    t = type(x)
    if t is dict:
        return depth < 200 and all(type(k) is str and is_plain(v, depth + 1) for k, v in x.items())
    if t is list:
        return depth < 200 and all(is_plain(v, depth + 1) for v in x)
    return x is None or t in (str, int, float, bool)


def identity(obj: Any) -> Ident | None:
    if not isinstance(obj, dict):
        return None
    kind, meta = obj.get("kind"), obj.get("metadata")
    if not isinstance(kind, str) or not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return None
    api = obj.get("apiVersion")
    ns = meta.get("namespace")
    return Ident(api if isinstance(api, str) else "", kind, ns if isinstance(ns, str) else "", meta["name"])


def is_list(obj: Any) -> bool:
    return (isinstance(obj, dict) and isinstance(obj.get("kind"), str) and obj["kind"].endswith("List")
            and isinstance(obj.get("items"), list))


def flatten(docs: list[Any] | tuple[Any, ...]) -> list[Any]:
    """Documents with every ``List`` (``kind: List`` or a typed ``DeploymentList``) replaced by its items."""
    out: list[Any] = []
    for d in docs:
        if not is_list(d):
            out.append(d)
            continue
        item_kind = d["kind"][: -len("List")]
        for it in d["items"]:
            if isinstance(it, dict) and item_kind and "kind" not in it:
                it = {"apiVersion": d.get("apiVersion", ""), "kind": item_kind, **it}
            out.extend(flatten([it]))
    return out


def strip_server_fields(obj: Any) -> Any:
    """A copy of an exported object without what the API server sets (``status``, ``metadata.uid``, ...)."""
    out = copy.deepcopy(obj)
    if not isinstance(out, dict):
        return out
    drop_server_fields(out)
    spec = out.get("spec")
    if isinstance(spec, dict):
        _strip_template_timestamps(spec)
    return out


def _strip_template_timestamps(node: Any) -> None:
    """``creationTimestamp: null`` that the server writes into every pod template."""
    if isinstance(node, dict):
        meta = node.get("metadata")
        if isinstance(meta, dict) and "creationTimestamp" in meta and meta["creationTimestamp"] is None:
            del meta["creationTimestamp"]
        for k, v in node.items():
            if k != "metadata":
                _strip_template_timestamps(v)
    elif isinstance(node, list):
        for v in node:
            _strip_template_timestamps(v)


def is_secret(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("kind") == "Secret"


def _doc_key(k: Any) -> bool:
    return isinstance(k, str) and k.lower().endswith(DOC_SUFFIXES)


def _configmap_like(obj: Any) -> bool:
    """A ConfigMap, or a patch of one (a mapping with ``data`` and no ``kind``)."""
    if not isinstance(obj, dict):
        return False
    if obj.get("kind") == "ConfigMap":
        return True
    return "kind" not in obj and isinstance(obj.get("data"), dict)


def _op_list(obj: Any) -> bool:
    return isinstance(obj, list) and bool(obj) and all(isinstance(o, dict) and "op" in o for o in obj)


def embedded_policy(old: Any, new: Any) -> Callable[[tuple[Seg, ...]], bool] | None:
    """Which string values of this object are documents (None: none)."""
    if _configmap_like(old) or _configmap_like(new):
        if is_secret(old) or is_secret(new):
            return None

        def in_configmap(path: tuple[Seg, ...]) -> bool:
            return (len(path) == 2 and path[0].is_key and path[0].key == "data" and path[1].is_key
                    and _doc_key(path[1].key))

        return in_configmap
    if _op_list(old) or _op_list(new):

        def op_path(doc: Any, i: int | None) -> Any:
            if i is None or not isinstance(doc, list) or i >= len(doc) or not isinstance(doc[i], dict):
                return None
            return doc[i].get("path")

        def in_ops(path: tuple[Seg, ...]) -> bool:
            if len(path) != 2 or not path[0].is_item or not path[1].is_key or path[1].key != "value":
                return False
            for p in (op_path(old, path[0].old), op_path(new, path[0].new)):
                if isinstance(p, str) and p.startswith("/data/") and _doc_key(p.rsplit("/", 1)[-1]):
                    return True
            return False

        return in_ops
    return None
