"""An imported profile as YAML, each value commented with where it came from."""

from __future__ import annotations

import io
from typing import Any

from istiogen.adopt.importer import Imported

ORDER = ("name", "description", "istio", "prometheus", "rules", "sysdig")


def profile_data(imp: Imported) -> dict[str, Any]:
    """The profile as plain data (what is validated and rendered)."""
    data: dict[str, Any] = {"name": imp.name}
    for path, (value, _) in sorted(imp.values.items()):
        node = data
        for k in path[:-1]:
            node = node.setdefault(k, {})
        node[path[-1]] = value
    if imp.custom_rules:
        data.setdefault("rules", {})["custom"] = [dict(r) for r, _ in imp.custom_rules]
    return data


def profile_text(imp: Imported, sources: list[str]) -> str:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    def build(value: Any) -> Any:
        if isinstance(value, dict):
            m = CommentedMap()
            for k, v in value.items():
                m[k] = build(v)
            return m
        if isinstance(value, list):
            return CommentedSeq(build(v) for v in value)
        return value

    data = profile_data(imp)
    root = CommentedMap()
    for k in sorted(data, key=lambda k: (ORDER.index(k) if k in ORDER else len(ORDER), k)):
        root[k] = build(data[k])
    for path, (_, origin) in imp.values.items():
        node = root
        for k in path[:-1]:
            node = node[k]
        node.yaml_add_eol_comment(f"from {origin.text()}", path[-1])
    if imp.custom_rules:
        seq = root["rules"]["custom"]
        for i, (_, origin) in enumerate(imp.custom_rules):
            seq[i].yaml_set_start_comment(f"from {origin.text()}", indent=4)
    y = YAML()
    y.default_flow_style = False
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    buf = io.StringIO()
    y.dump(root, buf)
    head = [
        "#",
        "# Imported by `istiogen import` from: " + ", ".join(sources),
        "# Every value that differs from istiogen's defaults says where it came from. Review it, then",
        "# run `istiogen diff <this file> --live <the same export>`: it shows only what istiogen would change.",
    ]
    for old, new in imp.renamed:
        head.append(f"# custom rule {old} renamed {new}: istiogen generates a rule of that name")
    return "\n".join(head) + "\n" + buf.getvalue()
