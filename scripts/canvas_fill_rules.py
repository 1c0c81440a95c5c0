"""Can a rule tell a blotted loop (a digit's filled-in 9) from a bold font's stroke? Measured on
validation images only, for the canvas set's redraw (:func:`idk.data.degradations.canvas`).

For each model, its tuning images (the part of the validation split training tuned its rule on) at
:data:`~idk.data.degradations.UPSCALE` × with the canvas pen (radius r): the images with a *filled area*
(ink deeper than :data:`FILLED` · r, the outline rule tried and reverted in docs/experiments.md), and
three candidate rules for keeping only blotted loops among them:

* roundness: a filled area's size over π · (its deepest ink)², 1 for a disc;
* depth ratio: the deepest ink over the median depth along the symbol's skeleton;
* the set's usual stroke: the set's median of each image's median skeleton depth, against the
  deepest ink (in pen radii).

Usage: python scripts/canvas_fill_rules.py runs/default.pt runs/letters.pt [--n 2000]
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np
from scipy import ndimage

from idk.data import DataConfig
from idk.data.degradations import PEN_SHARE, hires, skeleton
from idk.data.preparation import MNIST_BOX
from idk.training import checkpoint
from idk.training.recalibration import training_split

FILLED = 4  # pen radii: deeper ink is a filled area (the reverted outline rule's)
QUANTILES = (0, 0.1, 0.25, 0.5, 0.75, 0.9, 1)


def filled_areas(ink: np.ndarray, radius: int) -> list[tuple[float, float]]:
    """(roundness, deepest ink in pen radii) of each filled area of a binary image (H, W)."""
    depth = ndimage.distance_transform_edt(ink)
    core = depth > FILLED * radius
    if not core.any():
        return []
    filled = ink & (ndimage.distance_transform_edt(~core) <= FILLED * radius)
    labels, count = ndimage.label(filled)
    areas = []
    for k in range(1, count + 1):
        area = labels == k
        deepest = depth[area].max()
        areas.append((area.sum() / (np.pi * deepest**2), deepest / radius))
    return areas


def measure(path: str, n: int) -> None:
    ckpt = checkpoint.read(path)
    _, tune, _ = training_split(ckpt, DataConfig.from_env())
    x = hires(tune.images[:n])[:, 0].numpy()
    radius = max(1, round(PEN_SHARE / 2 * MNIST_BOX * x.shape[-1]))
    ink = x > 0.5
    bones = skeleton(ink)
    areas, ratio, deepest, usual = [], [], [], []
    for img, bone in zip(ink, bones, strict=True):
        depth = ndimage.distance_transform_edt(img)
        areas.append(filled_areas(img, radius))
        along = np.median(depth[bone]) if bone.any() else np.nan
        ratio.append(depth.max() / along)
        deepest.append(depth.max() / radius)
        usual.append(along / radius)
    ratio, deepest = np.array(ratio), np.array(deepest)
    cored = np.array([bool(a) for a in areas])
    print(f"{path}: {len(x)} tuning images, pen radius {radius} px; {cored.sum()} with a filled area")
    named = Counter(tune.classes[int(tune.labels[i])] for i in np.flatnonzero(cored))
    print(f"  their classes: {', '.join(f'{k} × {c}' for c, k in sorted(named.items()))}")
    round_all = np.array([r for a in areas for r, _ in a])
    if len(round_all):
        print(
            f"  roundness of the filled areas, quantiles {QUANTILES}: {np.round(np.quantile(round_all, QUANTILES), 2)}"
        )
    for cut in (1.0, 1.25, 1.5, 2.0, 3.0):
        kept = sum(any(r <= cut for r, _ in a) for a in areas)
        print(f"  roundness <= {cut}: {kept} images traced")
    print(f"  depth ratio of the images with a filled area: {np.round(np.sort(ratio[cored]), 2).tolist()}")
    for cut in (1.5, 2.0, 2.5, 3.0, 3.5):
        print(f"  depth ratio > {cut}: {(cored & (ratio > cut)).sum()} images traced")
    print(f"  the set's usual stroke (median of medians): {np.nanmedian(usual):.2f} radii")
    print(f"  deepest ink in radii, quantiles {QUANTILES}: {np.round(np.quantile(deepest, QUANTILES), 2)}")
    if cored.any():
        print(f"  deepest ink of the images with a filled area: {np.round(np.sort(deepest[cored]), 1).tolist()}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--n", type=int, default=2000, help="tuning images of each model (at most)")
    args = parser.parse_args(argv)
    for path in args.models:
        measure(path, args.n)


if __name__ == "__main__":
    main()
