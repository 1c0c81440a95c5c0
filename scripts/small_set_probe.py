"""On a small set of one's own, does the Bayesian model refuse unfamiliar images as its twin does?

Builds a user-like labelled set and two folders of unfamiliar images in the same mode, then for
each KL weight trains the default preset and evaluates it: the share of uniform noise, Gaussian
noise, pen scribbles and smooth blobs refused by the Bayesian model and by its deterministic twin,
and the test accuracy. A measurement for docs/experiments.md, not a test.

The sets (``--set``):

* ``shapes``: five classes of 60 colour images each, mixed sizes, PNG and JPEG (circles, squares,
  triangles, stripes, checkers on light tinted grounds, with pixel noise);
* ``letters20``: twenty greyscale classes, the letters A–T in Pillow's own font at random sizes,
  places and slants, 12 to 80 images a class (imbalanced), 32×32 PNG, with pixel noise;
* ``outlines``: four classes told by the outline alone (circle, cross, square, triangle), 75
  images each, filled with a random colour on a random ground (flat, a gradient or blurred
  noise), 64×64 or 50–300 px a side, PNG (like a user's set that a model of 200 steps did not learn);
* ``marks``: four classes told by shape and colour alike (a red disc, green stripes, a blue cross,
  an amber ring) on light grounds, 70 images each, 32–64 px, PNG and JPEG (like a user's set
  whose model answered noise pictures larger than its frame).

Out of distribution, 40 images each: pen scribbles on flat grounds, smooth blobs (a few random
pixels enlarged bicubically), and noise pictures three times the set's size (uniform and Gaussian,
half each: a larger file that idk shrinks into the frame), all in the set's mode (colour or greyscale).

Usage: python scripts/small_set_probe.py WORK_DIR [--set shapes|letters20|outlines|marks] [--kl-weights 0.1 0.01]
       [--epochs N] [--members N] [--seed 0] [--drop-outliers NAME ...] [--sets-only]
"""

from __future__ import annotations

import argparse
import json
import string
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from idk.apps.cli import main as idk

SHAPES = ("circle", "square", "triangle", "stripes", "checker")
OUTLINES = ("circle", "cross", "square", "triangle")
LETTERS = string.ascii_uppercase[:20]
OUTLIERS = 40  # images in each folder of unfamiliar images


def _noisy(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    noisy = np.asarray(img, np.float32) + rng.normal(0, 8, np.asarray(img).shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def _shape(kind: str, width: int, height: int, rng: np.random.Generator) -> Image.Image:
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
    return _noisy(img, rng)


def _letter(letter: str, rng: np.random.Generator) -> Image.Image:
    font = ImageFont.load_default(size=int(rng.integers(16, 27)))
    img = Image.new("L", (32, 32), int(rng.integers(0, 40)))
    ImageDraw.Draw(img).text(
        (16 + rng.uniform(-3, 3), 16 + rng.uniform(-3, 3)),
        letter,
        fill=int(rng.integers(190, 256)),
        font=font,
        anchor="mm",
    )
    return _noisy(img.rotate(rng.uniform(-12, 12), resample=Image.BILINEAR), rng)


def _make_shapes(root: Path, rng: np.random.Generator) -> None:
    for kind in SHAPES:
        (root / kind).mkdir(parents=True, exist_ok=True)
        for i in range(60):
            width, height = (64, 48) if i < 30 else (int(rng.integers(40, 91)), int(rng.integers(30, 71)))
            img = _shape(kind, width, height, rng)
            img.save(root / kind / (f"{i:03d}.jpg" if i % 2 else f"{i:03d}.png"), quality=85)


def _make_letters(root: Path, rng: np.random.Generator) -> None:
    for k, letter in enumerate(LETTERS):
        (root / letter).mkdir(parents=True, exist_ok=True)
        for i in range(12 + (k * 68) // (len(LETTERS) - 1)):  # 12 for A ... 80 for T
            _letter(letter, rng).save(root / letter / f"{i:03d}.png")


def _make_unfamiliar(root: Path, mode: str, size: tuple[int, int], rng: np.random.Generator) -> None:
    """``root/scribbles``: five pen lines on a flat ground; ``root/blobs``: a few random pixels,
    3×3 to 6×6, enlarged bicubically to ``size`` (width, height); ``root/noise-files``: uniform and
    Gaussian noise of three times ``size``. In the order they were added, each drawn after the ones
    before (docs/experiments.md's figures of each are of the same images)."""
    channels = 3 if mode == "RGB" else 1
    width, height = size

    def colour() -> tuple[int, ...]:
        return tuple(int(v) for v in rng.integers(0, 255, channels))

    (root / "scribbles").mkdir(parents=True, exist_ok=True)
    for i in range(OUTLIERS):
        img = Image.new(mode, size, colour())
        pen = ImageDraw.Draw(img)
        for _ in range(5):
            ends = [tuple(rng.integers(0, width, 2).tolist()), tuple(rng.integers(0, height, 2).tolist())]
            pen.line(ends, fill=colour(), width=3)
        img.save(root / "scribbles" / f"s{i:02d}.png")
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    for i in range(OUTLIERS):
        k = int(rng.integers(3, 7))
        few = rng.integers(0, 256, (k, k, channels)).astype(np.uint8)
        Image.fromarray(few if channels == 3 else few[..., 0]).resize(size, Image.BICUBIC).save(
            root / "blobs" / f"b{i:02d}.png"
        )
    (root / "noise-files").mkdir(parents=True, exist_ok=True)  # drawn last: the folders above are as they were
    for i in range(OUTLIERS):
        shape = (3 * height, 3 * width, *((3,) if channels == 3 else ()))
        pixels = rng.random(shape) if i % 2 == 0 else 0.5 + 0.25 * rng.standard_normal(shape)
        Image.fromarray((np.clip(pixels, 0, 1) * 255).round().astype(np.uint8)).save(
            root / "noise-files" / f"n{i:02d}.png"
        )


MARKS = {"disc": (220, 30, 30), "stripes": (30, 160, 40), "cross": (30, 50, 220), "ring": (200, 150, 0)}


def _mark(kind: str, width: int, height: int, rng: np.random.Generator) -> Image.Image:
    """A disc, vertical stripes, a cross or a ring in its class's colour (±30 a channel) on a light ground."""
    img = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(200, 256, 3)))
    pen = ImageDraw.Draw(img)
    side = min(width, height)
    cx, cy = (
        width // 2 + int(rng.integers(-side // 8, side // 8 + 1)),
        height // 2 + int(rng.integers(-side // 8, side // 8 + 1)),
    )
    r = int(side * rng.uniform(0.2, 0.35))
    ink = tuple(int(np.clip(v + rng.integers(-30, 31), 0, 255)) for v in MARKS[kind])
    if kind == "disc":
        pen.ellipse([cx - r, cy - r, cx + r, cy + r], fill=ink)
    elif kind == "ring":
        pen.ellipse([cx - r, cy - r, cx + r, cy + r], outline=ink, width=max(2, r // 4))
    elif kind == "stripes":
        step = max(3, side // 10)
        for x in range(0, width, 2 * step):
            pen.rectangle([x, 0, x + step - 1, height], fill=ink)
    else:
        t = max(2, r // 3)
        pen.rectangle([cx - r, cy - t, cx + r, cy + t], fill=ink)
        pen.rectangle([cx - t, cy - r, cx + t, cy + r], fill=ink)
    return img


def _make_marks(root: Path, rng: np.random.Generator) -> None:
    """Four classes of 70 told by shape and colour alike, square 32–64 px (a third of them of
    another height), PNG and JPEG: like a walk's set whose model answered noise larger than its frame."""
    for kind in MARKS:
        (root / kind).mkdir(parents=True, exist_ok=True)
        for i in range(70):
            width = int(rng.choice([32, 40, 48, 50, 64]))
            height = int(rng.choice([32, 40, 48, 64])) if i % 3 == 0 else width
            _mark(kind, width, height, rng).save(
                root / kind / f"{i:03d}.{'jpg' if i % 10 in (1, 2, 3) else 'png'}", quality=85
            )


def _ground(width: int, height: int, rng: np.random.Generator) -> Image.Image:
    """A flat colour, a left-to-right gradient between two colours, or blurred colour noise."""
    kind = rng.integers(3)
    if kind == 0:
        return Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(0, 256, 3)))
    if kind == 1:
        a = np.linspace(0, 1, width)[None, :, None]
        ends = rng.integers(0, 256, (2, 3))
        return Image.fromarray((ends[0] * (1 - a) + ends[1] * a + np.zeros((height, 1, 1))).astype(np.uint8))
    noise = rng.integers(0, 256, (height, width, 3)).astype(np.uint8)
    return Image.fromarray(noise).filter(ImageFilter.GaussianBlur(3))


def _make_outlines(root: Path, rng: np.random.Generator) -> None:
    """Four classes told by the outline alone: the fill and the ground in random colours."""
    for kind in OUTLINES:
        (root / kind).mkdir(parents=True, exist_ok=True)
        for i in range(75):
            width, height = (64, 64) if rng.random() < 0.6 else tuple(int(v) for v in rng.integers(50, 301, 2))
            img = _ground(width, height, rng)
            pen = ImageDraw.Draw(img)
            r = rng.uniform(0.25, 0.4) * min(width, height)
            cx, cy = width / 2 + rng.uniform(-0.1, 0.1) * width, height / 2 + rng.uniform(-0.1, 0.1) * height
            fill = tuple(int(v) for v in rng.integers(0, 256, 3))
            if kind == "circle":
                pen.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
            elif kind == "square":
                pen.rectangle([cx - r, cy - r, cx + r, cy + r], fill=fill)
            elif kind == "triangle":
                pen.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fill)
            else:
                t = max(2, int(r / 3))
                pen.rectangle([cx - r, cy - t, cx + r, cy + t], fill=fill)
                pen.rectangle([cx - t, cy - r, cx + t, cy + r], fill=fill)
            img.save(root / kind / f"{i:03d}.png")


SETS = {
    "shapes": (_make_shapes, "RGB", (64, 48)),
    "letters20": (_make_letters, "L", (32, 32)),
    "outlines": (_make_outlines, "RGB", (64, 64)),
    "marks": (_make_marks, "RGB", (48, 48)),
}


def make_sets(work: Path, name: str, seed: int) -> tuple[Path, Path]:
    """The labelled set ``work/NAME/CLASS/*`` and the unfamiliar images
    ``work/unfamiliar/{scribbles,blobs,noise-files}``."""
    make, mode, size = SETS[name]
    rng = np.random.default_rng(seed)
    labelled, unfamiliar = work / name, work / "unfamiliar"
    make(labelled, rng)
    _make_unfamiliar(unfamiliar, mode, size, rng)
    return labelled, unfamiliar


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("--set", choices=SETS, default="shapes")
    parser.add_argument("--kl-weights", type=float, nargs="+", default=[0.1, 0.01])
    parser.add_argument("--epochs", type=int, help="default: not given (idk train's own choice for the set)")
    parser.add_argument("--members", type=int, help="posteriors in the mixture (default: the preset's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--drop-outliers", nargs="+", default=[], help="synthetic outlier families left out")
    parser.add_argument("--sets-only", action="store_true", help="make the sets, train nothing")
    args = parser.parse_args()
    labelled, unfamiliar = make_sets(args.work, args.set, args.seed)
    if args.sets_only:
        print(f"{labelled}\n{unfamiliar}")
        return
    columns = ("noise", "gaussian-noise", "noise-3x", "scribbles", "blobs", "noise-files")
    print(
        f"{'KL weight':>9}  {'model':<8} {'epochs':>6} {'test acc':>8}  "
        + "  ".join(f"{c:>{max(9, len(c))}}" for c in columns)
    )
    for beta in args.kl_weights:
        out, report = args.work / f"kl{beta:g}.pt", args.work / f"kl{beta:g}.json"
        epochs = [] if args.epochs is None else ["--epochs", str(args.epochs)]
        members = [] if args.members is None else ["--members", str(args.members)]
        dropped = ["--drop-outliers", *args.drop_outliers] if args.drop_outliers else []
        common = [*epochs, *members, *dropped, "--seed", str(args.seed), "-q"]
        assert idk(["train", "--data", str(labelled), "--out", str(out), "--kl-weight", f"{beta:g}", *common]) == 0
        ood = [
            arg for name in ("scribbles", "blobs", "noise-files") for arg in ("--ood", f"{name}={unfamiliar / name}")
        ]
        evaluate = ["evaluate", "--model", str(out), *ood, "--noise", "200", "--gaussian", "200"]
        assert idk([*evaluate, "--json", str(report), "-q"]) == 0
        found = json.loads(report.read_text())
        trained = found["training"]["train_config"]["epochs"]
        for model, sets in (("bayesian", found["datasets"]), ("twin", found["twin"]["datasets"])):
            test = sets[found["in_distribution"]]
            print(
                f"{beta:>9g}  {model:<8} {trained:>6} {test['forced_accuracy']:>8.2%}  "
                + "  ".join(f"{sets[c]['refused']:>{max(9, len(c))}.1%}" for c in columns)
            )


if __name__ == "__main__":
    main()
