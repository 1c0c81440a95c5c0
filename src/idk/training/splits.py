"""The fixed splits of a training set: training images, and validation images for the rule.

The validation split is held out of training; :mod:`idk.training.rule_fitting` fits the
temperature, chooses the score and fits its scales on a ``TUNING_SHARE`` of it (when the rule does
any of these: :func:`tuning_split`) and sets the threshold on the rest.
"""

from __future__ import annotations

import hashlib

import torch

from idk.choices import AUTO_SCORE
from idk.data.catalog import SPLIT_SEED
from idk.data.fingerprints import fingerprint
from idk.data.folders import stratified_split
from idk.data.images import ImageSet
from idk.data.named import NAMED
from idk.decision.config import RuleConfig
from idk.decision.scores import is_fitted
from idk.training.config import TrainConfig

VALIDATION_SHARE = 5  # at most 1/5 of the training images are held out for validation
TUNING_SHARE = 0.2  # of the validation split: temperature, score choice, scales; the rest sets thresholds


def split_train_val(n: int, val_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed random split of n training indices into (train, validation) of ``val_size``, drawn over
    all images (a named set's split, as its published models were trained)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED))
    return order[: n - val_size].sort().values, order[n - val_size :].sort().values


def by_class(data: str) -> bool:
    """Whether the training set ``data`` (a name of :data:`~idk.data.named.NAMED` or a path) has
    its validation images drawn class by class: a user's folder or array (a rare class keeps its
    share in training and in the rule's calibration); a named set is split over all its images."""
    return data not in NAMED


def untrained_classes(full: ImageSet, trained_labels: torch.Tensor) -> dict[str, int]:
    """The classes of ``full`` (labelled) with no image left in its training part, whose labels are
    ``trained_labels`` (n,), each with its count in ``full``: a split drawn over all images (a named
    set's, or a user's before 2026-12-06) can take every image of a rare class."""
    k = len(full.classes)
    trained = torch.bincount(trained_labels, minlength=k).tolist()
    total = torch.bincount(full.labels, minlength=k).tolist()
    return {c: total[i] for i, c in enumerate(full.classes) if trained[i] == 0}


def untrained_reason(untrained: dict[str, int], cfg: TrainConfig) -> str:
    """The classes of :func:`untrained_classes` and why they have no training image, for an error."""
    took = {c: n for c, n in untrained.items() if n}
    never = [c for c, n in untrained.items() if not n]
    parts = []
    if took:
        counts = ", ".join(f"{c} ({n} left after the test split)" for c, n in took.items())
        parts.append(f"{counts}: the validation split took them; give each class more images (a dozen or more)")
    if never:
        why = (
            f"--train-subset {cfg.train_subset} drew none of their images; give a larger one"
            if cfg.train_subset
            else "no image is labelled with them; leave them out of the class names or give them images"
        )
        parts.append(f"{', '.join(never)}: {why}")
    return "; ".join(parts)


def validation_size(n: int, cfg: TrainConfig) -> int:
    """How many of n training images are held out for validation."""
    return min(cfg.val_size, n // VALIDATION_SHARE)


def used_images(full: ImageSet, cfg: TrainConfig) -> ImageSet:
    """The images of a training set that training uses: all, or the ``--train-subset``."""
    return full.subset(training_subset(len(full), cfg.train_subset)) if cfg.train_subset else full


def class_quotas(labels: torch.Tensor, size: int) -> list[int]:
    """How many images of each class (labels (N,)) a split of ``size`` takes to keep the classes'
    shares: each class's floor(size × its count / N), the rest one more to the largest remainders
    (Hamilton's method; ties to the lower class), never a class's last image. Sums to ``size``
    whenever the classes have that many images beyond their first."""
    counts = torch.bincount(labels).tolist()
    exact = [size * c / len(labels) for c in counts]
    quotas = [min(int(q), max(c - 1, 0)) for q, c in zip(exact, counts, strict=True)]
    while (left := size - sum(quotas)) > 0:
        room = [i for i, (k, c) in enumerate(zip(quotas, counts, strict=True)) if k < c - 1]
        if not room:
            break
        for i in sorted(room, key=lambda i: quotas[i] - exact[i])[:left]:  # largest remainder first (stable)
            quotas[i] += 1
    return quotas


def stratified_validation(labels: torch.Tensor, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed random (train, validation) indices, each sorted, the validation part ``size`` images
    taken class by class (:func:`class_quotas`), at random within each class."""
    g = torch.Generator().manual_seed(seed)
    train, val = [], []
    for c, k in enumerate(class_quotas(labels, size)):
        idx = (labels == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        val.append(idx[:k])
        train.append(idx[k:])
    return torch.cat(train).sort().values, torch.cat(val).sort().values


def split_rows(full: ImageSet, cfg: TrainConfig, stratified: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The rows (indices into ``full``) of the (training, validation) parts of the images training
    uses (:func:`used_images`): the validation part is :func:`validation_size` images, drawn class
    by class when ``stratified`` (a user's set: :func:`by_class`; :func:`stratified_validation`,
    seed ``SPLIT_SEED + 3``), else over all images (:func:`split_train_val`). Training reads its
    part by these rows (:func:`idk.training.fitting.fit`'s ``rows``), not a copy of it."""
    size = validation_size(len(full), cfg)
    if stratified:
        return stratified_validation(full.labels, size, SPLIT_SEED + 3)
    return split_train_val(len(full), size)


def split(full: ImageSet, cfg: TrainConfig, stratified: bool = False) -> tuple[ImageSet, ImageSet]:
    """The (training, validation) parts of :func:`split_rows`, as sets of their own."""
    train_idx, val_idx = split_rows(full, cfg, stratified)
    return full.subset(train_idx, "train"), full.subset(val_idx, "validation")


def tuning_size(n: int, rule: RuleConfig) -> int:
    """How many of n validation images tune the rule (its temperature, the score's choice or its
    fitted scales): ``TUNING_SHARE`` of them when the rule tunes any of these, else none (a user's
    set, cut class by class in :func:`tuning_split`, rounds each class's share instead)."""
    tunes = rule.fit_temperature or rule.score == AUTO_SCORE or is_fitted(rule.score)
    return int(n * TUNING_SHARE) if tunes else 0


def tuning_split(val: ImageSet, rule: RuleConfig, data: str, by_class: bool | None = None) -> tuple[ImageSet, ImageSet]:
    """The (tuning, calibration) parts of the validation images ``val`` of the training set ``data``
    (a name of :data:`~idk.data.named.NAMED` or a path): the rule is tuned on the first, its
    threshold set on the second (see :func:`idk.training.rule_fitting.fit_rules`).

    A named set's files come in no class order: its tuning part is the first :data:`TUNING_SHARE`
    of ``val`` (as its published models were fitted). A user's folder or array may come class by
    class, and a first share would then hold the first classes only (the temperature and the score
    chosen on them, the threshold set without them): its tuning part is that share of every class,
    drawn at random (:func:`~idk.data.folders.stratified_split`, seed ``SPLIT_SEED + 2``: each class
    with two or more images gives round(share × its count), at least one). ``by_class`` overrides
    the choice (False: the first share, as idk cut every set before 2026-12-05)."""
    cut = tuning_size(len(val), rule)
    if cut and (data not in NAMED if by_class is None else by_class):
        held, tune = stratified_split(val.labels, TUNING_SHARE, SPLIT_SEED + 2)
        return val.subset(tune, "validation-tuning"), val.subset(held, "validation")
    return val.subset(slice(0, cut), "validation-tuning"), val.subset(slice(cut, None), "validation")


def split_digest(tune: ImageSet, held: ImageSet) -> str:
    """A short SHA-256 of the tuning and calibration images (pixels and labels, in order): recorded
    by training so that a script re-deriving the cut can tell it found the same images."""
    parts = (fingerprint(tune)["sha256"], fingerprint(held)["sha256"])
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:16]


def training_subset(n: int, size: int) -> torch.Tensor:
    """A fixed random subset of ``size`` of n training indices, sorted (``--train-subset``: every
    class keeps its share, whatever order the images come in)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED + 1))
    return order[: min(size, n)].sort().values
