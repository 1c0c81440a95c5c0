"""``idk calibrate``: refit a trained model's rule to a new target without retraining.

The score choice, the predictive's temperature and the thresholds are fitted again by
:func:`idk.training.rule_fitting.fit_rules` on the same validation split that training held out
(re-derived from the checkpoint: its data record, ``train_subset`` and ``val_size``, checked against
its fingerprint), so the result is the rule that training with that target would have fitted.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from idk.data.catalog import training_data
from idk.data.fingerprints import fingerprint, same_images
from idk.data.images import ImageSet
from idk.data.named import NAMED
from idk.data.sources import DATA_CONFIG_HINT, DataConfig
from idk.decision.calibration import few_to_calibrate
from idk.decision.memory import check_samples
from idk.decision.rules import infeasible_advice
from idk.errors import CheckpointError, DataError, IdkError, expect
from idk.progress import Progress
from idk.training import checkpoint as ckpt_io
from idk.training.checkpoint import Checkpoint
from idk.training.notices import say_measured
from idk.training.options import TrainOptions, checked
from idk.training.rule_fitting import FIXED_THRESHOLD, fit_rules
from idk.training.splits import split, split_digest, tuning_size, tuning_split, used_images

RESTORE = "put the data back as it was when the model was trained, or train a new model on it as it is now"
# Fields that fit_rules may set; cleared first so a new fit leaves none of the old one behind.
FITTED = ("twin_rule", "temperature", "twin_temperature", "score_selection", "validation_split")


def training_images(ckpt: Checkpoint, data: DataConfig, path: str | Path = "<checkpoint>", warn=None):
    """The training data source of ``ckpt`` and the (training, validation) images training split
    from it; refused when the data changed since training."""
    record = ckpt.data
    for given, what, option, why in (
        (record.data, "training data", "--data", "the validation images are drawn again from it"),
        (record.test_data, "test data", "--test-data", "it is read again to part the training data as training did"),
    ):
        if given is not None and given not in NAMED and not Path(given).exists():
            raise DataError(
                f"{given}: the model's {what} is gone ({why}); if it moved, "
                f"`idk train --resume --out {'MODEL' if path == '<checkpoint>' else path} {option} NEW_PLACE` records "
                "its new place (the images' "
                f"SHA-256 is checked), else {RESTORE}"
            )
    image_size = None if record.data in NAMED else record.image_size
    source = training_data(record.data, ckpt.reading(data), record.test_data, image_size, warn)
    full = used_images(source.train, ckpt.train_config)
    if ckpt.data_fingerprint is not None and same_images(fingerprint(full)) != same_images(ckpt.data_fingerprint):
        raise CheckpointError(f"{path}: its training data {record.data} changed since training; {RESTORE}")
    return source, *split(full, ckpt.train_config, ckpt.validation_by_class)


def validation_set(ckpt: Checkpoint, data: DataConfig, path: str | Path = "<checkpoint>", warn=None):
    """The training data source and the validation images (N, C, H, W) that training held out for ``ckpt``."""
    source, _, val = training_images(ckpt, data, path, warn)
    if not ckpt.validation_size or not len(val):
        raise CheckpointError(f"{path}: holds no validation split to calibrate on (train with a validation split)")
    if len(val) != ckpt.validation_size:
        raise CheckpointError(
            f"{path}: its training data changed since training: the validation split now holds {len(val)} images, "
            f"training held out {ckpt.validation_size}; {RESTORE}"
        )
    return source, val


def cut_digest(ckpt: Checkpoint) -> str | None:
    """The digest of the tuning and calibration images training recorded (since 2026-12-05; None
    before: then every set was cut by its first share)."""
    return (ckpt.validation_split or {}).get("sha256")


def training_split(
    ckpt: Checkpoint, data: DataConfig, path: str | Path = "<checkpoint>"
) -> tuple[ImageSet, ImageSet, ImageSet]:
    """The (training, tuning, calibration) images of ``ckpt``'s training set, as training split them
    (for scripts that measure a trained model on the images it never trained on); refused when the
    checkpoint records a digest of its cut (since 2026-12-05) and this idk cuts other images. A
    checkpoint from before has no digest: its cut was the first share of every set, and is so here."""
    _, train, val = training_images(ckpt, data, path)
    recorded = cut_digest(ckpt)
    # a checkpoint without the digest was cut by an idk that cut every set by its first share
    tune, held = tuning_split(val, ckpt.rule_config, ckpt.data.data, by_class=None if recorded else False)
    if recorded is not None and recorded != split_digest(tune, held):
        raise CheckpointError(
            f"{path}: this idk cuts its validation images into tuning and calibration images other than "
            "training did (another version?); measure it with the idk that trained it"
        )
    return train, tune, held


def recalibrate(
    model_path: str | Path,
    out: str | Path | None = None,
    *,
    target_refusal: float | None = None,
    target_error: float | None = None,
    confidence: float | None = None,
    samples: int | None = None,
    score: str | None = None,
    data: DataConfig | None = None,
    progress: Progress | None = None,
    device: torch.device | str | None = None,
) -> Checkpoint:
    """Refit the rule of the finished checkpoint at ``model_path`` to refuse ``target_refusal`` of
    validation images, or to keep the error among accepted ones below ``target_error`` with
    ``confidence``; write it to ``out`` (default: ``model_path``, atomically) and return it.
    ``score``: the score to refuse on (:data:`idk.decision.scores.SCORES` or "auto"; None: the
    model's); given alone, the model's own target is kept. ``device``: where to predict (None: the CPU).
    IdkError, writing nothing, for an error target that no coverage of the validation images
    certifies (its rule would refuse every image; the message gives the smallest they certify)."""
    expect(data, DataConfig, "recalibrate(data=...)", DATA_CONFIG_HINT + "; the model's own validation images are read")
    if target_refusal is None and target_error is None and score is None:
        raise IdkError("give --target-refusal, --target-error or --score")
    # checked and made plain numbers as training's options are (a numpy number is no checkpoint value)
    given = checked(
        TrainOptions(
            target_refusal=target_refusal,
            target_error=target_error,
            confidence=confidence,
            samples=samples,
            score=score,
        )
    )
    target_refusal, target_error, confidence, samples = (
        given.target_refusal,
        given.target_error,
        given.confidence,
        given.samples,
    )
    progress = progress or Progress(quiet=True)
    ckpt = ckpt_io.read(model_path)
    if not ckpt.finished:
        raise CheckpointError(
            f"{model_path}: training did not finish ({ckpt.training_progress()}); "
            f"finish it first with `idk train --resume --out {model_path}`"
        )
    if not ckpt.validation_size:
        raise CheckpointError(
            f"{model_path}: holds no validation split to calibrate on (train with a validation split)"
        )
    own = target_refusal is None and target_error is None
    if own:  # --score alone: the model's own target
        if not ckpt.rule_config.targeted:
            raise IdkError(f"{model_path}: its {FIXED_THRESHOLD}")
        target_refusal, target_error = ckpt.rule_config.target_refusal, ckpt.rule_config.target_error
    if confidence is not None and target_error is None:
        raise IdkError("--confidence goes with --target-error")
    cfg = replace(
        ckpt.rule_config,
        target_refusal=target_refusal,
        target_error=target_error,
        confidence=confidence if confidence is not None else ckpt.rule_config.confidence,
        samples=ckpt.rule_config.samples if samples is None else samples,  # made an int by checked()
        score=score or ckpt.rule_config.score,
    )
    model = ckpt.build(path=str(model_path), device=device)
    check_samples(model, cfg.samples)
    source, val_set = validation_set(ckpt, data or DataConfig.from_env(), model_path, progress.warn)
    twin = ckpt.build(twin=True, path=str(model_path), device=device) if ckpt.has_twin else None
    for net in (model, twin):  # as after training: fit_rules fits the temperature from 1
        if net is not None:
            net.temperature.fill_(1.0)
    tunes = tuning_size(len(val_set), cfg) > 0
    if tunes and ckpt.data.data not in NAMED and cut_digest(ckpt) is None:
        progress.warn(
            f"{model_path}: trained before idk cut a folder's or array's validation images class by class; its rule "
            "is refitted on a fifth of each class (training tuned it on the first fifth, which may have held the "
            "first classes only)"
        )
    rule, extra = fit_rules(model, twin, val_set, cfg, ckpt.train_config.seed, source, progress)
    calibration = rule.get("calibration") or {}
    written = out or model_path
    if target_refusal is not None and (few := few_to_calibrate(calibration.get("n", 0), target_refusal)):
        progress.warn(f"{written}: {few}")
    if advice := infeasible_advice(rule, kept=False):  # a refuse-everything rule replaces no working one
        left = f"{out} not written" if out is not None else f"{model_path} left as it is"
        raise IdkError(f"{model_path}: {'with its own target, ' if own else ''}{advice}; {left}")
    metrics = {**ckpt.metrics, **extra.pop("metrics")}
    new = replace(
        ckpt,
        **{**dict.fromkeys(FITTED), **extra},
        rule=rule,
        rule_config=cfg,
        state_dict=model.state_dict(),
        twin_state_dict=twin.state_dict() if twin is not None else None,
        metrics=metrics,
    )
    ckpt_io.save(new, written)
    say_measured(new, written, progress.warn)  # measured again with the new rule
    return new
