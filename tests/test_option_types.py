"""The command line's value types: what each takes, and the one line it gives for what it does not."""

from __future__ import annotations

import argparse

import pytest

from idk.apps.option_types import family_weight, fraction, image_size, one_of, open_fraction, port, positive


@pytest.mark.parametrize("text,size", [("28", (28, 28)), ("32x48", (32, 48)), ("32×48", (32, 48)), ("7X9", (7, 9))])
def test_image_size_takes_a_side_or_height_by_width(text, size):
    assert image_size(text) == size


@pytest.mark.parametrize("text", ["0", "-3", "a", "3x4x5", "3x", "2.5"])
def test_image_size_refuses_what_is_no_size(text):
    with pytest.raises(argparse.ArgumentTypeError, match="is not N or HxW"):
        image_size(text)


def test_numbers_are_checked_against_their_range_with_the_value_named():
    assert fraction("0") == 0.0 and fraction("1") == 1.0 and open_fraction("0.5") == 0.5
    assert positive("3") == 3 and port("0") == 0 and port("65535") == 65535
    for check, text, message in (
        (fraction, "1.5", "1.5 is not a fraction in [0, 1]"),
        (open_fraction, "1", "1 is not a number strictly between 0 and 1"),
        (positive, "0", "0 must be positive"),
        (positive, "2.5", "'2.5' is not a whole number"),
        (port, "70000", "70000 is not a port in [0, 65535]"),
        (fraction, "half", "'half' is not a number"),
    ):
        with pytest.raises(argparse.ArgumentTypeError) as err:
            check(text)
        assert str(err.value) == message


def test_names_and_family_weights_list_the_valid_names():
    assert one_of(("a", "b"), "letter")("b") == "b"
    with pytest.raises(argparse.ArgumentTypeError, match=r"'c' is not a letter \(a, b\)"):
        one_of(("a", "b"), "letter")("c")
    assert family_weight("glyphs=3") == ("glyphs", 3.0)
    with pytest.raises(argparse.ArgumentTypeError, match="with NAME a synthetic outlier family .*glyphs"):
        family_weight("nonsense=2")
    with pytest.raises(argparse.ArgumentTypeError, match="0 must be positive"):
        family_weight("glyphs=0")
