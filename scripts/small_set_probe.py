"""On a small set of one's own, does the Bayesian model refuse unfamiliar images as its twin does?

Builds a user-like set (five classes of 60 colour images each, mixed sizes, PNG and JPEG: circles,
squares, triangles, stripes, checkers on light tinted grounds, with pixel noise) and a folder of
40 pen scribbles on flat colours (out of distribution), then for each KL weight trains the default
preset (``--members 1`` to keep it short) and evaluates it: the share of uniform noise, Gaussian
noise and scribbles refused by the Bayesian model and by its deterministic twin, and the test
accuracy. A measurement for docs/experiments.md, not a test.

Usage: python scripts/small_set_probe.py WORK_DIR [--kl-weights 0.1 0.01] [--epochs N] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from idk.apps.cli import main as idk

KINDS = ("circle", "square", "triangle", "stripes", "checker")


def _draw(kind: str, width: int, height: int, rng: np.random.Generator) -> Image.Image:
    img = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(180, 255, 3)))
    pen = ImageDraw.Draw(img)
    cx, cy = width / 2 + rng.uniform(-width / 8, width / 8), height / 2 + rng.uniform(-height / 8, height / 8)
    r = min(width, height) * rng.uniform(0.25, 0.4)
    ink = tuple(int(v) for v in rng.integers(0, 120, 3))
    if kind == "circle":
        pen.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(int(rng.integers(180, 255)), 30, 30))
    elif kind == "square":
        pen.rectangle([cx - r, cy - r, cx + r, cy + r], fill=(30, 40, int(rng.integers(180, 255))))
    elif kind == "triangle":
        pen.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=(30, int(rng.integers(150, 230)), 30))
    elif kind == "stripes":
        step = int(rng.integers(4, 9))
        for x in range(0, width + height, 2 * step):
            pen.line([(x, 0), (x - height, height)], fill=ink, width=step)
    else:
        size = int(rng.integers(5, 10))
        for y in range(0, height, size):
            for x in range(0, width, size):
                if (x // size + y // size) % 2:
                    pen.rectangle([x, y, x + size - 1, y + size - 1], fill=ink)
    noisy = np.asarray(img, np.float32) + rng.normal(0, 8, (height, width, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def make_sets(work: Path, seed: int) -> tuple[Path, Path]:
    """The labelled set (``work/shapes/KIND/*``) and the scribbles (``work/scribbles/*``)."""
    rng = np.random.default_rng(seed)
    shapes, scribbles = work / "shapes", work / "scribbles"
    for kind in KINDS:
        (shapes / kind).mkdir(parents=True, exist_ok=True)
        for i in range(60):
            width, height = (64, 48) if i < 30 else (int(rng.integers(40, 91)), int(rng.integers(30, 71)))
            img = _draw(kind, width, height, rng)
            img.save(shapes / kind / (f"{i:03d}.jpg" if i % 2 else f"{i:03d}.png"), quality=85)
    scribbles.mkdir(parents=True, exist_ok=True)
    for i in range(40):
        img = Image.new("RGB", (64, 48), tuple(int(v) for v in rng.integers(0, 255, 3)))
        pen = ImageDraw.Draw(img)
        for _ in range(5):
            ends = [tuple(rng.integers(0, 64, 2).tolist()), tuple(rng.integers(0, 48, 2).tolist())]
            pen.line(ends, fill=tuple(int(v) for v in rng.integers(0, 255, 3)), width=3)
        img.save(scribbles / f"s{i:02d}.png")
    return shapes, scribbles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("--kl-weights", type=float, nargs="+", default=[0.1, 0.01])
    parser.add_argument("--epochs", type=int, help="default: not given (idk train's own choice for the set)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    shapes, scribbles = make_sets(args.work, args.seed)
    print(
        f"{'KL weight':>9}  {'model':<8} {'epochs':>6} {'test acc':>8}  {'noise':>6}  {'gaussian':>8}  {'scribbles':>9}"
    )
    for beta in args.kl_weights:
        out, report = args.work / f"kl{beta:g}.pt", args.work / f"kl{beta:g}.json"
        epochs = [] if args.epochs is None else ["--epochs", str(args.epochs)]
        common = [*epochs, "--members", "1", "--seed", str(args.seed), "-q"]
        assert idk(["train", "--data", str(shapes), "--out", str(out), "--kl-weight", f"{beta:g}", *common]) == 0
        evaluate = ["evaluate", "--model", str(out), "--ood", f"scribbles={scribbles}", "--noise", "200"]
        assert idk([*evaluate, "--gaussian", "200", "--json", str(report), "-q"]) == 0
        found = json.loads(report.read_text())
        for model, sets in (("bayesian", found["datasets"]), ("twin", found["twin"]["datasets"])):
            test = sets[found["in_distribution"]]
            refused = [sets[name]["refused"] for name in ("noise", "gaussian-noise", "scribbles")]
            trained = found["training"]["train_config"]["epochs"]
            print(
                f"{beta:>9g}  {model:<8} {trained:>6} {test['forced_accuracy']:>8.2%}  "
                + "  ".join(f"{r:>{w}.1%}" for r, w in zip(refused, (6, 8, 9), strict=True))
            )


if __name__ == "__main__":
    main()
