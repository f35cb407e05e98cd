"""The lean YAML path (istiogen.serial.yaml, ``lean=True``) writes the bytes ruamel's own representer path
writes, on every example tree and on random plain data.  Consistency only: both paths are istiogen's
configuration of ruamel; what the bytes mean is checked elsewhere (promtool, kubectl, the YAML 1.1 tests).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.profiles import write_large
from istiogen.cli.common import discover
from istiogen.pipeline import render
from istiogen.serial.yaml import _yaml
from istiogen.validate import load
from tests.conftest import REPO


def both(data: Any) -> tuple[str, str]:
    out = []
    for lean in (True, False):
        buf = io.StringIO()
        _yaml(lean).dump(data, buf)
        out.append(buf.getvalue())
    return out[0], out[1]


def example_profiles(tmp: Path) -> list[Path | None]:
    return [None, *discover(REPO / "profiles"), write_large(tmp, 60, 3, 12)]


EXAMPLES = 2 + len(discover(REPO / "profiles"))  # the embedded default, profiles/, a large synthetic one


@pytest.mark.parametrize("which", range(EXAMPLES))
def test_every_example_tree_is_written_the_same(which: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    paths = example_profiles(tmp_path)
    assert len(paths) == EXAMPLES
    rendered = render(load(paths[which]))
    docs = 0
    for a in rendered.artifacts:
        if a.format in ("yaml", "yaml-multi"):
            for d in ([a.data] if a.format == "yaml" else list(a.data)):
                lean, stock = both(d)
                assert lean == stock, a.path
                docs += 1
    assert docs >= 5


ALPHABET = list("ab: #'\"\n\t-?[]{},&*!|>%@`~0123456789.eE+yYnNoOfFtT\\\u00e9\u2028\x85\x00 ")
scalars = st.one_of(
    st.text(alphabet=st.sampled_from(ALPHABET), max_size=12),
    st.sampled_from(["", "yes", "No", "on", "~", "null", "0755", "1:20", "1e3", ".inf", "- x", "a: b", "#c", "x #y",
                     "trailing ", " leading", "line\n", "\nlead", "a\n\nb", "x" * 130]),
    st.integers(), st.booleans(), st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
)
data = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6) | st.sampled_from(["on", "1", "a b"]), inner,
                                                  max_size=4)), max_leaves=20)


@given(data)
def test_random_data_is_written_the_same(doc: Any) -> None:
    lean, stock = both(doc)
    assert lean == stock
