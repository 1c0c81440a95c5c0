"""Is noise refused whatever its size? Noise pictures of 1, 2, 3, 5, 8 and 12 times a model's frame, read
as `idk predict` reads a user's files (larger ones shrunk into the frame), and the share of each
that the model refuses. A measurement for README's "Limits" and docs/experiments.md, not a test.

Uniform and Gaussian (0.5 + 0.25 z, clipped) pixels, in the model's channels, ``--images`` of each
size and kind, drawn from ``--seed``.

Usage: python scripts/noise_sizes.py MODEL [MODEL ...] [--images 200] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np

from idk.apps.predict import predict_images
from idk.training import checkpoint

FACTORS = (1, 2, 3, 5, 8, 12)  # the pictures' sides, in frames


def _picture(kind: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """One 8-bit noise picture of ``shape``: uniform, or Gaussian 0.5 + 0.25 z clipped."""
    pixels = rng.random(shape) if kind == "uniform" else 0.5 + 0.25 * rng.standard_normal(shape)
    return (np.clip(pixels, 0, 1) * 255).round().astype(np.uint8)


def refused_shares(path: str, images: int, seed: int) -> dict[str, float]:
    """Kind and size ("uniform ×3") → the share of those noise pictures the model at ``path`` refuses."""
    model, ckpt = checkpoint.load(path)
    spec = ckpt.input_spec
    rng = np.random.default_rng(seed)
    shares = {}
    for factor in FACTORS:
        shape = (spec.height * factor, spec.width * factor, *((3,) if spec.channels == 3 else ()))
        for kind in ("uniform", "gaussian"):
            pictures = ((f"{kind}-{k}", _picture(kind, shape, rng)) for k in range(images))  # one at a time
            results = predict_images(model, ckpt, pictures)
            shares[f"{kind} ×{factor}"] = sum(r.label is None for r in results) / images
    return shares


def main(args: argparse.Namespace) -> None:
    for path in args.models:
        shares = refused_shares(path, args.images, args.seed)
        print(f"{path}: refused " + ", ".join(f"{name} {share:.1%}" for name, share in shares.items()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    main(parser.parse_args())
