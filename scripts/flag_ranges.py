"""Train and measure a variant of the default with other ranges for the training 1s' flags.

:mod:`idk.data.variants` draws each flag's length (over the stem's) and angle (degrees below the
horizontal) uniformly in ``FLAG_LENGTH`` and ``FLAG_ANGLE``; this sets both, then runs
``scripts/validation_experiment.py`` with the rest of the arguments (validation data only).

Usage: python scripts/flag_ranges.py LOW:HIGH ANGLE_LOW:ANGLE_HIGH NAME [SPEC] [--out DIR] ...
e.g.   python scripts/flag_ranges.py 0.2:0.6 10:60 m1-longflags '{"model": {"members": 1}}' --out runs/fexp
"""

from __future__ import annotations

import sys

import validation_experiment

from idk.data import variants


def _range(text: str) -> tuple[float, float]:
    low, high = (float(x) for x in text.split(":"))
    if not 0 <= low <= high:
        raise SystemExit(f"{text}: a range is LOW:HIGH with 0 <= LOW <= HIGH")
    return low, high


def main() -> None:
    if len(sys.argv) < 4:
        raise SystemExit(__doc__.split("\n\n")[-1].strip())
    variants.FLAG_LENGTH, variants.FLAG_ANGLE = _range(sys.argv[1]), _range(sys.argv[2])
    print(f"flags: length {variants.FLAG_LENGTH} of the stem, {variants.FLAG_ANGLE} degrees below the horizontal")
    validation_experiment.main(sys.argv[3:])  # a sibling: scripts/ is on sys.path


if __name__ == "__main__":
    main()
