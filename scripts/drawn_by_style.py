"""Which hand-drawn characters does a model answer, and how? One row per character and way of
writing it (:func:`idk.data.handwriting.styles`): the share of its drawings answered, the answer
given most, and for a class the accuracy on the answered.

Every character of the ``drawn`` and ``drawn-symbols`` sets (the model's classes, and the
measured symbols that are none, that :data:`idk.data.handwriting.ALPHABET` has) is drawn
``--per-style`` times in each of its styles (seed 5: neither the report's drawings, seed 0, nor
validation's, seed 1), as ``idk evaluate`` draws them, and decided by the model's rule. With
``--hershey``, the characters of the ``hershey`` and ``hershey-symbols`` sets instead, one row per
Hershey design (:func:`idk.data.hershey.designs`; the style column names its face).

Usage: python scripts/drawn_by_style.py MODEL [--hershey] [--per-style 60] [--samples 100] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

import numpy as np

from idk.data import hershey
from idk.data.handwriting import ALPHABET, styles
from idk.data.shifted import drawn_images, drawn_symbol_chars, hershey_images, hershey_symbol_chars
from idk.decision.predictive import predict
from idk.nn.numerics import set_flush_denormals
from idk.training import checkpoint


def main(argv: list[str] | None = None) -> list[dict]:
    set_flush_denormals(True)  # before torch starts its worker threads (idk.nn.numerics)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--hershey", action="store_true", help="Hershey's designs instead of the hand-drawn styles")
    parser.add_argument("--per-style", type=int, default=60, help="drawings of each character in each style")
    parser.add_argument("--samples", type=int, default=100, help="posterior samples per image")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)
    model, ckpt = checkpoint.load(args.model)
    rule, spec = ckpt.decision_rule(), ckpt.input_spec
    if args.hershey:  # the hershey set's characters, then hershey-symbols'
        chars = [c for c in ckpt.classes if len(c) == 1 and hershey.has_strokes(c)]
        chars += hershey_symbol_chars(ckpt.classes)
        ways, draw = hershey.faces, hershey_images
    else:  # the drawn set's characters, then drawn-symbols'
        chars = [c for c in ckpt.classes if c in ALPHABET] + drawn_symbol_chars(ckpt.classes)
        ways, draw = styles, drawn_images
    rows = []
    for char in chars:
        for style, name in enumerate(ways(char)):
            rng = np.random.default_rng([5, ord(char), style])
            images = draw([char] * args.per_style, spec, rng, style)
            decision = rule.decide(predict(model, images, args.samples, rule.percentile, seed=5))
            answered = decision.label[~decision.refused].tolist()
            style_name = name if args.hershey else style
            row = {
                "char": char,
                "style": style_name,
                "class": char in ckpt.classes,
                "answered": len(answered) / len(images),
            }
            if char in ckpt.classes:
                row["accuracy"] = answered.count(ckpt.classes.index(char)) / len(answered) if answered else None
            if answered:
                label, count = Counter(answered).most_common(1)[0]
                row["most_answered"] = [ckpt.classes[label], count / len(images)]
            rows.append(row)
    print(f"{'char':>4} {'style':>8} {'answered':>9} {'accuracy':>9}  most answered (share of all)")
    for r in sorted(rows, key=lambda r: (not r["class"], -r["answered"])):
        acc = f"{r['accuracy']:.1%}" if r.get("accuracy") is not None else ""
        most = f"{r['most_answered'][0]} ({r['most_answered'][1]:.0%})" if "most_answered" in r else ""
        print(f"{r['char']:>4} {r['style']:>8} {r['answered']:>9.0%} {acc:>9}  {most}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
