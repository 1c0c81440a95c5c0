"""Hershey's stroke fonts as a second alphabet of pen strokes (idk.data.hershey)."""

from __future__ import annotations

import numpy as np
import pytest

from idk.data import hershey
from idk.data.glyphs import SYMBOLS
from idk.data.handwriting import draw, draw_strokes, styles


def _points(design) -> np.ndarray:
    return np.concatenate([np.asarray(s, dtype=float) for s in design])


def test_every_digit_has_three_distinct_designs_in_the_handwriting_box():
    for digit in "0123456789":
        ways = hershey.designs(digit)
        assert len(ways) == len(hershey.FACES) == 3
        assert len({tuple(map(tuple, _points(w))) for w in ways}) == 3, digit  # no face repeats another
        for design in ways:
            p = _points(design)
            # capital height 1, y down: a digit runs from the capital line (0) to the baseline (1)
            np.testing.assert_allclose([p[:, 1].min(), p[:, 1].max()], [0.0, 1.0], atol=0.05)
            assert 0.0 <= p[:, 0].min() < p[:, 0].max() <= 1.2, digit


def test_lower_case_letters_sit_below_the_capital_line():
    for char in "acemnrx":
        for design in hershey.designs(char):
            p = _points(design)
            assert p[:, 1].min() > 0.25 and p[:, 1].max() == pytest.approx(1.0, abs=0.05), char


def test_greek_and_cyrillic_letters_are_told_apart_and_keyed_in_their_alphabets_order():
    assert hershey.GREEK["α"] == "a" and hershey.GREEK["ω"] == "x" and hershey.GREEK["Ω"] == "X"
    assert hershey.CYRILLIC["а"] == "a" and hershey.CYRILLIC["щ"] == "z" and hershey.CYRILLIC["Ж"] == "G"
    for letters in (hershey.GREEK, hershey.CYRILLIC):
        shapes = {tuple(map(tuple, _points(hershey.designs(c)[0]))) for c in letters}
        assert len(shapes) == len(letters)  # no two letters drawn alike
    # Greek Ο and Latin O are the same shape in any hand: the Greek face's omicron is the simplex O
    np.testing.assert_allclose(_points(hershey.designs("Ο")[0]), _points(hershey.designs("O")[0]))


def test_which_characters_have_strokes():
    assert all(hershey.has_strokes(c) for c in "0123456789AZaz+?!αΩжЖ")
    assert not any(hershey.has_strokes(c) for c in " \n∞♥€ю")  # no face here draws these
    drawable = [c for c in SYMBOLS if hershey.has_strokes(c)]
    assert len(drawable) == 75  # of the 90 measured symbols: all but ю, я, Ю, Я, Ы and the non-ASCII signs
    with pytest.raises(KeyError, match="no Hershey face"):
        hershey.designs("∞")


def test_draw_is_draw_strokes_after_the_style_is_drawn():
    a, b = np.random.default_rng(4), np.random.default_rng(4)
    style = int(b.integers(len(styles("7"))))
    np.testing.assert_array_equal(draw("7", a, 56), draw_strokes(styles("7")[style], b, 56))
    ink = draw_strokes(list(hershey.designs("5")[1]), np.random.default_rng(0), 56)
    assert ink.shape == (56, 56) and ink.max() == 1.0 and 0.03 < ink.mean() < 0.3


def test_held_out_designs_are_none_of_the_measured_ones():
    """Every held-out design of a digit or measured symbol differs from each measured face's (a sign
    Hershey drew once for several faces is left out: % and @ have no held-out design); the held-out
    digits differ among themselves too; Cyrillic letters (whose other face redraws cyrilc_1's) have
    no held-out design."""
    chars = "0123456789" + "".join(c for c in SYMBOLS if hershey.has_strokes(c, held_out=True))
    assert len(chars) == 10 + 57  # the 75 drawable symbols but the 16 Cyrillic letters, % and @
    for char in chars:
        measured = {tuple(map(tuple, _points(w))) for w in hershey.designs(char)}
        held_out = [tuple(map(tuple, _points(w))) for w in hershey.designs(char, held_out=True)]
        assert not measured & set(held_out), char
        assert char not in "0123456789" or len(set(held_out)) == len(held_out), char
    assert len(hershey.designs("7", held_out=True)) == len(hershey.HELD_OUT_FACES) == 4
    assert hershey.faces("α", held_out=True) == ["greekc"]
    assert not hershey.has_strokes("ж", held_out=True) and hershey.has_strokes("ж")
    with pytest.raises(KeyError, match="no held-out Hershey face"):
        hershey.designs("Ж", held_out=True)


def test_held_out_digits_keep_the_measured_box():
    for digit in "0123456789":
        for design in hershey.designs(digit, held_out=True):
            p = _points(design)
            np.testing.assert_allclose([p[:, 1].min(), p[:, 1].max()], [0.0, 1.0], atol=0.08)
