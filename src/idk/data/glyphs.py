"""Characters rendered in printed fonts: the fonts matplotlib ships (DejaVu, STIX, Computer Modern),
so that every machine with the pinned matplotlib renders the same pixels.

Used to build printed-digit and non-digit symbol sets (:mod:`idk.data.shifted`); never trained on.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Regular, bold, italic and bold italic cuts of serif, sans, monospace and old-style families.
FONT_FILES = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSansMono-Oblique.ttf",
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf",
    "STIXGeneralBolIta.ttf",
)
CANVAS = 96  # px: glyphs are drawn this large, then brought to the model's frame by its preparation


def font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@lru_cache(maxsize=64)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_dir() / name), size)


@lru_cache(maxsize=64)
def _face(name: str):
    from matplotlib.ft2font import FT2Font

    return FT2Font(str(font_dir() / name))


def has_glyph(char: str, font: str) -> bool:
    """Whether ``font`` has its own glyph for ``char`` (not the missing-glyph box)."""
    return _face(font).get_char_index(ord(char)) != 0


def render(char: str, font: str, angle: float = 0.0, size: int = 64) -> np.ndarray:
    """``char`` in ``font``, black on white, rotated by ``angle`` degrees: (CANVAS, CANVAS) floats in
    [0, 1] (1 = paper), the way a user's image of a printed character looks before preparation."""
    img = Image.new("L", (CANVAS, CANVAS), 255)
    draw = ImageDraw.Draw(img)
    draw.text((CANVAS / 2, CANVAS / 2), char, font=_font(font, size), fill=0, anchor="mm")
    if angle:
        img = img.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=255)
    return np.asarray(img, dtype=np.float32) / 255.0
