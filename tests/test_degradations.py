"""The degradations of the shifted sets: blur, pens, the canvas's skeleton redraw."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from idk.data import degradations


@pytest.fixture(scope="module")
def digits(mnist_test):
    return mnist_test.subset(torch.arange(8))


def test_gaussian_blur_keeps_mass_and_constants():
    img = torch.zeros(1, 1, 41, 41)
    img[0, 0, 20, 20] = 1.0
    out = degradations.gaussian_blur(img, 2.0)
    torch.testing.assert_close(out.sum(), torch.tensor(1.0), atol=1e-5, rtol=0)  # normalised kernel, far from edges
    # the blurred point is the sampled Gaussian: the centre over the value 2σ away is exp(2)
    torch.testing.assert_close(out[0, 0, 20, 20] / out[0, 0, 20, 24], torch.tensor(np.e**2, dtype=torch.float32))
    flat = torch.full((1, 1, 9, 9), 0.3)
    torch.testing.assert_close(degradations.gaussian_blur(flat, 1.5), flat)  # replicate padding: constants stay


def test_pens_widen_and_narrow_strokes():
    bar = torch.zeros(1, 1, 40, 40)
    bar[..., 10:30, 16:24] = 1.0  # an 8-px-wide vertical stroke
    rng = np.random.default_rng(0)
    thick = degradations.thick_pen(bar, rng)
    thin = degradations.thin_pen(bar, rng)
    width = lambda x: int((x[0, 0, 20] > 0.5).sum())  # noqa: E731
    assert 8 + 2 * 2 <= width(thick) <= 8 + 2 * 4  # dilation radius 2–4 on each side
    assert 8 - 2 * 3 <= width(thin) <= 8 - 2 * 2  # erosion radius 2–3 on each side


def test_skeleton_of_a_bar_is_one_pixel_wide():
    bar = np.zeros((1, 20, 40), bool)
    bar[0, 7:14, 5:35] = True  # 7 rows thick
    bones = degradations.skeleton(bar)[0]
    middle = bones[:, 10:30]
    assert (middle.sum(0) == 1).all() and (middle[10] == 1).all()  # one pixel per column, on the centre row


def test_canvas_redraws_every_digit_with_ink(digits):
    x = degradations.hires(digits.images[:8])
    out = degradations.canvas(x, np.random.default_rng(0))
    assert out.shape == x.shape and (out.flatten(1).amax(1) > 0.5).all()
