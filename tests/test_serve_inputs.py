"""JSON pixels in the model's input form: the shapes accepted, and everything refused."""

from __future__ import annotations

import numpy as np
import pytest

from idk.apps.serve_inputs import RequestError, pixels_in_input_form
from idk.data.images import InputSpec


def test_colour_pixels_channels_first_or_last():
    spec = InputSpec(3, 4, 5)
    chw = np.random.default_rng(0).random((3, 4, 5))
    assert np.array_equal(pixels_in_input_form(chw.tolist(), spec), chw.astype(np.float32))
    hwc = chw.transpose(1, 2, 0)
    assert np.array_equal(pixels_in_input_form(hwc.tolist(), spec), chw.astype(np.float32))
    with pytest.raises(RequestError) as refused:
        pixels_in_input_form(chw[0].tolist(), spec)  # (H, W) only for one channel
    assert refused.value.status == 422 and "(3, 4, 5)" in refused.value.message


def test_one_channel_pixels_with_or_without_their_channel():
    spec = InputSpec(1, 2, 3)
    hw = [[0.0, 0.5, 1.0], [1.0, 0.5, 0.0]]
    expected = np.array([hw], np.float32)
    for form in (hw, [hw], [[[v] for v in row] for row in hw]):
        out = pixels_in_input_form(form, spec)
        assert out.dtype == np.float32 and out.flags.c_contiguous and np.array_equal(out, expected)


def test_an_ambiguous_cube_is_read_channels_first():
    spec = InputSpec(3, 3, 3)
    cube = np.arange(27).reshape(3, 3, 3) / 27
    assert np.array_equal(pixels_in_input_form(cube.tolist(), spec), cube.astype(np.float32))


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ([[0.1, float("nan")], [0.2, 0.3]], "NaN"),
        ([[0.1, float("inf")], [0.2, 0.3]], "NaN or infinite"),
        ([[0.1, -0.5], [0.2, 0.3]], "outside [0, 1]"),
        ([[0.1, 2.0], [0.2, 0.3]], "outside [0, 1]"),
        ([[0.1, 0.2], [0.3]], "rectangular"),
        ([["a", "b"], ["c", "d"]], "rectangular"),
        ({"x": 1}, "rectangular"),
        ([0.1, 0.2, 0.3, 0.4], "shape (4,)"),
    ],
)
def test_refused_pixels_are_422_with_a_reason(value, words):
    with pytest.raises(RequestError) as refused:
        pixels_in_input_form(value, InputSpec(1, 2, 2))
    assert refused.value.status == 422 and words in refused.value.message
