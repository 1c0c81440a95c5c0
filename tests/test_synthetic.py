import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import MNIST_SPEC
from idk.choices import OUTLIER_FAMILIES
from idk.data import synthetic
from idk.data.images import InputSpec
from idk.data.preparation import fit
from idk.data.synthetic import DRAWN_SCRIBBLES, WIDE_SCRIBBLES, Scribbles, families_for, strokes, synthetic_outliers


@pytest.fixture(scope="module")
def digits(mnist_train):
    return mnist_train.images[:1000], mnist_train.labels[:1000]


def _one(digits, name, n, seed, spec=MNIST_SPEC):
    trained, held_out = families_for(spec)
    return synthetic_outliers(*digits, n, seed, {name: {**trained, **held_out}[name]})[name]


def test_every_family_gives_images_in_range_and_is_reproducible(digits):
    trained, held_out = families_for(MNIST_SPEC)
    families = {**trained, **held_out}
    assert not set(trained) & set(held_out)
    sets = synthetic_outliers(*digits, 50, 1, families)
    again = synthetic_outliers(*digits, 50, 1, families)
    assert set(sets) == set(families)
    for name, images in sets.items():
        assert images.shape == (50, 1, 28, 28), name
        assert 0 <= images.min() and images.max() <= 1, name
        assert images.flatten(1).std(1).min() > 0.05, f"{name}: blank images"
        torch.testing.assert_close(again[name], images)


def test_digits_get_every_family_and_other_data_the_generic_ones_and_scribbles():
    drawn, _ = families_for(MNIST_SPEC)
    # the command line's list (idk.choices): every family, those of digits then the fitted images' own
    assert list(OUTLIER_FAMILIES) == [*drawn, "shrunk-noise"]
    assert {"zoomed", "mirrored", "turned", "paired", "strokes", "blobs"} <= set(drawn)
    letters, _ = families_for(InputSpec(1, 28, 28, "mnist", drawn=True))
    assert "paired" in letters
    assert "mirrored" not in letters and "turned" not in letters  # no class lists: no mirror or turned images
    assert "strokes" in letters
    photos, held_out = families_for(InputSpec(3, 40, 24, "fit"))
    assert list(photos) == [
        "uniform-noise",
        "gaussian-noise",
        "shuffled-patches",
        "shrunk-noise",
        "inverted",
        "strokes",
    ]
    assert set(held_out) == {"overlaid"}
    assert "shrunk-noise" not in families_for(InputSpec(1, 28, 28, "fashion-mnist", flip_invariant=True))[0]


def test_shrunk_noise_is_a_larger_noise_picture_fitted_to_the_frame_as_a_file_is(monkeypatch):
    """Each image is uniform or Gaussian noise three times the frame shrunk into it. Shrinking by 3
    with antialiasing averages 5 × 5 pixels with the tent weights (1, 2, 3, 2, 1)/9 on each axis, so
    an image's standard deviation is the noise's times Σw² = (19/81)², square-rooted: 19/81 σ
    (σ = 1/√12 for uniform pixels; Gaussian ones clipped, σ measured on 10⁶ draws). Tolerance 10%:
    the spread of one image's 1,600 correlated pixels (5% seen). And the shrinking is the one
    :func:`idk.data.preparation.fit` gives a larger file (Pillow's bilinear resize), within one of
    its 8-bit levels."""
    monkeypatch.setattr(synthetic, "SHRINK", (3.0, 3.0))
    images = synthetic.shrunk_noise(torch.rand(4, 1, 40, 40), torch.zeros(4), 100, torch.Generator().manual_seed(0))
    assert images.shape == (100, 1, 40, 40) and 0 <= images.min() and images.max() <= 1
    sigma_uniform = 1 / math.sqrt(12)
    sigma_gaussian = float(synthetic.gaussian_pixels(1, (10**6,), torch.Generator().manual_seed(1)).std())
    spread = images.flatten(1).std(1) / (19 / 81)
    uniform = (spread / sigma_uniform - 1).abs() < 0.1
    gaussian = (spread / sigma_gaussian - 1).abs() < 0.1
    assert bool((uniform | gaussian).all()) and 30 < int(uniform.sum()) < 70  # about half each
    assert abs(float(images.mean()) - 0.5) < 0.01
    # neighbours share pixels of the picture (frame-sized noise's share none): of the weights 3 apart,
    # (1·2 + 2·1)/81 against Σw² = 19/81, a correlation of 4/19
    pairs = torch.stack([images[..., :-1].flatten(), images[..., 1:].flatten()])
    assert abs(float(torch.corrcoef(pairs)[0, 1]) - 4 / 19) < 0.03

    picture = np.random.default_rng(0).integers(0, 256, (96, 96, 3)).astype(np.float32) / 255
    fitted = fit(picture, InputSpec(3, 32, 32)).pixels
    shrunk = F.interpolate(
        torch.from_numpy(picture).permute(2, 0, 1)[None], size=(32, 32), mode="bilinear", antialias=True
    )
    assert np.abs(fitted - shrunk[0].numpy()).max() <= 1 / 255


def _scribbles(fn, n=300, **kwargs):
    frame = torch.zeros(4, 1, 28, 28), torch.zeros(4, dtype=torch.long)
    return fn(*frame, n, torch.Generator().manual_seed(5), **kwargs)


def test_scribbles_of_photos_take_pens_from_fine_to_broad_and_any_size():
    drawn, photos = families_for(MNIST_SPEC)[0]["strokes"], families_for(InputSpec(1, 28, 28, "fit"))[0]["strokes"]
    # the same curves drawn with a broader pen hold more ink; drawn symbols keep their own style
    fine = _scribbles(strokes, style=Scribbles(pen=(0.9, 0.9)))
    broad = _scribbles(strokes, style=Scribbles(pen=(2.5, 2.5)))
    assert (broad.sum((1, 2, 3)) > fine.sum((1, 2, 3))).all()
    torch.testing.assert_close(_scribbles(drawn), _scribbles(strokes, style=DRAWN_SCRIBBLES))
    torch.testing.assert_close(_scribbles(photos), _scribbles(strokes, style=WIDE_SCRIBBLES))
    assert WIDE_SCRIBBLES.pen[0] <= DRAWN_SCRIBBLES.pen[0] and WIDE_SCRIBBLES.pen[1] > DRAWN_SCRIBBLES.pen[1]

    # photos' scribbles may be drawn in a small square anywhere: their ink spans from a third of the
    # frame to all of it; drawn symbols' span the frame
    def spans(images):
        ink = images[:, 0] > 0.5
        rows = ink.any(2).float()
        idx = torch.arange(28.0)
        top = torch.where(rows > 0, idx, 99.0).amin(1)
        bottom = torch.where(rows > 0, idx, -1.0).amax(1)
        return bottom - top + 1

    small, whole = spans(_scribbles(photos)), spans(_scribbles(drawn))
    assert small.min() < 9 and small.max() >= 20
    assert whole.median() > small.median()


def test_scribbles_draw_their_curves_with_their_odds_inside_their_square():
    # the same seed draws the same curves: fewer of them present, less ink
    one = _scribbles(strokes, style=Scribbles(odds=(1.0, 0.0, 0.0, 0.0)))
    every = _scribbles(strokes, style=Scribbles(odds=(1.0, 1.0, 1.0, 1.0)))
    assert (one.sum((1, 2, 3)) <= every.sum((1, 2, 3)) + 1e-4).all() and one.sum() < 0.6 * every.sum()
    # a square of a third of the frame: the ink (beyond the pen's reach) stays within about 10 px
    small = _scribbles(strokes, style=Scribbles(pen=(0.9, 0.9), extent=(1 / 3, 1 / 3)))
    ink = small[:, 0] > 0.5
    idx = torch.arange(28.0)
    for axis in (1, 2):
        lines = ink.any(axis)
        span = torch.where(lines, idx, -1.0).amax(1) - torch.where(lines, idx, 99.0).amin(1) + 1
        assert span.max() <= 24 / 3 + 4, span.max()  # the square's side (of the usable 24 px) and the pen
    with pytest.raises(ValueError, match="four odds"):
        Scribbles(odds=(1.0, 1.0))
    with pytest.raises(ValueError, match="out of range"):
        Scribbles(extent=(0.0, 1.0))
    assert Scribbles.from_dict(WIDE_SCRIBBLES.as_dict()) == WIDE_SCRIBBLES


def test_drawn_symbols_scribbles_are_those_their_models_were_trained_on():
    """The photos' style draws extra random numbers; drawn symbols' must not, or every MNIST model's
    outliers would change. A fixed seed gives the same ink as the code that trained the README's
    models (the sum was printed by that code, torch 2.13 on CPU; bit-identical images there; the
    tolerance leaves room for another CPU's rounding)."""
    ink = _scribbles(strokes, n=200).double().sum()
    torch.testing.assert_close(ink, torch.tensor(37559.52262728449, dtype=torch.float64), rtol=1e-6, atol=0)


def test_shrunk_noise_spans_pictures_of_1_5_to_12_frames_and_caps_their_side(monkeypatch):
    """With the default range, an image's standard deviation is about 2/(3f) of the noise's (f the
    picture's side in frames): from 0.0135 (Gaussian, 12×) to 0.128 (uniform, 1.5×). Log-uniform
    sizes put a third of the pictures beyond 6× (sd under 0.032 for uniform noise, and Gaussian
    from 5×: about 37% in all; bounds 25–50% for 400 images). Capping the side at 100 px for a
    40-px frame keeps every picture under 2.5×: none fainter than 2/(3 · 2.5) of the noise's."""
    sigma_uniform = 1 / math.sqrt(12)
    sigma_gaussian = float(synthetic.gaussian_pixels(1, (10**6,), torch.Generator().manual_seed(1)).std())
    frame = torch.rand(2, 3, 40, 40), torch.zeros(2)
    spread = synthetic.shrunk_noise(*frame, 400, torch.Generator().manual_seed(0)).flatten(1).std(1)
    assert spread.min() > 0.9 * sigma_gaussian * 2 / (3 * 12) and spread.max() < 1.1 * sigma_uniform * 2 / (3 * 1.5)
    assert 0.25 < float((spread < sigma_uniform * 2 / (3 * 6)).float().mean()) < 0.5
    monkeypatch.setattr(synthetic, "SHRINK_SIDE", 100)
    capped = synthetic.shrunk_noise(*frame, 100, torch.Generator().manual_seed(0)).flatten(1).std(1)
    assert capped.min() > 0.9 * sigma_gaussian * 2 / (3 * 2.5)


@pytest.mark.parametrize("shape", [(3, 40, 24), (1, 13, 13), (3, 64, 64), (3, 128, 96)])
def test_families_work_for_any_shape_and_channel_count(shape):
    spec = InputSpec(*shape, "fit", drawn=True)
    images, labels = torch.rand(30, *shape), torch.arange(30) % 3
    trained, held_out = families_for(spec)
    again = synthetic_outliers(images, labels, 7, 0, {**trained, **held_out})
    for name, out in synthetic_outliers(images, labels, 7, 0, {**trained, **held_out}).items():
        assert out.shape == (7, *shape), name
        assert 0 <= out.min() and out.max() <= 1, name
        torch.testing.assert_close(again[name], out)  # seeded: the same images again


def test_shuffled_patches_keep_the_ink_and_lose_the_shape(digits):
    shuffled = _one(digits, "shuffled-patches", 200, 1)
    ink = digits[0].sum((1, 2, 3))
    assert all(torch.isclose(ink, s.sum(), atol=1e-3).any() for s in shuffled[:20])


def test_mirrored_digits_come_only_from_asymmetric_classes(digits):
    images, labels = digits
    keep = torch.isin(labels, torch.tensor([0, 1, 8]))  # a set of only symmetric digits...
    mirrored = _one((images[~keep], labels[~keep]), "mirrored", 100, 3)
    flipped_back = mirrored.flip(-1)
    # ...is never used: each mirrored image is the mirror of a digit of classes 2-7, 9
    pool = images[torch.isin(labels, torch.tensor(MNIST_SPEC.mirror_classes))]
    assert all((pool - m).abs().amax((1, 2, 3)).min() == 0 for m in flipped_back[:20])


def test_turned_digits_are_allowed_turns_of_training_digits(digits):
    """Each turned image is a digit of the data turned by k quarter turns, for an allowed
    (class, k) pair only (never a 6 upside down, never a 0, 1 or 8)."""
    images, labels = digits
    turned = _one(digits, "turned", 60, 6)
    allowed = set(MNIST_SPEC.turns)
    assert allowed and not any(c in (0, 1, 6, 8, 9) for c, _ in allowed)
    for image in turned:
        found = {
            (int(labels[i]), k)
            for k in (1, 2, 3)
            for i in (torch.rot90(images, k, dims=(-2, -1)) - image).abs().amax((1, 2, 3)).eq(0).nonzero().flatten()
        }
        assert found and found <= allowed, found


def test_turns_are_quarter_turns_only_for_square_frames():
    from idk.data.synthetic import turned

    images, labels = torch.rand(12, 1, 20, 30), torch.arange(12) % 3
    out = turned(images, labels, 8, torch.Generator().manual_seed(0), turns=((0, 1), (1, 2)))
    assert out.shape == (8, 1, 20, 30)
    pool = images[labels == 1].flip(-2, -1)  # only class 1's half turns apply
    assert all((pool - o).abs().amax((1, 2, 3)).min() == 0 for o in out)


def test_paired_digits_put_ink_either_side_of_the_centre(digits):
    """Two shrunk digits side by side: ink in both the left and the right third, hardly any in
    the middle column band, and each half holding about a shrunk digit's ink."""
    images, _ = digits
    pairs = _one(digits, "paired", 200, 7)
    left, middle, right = (
        pairs[..., :11].sum((1, 2, 3)),
        pairs[..., 13:15].sum((1, 2, 3)),
        pairs[..., 17:].sum((1, 2, 3)),
    )
    assert (left > 5).float().mean() > 0.95 and (right > 5).float().mean() > 0.95
    assert middle.mean() < 0.15 * (left + right).mean()
    one = images.sum((1, 2, 3)).mean()
    assert 0.15 * one < left.mean() < 0.6 * one  # shrunk to about half: a quarter of the ink or so


def test_overlaid_digits_join_two_different_classes(digits):
    images, _ = digits
    over = _one(digits, "overlaid", 100, 4)
    assert (over.sum((1, 2, 3)) > images.sum((1, 2, 3)).mean()).float().mean() > 0.9  # more ink than one digit


def test_zoomed_digits_run_off_the_edges(digits):
    """MNIST digits sit in a centred 20×20 box; magnified windows put ink on the border."""
    border = torch.ones(28, 28, dtype=torch.bool)
    border[2:-2, 2:-2] = False
    zoomed = _one(digits, "zoomed", 200, 5)
    assert zoomed[:, 0, border].sum(1).mean() > 10 * digits[0][:, 0, border].sum(1).mean()


def test_the_spec_keeps_its_turns_through_a_checkpoint_dict():
    from idk.data.images import InputSpec

    again = InputSpec.from_dict(MNIST_SPEC.as_dict())
    assert again == MNIST_SPEC and again.turns == MNIST_SPEC.turns
    older = {k: v for k, v in MNIST_SPEC.as_dict().items() if k != "turns"}  # a checkpoint from before turns
    assert InputSpec.from_dict(older).turns == ()


def test_turned_without_an_eligible_image_falls_back_to_negatives():
    """A batch with no image of a class that has a pair (a small last batch): negatives, never a
    real digit passed off as an outlier."""
    from idk.data.synthetic import turned

    images, labels = torch.rand(4, 1, 28, 28), torch.zeros(4, dtype=torch.long)
    out = turned(images, labels, 6, torch.Generator().manual_seed(0), turns=((5, 1),))
    assert all(((1 - images) - o).abs().amax((1, 2, 3)).min() == 0 for o in out)
