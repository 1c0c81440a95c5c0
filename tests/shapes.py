"""A small labelled colour image set made on the fly: three classes of shapes, in mixed sizes and modes.

Classes: ``circle`` (red-ish discs), ``square`` (green-ish squares), ``triangle`` (blue-ish
triangles), each on a light background of random tint, in sizes of 40–80 px, saved as RGB, RGBA,
palette or greyscale PNG/JPEG files (so a folder holds every mode a user's folder may hold).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ("circle", "square", "triangle")
COLOURS = {"circle": (220, 40, 40), "square": (40, 180, 60), "triangle": (50, 70, 220)}
MODES = ("RGB", "RGBA", "P", "L", "JPEG")


def shape_image(kind: str, size: int, rng: np.random.Generator) -> Image.Image:
    """One RGB image of ``kind`` on a light background, ``size`` × ``size`` pixels."""
    background = tuple(int(v) for v in rng.integers(200, 256, 3))
    img = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(img)
    jitter = rng.integers(-20, 21, 3)
    colour = tuple(int(np.clip(c + j, 0, 255)) for c, j in zip(COLOURS[kind], jitter, strict=True))
    r = size * rng.uniform(0.25, 0.4)
    cx, cy = size / 2 + rng.uniform(-0.1, 0.1) * size, size / 2 + rng.uniform(-0.1, 0.1) * size
    if kind == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    elif kind == "square":
        draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=colour)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
    return img


def save(img: Image.Image, path: Path, mode: str) -> Path:
    """Save ``img`` in ``mode`` (RGB, RGBA, P, L as PNG; JPEG)."""
    if mode == "JPEG":
        path = path.with_suffix(".jpg")
        img.save(path, quality=90)
    elif mode == "RGBA":
        rgba = img.convert("RGBA")
        rgba.putalpha(255)
        rgba.save(path)
    else:
        img.convert(mode).save(path)
    return path


def make_shapes(root: Path, per_class: int = 20, seed: int = 0, layout: str = "flat") -> Path:
    """Write the set under ``root``: ``flat`` (root/CLASS/*) or ``split`` (root/train/CLASS/*, root/test/CLASS/*)."""
    rng = np.random.default_rng(seed)
    for kind in CLASSES:
        for i in range(per_class):
            part = "" if layout == "flat" else ("test" if i % 4 == 0 else "train")
            folder = root / part / kind
            folder.mkdir(parents=True, exist_ok=True)
            size = int(rng.choice([40, 48, 64, 64, 64, 80]))
            save(shape_image(kind, size, rng), folder / f"{kind}-{i:03d}.png", MODES[i % len(MODES)])
    return root
