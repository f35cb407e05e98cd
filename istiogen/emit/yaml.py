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
from typing import Any

_STR = "tag:yaml.org,2002:str"


@lru_cache(maxsize=1)
def _yaml() -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.nodes import ScalarNode
    from ruamel.yaml.representer import SafeRepresenter
    from ruamel.yaml.resolver import VersionedResolver
    from ruamel.yaml.tag import Tag

    r11 = VersionedResolver(version=(1, 1))
    r12 = VersionedResolver(version=(1, 2))
    # Tag objects built once: ruamel would otherwise build and decode one per value
    tags = {k: Tag(suffix=f"tag:yaml.org,2002:{k}") for k in ("str", "map", "seq", "int", "float", "bool", "null")}

    class Representer(SafeRepresenter):
        def ignore_aliases(self, data: Any) -> bool:
            return True

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

    Representer.add_representer(str, represent_str)
    Representer.add_representer(dict, represent_dict)
    Representer.add_representer(float, represent_float)
    Representer.add_representer(list, represent_list)
    Representer.add_representer(int, represent_int)
    Representer.add_representer(bool, represent_bool)
    Representer.add_representer(type(None), represent_none)

    y = YAML(typ="safe")
    y.Representer = Representer
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
