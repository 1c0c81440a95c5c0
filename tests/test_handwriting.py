"""The stroke alphabet and its pen: arcs, wobble and drawing, against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from idk.data import handwriting
from idk.data.glyphs import SYMBOLS


def test_the_alphabet_holds_the_digits_and_measured_symbols_only():
    assert set("0123456789") <= set(handwriting.ALPHABET)
    others = set(handwriting.ALPHABET) - set("0123456789") - set(handwriting.CLASS_LETTERS)
    assert others <= set(SYMBOLS) and len(others) >= 40  # measured non-digits, never a trained glyph
    assert set("ABCDEFGHIJ") <= set(handwriting.ALPHABET)  # notMNIST's classes
    assert not set(handwriting.CLASS_LETTERS) & set(SYMBOLS)  # digit-like: never a drawn symbol
    assert set(handwriting.STYLES) <= set(handwriting.ALPHABET)
    for char, strokes in handwriting.ALPHABET.items():
        for stroke in [s for style in [strokes, *handwriting.STYLES.get(char, [])] for s in style]:
            xy = np.asarray(stroke)
            assert xy.shape[0] >= 2 and xy.shape[1] == 2, char
            assert xy.min() >= -0.05 and xy.max() <= 1.35, char  # in the unit box (a descender below)


def test_arc_points_lie_on_the_ellipse_from_start_to_end():
    pts = np.asarray(handwriting.arc(0.5, 0.4, 0.3, 0.2, 180, 450))
    assert len(pts) == math.ceil(270 / 15) + 1  # one point per 15° at least
    np.testing.assert_allclose(((pts[:, 0] - 0.5) / 0.3) ** 2 + ((pts[:, 1] - 0.4) / 0.2) ** 2, 1.0, atol=1e-12)
    np.testing.assert_allclose(pts[0], [0.2, 0.4], atol=1e-12)  # 180°: west
    np.testing.assert_allclose(pts[-1], [0.5, 0.6], atol=1e-12)  # 450° = 90°: south (y is down)


def test_wobble_keeps_its_spread_and_bends_long_strokes_smoothly():
    rng = np.random.default_rng(0)
    short = np.concatenate([handwriting._wobble(4, rng) for _ in range(20000)])
    # short strokes: independent N(0, JITTER²) per point and axis; 160,000 draws, sd of the sd ≈ 0.18%
    assert short.std() == pytest.approx(handwriting.JITTER, rel=0.01)
    long = handwriting._wobble(200_000, rng)
    # long strokes: a moving sum of 5 over √5: the same σ, and neighbours correlated 4/5 (lag 1), 0 at lag 5
    assert long.std() == pytest.approx(handwriting.JITTER, rel=0.01)
    lag = lambda k: float(np.corrcoef(long[:-k, 0], long[k:, 0])[0, 1])  # noqa: E731
    assert lag(1) == pytest.approx(0.8, abs=0.01) and lag(5) == pytest.approx(0.0, abs=0.01)


@pytest.mark.parametrize("char", list(handwriting.ALPHABET))
def test_every_character_and_style_is_drawn_whole(char):
    for style in range(len(handwriting.styles(char))):
        for seed in range(20):  # slants, turns, stretches and pens of 20 hands: the ink never meets the border
            img = handwriting.draw(char, np.random.default_rng([seed, style]), 56, style)
            border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
            assert img.sum() > 0 and border.max() == 0, (char, style, seed)


def test_draw_is_seeded_inked_inside_and_refuses_characters_without_strokes():
    a = handwriting.draw("A", np.random.default_rng(3), 112)
    assert a.shape == (112, 112) and a.dtype == np.float32 and set(np.unique(a)) <= {0.0, 1.0}
    np.testing.assert_array_equal(a, handwriting.draw("A", np.random.default_rng(3), 112))
    assert not np.array_equal(a, handwriting.draw("A", np.random.default_rng(4), 112))
    rows = np.nonzero(a)[0]
    assert 0.6 * 0.6 * 112 < rows.max() - rows.min() < 112  # about HEIGHT_SHARE of the side tall
    with pytest.raises(KeyError):
        handwriting.draw("S", np.random.default_rng(0), 112)  # looks like a 5: no strokes
