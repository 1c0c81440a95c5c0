"""The fixed splits of a training set: training images, and validation images for the rule.

The validation split is held out of training; :mod:`idk.training.rule_fitting` fits the
temperature, chooses the score and fits its scales on its first ``TUNING_SHARE`` (when the rule
does any of these) and sets the threshold on the rest.
"""

from __future__ import annotations

import torch

from idk.data.catalog import SPLIT_SEED
from idk.data.images import ImageSet
from idk.decision.config import RuleConfig
from idk.decision.scores import is_fitted
from idk.training.config import TrainConfig

VALIDATION_SHARE = 5  # at most 1/5 of the training images are held out for validation
TUNING_SHARE = 0.2  # of the validation split: temperature, score choice, scales; the rest sets thresholds


def split_train_val(n: int, val_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed random split of n training indices into (train, validation) of ``val_size``."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED))
    return order[: n - val_size].sort().values, order[n - val_size :].sort().values


def validation_size(n: int, cfg: TrainConfig) -> int:
    """How many of n training images are held out for validation."""
    return min(cfg.val_size, n // VALIDATION_SHARE)


def used_images(full: ImageSet, cfg: TrainConfig) -> ImageSet:
    """The images of a training set that training uses: all, or the ``--train-subset``."""
    return full.subset(training_subset(len(full), cfg.train_subset)) if cfg.train_subset else full


def split(full: ImageSet, cfg: TrainConfig) -> tuple[ImageSet, ImageSet]:
    """The (training, validation) parts of the images training uses (:func:`used_images`)."""
    train_idx, val_idx = split_train_val(len(full), validation_size(len(full), cfg))
    return full.subset(train_idx, "train"), full.subset(val_idx, "validation")


def tuning_size(n: int, rule: RuleConfig) -> int:
    """How many of n validation images tune the rule (its temperature, the score's choice or its
    fitted scales): the first ``TUNING_SHARE`` when the rule tunes any of these, else none."""
    tunes = rule.fit_temperature or rule.score == "auto" or is_fitted(rule.score)
    return int(n * TUNING_SHARE) if tunes else 0


def tuning_split(val: ImageSet, rule: RuleConfig) -> tuple[ImageSet, ImageSet]:
    """The (tuning, calibration) parts of the validation images ``val``: the rule is tuned on the
    first, its threshold set on the second (see :func:`idk.training.rule_fitting.fit_rules`)."""
    cut = tuning_size(len(val), rule)
    return val.subset(slice(0, cut), "validation-tuning"), val.subset(slice(cut, None), "validation")


def training_subset(n: int, size: int) -> torch.Tensor:
    """A fixed random subset of ``size`` of n training indices, sorted (``--train-subset``: every
    class keeps its share, whatever order the images come in)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED + 1))
    return order[: min(size, n)].sort().values
