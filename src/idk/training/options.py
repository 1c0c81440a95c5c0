"""What a user may change of a training run (:class:`TrainOptions`, one field per option of
``idk train``), checked as the command line checks them (:func:`checked`), and applied to a preset
(:func:`configure`)."""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from idk.choices import SCHEDULES
from idk.errors import IdkError
from idk.training.config import AUGMENTATION_SHARES, Preset


@dataclass
class TrainOptions:
    """What a user may change on the command line; None keeps the preset's value (the data:
    :data:`idk.data.catalog.DEFAULT_DATA`)."""

    data: str | None = None
    test_data: str | None = None
    image_size: tuple[int, int] | None = None
    epochs: int | None = None
    lr: float | None = None
    schedule: str | None = None
    kl_weight: float | None = None
    prior_scale: float | None = None
    channels: tuple[int, ...] | None = None
    dense: int | None = None
    members: int | None = None
    batch_size: int | None = None
    seed: int | None = None
    train_subset: int | None = None
    val_size: int | None = None
    twin: bool | None = None
    augment: bool | None = None
    degrade: float | None = None
    printed: float | None = None
    variants: float | None = None
    flip: bool | None = None
    drop_outliers: tuple[str, ...] | None = None
    outlier_weights: tuple[tuple[str, float], ...] | None = None
    samples: int | None = None
    score: str | None = None
    target_refusal: float | None = None
    target_error: float | None = None
    confidence: float | None = None


def configure(preset: Preset, opts: TrainOptions) -> Preset:
    """The preset with the user's overrides applied."""
    values = {k: v for k, v in dataclasses.asdict(opts).items() if v is not None}
    if values.get("augment") is False:
        for share in AUGMENTATION_SHARES:  # no augmentation means none: degradation, printed names, variants
            values.setdefault(share, 0.0)

    def overrides(config: Any) -> dict[str, Any]:
        """The options that are fields of ``config`` (a dataclass)."""
        names = {f.name for f in dataclasses.fields(config)}
        return {k: v for k, v in values.items() if k in names}

    model = replace(
        preset.model, net=replace(preset.model.net, **overrides(preset.model.net)), **overrides(preset.model)
    )
    train = replace(preset.train, **overrides(preset.train))
    rule_values = overrides(preset.rule)
    if "target_error" in rule_values:
        rule_values.setdefault("target_refusal", None)
    elif "target_refusal" in rule_values:
        rule_values["target_error"] = None
    return replace(preset, model=model, train=train, rule=replace(preset.rule, **rule_values))


# the numbers of TrainOptions by what they must be (None is always allowed: the preset's value)
_WHOLE = ("epochs", "batch_size", "dense", "members", "train_subset", "samples")
_POSITIVE = ("lr", "kl_weight", "prior_scale")
_FRACTIONS = ("degrade", "printed", "variants", "target_refusal")  # [0, 1]
_OPEN_FRACTIONS = ("target_error", "confidence")  # (0, 1)


def flag(name: str) -> str:
    """The command-line option of a TrainOptions field: ``--image-size`` for ``image_size``."""
    return "--" + name.replace("_", "-")


def _whole(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def image_size(value: Any) -> tuple[int, int] | None:
    """``--image-size`` as (height, width): N, (H, W) or the text "N" / "HxW"; None stays None."""
    if value is None:
        return None
    given = value
    if isinstance(value, str):
        parts = value.lower().replace("×", "x").split("x")
        try:
            value = tuple(int(p) for p in parts)
        except ValueError:
            value = ()
    elif _whole(value):
        value = (value, value)
    if not (isinstance(value, (tuple, list)) and len(value) in (1, 2) and all(_whole(v) and v > 0 for v in value)):
        raise IdkError(f"--image-size {given!r}: give N, (H, W) or 'HxW', each a positive whole number")
    return (int(value[0]), int(value[-1]))


def checked(opts: TrainOptions) -> TrainOptions:
    """``opts`` checked as ``idk train`` checks its options (a library caller gets the same one-line
    :class:`IdkError`s, before any work), ``image_size`` brought to (H, W)."""
    for name in _WHOLE:
        value = getattr(opts, name)
        if value is not None and not (_whole(value) and value >= 1):
            raise IdkError(f"{flag(name)} {value!r}: give a whole number, at least 1")
    for name in ("seed", "val_size"):
        value = getattr(opts, name)
        if value is not None and not (_whole(value) and value >= 0):
            raise IdkError(f"{flag(name)} {value!r}: give a whole number, 0 or more")
    for name in _POSITIVE:
        value = getattr(opts, name)
        if value is not None and not (_number(value) and value > 0):
            raise IdkError(f"{flag(name)} {value!r}: give a positive number")
    for name in _FRACTIONS:
        value = getattr(opts, name)
        if value is not None and not (_number(value) and 0 <= value <= 1):
            raise IdkError(f"{flag(name)} {value!r}: give a fraction in [0, 1]")
    for name in _OPEN_FRACTIONS:
        value = getattr(opts, name)
        if value is not None and not (_number(value) and 0 < value < 1):
            raise IdkError(f"{flag(name)} {value!r}: give a number strictly between 0 and 1")
    if opts.target_refusal is not None and opts.target_error is not None:
        raise IdkError("give one of --target-refusal and --target-error, not both")
    if opts.channels is not None and not (
        isinstance(opts.channels, (tuple, list)) and opts.channels and all(_whole(c) and c >= 1 for c in opts.channels)
    ):
        raise IdkError(f"--channels {opts.channels!r}: give one positive whole number per block")
    if opts.schedule is not None and opts.schedule not in SCHEDULES:
        raise IdkError(f"--schedule {opts.schedule!r}: give one of {', '.join(SCHEDULES)}")
    for name in ("data", "test_data"):
        value = getattr(opts, name)
        if value is not None and not isinstance(value, (str, Path)):
            raise IdkError(f"{flag(name)} {value!r}: give a data set's name or a path")
    return replace(
        opts,
        image_size=image_size(opts.image_size),
        channels=tuple(opts.channels) if opts.channels is not None else None,
        data=str(opts.data) if opts.data is not None else None,
        test_data=str(opts.test_data) if opts.test_data is not None else None,
    )
