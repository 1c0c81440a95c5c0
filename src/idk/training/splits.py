"""The fixed splits of a training set: training images, and validation images for the rule.

The validation split is held out of training; :mod:`idk.training.rule_fitting` fits the
temperature and chooses the score on its first ``TUNING_SHARE`` and sets thresholds on the rest.
"""

from __future__ import annotations

import torch

from idk.data.catalog import SPLIT_SEED
from idk.data.images import ImageSet
from idk.training.config import TrainConfig

VALIDATION_SHARE = 5  # at most 1/5 of the training images are held out for validation
TUNING_SHARE = 0.2  # of the validation split: temperature and score choice; the rest sets thresholds


def split_train_val(n: int, val_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed random split of n training indices into (train, validation) of ``val_size``."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED))
    return order[: n - val_size].sort().values, order[n - val_size :].sort().values


def validation_size(n: int, cfg: TrainConfig) -> int:
    """How many of n training images are held out for validation."""
    return min(cfg.val_size, n // VALIDATION_SHARE)


def calibration_images(full: ImageSet, cfg: TrainConfig) -> ImageSet:
    """The validation images that :func:`fit_rules` sets thresholds on (those after the tuning
    share), for a model trained on ``full`` with ``cfg``."""
    _, val_idx = split_train_val(len(full), validation_size(len(full), cfg))
    return full.subset(val_idx[int(len(val_idx) * TUNING_SHARE) :], "validation")


def training_subset(n: int, size: int) -> torch.Tensor:
    """A fixed random subset of ``size`` of n training indices, sorted (``--train-subset``: every
    class keeps its share, whatever order the images come in)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED + 1))
    return order[: min(size, n)].sort().values
