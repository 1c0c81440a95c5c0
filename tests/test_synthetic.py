import pytest
import torch

from idk.data.synthetic import FAMILIES, HELD_OUT_FAMILIES, MIRROR_CLASSES, TRAINING_FAMILIES, synthetic_outliers


@pytest.fixture(scope="module")
def digits(mnist_train):
    return mnist_train.images[:1000], mnist_train.labels[:1000]


def test_every_family_gives_images_in_range_and_is_reproducible(digits):
    sets = synthetic_outliers(*digits, 50, seed=1, families=tuple(FAMILIES))
    assert set(sets) == set(FAMILIES) and not set(TRAINING_FAMILIES) & set(HELD_OUT_FAMILIES)
    again = synthetic_outliers(*digits, 50, seed=1, families=tuple(FAMILIES))
    for name, images in sets.items():
        assert images.shape == (50, 28, 28), name
        assert 0 <= images.min() and images.max() <= 1, name
        assert images.flatten(1).std(1).min() > 0.05, f"{name}: blank images"
        torch.testing.assert_close(again[name], images)
    assert set(synthetic_outliers(*digits, 5, seed=2)) == set(TRAINING_FAMILIES)


def test_shuffled_digits_keep_the_ink_and_lose_the_shape(digits):
    shuffled = synthetic_outliers(*digits, 200, seed=1, families=("shuffled-digits",))["shuffled-digits"]
    ink = digits[0].sum((1, 2))
    assert all(torch.isclose(ink, s.sum(), atol=1e-3).any() for s in shuffled[:20])


def test_mirrored_digits_come_only_from_asymmetric_classes(digits):
    images, labels = digits
    keep = torch.isin(labels, torch.tensor([0, 1, 8]))  # a set of only symmetric digits...
    mirrored = synthetic_outliers(images[~keep], labels[~keep], 100, 3, ("mirrored-digits",))["mirrored-digits"]
    flipped_back = mirrored.flip(-1)
    # ...is never used: each mirrored image is the mirror of a digit of classes 2-7, 9
    pool = images[torch.isin(labels, torch.tensor(MIRROR_CLASSES))]
    assert all((pool - m).abs().amax((1, 2)).min() == 0 for m in flipped_back[:20])


def test_overlaid_digits_join_two_different_classes(digits):
    images, labels = digits
    over = synthetic_outliers(images, labels, 100, 4, ("overlaid-digits",))["overlaid-digits"]
    assert (over.sum((1, 2)) > images.sum((1, 2)).mean()).float().mean() > 0.9  # more ink than one digit


def test_zoomed_digits_run_off_the_edges(digits):
    """MNIST digits sit in a centred 20×20 box; magnified windows put ink on the border."""
    border = torch.ones(28, 28, dtype=torch.bool)
    border[2:-2, 2:-2] = False
    zoomed = synthetic_outliers(*digits, 200, 5, ("zoomed-digits",))["zoomed-digits"]
    assert zoomed[:, border].sum(1).mean() > 10 * digits[0][:, border].sum(1).mean()


def test_unknown_family_lists_the_valid_ones(digits):
    with pytest.raises(ValueError, match="valid: uniform-noise"):
        synthetic_outliers(*digits, 5, 0, ("letters",))
