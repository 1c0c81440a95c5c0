"""Characters drawn as pen strokes, the way a person draws them with a mouse or a finger on the web
page's canvas: no font, no scan, just a few lines and curves with a round pen.

Each character of :data:`ALPHABET` is a list of strokes, each a polyline of (x, y) points in a unit
box (x to the right, y down; lower-case letters sit between 0.4 and 1). :func:`draw` jitters a
character the way hands differ (one of its common styles, :data:`STYLES`; every point moved by a
little, the whole slanted, turned and stretched, a pen of its own width) and draws it white on
black at any size.

The alphabet holds the ten digits, non-digit characters of :data:`idk.data.glyphs.SYMBOLS`
(Latin letters unlike a digit, Greek and Cyrillic letters, signs) and the capitals B, D, G, I and
J (so that notMNIST's classes A–J are drawn too): the strokes behind the ``drawn`` shifted set and
the ``drawn-symbols`` set of :mod:`idk.data.shifted`, which idk *measures* on and never trains on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

Point = tuple[float, float]
Stroke = list[Point]

JITTER = 0.025  # each point's standard deviation, in units of the box's height
SLANT = 0.25  # shear x += slant · (½ − y) (y is down: positive leans right), slant uniform in ±SLANT
TURN = 10.0  # degrees, uniform in ±TURN
ASPECT = (0.8, 1.2)  # the width's factor
PEN = (0.07, 0.15)  # the pen's width over the box's height (the page's canvas: about 0.1)
HEIGHT_SHARE = 0.6  # the box's height over the image's side


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> Stroke:
    """Points along an ellipse from angle ``start`` to ``end`` degrees (0 east, 90 south: y is
    down), one per 15° at least; ``end < start`` runs anticlockwise on the page."""
    n = max(2, math.ceil(abs(end - start) / 15) + 1)
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a))) for a in np.linspace(start, end, n)
    ]


# P's stem and bowl, one stroke (R adds a leg)
P_STROKE: Stroke = [(0.15, 1.0), (0.15, 0.0), (0.55, 0.0), *arc(0.55, 0.27, 0.28, 0.27, 270, 450), (0.15, 0.54)]


DOT: Stroke = [(0.5, 0.95), (0.5, 0.97)]

DIGITS: dict[str, list[Stroke]] = {
    "0": [arc(0.5, 0.5, 0.36, 0.5, -90, 270)],
    "1": [[(0.3, 0.22), (0.55, 0.0), (0.55, 1.0)]],
    "2": [[*arc(0.5, 0.28, 0.33, 0.28, 190, 400), (0.15, 1.0), (0.88, 1.0)]],
    "3": [arc(0.5, 0.25, 0.3, 0.25, 200, 450), arc(0.5, 0.75, 0.33, 0.25, 270, 520)],
    "4": [[(0.68, 1.0), (0.68, 0.0), (0.08, 0.68), (0.92, 0.68)]],
    "5": [[(0.82, 0.0), (0.28, 0.0), (0.24, 0.45)], arc(0.5, 0.7, 0.32, 0.3, 235, 500)],
    "6": [[(0.72, 0.02), (0.45, 0.2), (0.25, 0.5), (0.2, 0.72)], arc(0.5, 0.72, 0.3, 0.28, 180, 540)],
    "7": [[(0.12, 0.0), (0.88, 0.0), (0.38, 1.0)]],
    "8": [arc(0.5, 0.25, 0.27, 0.25, 90, 450), arc(0.5, 0.74, 0.33, 0.26, -90, 270)],
    "9": [arc(0.5, 0.28, 0.3, 0.28, 0, 360), [(0.8, 0.28), (0.72, 1.0)]],
}

LETTERS: dict[str, list[Stroke]] = {
    "A": [[(0.1, 1.0), (0.5, 0.0), (0.9, 1.0)], [(0.27, 0.6), (0.73, 0.6)]],
    "C": [arc(0.55, 0.5, 0.42, 0.5, 320, 40)],
    "E": [[(0.85, 0.0), (0.15, 0.0), (0.15, 1.0), (0.85, 1.0)], [(0.15, 0.5), (0.7, 0.5)]],
    "F": [[(0.85, 0.0), (0.15, 0.0), (0.15, 1.0)], [(0.15, 0.5), (0.7, 0.5)]],
    "H": [[(0.15, 0.0), (0.15, 1.0)], [(0.85, 0.0), (0.85, 1.0)], [(0.15, 0.5), (0.85, 0.5)]],
    "K": [[(0.15, 0.0), (0.15, 1.0)], [(0.85, 0.0), (0.15, 0.6)], [(0.4, 0.42), (0.88, 1.0)]],
    "M": [[(0.08, 1.0), (0.15, 0.0), (0.5, 0.65), (0.85, 0.0), (0.92, 1.0)]],
    "N": [[(0.15, 1.0), (0.15, 0.0), (0.85, 1.0), (0.85, 0.0)]],
    "P": [P_STROKE],
    "R": [P_STROKE, [(0.45, 0.54), (0.88, 1.0)]],
    "U": [[(0.15, 0.0), (0.15, 0.65), *arc(0.5, 0.65, 0.35, 0.35, 180, 0), (0.85, 0.0)]],
    "V": [[(0.1, 0.0), (0.5, 1.0), (0.9, 0.0)]],
    "W": [[(0.05, 0.0), (0.27, 1.0), (0.5, 0.35), (0.73, 1.0), (0.95, 0.0)]],
    "X": [[(0.12, 0.0), (0.88, 1.0)], [(0.88, 0.0), (0.12, 1.0)]],
    "Y": [[(0.1, 0.0), (0.5, 0.5), (0.9, 0.0)], [(0.5, 0.5), (0.5, 1.0)]],
    "a": [arc(0.45, 0.7, 0.3, 0.3, 0, 360), [(0.75, 0.4), (0.78, 1.0)]],
    "c": [arc(0.55, 0.7, 0.33, 0.3, 320, 40)],
    "e": [[(0.2, 0.7), *arc(0.5, 0.7, 0.3, 0.3, 0, -320)]],
    "f": [[(0.8, 0.05), (0.65, 0.0), (0.5, 0.05), (0.45, 0.2), (0.45, 1.0)], [(0.2, 0.45), (0.75, 0.45)]],
    "h": [[(0.2, 0.0), (0.2, 1.0)], [*arc(0.5, 0.62, 0.3, 0.22, 180, 360), (0.8, 1.0)]],
    "k": [[(0.2, 0.0), (0.2, 1.0)], [(0.78, 0.4), (0.2, 0.75)], [(0.42, 0.63), (0.8, 1.0)]],
    "m": [
        [(0.1, 1.0), (0.1, 0.4)],
        [*arc(0.3, 0.55, 0.2, 0.15, 180, 360), (0.5, 1.0)],
        [*arc(0.7, 0.55, 0.2, 0.15, 180, 360), (0.9, 1.0)],
    ],
    "n": [[(0.2, 1.0), (0.2, 0.4)], [*arc(0.5, 0.6, 0.3, 0.2, 180, 360), (0.8, 1.0)]],
    "r": [[(0.25, 1.0), (0.25, 0.4)], arc(0.5, 0.6, 0.25, 0.18, 180, 300)],
    "t": [[(0.45, 0.05), (0.45, 0.88), (0.55, 1.0), (0.75, 0.95)], [(0.2, 0.4), (0.75, 0.4)]],
    "u": [[(0.2, 0.4), *arc(0.5, 0.75, 0.3, 0.25, 180, 0)], [(0.8, 0.4), (0.82, 1.0)]],
    "v": [[(0.15, 0.4), (0.5, 1.0), (0.85, 0.4)]],
    "w": [[(0.05, 0.4), (0.27, 1.0), (0.5, 0.55), (0.73, 1.0), (0.95, 0.4)]],
    "x": [[(0.15, 0.4), (0.85, 1.0)], [(0.85, 0.4), (0.15, 1.0)]],
    "y": [[(0.15, 0.4), (0.5, 0.85)], [(0.85, 0.4), (0.35, 1.3)]],
    "λ": [[(0.15, 0.0), (0.85, 1.0)], [(0.5, 0.5), (0.15, 1.0)]],
    "π": [[(0.1, 0.4), (0.9, 0.4)], [(0.33, 0.4), (0.3, 1.0)], [(0.67, 0.4), (0.72, 1.0)]],
    "Δ": [[(0.1, 1.0), (0.5, 0.0), (0.9, 1.0), (0.1, 1.0)]],
    "Π": [[(0.15, 1.0), (0.15, 0.0), (0.85, 0.0), (0.85, 1.0)]],
    "Γ": [[(0.2, 1.0), (0.2, 0.0), (0.85, 0.0)]],
    "Σ": [[(0.85, 0.0), (0.15, 0.0), (0.55, 0.5), (0.15, 1.0), (0.85, 1.0)]],
    "Ψ": [[(0.5, 0.0), (0.5, 1.0)], [(0.1, 0.1), (0.15, 0.45), (0.5, 0.6), (0.85, 0.45), (0.9, 0.1)]],
    "Ω": [[(0.1, 1.0), (0.35, 1.0), *arc(0.5, 0.45, 0.36, 0.42, 115, 425), (0.65, 1.0), (0.9, 1.0)]],
    "Ж": [[(0.5, 0.0), (0.5, 1.0)], [(0.1, 0.0), (0.5, 0.5), (0.1, 1.0)], [(0.9, 0.0), (0.5, 0.5), (0.9, 1.0)]],
    "Ш": [[(0.1, 0.0), (0.1, 1.0), (0.9, 1.0), (0.9, 0.0)], [(0.5, 0.0), (0.5, 1.0)]],
    "Ц": [[(0.15, 0.0), (0.15, 0.88), (0.8, 0.88), (0.8, 0.0)], [(0.8, 0.88), (0.92, 0.88), (0.92, 1.1)]],
    "И": [[(0.15, 0.0), (0.15, 1.0), (0.85, 0.0), (0.85, 1.0)]],
    "Я": [
        [(0.85, 1.0), (0.85, 0.0), (0.45, 0.0), *arc(0.45, 0.27, 0.28, 0.27, 270, 90), (0.85, 0.54)],
        [(0.55, 0.54), (0.12, 1.0)],
    ],
    "Д": [
        [(0.05, 1.1), (0.05, 0.88), (0.95, 0.88), (0.95, 1.1)],
        [(0.2, 0.88), (0.35, 0.0), (0.75, 0.0), (0.75, 0.88)],
    ],
    "Л": [[(0.05, 1.0), (0.3, 0.0), (0.85, 0.0), (0.85, 1.0)]],
    "Ф": [[(0.5, 0.0), (0.5, 1.0)], arc(0.5, 0.45, 0.4, 0.25, 0, 360)],
    "+": [[(0.5, 0.1), (0.5, 0.9)], [(0.1, 0.5), (0.9, 0.5)]],
    "×": [[(0.15, 0.15), (0.85, 0.85)], [(0.85, 0.15), (0.15, 0.85)]],
    "=": [[(0.1, 0.35), (0.9, 0.35)], [(0.1, 0.65), (0.9, 0.65)]],
    "#": [
        [(0.35, 0.0), (0.25, 1.0)],
        [(0.75, 0.0), (0.65, 1.0)],
        [(0.05, 0.33), (0.95, 0.33)],
        [(0.05, 0.67), (0.95, 0.67)],
    ],
    "?": [[*arc(0.5, 0.25, 0.3, 0.25, 200, 450), (0.5, 0.7)], DOT],
    "!": [[(0.5, 0.0), (0.5, 0.7)], DOT],
    "%": [[(0.85, 0.0), (0.15, 1.0)], arc(0.25, 0.18, 0.12, 0.15, 0, 360), arc(0.75, 0.82, 0.12, 0.15, 0, 360)],
}

# Capitals that look like a digit (so in no measured symbol set), for models of letters: with
# LETTERS' A, C, E, F and H they draw notMNIST's ten classes.
CLASS_LETTERS: dict[str, list[Stroke]] = {
    "B": [
        [(0.15, 0.0), (0.15, 1.0)],
        [(0.15, 0.0), (0.55, 0.0), *arc(0.55, 0.25, 0.27, 0.25, 270, 450), (0.15, 0.5)],
        [(0.15, 0.5), (0.6, 0.5), *arc(0.6, 0.75, 0.3, 0.25, 270, 450), (0.15, 1.0)],
    ],
    "D": [[(0.15, 0.0), (0.15, 1.0)], [(0.15, 0.0), (0.45, 0.0), *arc(0.45, 0.5, 0.4, 0.5, 270, 450), (0.15, 1.0)]],
    "G": [[*arc(0.55, 0.5, 0.42, 0.5, 320, 0), (0.6, 0.5)]],
    "I": [[(0.5, 0.0), (0.5, 1.0)], [(0.3, 0.0), (0.7, 0.0)], [(0.3, 1.0), (0.7, 1.0)]],
    "J": [[(0.3, 0.0), (0.85, 0.0)], [(0.65, 0.0), (0.65, 0.7), *arc(0.42, 0.7, 0.23, 0.3, 0, 180)]],
}

ALPHABET: dict[str, list[Stroke]] = {**DIGITS, **LETTERS, **CLASS_LETTERS}
# Other common ways of writing a character, each as likely as ALPHABET's: a 1 as one stroke or with
# a foot, a 4 open at the top, a 7 crossed.
STYLES: dict[str, list[list[Stroke]]] = {
    "1": [[[(0.5, 0.0), (0.5, 1.0)]], [[(0.3, 0.22), (0.55, 0.0), (0.55, 1.0)], [(0.3, 1.0), (0.8, 1.0)]]],
    "4": [[[(0.2, 0.0), (0.12, 0.62), (0.9, 0.62)], [(0.68, 0.25), (0.68, 1.0)]]],
    "7": [[[(0.12, 0.0), (0.88, 0.0), (0.38, 1.0)], [(0.4, 0.5), (0.82, 0.5)]]],
}


def _wobble(n: int, rng: np.random.Generator) -> np.ndarray:
    """Offsets (n, 2) of a stroke's points, each N(0, :data:`JITTER`²) per axis: independent for
    strokes of up to five points (lines and corners), and for longer ones (arcs, mostly) a moving
    sum of five independent draws over √5, so that curves bend rather than shake."""
    if n <= 5:
        return rng.normal(0, JITTER, (n, 2))
    noise = rng.normal(0, JITTER, (n + 4, 2))
    kernel = np.ones(5) / math.sqrt(5)  # the same σ; neighbours correlated 4/5, points five apart not at all
    return np.stack([np.convolve(noise[:, k], kernel, mode="valid") for k in range(2)], axis=1)


def styles(char: str) -> list[list[Stroke]]:
    """The ways ``char`` is written: :data:`ALPHABET`'s, then :data:`STYLES`'. KeyError for a
    character without strokes."""
    return [ALPHABET[char], *STYLES.get(char, [])]


def draw(char: str, rng: np.random.Generator, side: int, style: int | None = None) -> np.ndarray:
    """``char`` drawn by a hand of its own (one of its :func:`styles`, or the ``style``-th; jittered
    points, slant, turn, width, pen) with a round pen, white on black: (side, side) floats in [0, 1],
    not anti-aliased. KeyError for a character without strokes."""
    ways = styles(char)
    if style is None:
        style = int(rng.integers(len(ways))) if len(ways) > 1 else 0
    return draw_strokes(ways[style], rng, side)


def draw_strokes(strokes: Sequence[Sequence[Point]], rng: np.random.Generator, side: int) -> np.ndarray:
    """``strokes`` (in a box of height 1, y down) drawn by a hand of its own (jittered points,
    slant, turn, width, pen) with a round pen, centred, white on black: (side, side) floats in
    [0, 1], not anti-aliased."""
    slant, aspect = rng.uniform(-SLANT, SLANT), rng.uniform(*ASPECT)
    turn = math.radians(rng.uniform(-TURN, TURN))
    cos, sin = math.cos(turn), math.sin(turn)
    box = HEIGHT_SHARE * side
    pen = max(1, round(rng.uniform(*PEN) * box))
    every = np.concatenate([np.asarray(s) for s in strokes])
    cx, cy = (every.min(0) + every.max(0)) / 2  # centred on its own strokes (a y's tail, a Д's feet)

    def place(x: float, y: float) -> tuple[float, float]:
        x, y = (x - cx) * aspect + slant * (cy - y), y - cy
        return side / 2 + box * (cos * x - sin * y), side / 2 + box * (sin * x + cos * y)

    img = Image.new("L", (side, side), 0)
    ink = ImageDraw.Draw(img)
    r = pen / 2
    for stroke in strokes:
        points = np.asarray(stroke) + _wobble(len(stroke), rng)
        xy = [place(x, y) for x, y in points]
        ink.line(xy, fill=255, width=pen, joint="curve")
        for x, y in (xy[0], xy[-1]):  # round caps
            ink.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(img, dtype=np.float32) / 255.0
