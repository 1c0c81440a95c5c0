"""Characters from A. V. Hershey's stroke fonts (1967, the U.S. Naval Weapons Laboratory's plotter
fonts; data from the Hershey-Fonts package): a second alphabet of pen strokes, designed by someone
other than :mod:`idk.data.handwriting`'s, for *measuring* only (:mod:`idk.data.shifted`'s
``hershey`` and ``hershey-symbols`` sets). Nothing in training reads it.

Digits, Latin letters and ASCII signs come in three designs (:data:`FACES`: Hershey's simplex
sans, its script and its complex roman, whose strokes lie close side by side and read as a bold
serif when drawn with a round pen); Greek letters come from its simplex Greek face, Cyrillic ones
from its complex Cyrillic face. A character's strokes are given in the box
:mod:`idk.data.handwriting` uses: capital height 1, y down, the baseline at 1.
"""

from __future__ import annotations

from functools import cache

from HersheyFonts import HersheyFonts

from idk.data.handwriting import Stroke

# Three faces whose digits differ (Hershey's Roman simplex draws the simplex sans' digits again)
FACES = ("futural", "scripts", "timesr")
# Hershey's Greek and Cyrillic faces set their letters on ASCII keys, in their alphabets' order.
GREEK = dict(zip("αβγδεζηθικλμνξοπρστυφχψω", "abcdefghijklmnopqrstuvwx", strict=True))
GREEK |= dict(zip("ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ", "ABCDEFGHIJKLMNOPQRSTUVWX", strict=True))
CYRILLIC = dict(zip("абвгдежзийклмнопрстуфхцчшщ", "abcdefghijklmnopqrstuvwxyz", strict=True))
CYRILLIC |= {c.upper(): k.upper() for c, k in CYRILLIC.items()}
SCRIPT_FACES = {"greeks": GREEK, "cyrilc_1": CYRILLIC}  # face: {character: its key}


@cache
def _face(name: str) -> HersheyFonts:
    font = HersheyFonts()
    font.load_default_font(name)
    return font


def _keys(char: str) -> list[tuple[str, str]]:
    """(face, key) pairs that draw ``char``."""
    for face, keys in SCRIPT_FACES.items():
        if char in keys:
            return [(face, keys[char])]
    if char.isascii() and char.isprintable() and not char.isspace():
        return [(face, char) for face in FACES]
    return []


def faces(char: str) -> list[str]:
    """The names of the Hershey faces that draw ``char``, in the order of :func:`designs`."""
    return [face for face, _ in _keys(char)]


def has_strokes(char: str) -> bool:
    """Whether a Hershey face here draws ``char``."""
    return bool(_keys(char))


@cache
def designs(char: str) -> tuple[tuple[Stroke, ...], ...]:
    """Each face's strokes of ``char`` (points (x, y), capital height 1, y down); KeyError for a
    character no face draws."""
    if not (keys := _keys(char)):
        raise KeyError(f"no Hershey face here draws {char!r}")
    out = []
    for face, key in keys:
        glyph = next(iter(_face(face).glyphs_for_text(key)))
        top, height = glyph.cap_line, glyph.base_line - glyph.cap_line
        out.append(tuple([((x - glyph.left_offset) / height, (y - top) / height) for x, y in s] for s in glyph.strokes))
    return tuple(out)
