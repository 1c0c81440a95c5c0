import math

import pytest
import torch

from idk.data.augment import (
    Augmentation,
    affine_matrices,
    augmentation_for,
    blur,
    dilate,
    lower_resolution,
    random_affine,
    random_degradation,
    random_flip,
    random_shift,
    renormalised,
    thicker,
    thinner,
)
from idk.data.images import InputSpec


def test_random_shift_moves_each_image_within_bounds():
    x = torch.zeros(64, 1, 28, 28)
    x[:, 0, 14, 14] = 1.0
    y = random_shift(x, 2)
    pos = y.flatten(1).argmax(1)
    rows, cols = pos // 28, pos % 28
    assert y.sum() == 64 and rows.min() >= 12 and rows.max() <= 16 and cols.min() >= 12 and cols.max() <= 16
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) > 5


def _warp(images: torch.Tensor, shift, angle, scale) -> torch.Tensor:
    b = images.shape[0]
    theta = affine_matrices(
        torch.tensor(shift, dtype=torch.float32).expand(b, 2),
        torch.full((b,), float(angle)),
        torch.full((b,), float(scale)),
    )
    grid = torch.nn.functional.affine_grid(theta, (b, 1, 28, 28), align_corners=False)
    return torch.nn.functional.grid_sample(images.unsqueeze(1), grid, align_corners=False).squeeze(1)


def test_random_shift_moves_all_channels_together():
    x = torch.rand(16, 3, 20, 12)
    y = random_shift(x, 3)
    assert y.shape == x.shape
    for c in (1, 2):  # the same offset for every channel of an image: channel differences move with it
        moved = (x[:, c] - x[:, 0]).abs().sum((1, 2))
        assert torch.allclose((y[:, c] - y[:, 0]).abs().sum((1, 2)) <= moved + 1e-5, torch.tensor(True))


def test_identity_warp_leaves_images_unchanged():
    x = torch.rand(4, 28, 28)
    torch.testing.assert_close(_warp(x, [0.0, 0.0], 0.0, 1.0), x, atol=1e-5, rtol=0)


def test_integer_shift_moves_pixels_right_and_down():
    """A shift of (+3, +2) pixels (x, y) moves a dot from (row 10, col 10) to (row 12, col 13)."""
    x = torch.zeros(1, 28, 28)
    x[0, 10, 10] = 1.0
    y = _warp(x, [3.0, 2.0], 0.0, 1.0)
    assert y[0, 12, 13] == pytest.approx(1.0, abs=1e-5) and y.sum() == pytest.approx(1.0, abs=1e-5)


def test_quarter_turn_matches_rot90():
    """Rotating by 90° about the centre equals ``torch.rot90`` (one of its two directions) exactly."""
    x = torch.rand(2, 28, 28)
    y = _warp(x, [0.0, 0.0], math.pi / 2, 1.0)
    candidates = [torch.rot90(x, 1, (1, 2)), torch.rot90(x, -1, (1, 2))]
    assert min(float((y - c).abs().max()) for c in candidates) < 1e-4


def test_scaling_up_by_two_doubles_distances_from_the_centre():
    """A dot 4 px right of the centre (between pixels 13 and 14) lands 8 px right when scaled ×2."""
    x = torch.zeros(1, 28, 28)
    x[0, 13:15, 17:19] = 1.0  # a 2×2 block centred 4 px right of the image centre (13.5, 13.5)
    y = _warp(x, [0.0, 0.0], 0.0, 2.0)
    rows, cols = torch.nonzero(y[0] > 0.5, as_tuple=True)
    assert cols.float().mean().item() == pytest.approx(13.5 + 8, abs=0.6)
    assert rows.float().mean().item() == pytest.approx(13.5, abs=0.6)


def test_random_affine_keeps_digits_in_range_and_roughly_their_ink(mnist_train):
    torch.manual_seed(0)
    x = mnist_train.images[:256]
    y = random_affine(x, shift=2.0, degrees=10.0, scale=0.1)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    ratio = y.sum((1, 2, 3)) / x.sum((1, 2, 3))
    assert 0.7 < ratio.min() and ratio.max() < 1.4  # area scales by at most (1 ± 0.1)², plus interpolation
    assert not torch.equal(y, x)


def test_augmentation_without_rotation_or_scaling_is_the_integer_shift():
    x = torch.rand(8, 1, 28, 28)
    torch.manual_seed(1)
    a = Augmentation(shift=2)(x)
    torch.manual_seed(1)
    torch.testing.assert_close(a, random_shift(x, 2))
    assert Augmentation()(x) is x


def test_random_flip_mirrors_about_half_of_the_images():
    torch.manual_seed(0)
    x = torch.rand(400, 3, 8, 6)
    y = random_flip(x)
    flipped = (y == x.flip(-1)).flatten(1).all(1)
    kept = (y == x).flatten(1).all(1)
    assert (flipped | kept).all() and 150 < int(flipped.sum()) < 250


def test_each_kind_of_data_gets_its_own_augmentation():
    digits = augmentation_for(InputSpec(1, 28, 28, "mnist", drawn=True))
    assert digits == Augmentation(shift=2, degrees=10.0, scale=0.1)  # the MNIST default's
    clothes = augmentation_for(InputSpec(1, 28, 28, "fashion-mnist", flip_invariant=True))
    assert clothes == Augmentation(shift=2, flip=True)
    photos = augmentation_for(InputSpec(3, 56, 56, "fit"))
    assert photos == Augmentation(shift=4)  # shifts scale with the frame; no flips unless the data allow them


def test_the_user_may_say_whether_mirror_images_keep_the_classes():
    photos, clothes = InputSpec(3, 56, 56, "fit"), InputSpec(1, 28, 28, "fashion-mnist", flip_invariant=True)
    assert augmentation_for(photos, flip=True) == Augmentation(shift=4, flip=True)
    assert augmentation_for(clothes, flip=False) == Augmentation(shift=2)
    assert augmentation_for(clothes, flip=None) == Augmentation(shift=2, flip=True)  # the data's own
    # without the moves (--no-augment) only a flip the user asked for stays
    assert augmentation_for(photos, geometric=False, flip=True) == Augmentation(flip=True)
    assert augmentation_for(clothes, geometric=False) == Augmentation()
    digits = InputSpec(1, 28, 28, "mnist", drawn=True)  # asked for, it is given (training refuses it for symbols)
    assert augmentation_for(digits, flip=True) == Augmentation(shift=2, degrees=10.0, scale=0.1, flip=True)


def _dot(side: int = 28, channels: int = 1) -> torch.Tensor:
    x = torch.zeros(1, channels, side, side)
    x[..., side // 2, side // 2] = 1.0
    return x


def test_degradation_off_is_the_identity_and_draws_no_random_numbers():
    x = torch.rand(8, 1, 28, 28)
    before = torch.get_rng_state()
    assert random_degradation(x, 0.0) is x and Augmentation(degrade=0.0)(x) is x
    assert torch.equal(torch.get_rng_state(), before)
    torch.manual_seed(4)
    plain = Augmentation(shift=2, degrees=10.0, scale=0.1)(x)
    torch.manual_seed(4)
    assert torch.equal(augmentation_for(InputSpec(1, 28, 28, "mnist", drawn=True), degrade=0.0)(x), plain)
    with pytest.raises(ValueError, match="degrade must be a share"):
        Augmentation(degrade=1.5)


def test_blur_spreads_a_dot_as_the_gaussian_and_renormalising_restores_its_peak():
    sigma = 1.0
    y = blur(_dot(), torch.tensor([sigma]))
    d = torch.arange(-14, 14, dtype=torch.float32)
    line = torch.exp(-0.5 * (d / sigma) ** 2)
    assert y.sum().item() == pytest.approx(1.0, abs=1e-5)  # far from the border no ink is lost
    torch.testing.assert_close(y[0, 0], torch.outer(line, line) / line.sum() ** 2)  # normalised Gaussian
    z = renormalised(y, _dot())
    assert z.max().item() == pytest.approx(1.0) and z.sum().item() == pytest.approx(line.sum().item() ** 2, rel=1e-5)
    wider = blur(_dot(), torch.tensor([1.5]))
    assert wider.max() < y.max()  # a larger σ spreads further


def test_dilation_makes_a_dot_a_three_by_three_square_and_thicker_blends_it_in():
    torch.testing.assert_close(dilate(_dot())[0, 0, 13:16, 13:16], torch.ones(3, 3))
    assert dilate(_dot()).sum() == 9
    x = torch.rand(4, 3, 10, 7)
    torch.testing.assert_close(dilate(x), torch.nn.functional.max_pool2d(x, 3, stride=1, padding=1), rtol=0, atol=0)
    y = thicker(_dot(), torch.tensor([0.5]))
    assert y[0, 0, 14, 14] == 1 and y[0, 0, 13, 13] == 0.5 and y.sum() == 1 + 8 * 0.5


def test_erosion_makes_a_three_pixel_bar_one_pixel_wide_and_spares_thin_strokes():
    bar = torch.zeros(1, 1, 28, 28)
    bar[0, 0, 4:24, 12:15] = 1.0
    y = thinner(bar, torch.tensor([1.0]))
    cols = torch.nonzero(y[0, 0].sum(0)).flatten().tolist()
    assert cols == [13] and y.sum() == 18  # the middle column, less one pixel at each end
    half = thinner(bar, torch.tensor([0.5]))
    assert half[0, 0, 10, 12] == 0.5 and half[0, 0, 10, 13] == 1
    line = torch.zeros(1, 1, 28, 28)
    line[0, 0, 4:24, 14] = 1.0  # one pixel wide: erosion would erase it
    assert torch.equal(thinner(line, torch.tensor([0.8])), line)


def test_resolution_loss_keeps_a_constant_image_and_matches_area_then_bilinear():
    flat = torch.full((3, 2, 28, 20), 0.7)
    torch.testing.assert_close(lower_resolution(flat, torch.tensor([8 / 28, 0.4, 16 / 28])), flat)
    x = torch.rand(2, 1, 28, 28)
    for side in (7, 14):  # where area pooling has whole bins, it is torch's own
        small = torch.nn.functional.interpolate(x, size=(side, side), mode="area")
        ref = torch.nn.functional.interpolate(small, size=(28, 28), mode="bilinear", align_corners=False)
        torch.testing.assert_close(lower_resolution(x, torch.full((2,), side / 28)), ref)
    torch.testing.assert_close(lower_resolution(x, torch.ones(2)), x)  # the full side: nothing lost
    coarse = lower_resolution(_dot(), torch.tensor([10 / 28]))
    assert coarse.sum().item() == pytest.approx(1.0, rel=0.05) and coarse.max() < 0.5  # spread, not lost


def test_degrading_every_image_changes_every_digit_within_range(mnist_train):
    torch.manual_seed(0)
    x = mnist_train.images[:256]
    y = random_degradation(x, 1.0)
    assert y.shape == x.shape and y.dtype == x.dtype and y.device == x.device
    assert y.min() >= 0 and y.max() <= 1
    assert (y != x).flatten(1).any(1).all()
    assert torch.equal(y.amax((1, 2, 3)) >= x.amax((1, 2, 3)) - 1e-6, torch.ones(256, dtype=torch.bool))
    ratio = y.sum((1, 2, 3)) / x.sum((1, 2, 3))
    assert 0.2 < ratio.min() and ratio.max() < 4  # still the same ink, more or less of it


def test_degradation_degrades_about_the_share_asked_and_is_reproducible(mnist_train):
    x = mnist_train.images[:400]
    torch.manual_seed(7)
    a = random_degradation(x, 0.3)
    torch.manual_seed(7)
    b = random_degradation(x, 0.3)
    assert torch.equal(a, b)
    changed = (a != x).flatten(1).any(1).float().mean().item()
    assert 0.2 < changed < 0.4


def test_degradation_works_on_colour_images_of_any_size():
    torch.manual_seed(1)
    x = torch.rand(16, 3, 20, 33)
    y = random_degradation(x, 1.0)
    assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1 and not torch.equal(x, y)
    grey = x[:, :1].expand(-1, 3, -1, -1).contiguous()  # three equal channels stay equal
    torch.manual_seed(1)
    z = random_degradation(grey, 1.0)
    assert torch.equal(z[:, 0], z[:, 1]) and torch.equal(z[:, 1], z[:, 2])


def test_only_drawn_symbols_are_degraded():
    digits = InputSpec(1, 28, 28, "mnist", drawn=True)
    assert augmentation_for(digits, degrade=0.3).degrade == 0.3
    assert augmentation_for(digits, degrade=0.3, geometric=False) == Augmentation(degrade=0.3)
    clothes = InputSpec(1, 28, 28, "fashion-mnist", flip_invariant=True)
    assert augmentation_for(clothes, degrade=0.3) == augmentation_for(clothes)
    assert augmentation_for(clothes, degrade=0.3, geometric=False) == Augmentation()


def test_an_empty_share_of_a_batch_passes_through():
    """Under torchrun a ragged last batch can leave a process no images: nothing to augment."""
    empty = torch.zeros(0, 1, 28, 28)
    augment = augmentation_for(InputSpec(1, 28, 28, "mnist", drawn=True), degrade=0.25)
    assert augment(empty).shape == (0, 1, 28, 28)


def test_rotation_on_a_wide_frame_turns_every_line_alike():
    """On a 28 × 56 frame a 10° rotation turns horizontal and vertical strokes by 10° each (in
    [−1, 1]² coordinates it was a shear: 5° and 19°)."""
    import torch.nn.functional as F

    def angle_of(image: torch.Tensor, along_rows: bool) -> float:
        ys, xs = (t.double() for t in torch.nonzero(image > 0.3, as_tuple=True))
        a, b = (xs, ys) if along_rows else (ys, xs)
        slope = ((a - a.mean()) * (b - b.mean())).sum() / ((a - a.mean()) ** 2).sum()
        return abs(math.degrees(math.atan(slope)))

    theta = affine_matrices(torch.zeros(1, 2), torch.tensor([math.radians(10.0)]), torch.ones(1), (56, 28))
    for along_rows in (True, False):
        line = torch.zeros(1, 1, 28, 56)
        if along_rows:
            line[0, 0, 14, 8:48] = 1
        else:
            line[0, 0, 4:24, 28] = 1
        grid = F.affine_grid(theta, list(line.shape), align_corners=False)
        turned = F.grid_sample(line, grid, align_corners=False)[0, 0]
        assert angle_of(turned, along_rows) == pytest.approx(10.0, abs=1.0)


def test_double_precision_images_are_warped_in_double_precision():
    x = torch.rand(4, 1, 28, 28, dtype=torch.float64)
    y = Augmentation(shift=2, degrees=10.0, scale=0.1)(x)
    assert y.dtype == torch.float64 and y.shape == x.shape
