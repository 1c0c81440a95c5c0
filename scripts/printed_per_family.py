"""Train and measure a variant of the default whose printed class names come from each font family
equally: Computer Modern's five cuts and Noto Sans' four each print half of them.

:func:`idk.data.glyphs.printed_classes` prints :data:`~idk.data.glyphs.PRINTED_PER_FONT` images of
each class in each of :func:`~idk.data.glyphs.training_fonts` — per cut, so Computer Modern (five
cuts) prints 5/9 of them and Noto Sans (four) 4/9. Here each cut is listed as often as makes the two
families equal (Computer Modern's four times, Noto Sans' five times: 20 entries each, every entry
its own angles and sizes); the printed share of each batch is unchanged. Then runs
``scripts/validation_experiment.py`` with the rest of the arguments (validation data only). A test
of why Hershey's serif 2, whose only serif kin in training is Computer Modern's, is answered less
since Noto Sans joined (docs/experiments.md, "Hershey's serif 2").

Usage: python scripts/printed_per_family.py NAME [SPEC] [--out DIR] ...
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import validation_experiment

from idk.data import glyphs
from idk.data.fonts import packaged_fonts


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__.split("\n\n")[-1].strip())
    modern, noto = glyphs.TRAINING_FONTS, packaged_fonts(glyphs.TRAINING_CUTS)
    if len(noto) != len(glyphs.TRAINING_CUTS):
        raise SystemExit("pymupdf-fonts is not installed (pip install -r requirements.txt)")
    each = math.lcm(len(modern), len(noto))  # entries per family
    fonts = (*modern * (each // len(modern)), *noto * (each // len(noto)))
    glyphs.training_fonts = lambda: fonts  # printed_classes looks it up when called
    print(f"training fonts ({each} entries a family): {', '.join(Path(f).stem for f in dict.fromkeys(fonts))}")
    validation_experiment.main(sys.argv[1:])  # a sibling: scripts/ is on sys.path


if __name__ == "__main__":
    main()
