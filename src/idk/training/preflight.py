"""What a run is told before it trains: its options checked against the data's form, and what the
data leaves the rule and the training (too few validation images, rare classes, too few optimiser
steps), said as warnings; the epochs a small set of one's own takes when none are asked for."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import torch
from torch import Tensor

from idk.choices import AUTO_SCORE
from idk.data.catalog import DEFAULT_DATA
from idk.data.glyphs import glyph_classes, printable
from idk.data.images import ImageSet, InputSpec
from idk.data.listing import some_of
from idk.data.variants import VARIANTS, variant_labels
from idk.decision.calibration import few_to_calibrate
from idk.errors import IdkError
from idk.nn.networks import ARCHITECTURES, NetConfig
from idk.training.batches import outlier_families
from idk.training.config import PRESETS, Preset, TrainConfig
from idk.training.options import TrainOptions, flag, given_for
from idk.training.rule_fitting import selection_target, too_few_to_choose
from idk.training.splits import VALIDATION_SHARE, tuning_split, validation_size

# fewer optimiser steps than this (a small set, or few epochs asked for) are said, with the epochs for as many
FEW_STEPS = 200
FEW_PER_CLASS = 10  # a class with fewer training images than this is said


def warn_unused_options(
    opts: TrainOptions,
    spec: InputSpec,
    classes: tuple[str, ...],
    warn: Callable[[str], None],
    net: NetConfig | None = None,
) -> None:
    """Warn of the given shares of drawn symbols' training images that this data does not use, and
    of the network's options that ``net``'s architecture does not read (``--channels`` of an MLP)."""
    data = opts.data or DEFAULT_DATA
    if net is not None and net.arch in ARCHITECTURES:
        for name in given_for(opts, NetConfig):
            if name != "arch" and name not in ARCHITECTURES[net.arch][1]:
                warn(f"{flag(name)} is not a setting of the {net.arch} network this preset trains: it is not used")
    if opts.degrade and not spec.drawn:
        warn(f"--degrade applies to drawn symbols only: the images of {data} are not degraded")
    if opts.printed and not (spec.drawn and printable(classes)):
        warn(f"--printed applies to drawn symbols named by one letter or digit each: no class of {data} is printed")
    if opts.variants and not (spec.drawn and variant_labels(classes)):
        warn(
            f"--variants applies to drawn symbols with a class named {' or '.join(VARIANTS)}, whose written "
            "variants it makes: "
            f"no class of {data} has one"
        )


def _narrower(target: float, n: int, val_size: int) -> str:
    """What would set the threshold of a refusal target more closely on n training images, of which
    at most ``val_size`` are held out (a fifth at most): nothing for a target of 0 (always the largest score)."""
    if target == 0:
        return ""
    if val_size < n // VALIDATION_SHARE:  # --val-size, not the images, limits the split
        return f"; a larger --val-size narrows it (at most {n // VALIDATION_SHARE}, a fifth of the images)"
    return f"; more training images narrow it {_held_out(val_size)}"


def _held_out(val_size: int) -> str:
    """How many training images are held out for the rule, said in the advice to give more."""
    return f"(a fifth of them, at most {val_size}, are held out for the rule)"


def warn_before_training(
    preset: Preset,
    opts: TrainOptions,
    recorded: str,
    full: ImageSet,
    train_labels: Tensor,
    val_set: ImageSet,
    new: bool,
    warn: Callable[[str], None],
) -> None:
    """Warn of what the data leaves the rule and the training (``new``: not a resumed run): too few
    validation images to choose the score by, or to set the threshold at all or closely, classes with
    few training images (:data:`FEW_PER_CLASS`), and too few optimiser steps to learn from.
    ``recorded``: the data as its record names it (which fixes the tuning split)."""
    data, tcfg = opts.data or DEFAULT_DATA, preset.train
    tune, held = (len(part) for part in tuning_split(val_set, preset.rule, recorded))
    if preset.rule.score == AUTO_SCORE and too_few_to_choose(tune, preset.rule):  # none refused
        warn(
            f"{data}: the rule's score is chosen on only {tune} validation images (those that tune the rule), "
            f"too few to compare the scores at a {100 * selection_target(preset.rule):g}% refusal; give more images, or "
            "choose the score with --score"
        )
    if preset.rule.targeted and not held:  # resumed too; after the network fits the images
        own = PRESETS.get(preset.name, preset).train.val_size  # the preset's, before --val-size
        if not tcfg.val_size and own:  # --val-size 0, given or stored by the resumed run
            why, advice = "--val-size 0", "give --val-size N to hold out N of them (a fifth at most)"
        elif not tcfg.val_size:  # the tutorial's preset
            why, advice = f"the {preset.name} preset holds none out", "choose another --preset, or give --val-size"
        else:
            why = (
                "too few training images"
                if not validation_size(len(full), tcfg)
                else "no class has a second training image (a test split is held out first)"
            )
            advice = f"give each class more images {_held_out(tcfg.val_size)}"
        warn(
            f"{data}: no validation image is held out to set the rule's threshold ({why}): "
            f"it keeps a fixed one, not set for its target; {advice}"
        )
    elif preset.rule.target_refusal is not None:
        if few := few_to_calibrate(held, preset.rule.target_refusal):
            warn(f"{data}: {few}{_narrower(preset.rule.target_refusal, len(full), tcfg.val_size)}")
    counts = torch.bincount(train_labels, minlength=len(full.classes)).tolist()
    if new and (rare := [(c, n) for c, n in zip(full.classes, counts, strict=True) if n < FEW_PER_CLASS]):
        listed = some_of([f"{c} ({n})" for c, n in rare])
        warn(
            f"{data}: few training images for {listed}, under {FEW_PER_CLASS}: the model learns little of "
            f"{'them' if len(rare) > 1 else 'it'} and may answer wrongly with confidence; `idk evaluate --json` "
            "or --report gives each class's figures"
        )
    if (steps := steps_per_epoch(len(train_labels), tcfg) * tcfg.epochs) < FEW_STEPS and new:  # few epochs asked for
        epochs = f"--epochs {tcfg.epochs}" if opts.epochs is not None else f"the preset's {tcfg.epochs} epochs"
        warn(
            f"{data}: {len(train_labels)} training images make {steps} optimiser "
            f"step{'s' * (steps != 1)} in {epochs}, few to learn from; --epochs {epochs_for(len(train_labels), tcfg)} "
            f"gives {FEW_STEPS} (and may answer better)"
        )


def epochs_for(n: int, tcfg: TrainConfig) -> int:
    """The epochs a new run on a user's ``n`` training images takes when ``--epochs`` is not given:
    the preset's, or as many as make :data:`FEW_STEPS` optimiser steps where those make fewer (a
    small set of 192 training images makes 2 an epoch: after 15 epochs its rule refused no noise,
    after 100 all of it; docs/experiments.md, "A small set of one's own")."""
    return max(tcfg.epochs, math.ceil(FEW_STEPS / steps_per_epoch(n, tcfg)))


def enough_steps(tcfg: TrainConfig, n: int, data: str | None, log: Callable[[str], None]) -> TrainConfig:
    """``tcfg`` with :func:`epochs_for`'s epochs for ``n`` training images of a user's set (no
    ``--epochs`` given), said when they are not the preset's."""
    if (epochs := epochs_for(n, tcfg)) == tcfg.epochs:
        return tcfg
    k = steps_per_epoch(n, tcfg)
    log(
        f"{data}: {n} training images make {k} optimiser step{'s' * (k != 1)} an epoch: "
        f"{epochs} epochs (the preset's {tcfg.epochs}) make at least {FEW_STEPS} (--epochs sets another number)"
    )
    return replace(tcfg, epochs=epochs)


def steps_per_epoch(n: int, tcfg: TrainConfig) -> int:
    """The optimiser steps an epoch of ``n`` training images takes: one per batch, the last one ragged."""
    return math.ceil(n / tcfg.batch_size)


def check_training(tcfg: TrainConfig, spec: InputSpec, data: str, classes: tuple[str, ...]) -> tuple[str, ...]:
    """The training options that need the data's form, checked before any model is built: the
    degraded share, and the outlier families left out (:func:`idk.training.batches.outlier_families`),
    which must not teach a class as unlike every class (a class named by a character of the
    ``glyphs`` family). Returns the names of the families the run trains on (none without outlier
    exposure)."""
    for option, share in (("--degrade", tcfg.degrade), ("--printed", tcfg.printed), ("--variants", tcfg.variants)):
        if not 0.0 <= share <= 1.0:
            raise IdkError(f"{option} {share}: is not a fraction in [0, 1]")
    if tcfg.flip and spec.drawn:
        raise IdkError(
            f"{data}: --flip: its images are drawn symbols (digits, letters), and a mirrored symbol is "
            "another one or none; drop --flip"
        )
    try:
        families = tuple(outlier_families(spec, tcfg))
    except ValueError as err:
        raise IdkError(f"{data}: --drop-outliers: {err}") from None
    trained = families if tcfg.outlier_weight > 0 else ()
    if "glyphs" in trained and (clash := glyph_classes(classes)):
        raise IdkError(
            f"{data}: the classes {', '.join(clash)} are (or look like) characters that the glyphs outlier "
            "family trains as unlike every class: train with --drop-outliers glyphs"
        )
    return trained
