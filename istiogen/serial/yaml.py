"""Deterministic YAML serialisation of plain data.

* Mapping keys keep the order the renderer built them in (never sorted, never
  hash-dependent), lists are written the way ``kubectl`` writes them.
* Multi-line strings are literal blocks (``|``), so rules and embedded configs
  stay readable and diffable.
* Strings that YAML 1.1 would read as something else (``on``, ``yes``, ``0755``,
  ``1:20``, ``~``) are quoted: kubectl and Helm parse YAML 1.1, and an annotation
  value of ``true`` must stay the string "true".
* Nothing depends on the locale, the time zone or ``PYTHONHASHSEED``.
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import Any, cast

_STR = "tag:yaml.org,2002:str"


@lru_cache(maxsize=2)
def _yaml(lean: bool = True) -> Any:
    """The configured dumper.  ``lean`` builds the same node trees with less of ruamel's generic machinery
    (direct type dispatch, nodes built without the alias and comment bookkeeping a plain-data dump never
    uses, each scalar's implicit tags resolved once); ``lean=False`` is ruamel's own path, kept to show
    the two write the same bytes (tests/emit/test_yaml_lean.py)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
    from ruamel.yaml.representer import SafeRepresenter
    from ruamel.yaml.resolver import Resolver, VersionedResolver
    from ruamel.yaml.tag import Tag

    class FixedResolver(VersionedResolver):
        """ruamel's resolver for one YAML version.  Out of a loader or dumper, it looks the version up on every
        scalar, through two AttributeErrors, before settling on the one it was given (about 8 ms of a cold
        render: the default tree has some 1,700 distinct strings, each resolved in both versions)."""

        def __init__(self, version: tuple[int, int]) -> None:
            super().__init__(version=version)
            self._fixed = version

        @property
        def processing_version(self) -> Any:
            return self._fixed

    r11 = FixedResolver((1, 1))
    r12 = FixedResolver((1, 2))
    # Tag objects built once: ruamel would otherwise build and decode one per value
    tags = {k: Tag(suffix=f"tag:yaml.org,2002:{k}") for k in ("str", "map", "seq", "int", "float", "bool", "null")}

    resolved: dict[tuple[str, bool, bool], str] = {}

    class Representer(SafeRepresenter):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    class LeanRepresenter(Representer):
        def represent_data(self, data: Any) -> Any:
            fn = self.yaml_representers.get(type(data))
            return fn(self, data) if fn is not None else super().represent_data(data)

        def represent_scalar(self, tag: Any, value: Any, style: Any = None, anchor: Any = None) -> Any:
            return ScalarNode(tag, value, style=style, anchor=anchor)

        def represent_mapping(self, tag: Any, mapping: Any, flow_style: Any = None) -> Any:
            rep = self.represent_data
            return MappingNode(tag, [(rep(k), rep(v)) for k, v in mapping],
                               flow_style=self.default_flow_style if flow_style is None else flow_style)

        def represent_sequence(self, tag: Any, sequence: Any, flow_style: Any = None) -> Any:
            rep = self.represent_data
            return SequenceNode(tag, [rep(x) for x in sequence],
                                flow_style=self.default_flow_style if flow_style is None else flow_style)

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            """The C emitter asks, for every scalar, which tag it would resolve to plain and quoted, and
            compares the answer with the node's tag (a string): answered once per value, as that string."""
            if kind is not ScalarNode:
                return Resolver.resolve(cast(Any, self), kind, value, implicit)
            key = (value, implicit[0], implicit[1])
            tag = resolved.get(key)
            if tag is None:
                tag = resolved[key] = str(Resolver.resolve(cast(Any, self), kind, value, implicit))
            return tag

    styles: dict[str, str | None] = {}

    def style_of(data: str) -> str | None:
        if "\n" in data and _literal_ok(data):
            return "|"
        implicit = (r11.resolve(ScalarNode, data, (True, False)), r12.resolve(ScalarNode, data, (True, False)))
        if implicit != (_STR, _STR):
            return "'" if "\n" not in data else '"'
        return None

    def represent_str(rep: Any, data: str) -> Any:
        style = styles.get(data, "?")
        if style == "?":
            style = styles[data] = style_of(data)
        return rep.represent_scalar(tags["str"], data, style=style)

    def represent_dict(rep: Any, data: dict[str, Any]) -> Any:
        return rep.represent_mapping(tags["map"], data.items())

    def represent_list(rep: Any, data: list[Any]) -> Any:
        return rep.represent_sequence(tags["seq"], data)

    def represent_int(rep: Any, data: int) -> Any:
        return rep.represent_scalar(tags["int"], str(data))

    def represent_bool(rep: Any, data: bool) -> Any:
        return rep.represent_scalar(tags["bool"], "true" if data else "false")

    def represent_none(rep: Any, data: None) -> Any:
        return rep.represent_scalar(tags["null"], "null")

    def represent_float(rep: Any, data: float) -> Any:
        if data != data:
            return rep.represent_scalar(tags["float"], ".nan")
        if data in (float("inf"), float("-inf")):
            return rep.represent_scalar(tags["float"], ".inf" if data > 0 else "-.inf")
        if data == int(data) and abs(data) < 1e16:
            return rep.represent_scalar(tags["float"], f"{int(data)}.0")
        return rep.represent_scalar(tags["float"], repr(data))

    for cls in (Representer, LeanRepresenter):
        cls.add_representer(str, represent_str)
        cls.add_representer(dict, represent_dict)
        cls.add_representer(float, represent_float)
        cls.add_representer(list, represent_list)
        cls.add_representer(int, represent_int)
        cls.add_representer(bool, represent_bool)
        cls.add_representer(type(None), represent_none)

    y = YAML(typ="safe")
    y.Representer = LeanRepresenter if lean else Representer
    y.default_flow_style = False
    y.width = 100_000
    y.allow_unicode = True
    return y


def _literal_ok(s: str) -> bool:
    """Literal blocks cannot carry trailing spaces, tabs or leading blank lines faithfully."""
    if s.startswith((" ", "\n")) or "\t" in s or "\r" in s:
        return False
    return not any(line != line.rstrip(" ") for line in s.split("\n"))


def dump(data: Any) -> str:
    """One YAML document."""
    buf = io.StringIO()
    _yaml().dump(data, buf)
    return buf.getvalue()


def dump_all(docs: list[Any]) -> str:
    """Several documents, separated by ``---``."""
    return "---\n".join(dump(d) for d in docs)
