"""What a training batch holds besides its images (idk.training.batches): the synthetic outlier
families and their parts of each step."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from helpers import MNIST_SPEC, SMALL_CNN
from idk.nn.bnn import build_model
from idk.training.config import TrainConfig
from idk.training.fitting import fit


def test_dropped_outlier_families_are_left_out_and_unknown_names_refused():
    from idk.data.images import InputSpec
    from idk.training.batches import OUTLIER_FAMILIES, outlier_families

    every = outlier_families(MNIST_SPEC, TrainConfig())
    assert set(every) <= set(OUTLIER_FAMILIES) and "zoomed" in every
    kept = outlier_families(MNIST_SPEC, TrainConfig(drop_outliers=("zoomed", "blobs")))
    assert set(kept) == set(every) - {"zoomed", "blobs"}
    photos = InputSpec(3, 32, 32, "fit")  # a valid name that does not apply to photos drops nothing
    assert set(outlier_families(photos, TrainConfig(drop_outliers=("zoomed",)))) == set(
        outlier_families(photos, TrainConfig())
    )
    with pytest.raises(ValueError, match="unknown synthetic outlier family to drop: zoom; valid: uniform-noise, "):
        outlier_families(MNIST_SPEC, TrainConfig(drop_outliers=("zoom",)))
    everything = TrainConfig(drop_outliers=OUTLIER_FAMILIES, outlier_weight=0.5)
    with pytest.raises(ValueError, match="leaves no synthetic outlier family"):
        outlier_families(MNIST_SPEC, everything)
    assert outlier_families(MNIST_SPEC, replace(everything, outlier_weight=0.0)) == {}
    model = build_model(SMALL_CNN, 64)
    with pytest.raises(ValueError, match="unknown synthetic outlier family"):  # before any step
        fit(
            model,
            torch.zeros(64, 1, 28, 28),
            torch.zeros(64, dtype=torch.long),
            TrainConfig(drop_outliers=("x",)),
            spec=MNIST_SPEC,
        )


@pytest.mark.parametrize("batch", [128, 64, 32, 80])
def test_every_outlier_family_gets_its_equal_part(batch):
    """n = share × batch outliers: each of the F families n // F or one more (before, the families
    were cut in order: at 64 images per process the last two of ten got none)."""
    from idk.data.synthetic import families_for
    from idk.training.batches import training_outliers

    families = families_for(MNIST_SPEC)[0]
    counts: dict[str, int] = {}
    images = torch.rand(batch, 1, 28, 28)
    labels = torch.arange(batch) % 10
    tagged = {  # the default's ten families, each one's images marked by a constant value
        name: (lambda images, labels, n, g, i=i: torch.full((n, 1, 28, 28), float(i)))
        for i, name in enumerate(families)
    }
    out = training_outliers(images, labels, 0.5, tagged)
    n = round(0.5 * batch)
    assert len(out) == n
    for i, name in enumerate(families):
        counts[name] = int((out[:, 0, 0, 0] == i).sum())
    assert min(counts.values()) >= n // len(families) and max(counts.values()) - min(counts.values()) <= 1


def test_family_counts_split_by_weight_and_sum_to_n():
    from idk.training.batches import family_counts

    assert family_counts(10, [1, 1, 1]) == [(4, 4), (3, 4), (3, 4)]  # equal parts: the first one more
    assert family_counts(12, [1, 1, 1]) == [(4, 4)] * 3
    weighed = family_counts(64, [1.0] * 10 + [3.0])  # 64 × 3/13 = 14.8 for the weighed family
    assert sum(k for k, _ in weighed) == 64 and all(d >= k for k, d in weighed)
    assert weighed[-1] == (14, 15) and {k for k, _ in weighed[:-1]} == {5}
    assert family_counts(5, [1.0, 0.5, 0.5]) == [(3, 3), (1, 2), (1, 2)]


def test_a_weighed_family_gets_its_share_of_each_step():
    from idk.training.batches import training_outliers

    tagged = {
        name: (lambda images, labels, n, g, i=i: torch.full((n, 1, 28, 28), float(i)))
        for i, name in enumerate(["strokes", "blobs", "glyphs"])
    }
    out = training_outliers(torch.rand(80, 1, 28, 28), torch.zeros(80, dtype=torch.long), 0.5, tagged, {"glyphs": 2.0})
    counts = [int((out[:, 0, 0, 0] == i).sum()) for i in range(3)]
    assert counts == [10, 10, 20]


def test_outlier_weights_must_name_families_and_be_positive():
    from idk.training.batches import outlier_families

    assert set(outlier_families(MNIST_SPEC, TrainConfig(outlier_weights=(("glyphs", 3.0),)))) == set(
        outlier_families(MNIST_SPEC, TrainConfig())
    )
    with pytest.raises(ValueError, match="unknown synthetic outlier family to weigh: glyph; valid: uniform-noise, "):
        outlier_families(MNIST_SPEC, TrainConfig(outlier_weights=(("glyph", 3.0),)))
    with pytest.raises(ValueError, match="must be > 0"):
        outlier_families(MNIST_SPEC, TrainConfig(outlier_weights=(("glyphs", 0.0),)))
