"""Train and measure a variant of the default whose printed class names are also drawn with a finer pen.

:func:`idk.training.batches.trained_printed` gives a run the class names printed in
:func:`idk.data.glyphs.training_fonts`; this adds a copy of each drawn with a finer pen
(:func:`idk.data.augment.thinner`, its strength uniform in ``LOW:HIGH``, seed 2028), so that half
the printed names a batch gets are light or thin, then runs ``scripts/validation_experiment.py``
with the rest of the arguments (validation data only). Measured on 2026-12-06, not adopted
(docs/experiments.md, "Light and thin 1s").

Usage: python scripts/printed_pen.py LOW:HIGH NAME [SPEC] [--out DIR] ...
e.g.   python scripts/printed_pen.py 0.3:1 m1-thinprint '{"model": {"members": 1}}' --out runs/fexp
"""

from __future__ import annotations

import sys
from functools import lru_cache

import torch
import validation_experiment
from torch import Tensor

from idk.data.augment import thinner
from idk.training import batches


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__.split("\n\n")[-1].strip())
    low, high = (float(x) for x in sys.argv[1].split(":"))
    if not 0 <= low <= high <= 1:
        raise SystemExit(f"{sys.argv[1]}: strengths LOW:HIGH with 0 <= LOW <= HIGH <= 1")
    plain = batches.printed_classes

    @lru_cache(maxsize=4)
    def with_finer_pen(classes: tuple[str, ...], height: int, width: int) -> tuple[Tensor, Tensor] | None:
        printed = plain(classes, height, width)
        if printed is None:
            return None
        images, labels = printed
        strength = low + (high - low) * torch.rand(len(images), generator=torch.Generator().manual_seed(2028))
        return torch.cat([images, thinner(images, strength)]), torch.cat([labels, labels])

    batches.printed_classes = with_finer_pen  # what trained_printed draws from
    print(f"printed names: each also drawn with a finer pen, strength {low}–{high}")
    validation_experiment.main(sys.argv[2:])


if __name__ == "__main__":
    main()
