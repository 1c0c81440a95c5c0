"""Two ``idk evaluate --json`` reports of one model side by side (e.g. evaluated on the CPU and on a
GPU): how many of their numbers differ, the largest differences, and each data set's main figures.

Usage: python benchmarks/compare_reports.py CPU.json CUDA.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from typing import Any

MAIN = ("forced_accuracy", "refused", "accepted_accuracy", "nll", "auroc")


def numbers(a: Any, b: Any, path: str = "") -> Iterator[tuple[float, str, float, float]]:
    """(|a − b|, path, a, b) for every number the two nested reports hold at the same place."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(a.keys() & b.keys()):
            yield from numbers(a[k], b[k], f"{path}.{k}" if path else k)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (u, v) in enumerate(zip(a, b, strict=True)):
            yield from numbers(u, v, f"{path}[{i}]")
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        yield abs(a - b), path, a, b


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)
    with open(args.first) as f, open(args.second) as g:
        a, b = json.load(f), json.load(g)
    diffs = sorted(numbers({k: a.get(k) for k in ("datasets", "twin")}, {k: b.get(k) for k in ("datasets", "twin")}))
    diffs.reverse()
    print(f"{len(diffs)} numbers compared; {sum(d > 0 for d, *_ in diffs)} differ; the largest:")
    for d, path, x, y in diffs[: args.top]:
        print(f"  {d:.2e}  {path}: {x} / {y}")
    for name, first in a["datasets"].items():
        second = b["datasets"].get(name, {})
        shown = [k for k in MAIN if k in first]
        print(f"{name:<16}" + "  ".join(f"{k} {first[k]:.4f}/{second.get(k, float('nan')):.4f}" for k in shown))


if __name__ == "__main__":
    main()
