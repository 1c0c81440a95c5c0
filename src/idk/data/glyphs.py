"""Characters rendered in printed fonts: the fonts matplotlib ships (DejaVu, STIX, Computer Modern)
and Noto Sans from pymupdf-fonts, drawn by Pillow's FreeType, so that every machine with the pinned
matplotlib, pymupdf-fonts and Pillow (requirements.txt) renders the same pixels.

Two disjoint pools of characters that are no digit and no Latin letter:

* :data:`SYMBOLS` (Latin letters unlike a digit, Greek, Cyrillic, signs) builds the non-digit
  symbol sets that idk *measures* on (:mod:`idk.data.shifted`); never trained on as outliers (a
  model whose classes are among them, notMNIST's A, C, E, ..., has those left out of its set).
* :func:`outlier_chars` (Armenian, Hebrew, Arabic, Georgian, Canadian syllabics, Tifinagh, arrows,
  mathematical and other signs) is what the ``glyphs`` outlier family *trains* on
  (:mod:`idk.data.synthetic`). It leaves out every character that looks like one of printable ASCII
  or of :data:`SYMBOLS` (:func:`looks_alike`), so that what is measured stays unseen.

Printed class names, which the printed shifted set measures in :data:`FONT_FILES`, are trained in
other fonts (:func:`training_fonts`, :func:`printed_classes`): Computer Modern and Noto Sans.
"""

from __future__ import annotations

import hashlib
import string
import unicodedata
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from idk.data.augment import blur
from idk.data.fonts import packaged_fonts
from idk.data.preparation import to_mnist
from idk.errors import DataError

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
# Characters that are none of the digits and resemble none of them: the measured non-digit symbols.
SYMBOLS = (
    "ACEFHKMNPRUVWXYacefhkmnrtuvwxy"  # Latin letters unlike a digit (no O, I, l, S, Z, B, G, q, g ...)
    "αγεηλμπσφψωΦΨΩΣΔΛΠΞΓ"  # Greek
    "жфшщюядлицЖФШЩЮЯДЛИЦЫ"  # Cyrillic
    "+×÷=#%&@$€?!∞√∑≈≠♥♪"  # signs
)
# Measured symbols with a relative among the trained glyphs, as a review saw them (the look-alike
# filter, one font upright, let these pass: a ≉ is a ≈ struck through): what favours the measured
# symbols' refused share; scripts/shift_diagnosis.py --by-character averages with and without them.
TRAINED_RELATIVES = {
    "≈": "≉≅≌",
    "√": "∛∜",
    "♥": "♡",
    "♪": "♩♫♬",
    "+": "±∓✝⊕⊞",
    "×": "⊠",
    "÷": "≑",
    "a": "ª",
    "c": "¢",
}
# Unicode blocks (first, last code point) of the trained outlier glyphs: scripts and signs that
# are no digit, Latin, Greek or Cyrillic letter. Drawn blocks are weighed equally (see glyph_bank).
OUTLIER_BLOCKS = {
    "Latin-1 signs": (0x00A1, 0x00BF),
    "Armenian": (0x0531, 0x0587),
    "Hebrew": (0x05D0, 0x05EA),
    "Arabic": (0x0620, 0x064A),
    "Georgian": (0x10D0, 0x10FA),
    "Canadian syllabics": (0x1401, 0x166C),
    "Tifinagh": (0x2D30, 0x2D6F),
    "arrows": (0x2190, 0x21FF),
    "mathematical operators": (0x2200, 0x22FF),
    "geometric shapes": (0x25A0, 0x25FF),
    "miscellaneous symbols": (0x2600, 0x26FF),
    "dingbats": (0x2700, 0x27BF),
}
# Fonts the class names are printed in for training (training_fonts): Computer Modern, which
# matplotlib ships, and Noto Sans' four cuts from pymupdf-fonts (idk.data.fonts), whose 1 has a flag
# and no foot as most sans faces' do (chosen on validation fonts, docs/experiments.md); none of
# FONT_FILES, in which the printed shifted set is measured.
TRAINING_FONTS = ("cmr10.ttf", "cmb10.ttf", "cmti10.ttf", "cmss10.ttf", "cmtt10.ttf")  # Computer Modern's
TRAINING_CUTS = ("notos", "notosbo", "notosit", "notosbi")  # keys of idk.data.fonts.PACKAGED_TRAINING
PRINTED_PER_FONT = 40  # printed training images of each class in each training font
LOOKALIKE = 0.88  # cosine similarity of the blurred frames at and above which two characters look alike
REFERENCE_FONT = "DejaVuSans.ttf"  # the font look-alikes are judged in (it draws every block above)
BANK_SIZE = 3072  # rendered glyphs the family draws from (random rotations, sizes and fonts)
BANK_SEED = 2026
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


def frames(
    chars: list[str], fonts: list[str], angles: list[float], sizes: list[int], height: int, width: int
) -> Tensor:
    """Each ``chars[i]`` rendered in ``fonts[i]`` (:func:`render`, ``angles[i]`` degrees at ``sizes[i]``
    pt) and brought to a (height, width) frame by MNIST's recipe, white on black: (N, 1, height, width)."""
    if not chars:
        return torch.empty(0, 1, height, width)
    pages = (render(c, f, float(a), int(s)) for c, f, a, s in zip(chars, fonts, angles, sizes, strict=True))
    return torch.from_numpy(np.stack([to_mnist(page, height, width).pixels[0] for page in pages])).unsqueeze(1)


@cache
def _blurred_unit(char: str) -> np.ndarray | None:
    """``char`` in :data:`REFERENCE_FONT` brought to a 28 × 28 frame, blurred (σ 1 px) and scaled to
    unit length, flattened; None for a blank glyph."""
    frame = to_mnist(render(char, REFERENCE_FONT, 0.0, 64)).pixels
    x = blur(torch.from_numpy(frame).unsqueeze(0), torch.ones(1))
    norm = x.norm()
    return (x / norm).flatten().numpy() if norm > 0 else None


def looks_alike(candidates: list[str], references: list[str]) -> np.ndarray:
    """For each candidate, its largest cosine similarity (in [0, 1]) to any reference, both drawn in
    :data:`REFERENCE_FONT` and compared as blurred frames: (len(candidates),). Blank glyphs are 1
    (never kept)."""
    refs = np.stack([v for r in references if (v := _blurred_unit(r)) is not None])
    out = np.ones(len(candidates))
    for i, c in enumerate(candidates):
        if (v := _blurred_unit(c)) is not None:
            out[i] = float((refs @ v).max())
    return out


@lru_cache(maxsize=1)
def outlier_chars() -> dict[str, tuple[str, ...]]:
    """Block name → the characters of :data:`OUTLIER_BLOCKS` that :data:`REFERENCE_FONT` draws, that
    are no number (a circled 3, ½, a superscript or an Arabic-Indic digit) and that look like no
    printable ASCII character and no :data:`SYMBOLS` character (similarity below
    :data:`LOOKALIKE`): the pool of the ``glyphs`` outlier family."""
    references = [c for c in string.printable if not c.isspace()] + list(SYMBOLS)
    references = [c for c in references if has_glyph(c, REFERENCE_FONT)]
    pool: dict[str, tuple[str, ...]] = {}
    for name, (first, last) in OUTLIER_BLOCKS.items():
        chars = [
            chr(c)
            for c in range(first, last + 1)
            if has_glyph(chr(c), REFERENCE_FONT) and unicodedata.numeric(chr(c), None) is None
        ]
        similar = looks_alike(chars, references)
        pool[name] = tuple(c for c, s in zip(chars, similar, strict=True) if s < LOOKALIKE)
    return pool


@lru_cache(maxsize=4)
def glyph_bank(height: int, width: int) -> Tensor:
    """:data:`BANK_SIZE` outlier glyphs as (height, width) frames, white on black, in [0, 1]:
    (BANK_SIZE, 1, height, width), the same on every machine. Each is a block drawn uniformly, a
    character of it (:func:`outlier_chars`), a font that draws it, rotated ±10° at 40–72 pt."""
    rng = np.random.default_rng(BANK_SEED)
    blocks = [chars for chars in outlier_chars().values() if chars]
    picked: list[str] = []
    fonts_of: list[str] = []
    angles, sizes = [], []
    for _ in range(BANK_SIZE):  # drawn per glyph in this order: block, character, font, angle, size
        chars = blocks[rng.integers(len(blocks))]
        picked.append(chars[rng.integers(len(chars))])
        fonts = [f for f in FONT_FILES if has_glyph(picked[-1], f)]
        fonts_of.append(fonts[rng.integers(len(fonts))])
        angles.append(rng.uniform(-10, 10))
        sizes.append(rng.integers(40, 73))
    return frames(picked, fonts_of, angles, sizes, height, width)


def rendered_digest(images: Tensor) -> str:
    """A fingerprint of rendered frames (M, 1, H, W) in [0, 1]: the SHA-256 of their pixels as 8-bit
    levels (blind to the last bits of float arithmetic, not to another font or renderer), 16 hex digits."""
    levels = (images.detach().cpu().float() * 255).round().to(torch.uint8).contiguous()
    return hashlib.sha256(levels.numpy().tobytes()).hexdigest()[:16]


def training_fonts() -> tuple[str, ...]:
    """The fonts :func:`printed_classes` prints in: :data:`TRAINING_FONTS`, then the paths of
    :data:`TRAINING_CUTS` (:func:`idk.data.fonts.packaged_fonts`)."""
    cuts = packaged_fonts(TRAINING_CUTS)
    if len(cuts) != len(TRAINING_CUTS):
        raise DataError(
            "the printed class names are drawn in Noto Sans, from pymupdf-fonts: pip install -r requirements.txt"
        )
    return (*TRAINING_FONTS, *cuts)


def printable(classes: tuple[str, ...]) -> bool:
    """Whether :func:`printed_classes` prints these class names: each one ASCII letter or digit."""
    return bool(classes) and all(len(c) == 1 and c.isascii() and c.isalnum() for c in classes)


@lru_cache(maxsize=4)
def printed_classes(classes: tuple[str, ...], height: int, width: int) -> tuple[Tensor, Tensor] | None:
    """The class names printed in :func:`training_fonts`, :data:`PRINTED_PER_FONT` per class and
    font, rotated ±8° at 40–72 pt, as (height, width) frames, white on black: images (M, 1, height,
    width) in [0, 1] and labels (M,), the same on every machine. None unless every class name is one
    ASCII letter or digit (Computer Modern's TeX layout puts other signs, "<" or "|", elsewhere)."""
    if not printable(classes):
        return None
    rng = np.random.default_rng(BANK_SEED + 1)
    fonts = training_fonts()
    picks = [(label, font) for label in range(len(classes)) for font in fonts for _ in range(PRINTED_PER_FONT)]
    angles, sizes = [], []
    for _ in picks:  # each image's angle then size, drawn in turn
        angles.append(rng.uniform(-8, 8))
        sizes.append(rng.integers(40, 73))
    images = frames([classes[k] for k, _ in picks], [f for _, f in picks], angles, sizes, height, width)
    return images, torch.tensor([k for k, _ in picks])


def glyph_classes(classes: tuple[str, ...]) -> list[str]:
    """The class names that are, or look like (:func:`looks_alike`), a character of the ``glyphs``
    outlier family's pool (:func:`outlier_chars`); names :data:`REFERENCE_FONT` does not draw are
    not judged."""
    pool = [c for chars in outlier_chars().values() for c in chars]
    drawn = [c for c in classes if len(c) == 1 and has_glyph(c, REFERENCE_FONT)]
    near = looks_alike(drawn, pool) if drawn else []
    return [c for c, s in zip(drawn, near, strict=True) if c in pool or s >= LOOKALIKE]
