"""The fixed splits: which validation images tune the rule and which set its threshold."""

from __future__ import annotations

import torch

from idk.data.images import ImageSet
from idk.decision.config import RuleConfig
from idk.training.config import TrainConfig
from idk.training.splits import TUNING_SHARE, split, tuning_split, untrained_classes, used_images


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
    assert untrained_classes(full, train) == {"c": 1}
    assert untrained_classes(full, full) == {}
