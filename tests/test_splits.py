"""The fixed splits: which validation images tune the rule and which set its threshold."""

from __future__ import annotations

import torch

from idk.data.images import ImageSet
from idk.decision.config import RuleConfig
from idk.training.config import TrainConfig
from idk.training.splits import TUNING_SHARE, split, tuning_split, used_images


def _images(n: int) -> ImageSet:
    return ImageSet("toy", torch.arange(float(n)).view(n, 1, 1, 1), torch.arange(n) % 2, ("a", "b"))


def test_tuning_share_only_when_the_rule_tunes_something():
    val = _images(100)
    fixed = RuleConfig(score="entropy", target_refusal=0.02)
    assert [len(s) for s in tuning_split(val, fixed)] == [0, 100]  # nothing to tune: every image calibrates
    for tuned in (
        RuleConfig(score="auto"),
        RuleConfig(score="entropy", fit_temperature=True),
        RuleConfig(score="entropy-or-mutual-info"),  # its scales are fitted
    ):
        tune, calibration = tuning_split(val, tuned)
        assert len(tune) == int(100 * TUNING_SHARE) and len(calibration) == 100 - len(tune)
        assert torch.equal(torch.cat([tune.images, calibration.images]), val.images)  # in order, no overlap


def test_the_subset_comes_before_the_validation_split():
    cfg = TrainConfig(train_subset=500, val_size=10000)
    used = used_images(_images(3000), cfg)
    train, val = split(used, cfg)
    assert len(used) == 500 and len(val) == 100 and len(train) == 400  # at most a fifth held out
    assert not set(train.images.flatten().tolist()) & set(val.images.flatten().tolist())
