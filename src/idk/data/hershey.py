"""Characters from A. V. Hershey's stroke fonts (1967, the U.S. Naval Weapons Laboratory's plotter
fonts; data from the Hershey-Fonts package): a second alphabet of pen strokes, designed by someone
other than :mod:`idk.data.handwriting`'s, for *measuring* only (:mod:`idk.data.shifted`'s
``hershey`` and ``hershey-symbols`` sets). Nothing in training reads it.

Digits, Latin letters and ASCII signs come in three designs (:data:`FACES`: Hershey's simplex
sans, its script and its complex roman, whose strokes lie close side by side and read as a bold
serif when drawn with a round pen); Greek letters come from its simplex Greek face, Cyrillic ones
from its complex Cyrillic face. A character's strokes are given in the box
:mod:`idk.data.handwriting` uses: capital height 1, y down, the baseline at 1.

Four more designs of the digits, Latin letters and signs, and one of the Greek letters, are *held
out* (:data:`HELD_OUT_FACES`, ``held_out=True``): no set of ``idk evaluate``, no training run and no
choice has used them, so that ``scripts/drawn_by_style.py --held-out`` can say how the measured
figures carry to designs that nothing was tuned on.
"""

from __future__ import annotations

from functools import cache

from HersheyFonts import HersheyFonts

from idk.data.handwriting import Point

Design = tuple[tuple[Point, ...], ...]  # strokes, each a tuple of points (x, y)

# Three faces whose digits differ (Hershey's Roman simplex draws the simplex sans' digits again)
FACES = ("futural", "scripts", "timesr")
# Hershey's Greek and Cyrillic faces set their letters on ASCII keys, in their alphabets' order.
GREEK = dict(zip("αβγδεζηθικλμνξοπρστυφχψω", "abcdefghijklmnopqrstuvwx", strict=True))
GREEK |= dict(zip("ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ", "ABCDEFGHIJKLMNOPQRSTUVWX", strict=True))
CYRILLIC = dict(zip("абвгдежзийклмнопрстуфхцчшщ", "abcdefghijklmnopqrstuvwxyz", strict=True))
CYRILLIC |= {c.upper(): k.upper() for c, k in CYRILLIC.items()}
SCRIPT_FACES = {"greeks": GREEK, "cyrilc_1": CYRILLIC}  # face: {character: its key}
# Held out of every set and choice: Hershey's duplex sans (the simplex sans traced twice), triplex
# roman (a heavier complex roman), bold italic (a heavier script) and English blackletter, whose
# digits differ from every face of FACES; and its complex Greek. Only the blackletter is a letterform
# of its own. Hershey's remaining faces draw the digits of these or of FACES again (rowmand, timesrb,
# astrology, the other blackletters, ...) or no digits (Japanese numerals, arcs); its other Cyrillic
# face looks like cyrilc_1, on other keys.
HELD_OUT_FACES = ("futuram", "rowmant", "timesib", "gothiceng")
HELD_OUT_SCRIPT_FACES = {"greekc": GREEK}


@cache
def _face(name: str) -> HersheyFonts:
    font = HersheyFonts()
    font.load_default_font(name)
    return font


@cache
def _keys(char: str, held_out: bool = False) -> tuple[tuple[str, str], ...]:
    """(face, key) pairs that draw ``char``: in the measured faces; or in the held-out ones, those
    whose strokes are none of the measured faces' (Hershey reuses some signs across faces)."""
    script_faces, faces = (HELD_OUT_SCRIPT_FACES, HELD_OUT_FACES) if held_out else (SCRIPT_FACES, FACES)
    pairs = []
    for face, keys in script_faces.items():
        if char in keys:
            pairs = [(face, keys[char])]
            break
    else:
        if char.isascii() and char.isprintable() and not char.isspace():
            pairs = [(face, char) for face in faces]
    if held_out and pairs:
        measured = {_strokes(face, key) for face, key in _keys(char)}
        pairs = [(face, key) for face, key in pairs if _strokes(face, key) not in measured]
    return tuple(pairs)


@cache
def _strokes(face: str, key: str) -> Design:
    """The strokes of ``key`` in ``face``, each a tuple of points (x, y), capital height 1, y down."""
    glyph = next(iter(_face(face).glyphs_for_text(key)))
    top, height = glyph.cap_line, glyph.base_line - glyph.cap_line
    return tuple(tuple(((x - glyph.left_offset) / height, (y - top) / height) for x, y in s) for s in glyph.strokes)


def faces(char: str, held_out: bool = False) -> list[str]:
    """The names of the Hershey faces (the held-out ones with ``held_out``) that draw ``char``, in
    the order of :func:`designs`."""
    return [face for face, _ in _keys(char, held_out)]


def has_strokes(char: str, held_out: bool = False) -> bool:
    """Whether a Hershey face here (a held-out one with ``held_out``) draws ``char``."""
    return bool(_keys(char, held_out))


@cache
def designs(char: str, held_out: bool = False) -> tuple[Design, ...]:
    """Each face's strokes of ``char`` (points (x, y), capital height 1, y down), in the measured
    faces or, with ``held_out``, in :data:`HELD_OUT_FACES` and :data:`HELD_OUT_SCRIPT_FACES` where
    they draw it otherwise; KeyError for a character no such face draws."""
    if not (keys := _keys(char, held_out)):
        raise KeyError(f"no {'held-out ' if held_out else ''}Hershey face here draws {char!r}")
    return tuple(_strokes(face, key) for face, key in keys)
