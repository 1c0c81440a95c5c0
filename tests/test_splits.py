"""The fixed splits: which validation images tune the rule and which set its threshold."""

from __future__ import annotations

import pytest
import torch

from idk.data.images import ImageSet
from idk.decision.config import RuleConfig
from idk.training.config import TrainConfig
from idk.training.splits import (
    TUNING_SHARE,
    by_class,
    class_quotas,
    split,
    tuning_split,
    untrained_classes,
    untrained_reason,
    used_images,
)


def _images(n: int) -> ImageSet:
    return ImageSet("toy", torch.arange(float(n)).view(n, 1, 1, 1), torch.arange(n) % 2, ("a", "b"))


def test_tuning_share_only_when_the_rule_tunes_something():
    val = _images(100)
    fixed = RuleConfig(score="entropy", target_refusal=0.02)
    for data in ("mnist", "/my/folder"):  # nothing to tune: every image calibrates
        assert [len(s) for s in tuning_split(val, fixed, data)] == [0, 100]
    for tuned in (
        RuleConfig(score="auto"),
        RuleConfig(score="entropy", fit_temperature=True),
        RuleConfig(score="entropy-or-mutual-info"),  # its scales are fitted
    ):
        tune, calibration = tuning_split(val, tuned, "mnist")
        assert len(tune) == int(100 * TUNING_SHARE) and len(calibration) == 100 - len(tune)
        assert torch.equal(torch.cat([tune.images, calibration.images]), val.images)  # in order, no overlap


def test_the_subset_comes_before_the_validation_split():
    cfg = TrainConfig(train_subset=500, val_size=10000)
    used = used_images(_images(3000), cfg)
    train, val = split(used, cfg)
    assert len(used) == 500 and len(val) == 100 and len(train) == 400  # at most a fifth held out
    assert not set(train.images.flatten().tolist()) & set(val.images.flatten().tolist())


def test_a_users_class_ordered_set_tunes_on_every_class_a_named_set_on_its_first_share():
    """A folder read class by class: a first fifth would hold class 0 alone; the user's set is cut
    class by class instead (each class's share, at random), a named set keeps its first fifth."""
    n = 300
    val = ImageSet("toy", torch.arange(float(n)).view(n, 1, 1, 1), torch.arange(n) // 100, ("a", "b", "c"))
    rule = RuleConfig(score="auto")
    tune, calibration = tuning_split(val, rule, "/my/folder")
    assert torch.bincount(tune.labels).tolist() == [20, 20, 20]
    assert torch.bincount(calibration.labels).tolist() == [80, 80, 80]
    parts = torch.cat([tune.images, calibration.images]).flatten()
    assert sorted(parts.tolist()) == val.images.flatten().tolist()  # no image twice, none lost
    assert tune.images.flatten().tolist() != list(range(0, 300, 5))[:60]  # drawn at random, not every 5th
    again, _ = tuning_split(val, rule, "/my/folder")
    assert torch.equal(again.images, tune.images)  # the same cut every time (training and idk calibrate)
    named, _ = tuning_split(val, rule, "mnist")
    assert torch.equal(named.images.flatten(), torch.arange(60.0))  # the first fifth, as published


def test_a_class_whose_images_the_validation_split_took_is_named():
    labels = torch.tensor([0, 0, 0, 1, 1, 2])
    full = ImageSet("toy", torch.zeros(6, 1, 2, 2), labels, ("a", "b", "c"))
    train = full.subset(torch.tensor([0, 1, 3]), "train")  # c's one image went to validation
    assert untrained_classes(full, train.labels) == {"c": 1}
    assert untrained_classes(full, full.labels) == {}
    assert untrained_reason({"c": 1}, TrainConfig()) == (
        "c (1 left after the test split): the validation split took them; give each class more images (a dozen or more)"
    )
    assert untrained_reason({"b": 0}, TrainConfig(train_subset=5)) == (
        "b: --train-subset 5 drew none of their images; give a larger one"
    )
    assert untrained_reason({"b": 0, "d": 0}, TrainConfig()).startswith("b, d: no image is labelled with them")


def test_a_users_validation_split_is_drawn_class_by_class_a_named_sets_over_all_images():
    """A rare class keeps its share in training and in the rule's calibration: 3 images of 'c' among
    600 would, drawn over all images, often give none to validation (or every one, leaving training
    none); class by class each class gives its share, the remainders to the largest fractions."""
    labels = torch.cat([torch.zeros(300, dtype=torch.long), torch.ones(297, dtype=torch.long), torch.full((3,), 2)])
    full = ImageSet("toy", torch.arange(600.0).view(600, 1, 1, 1), labels, ("a", "b", "c"))
    cfg = TrainConfig(val_size=120)
    train, val = split(full, cfg, stratified=True)
    assert torch.bincount(val.labels).tolist() == [60, 59, 1] and torch.bincount(train.labels).tolist() == [240, 238, 2]
    assert len(val) == 120  # exactly the validation size, as over all images
    assert sorted(torch.cat([train.images, val.images]).flatten().tolist()) == list(range(600))  # none lost, none twice
    again = split(full, cfg, stratified=True)[1]
    assert torch.equal(again.images, val.images)  # the same images every time (training and idk calibrate)
    assert len(split(full, TrainConfig(val_size=0), stratified=True)[1]) == 0  # no validation split asked
    assert by_class("/my/folder") and by_class("digits.npz") and not by_class("mnist")


@pytest.mark.parametrize(
    ("counts", "size", "quotas"),
    [
        ([300, 297, 3], 120, [60, 59, 1]),  # 60, 59.4, 0.6: the one left goes to 0.6
        ([8, 8, 8], 4, [2, 1, 1]),  # 1.33 each: the one left to the first class
        ([1, 1, 10], 3, [0, 0, 3]),  # never a class's last image
        ([2, 2], 4, [1, 1]),  # no more images to give than the classes have beyond their first
    ],
)
def test_class_quotas_keep_the_shares_and_the_size(counts, size, quotas):
    labels = torch.cat([torch.full((c,), i) for i, c in enumerate(counts)])
    assert class_quotas(labels, size) == quotas
