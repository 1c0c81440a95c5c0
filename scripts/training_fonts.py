"""Train and measure a variant of the default that prints its class names in more fonts.

:func:`idk.data.glyphs.printed_classes` prints the training class names in
:func:`idk.data.glyphs.training_fonts` (Computer Modern and, since 2026-12-06, Noto Sans); this adds
pymupdf-fonts' cuts ``KEYS`` (comma-separated keys of :data:`idk.data.fonts.PACKAGED_TRAINING`; never
a validation cut), then runs ``scripts/validation_experiment.py`` with the rest of the arguments
(validation data only). Noto Sans was chosen with it on 2026-12-05 (docs/experiments.md), when the
default printed in Computer Modern only.

Usage: python scripts/training_fonts.py KEYS NAME [SPEC] [--out DIR] ...
e.g.   python scripts/training_fonts.py cascadia,cascadiab m1-cascadia '{"model": {"members": 1}}' --out runs/fexp
"""

from __future__ import annotations

import sys
from pathlib import Path

import validation_experiment

from idk.data import glyphs
from idk.data.fonts import PACKAGED_TRAINING, packaged_fonts


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__.split("\n\n")[-1].strip())
    keys = tuple(sys.argv[1].split(","))
    if unknown := set(keys) - set(PACKAGED_TRAINING):
        raise SystemExit(f"{sorted(unknown)}: not training cuts; choose among {', '.join(PACKAGED_TRAINING)}")
    if trained := set(keys) & set(glyphs.TRAINING_CUTS):
        raise SystemExit(f"{sorted(trained)}: the default prints in these already (idk.data.glyphs.TRAINING_CUTS)")
    if not (added := packaged_fonts(keys)):
        raise SystemExit("pymupdf-fonts is not installed (pip install -r requirements.txt)")
    glyphs.TRAINING_FONTS = (*glyphs.TRAINING_FONTS, *added)  # training_fonts() adds the default cuts
    print(f"training fonts: {', '.join(Path(f).stem for f in glyphs.training_fonts())}")
    validation_experiment.main(sys.argv[2:])  # a sibling: scripts/ is on sys.path


if __name__ == "__main__":
    main()
