"""Benchmark of the diff engine (not a test: timings depend on the machine).

    .venv/bin/python bench/diff_bench.py [--rules N] [--repeat N] [--deepdiff]

Prints, best of ``--repeat`` runs:

1. the structural diff of two rule documents of N recording rules (default 20,000) with 1% of
   the rules changed (target: under 1 s), and of two identical ones (target: under 0.3 s);
2. the same through whole trees of files (a rules file and the ConfigMap holding it, as
   ``istiogen render`` writes them): identical files are never parsed; rendered trees are compared
   from the data they were written from (``--against-ref``); files on disk are parsed, reusing
   the rendered data for the groups and rules whose text did not change (the default);
3. deepdiff on the same change at a tenth of the size (``--deepdiff``: at full size; slow);
4. the engine with deepdiff doing the object-level comparison of matched, unequal objects (the way the
   design names it): identity matching and the skip of equal data stay first, and deepdiff matches
   keyed lists by name through ``iterable_compare_func`` as ``istiogen/diff/structural.py`` does;
   its ratio against the current engine, both measured in the same run, at full size.
"""

from __future__ import annotations

import argparse
import copy
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from istiogen.diff import objects
from istiogen.diff.engine import Tree, compare_objects, compare_trees
from istiogen.diff.structural import LIST_KEYS, same
from istiogen.serial.yaml import dump

PER_GROUP = 20


def rules(n: int, changed: frozenset[int] = frozenset()) -> dict[str, Any]:
    groups = []
    for g in range(n // PER_GROUP):
        rs = []
        for i in range(PER_GROUP):
            k = g * PER_GROUP + i
            window = "5m" if k in changed else "1m"
            rs.append({
                "record": f"workload:istio_metric_{k}:rate1m",
                "expr": f'sum without (instance, pod) (rate(istio_requests_total{{reporter="destination",'
                        f'shard="{k}"}}[{window}]))',
                "labels": {"sysdig": "true"},
            })
        groups.append({"name": f"istio.workload-{g}", "interval": "15s", "rules": rs})
    return {"groups": groups}


def configmap(rules_text: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "rules", "namespace": "istio-system"}, "data": {"rules.yaml": rules_text}}


def best(fn: Callable[[], Any], repeat: int, setup: Callable[[], None] | None = None) -> tuple[float, Any]:
    times = []
    out = None
    for _ in range(repeat):
        if setup is not None:
            setup()
        gc.collect()
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def verdict(seconds: float, target: float) -> str:
    return f"{'OK ' if seconds < target else 'SLOW'} (target < {target:g} s)"


def keyed_compare() -> Callable[[Any, Any, Any], bool]:
    """deepdiff's ``iterable_compare_func``: items of a keyed list (``LIST_KEYS``: groups by ``name``, rules
    by ``record``/``alert``, ...) match when their keys are equal; any other list is compared in order."""
    from deepdiff.helper import CannotCompare

    names: dict[int, tuple[Any, str]] = {}  # the list's field name, once per list (the level kept alive)

    def compare(x: Any, y: Any, level: Any = None) -> bool:
        known = names.get(id(level))
        if known is None or known[0] is not level:
            p = level.path(output_format="list")
            known = names[id(level)] = (level, str(p[-1]) if p else "")
        specs = LIST_KEYS.get(known[1])
        if not specs or not isinstance(x, dict) or not isinstance(y, dict):
            raise CannotCompare()
        for spec in specs:
            kx = next((x[f] for f in spec if f in x), None)
            ky = next((y[f] for f in spec if f in y), None)
            if kx is not None and ky is not None:
                return bool(kx == ky)
        raise CannotCompare()

    return compare


def deepdiff_objects(old: Any, new: Any) -> int:
    """The number of changes deepdiff finds between two matched objects, equal data skipped first."""
    from deepdiff import DeepDiff

    if same(old, new):
        return 0
    found = DeepDiff(old, new, iterable_compare_func=keyed_compare())
    return sum(len(v) for v in found.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--deepdiff", action="store_true", help="run deepdiff at full size too (slow)")
    a = ap.parse_args()
    n = a.rules
    changed = frozenset(range(0, n, 100))  # 1%
    base = rules(n)
    same = copy.deepcopy(base)
    edited = rules(n, changed)
    print(f"istiogen diff benchmark: {n:,} recording rules in {n // PER_GROUP:,} groups, "
          f"{len(changed)} changed (1%); best of {a.repeat}, Python {sys.version.split()[0]}")

    print("\n1. documents (the structural differ)")
    t, ch = best(lambda: compare_objects(base, edited), a.repeat)
    assert len(ch) == len(changed), len(ch)
    print(f"   1% changed:  {t:7.3f} s  {len(ch)} changes  {verdict(t, 1.0)}")
    t, ch = best(lambda: compare_objects(base, same), a.repeat)
    assert ch == []
    print(f"   identical:   {t:7.3f} s  no changes  {verdict(t, 0.3)}")

    print("\n2. trees of files (rules.yaml and the ConfigMap holding the same text)")
    rules_path, cm_path = "prometheus/rules.yaml", "prometheus/rules-configmap.yaml"
    kinds = {rules_path: "prometheus-rules", cm_path: "prometheus-rules-configmap"}
    texts = {id(d): dump(d) for d in (base, same, edited)}  # dumping 20,000 rules is slow: once
    cm_texts = {k: dump(configmap(v)) for k, v in texts.items()}

    def tree(doc: dict[str, Any], rendered: bool) -> Tree:
        """As sources.rendered_tree builds it (``rendered``: the data is known) or as read from disk."""
        text = texts[id(doc)]
        files = {rules_path: text.encode(), cm_path: cm_texts[id(doc)].encode()}
        if not rendered:
            return Tree(files, kinds)
        objects.remember(text, "yaml", (doc,))
        return Tree(files, kinds, docs={rules_path: (doc,), cm_path: (configmap(text),)})

    def trees(old: dict[str, Any], new: dict[str, Any], old_rendered: bool,
              new_rendered: bool) -> Callable[[], tuple[Tree, Tree]]:
        def setup() -> tuple[Tree, Tree]:
            objects.clear_cache()  # nothing parsed yet
            return tree(old, old_rendered), tree(new, new_rendered)
        return setup

    def timed(setup: Callable[[], tuple[Tree, Tree]], expect: int, rounds: int) -> float:
        times = []
        for _ in range(rounds):
            o, n = setup()
            gc.collect()
            t0 = time.perf_counter()
            objs = compare_trees(o, n, "output/x")
            times.append(time.perf_counter() - t0)
            assert sum(len(x.changes) for x in objs) == expect
        return min(times)

    mb = (len(texts[id(base)]) + len(cm_texts[id(base)])) / 1e6
    t = timed(trees(base, same, False, False), 0, a.repeat)
    print(f"   identical files ({mb:.1f} MB a side, never parsed):       {t:7.3f} s  {verdict(t, 0.3)}")
    t = timed(trees(base, edited, True, True), 2 * len(changed), a.repeat)
    print(f"   1% changed, both rendered in memory (--against-ref):  {t:7.3f} s  {verdict(t, 1.0)}")
    t = timed(trees(base, edited, False, True), 2 * len(changed), max(1, min(a.repeat, 3)))
    objects.clear_cache()
    tp, _ = best(lambda: objects.load_documents(texts[id(base)], "yaml"), 1)
    print(f"   1% changed, rendered vs the tree on disk (the default): {t:6.3f} s  {verdict(t, 1.0)}")
    print(f"      (the files on disk are parsed reusing the rendered data for what is unchanged; a full parse of\n"
          f"       the {len(texts[id(base)]) / 1e6:.1f} MB rule file alone takes {tp:.1f} s with ruamel's C loader)")

    print("\n3. deepdiff (for comparison)")
    try:
        from deepdiff import DeepDiff
    except ImportError:
        print("   deepdiff is not installed")
        return 0
    small = n // 10
    sb, se = rules(small), rules(small, frozenset(range(0, small, 100)))
    t_ours, _ = best(lambda: compare_objects(sb, se), a.repeat)
    t_dd, _ = best(lambda: DeepDiff(sb, se), 1)
    print(f"   {small:,} rules, 1% changed: deepdiff {t_dd:.2f} s, istiogen {t_ours:.3f} s "
          f"({t_dd / max(t_ours, 1e-9):,.0f}x)")
    if a.deepdiff:
        t_dd, _ = best(lambda: DeepDiff(base, edited), 1)
        print(f"   {n:,} rules, 1% changed: deepdiff {t_dd:.2f} s")

    print("\n4. the engine with deepdiff for the object-level comparison (identity matching and equal data first;")
    print("   keyed lists matched by name through iterable_compare_func)")
    t_ours, _ = best(lambda: compare_objects(base, edited), a.repeat)
    t_dd, found = best(lambda: deepdiff_objects(base, edited), 1)
    assert found == len(changed), found
    print(f"   {n:,} rules, 1% changed: deepdiff {t_dd:.2f} s, istiogen {t_ours:.3f} s "
          f"({t_dd / max(t_ours, 1e-9):,.0f}x)  {verdict(t_dd, 1.0)}")
    t_dd, found = best(lambda: deepdiff_objects(base, same), a.repeat)
    assert found == 0
    print(f"   identical: {t_dd:.3f} s (the skip of equal data answers before deepdiff runs)  {verdict(t_dd, 0.3)}")
    times = [best(lambda: compare_objects(base, edited), 1)[0] for _ in range(3)]
    print(f"\n(1% changed, 3 more runs: median {statistics.median(times):.3f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
