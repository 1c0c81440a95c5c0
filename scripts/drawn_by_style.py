"""Which hand-drawn characters does a model answer, and how? One row per character and way of
writing it (:func:`idk.data.handwriting.styles`): the share of its drawings answered, the answer
given most, and for a class the accuracy on the answered.

Every character of the ``drawn`` and ``drawn-symbols`` sets (the model's classes, and the
measured symbols that are none, that :data:`idk.data.handwriting.ALPHABET` has) is drawn
``--per-style`` times in each of its styles (seed 5: neither the report's drawings, seed 0, nor
validation's, seed 1), as ``idk evaluate`` draws them, and decided by the model's rule. With
``--hershey``, the characters of the ``hershey`` and ``hershey-symbols`` sets instead, one row per
Hershey design (:func:`idk.data.hershey.designs`; the style column names its face). With
``--held-out``, the same characters in the Hershey designs that no set, training run or choice has
used (:data:`idk.data.hershey.HELD_OUT_FACES`); with ``--fonts``, the ``printed`` and ``symbols``
sets' characters printed (±8°, 48–72 pt, undegraded) in the fonts of
:data:`idk.data.fonts.HELD_OUT_FONT_PACKAGES`, each in every font that draws it: how the figures
carry to designs and fonts nothing was tuned on. ``--fonts validation`` prints them in the validation
cuts of pymupdf-fonts instead (:data:`idk.data.fonts.PACKAGED_VALIDATION`), which choices about
printed digits are made on. ``--thicker A`` (``--thinner A``) draws every image with a broader
(finer) pen (:func:`idk.data.augment.thicker`, ``thinner``, strength A in [0, 1]): does a stroke's
width decide the answer? (``--fonts validation --thinner 0.5`` and ``1`` leave a regular cut's 1
about as much ink as a light and a thin one.)
After the rows, totals per style (for named
styles: faces, fonts; fonts also per family), per class and over all: of the class drawings, the
share answered (a/n), right when answered (r/a, with its 95% Clopper–Pearson interval) and the
wrong (a − r); of the other drawings, the share refused.

Usage: python scripts/drawn_by_style.py MODEL [--hershey | --held-out | --fonts [validation]] [--per-style 60]
       [--thicker A | --thinner A] [--samples 100] [--json PATH]
       (MODEL before --fonts: the word after --fonts is taken as the font set, held-out or validation)
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path

import numpy as np
import torch

from idk.data import hershey
from idk.data.augment import thicker, thinner
from idk.data.fonts import PACKAGED_VALIDATION, held_out_fonts, packaged_fonts
from idk.data.glyphs import has_glyph
from idk.data.handwriting import ALPHABET, styles
from idk.data.shifted import (
    drawn_images,
    drawn_symbol_chars,
    hershey_images,
    hershey_symbol_chars,
    printed_images,
    symbol_chars,
)
from idk.decision.calibration import clopper_pearson_interval
from idk.decision.predictive import predict
from idk.evaluation.evaluate import INTERVAL_LEVEL
from idk.nn.numerics import set_flush_denormals
from idk.training import checkpoint

FONT_SETS = {"held-out": held_out_fonts, "validation": partial(packaged_fonts, PACKAGED_VALIDATION)}


def main(argv: list[str] | None = None) -> list[dict]:
    set_flush_denormals(True)  # before torch starts its worker threads (idk.nn.numerics)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--hershey", action="store_true", help="Hershey's designs instead of the hand-drawn styles")
    mode.add_argument("--held-out", action="store_true", help="Hershey's held-out designs (no set or choice used them)")
    mode.add_argument(
        "--fonts",
        nargs="?",
        const="held-out",
        choices=sorted(FONT_SETS),
        help="printed in the held-out fonts (no set or choice used them), or in the validation fonts",
    )
    parser.add_argument("--per-style", type=int, default=60, help="drawings of each character in each style")
    parser.add_argument("--samples", type=int, default=100, help="posterior samples per image")
    pen = parser.add_mutually_exclusive_group()
    pen.add_argument("--thicker", type=float, metavar="A", help="draw with a broader pen of strength A in [0, 1]")
    pen.add_argument("--thinner", type=float, metavar="A", help="draw with a finer pen of strength A in [0, 1]")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)
    pen_name = "thicker" if args.thicker is not None else "thinner" if args.thinner is not None else None
    strength = args.thicker if args.thicker is not None else args.thinner
    if pen_name and not 0 <= strength <= 1:
        parser.error(f"--{pen_name} {strength}: a strength in [0, 1]")
    redraw = {"thicker": thicker, "thinner": thinner}.get(pen_name)
    model, ckpt = checkpoint.load(args.model)
    rule, spec = ckpt.decision_rule(), ckpt.input_spec
    named_styles = args.hershey or args.held_out or args.fonts
    if args.fonts:  # the printed set's characters, then the symbols'
        fonts = FONT_SETS[args.fonts]()
        if not fonts:
            needs = "requirements-dev.txt" if args.fonts == "held-out" else "requirements.txt"
            parser.error(f"no {args.fonts} font is installed (pip install -r {needs})")
        chars = [c for c in ckpt.classes if len(c) == 1] + symbol_chars(ckpt.classes)
        ways, draw = partial(font_names, fonts), partial(printed_in_font, fonts)
    elif args.hershey or args.held_out:  # the hershey set's characters, then hershey-symbols'
        held = args.held_out
        chars = [c for c in ckpt.classes if len(c) == 1 and hershey.has_strokes(c, held)]
        chars += [c for c in hershey_symbol_chars(ckpt.classes) if hershey.has_strokes(c, held)]
        ways, draw = partial(hershey.faces, held_out=held), partial(hershey_images, held_out=held)
    else:  # the drawn set's characters, then drawn-symbols'
        chars = [c for c in ckpt.classes if c in ALPHABET] + drawn_symbol_chars(ckpt.classes)
        ways, draw = styles, drawn_images
    rows = []
    for char in chars:
        for style, name in enumerate(ways(char)):
            rng = np.random.default_rng([5, ord(char), style])
            images = draw([char] * args.per_style, spec, rng, style)
            if redraw is not None:
                images = redraw(images, torch.full((len(images),), strength))
            decision = rule.decide(predict(model, images, args.samples, rule.percentile, seed=5))
            answered = decision.label[~decision.refused].tolist()
            row = {
                "char": char,
                "style": name if named_styles else style,
                "class": char in ckpt.classes,
                "drawings": len(images),
                "answered_count": len(answered),
                "answered": len(answered) / len(images),
            }
            if char in ckpt.classes:
                row["right"] = answered.count(ckpt.classes.index(char))
                row["accuracy"] = row["right"] / len(answered) if answered else None
            if answered:
                label, count = Counter(answered).most_common(1)[0]
                row["most_answered"] = [ckpt.classes[label], count / len(images)]
            rows.append(row)
    print(f"{'char':>4} {'style':>8} {'answered':>9} {'accuracy':>9}  most answered (share of all)")
    for r in sorted(rows, key=lambda r: (not r["class"], -r["answered"])):
        acc = f"{r['accuracy']:.1%}" if r.get("accuracy") is not None else ""
        most = f"{r['most_answered'][0]} ({r['most_answered'][1]:.0%})" if "most_answered" in r else ""
        print(f"{r['char']:>4} {r['style']:>8} {r['answered']:>9.0%} {acc:>9}  {most}")
    if named_styles:  # per face or font, then (fonts) per family: a font's name up to its "-"
        print_totals(rows, lambda row: row["style"])
    if args.fonts:
        print_totals(rows, lambda row: row["style"].split("-")[0])
    print_totals([row for row in rows if row["class"]], lambda row: row["char"])  # per class
    print_totals(rows, lambda row: "all")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return rows


def font_names(fonts: tuple[str, ...], char: str) -> list[str]:
    """Those of ``fonts`` that draw ``char``, by file name (no extension)."""
    return [Path(font).stem for font in _fonts_of(fonts, char)]


def printed_in_font(fonts: tuple[str, ...], chars: list[str], spec, rng, style: int):
    """``chars`` (one character, repeated) printed in the ``style``-th of ``fonts`` that draws it."""
    return printed_images(chars, [_fonts_of(fonts, chars[0])[style]] * len(chars), spec, rng)


@cache
def _fonts_of(fonts: tuple[str, ...], char: str) -> tuple[str, ...]:
    """Those of ``fonts`` that draw ``char`` (asked once per character, not once per drawing style)."""
    return tuple(font for font in fonts if has_glyph(char, font))


def print_totals(rows: list[dict], group_of: Callable[[dict], str]) -> None:
    """Per group of rows (``group_of``: a row's group, in order of appearance): of the class
    drawings n, the answered a, right r: a/n, r/a (with its interval) and a − r; of the other
    drawings m, the refused share Σ(m − a)/Σm."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(group_of(row), []).append(row)
    width = max([9, *(len(name) for name in groups)])
    print(
        f"\n{'style':>{width}} {'class drawings':>15} {'answered':>9} {'right when answered':>20} "
        f"{f'its {INTERVAL_LEVEL:.0%} interval':>17} {'wrong':>6} {'other drawings':>15} {'refused':>8}"
    )
    for style, group in groups.items():
        mine = [r for r in group if r["class"]]
        others = [r for r in group if not r["class"]]
        drawn = sum(r["drawings"] for r in mine)
        answered = sum(r["answered_count"] for r in mine)
        right = sum(r["right"] for r in mine)
        other_drawn = sum(r["drawings"] for r in others)
        refused = sum(r["drawings"] - r["answered_count"] for r in others)
        cells = f"{drawn:>15} {'':>9} {'':>20} {'':>17} {'':>6}"
        if drawn:
            low, high = clopper_pearson_interval(right, answered, INTERVAL_LEVEL)
            accuracy = f"{right / answered:.2%}" if answered else ""
            cells = (
                f"{drawn:>15} {answered / drawn:>9.1%} {accuracy:>20} "
                f"{f'{low:.2%}–{high:.2%}':>17} {answered - right:>6}"
            )
        tail = f"{other_drawn:>15} {refused / other_drawn:>8.1%}" if other_drawn else f"{0:>15} {'':>8}"
        print(f"{style!s:>{width}} {cells} {tail}")


if __name__ == "__main__":
    main()
