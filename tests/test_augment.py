import math

import pytest
import torch

from idk.data.augment import Augmentation, affine_matrices, augmentation_for, random_affine, random_flip, random_shift
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
