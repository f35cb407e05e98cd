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

    r11 = VersionedResolver(version=(1, 1))
    r12 = VersionedResolver(version=(1, 2))

    class Representer(SafeRepresenter):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    def represent_str(rep: Any, data: str) -> Any:
        if "\n" in data and _literal_ok(data):
            return rep.represent_scalar(_STR, data, style="|")
        implicit = (r11.resolve(ScalarNode, data, (True, False)), r12.resolve(ScalarNode, data, (True, False)))
        if implicit != (_STR, _STR):
            return rep.represent_scalar(_STR, data, style="'" if "\n" not in data else '"')
        return rep.represent_scalar(_STR, data)

    def represent_dict(rep: Any, data: dict[str, Any]) -> Any:
        return rep.represent_mapping("tag:yaml.org,2002:map", data.items())

    def represent_float(rep: Any, data: float) -> Any:
        if data != data:
            return rep.represent_scalar("tag:yaml.org,2002:float", ".nan")
        if data in (float("inf"), float("-inf")):
            return rep.represent_scalar("tag:yaml.org,2002:float", ".inf" if data > 0 else "-.inf")
        if data == int(data) and abs(data) < 1e16:
            return rep.represent_scalar("tag:yaml.org,2002:float", f"{int(data)}.0")
        return rep.represent_scalar("tag:yaml.org,2002:float", repr(data))

    Representer.add_representer(str, represent_str)
    Representer.add_representer(dict, represent_dict)
    Representer.add_representer(float, represent_float)

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
