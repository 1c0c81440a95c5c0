"""What a user may change of a training run (:class:`TrainOptions`, one field per option of
``idk train``), checked as the command line checks them (:func:`checked`), and applied to a preset
(:func:`configure`)."""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from idk.choices import AUTO_SCORE, OUTLIER_FAMILIES, SCHEDULES
from idk.decision.scores import SCORES
from idk.errors import IdkError, a_type
from idk.nn.guides import GUIDES
from idk.nn.networks import ARCHITECTURES
from idk.nn.priors import PRIORS
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
    prior: str | None = None
    prior_scale: float | None = None
    guide: str | None = None
    arch: str | None = None
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


def given_for(opts: TrainOptions, *configs: type) -> list[str]:
    """The options given in ``opts`` (not None) that are fields of any of the dataclasses ``configs``
    (what :func:`configure` applies to them), in ``opts``' order."""
    names = {f.name for config in configs for f in dataclasses.fields(config)}
    return [f.name for f in dataclasses.fields(opts) if f.name in names and getattr(opts, f.name) is not None]


# the numbers of TrainOptions by what they must be (None is always allowed: the preset's value)
_WHOLE = ("epochs", "batch_size", "dense", "members", "train_subset", "samples")
_POSITIVE = ("lr", "kl_weight", "prior_scale")
_FRACTIONS = ("degrade", "printed", "variants", "target_refusal")  # [0, 1]
_OPEN_FRACTIONS = ("target_error", "confidence")  # (0, 1)


def flag(name: str) -> str:
    """The command-line option of a TrainOptions field: ``--image-size`` for ``image_size``."""
    return "--" + name.replace("_", "-")


def whole_number(value: Any) -> bool:
    """Whether ``value`` is a whole number (a numpy integer too), not a bool (which Python counts as one)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def real_number(value: Any) -> bool:
    """Whether ``value`` is a real number (numpy's too), not a bool."""
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
    elif whole_number(value):
        value = (value, value)
    if not (
        isinstance(value, (tuple, list)) and len(value) in (1, 2) and all(whole_number(v) and v > 0 for v in value)
    ):
        raise IdkError(f"--image-size {given!r}: give N, (H, W) or 'HxW', each a positive whole number")
    return (int(value[0]), int(value[-1]))


MAX_SEED = 2**31 - 1  # numpy's seeds end at 2³² − 1; each further posterior adds 1009 to the seed


def checked(opts: TrainOptions) -> TrainOptions:
    """``opts`` checked as ``idk train`` checks its options (a library caller gets the same one-line
    :class:`IdkError`s, before any work) and brought to one form: plain ints and floats (a numpy
    number is no checkpoint value), tuples, text paths, ``image_size`` as (H, W)."""
    values: dict[str, Any] = {}
    for name in _WHOLE:
        value = getattr(opts, name)
        if value is not None and not (whole_number(value) and value >= 1):
            raise IdkError(f"{flag(name)} {value!r}: give a whole number, at least 1")
        values[name] = None if value is None else int(value)
    for name, most in (("seed", MAX_SEED), ("val_size", None)):
        value = getattr(opts, name)
        if value is not None and not (whole_number(value) and 0 <= value and (most is None or value <= most)):
            raise IdkError(
                f"{flag(name)} {value!r}: give a whole number, 0 or more{f' (at most {most})' if most else ''}"
            )
        values[name] = None if value is None else int(value)
    for names, ok, requirement in (
        (_POSITIVE, lambda v: v > 0, "give a positive number"),
        (_FRACTIONS, lambda v: 0 <= v <= 1, "give a fraction in [0, 1]"),
        (_OPEN_FRACTIONS, lambda v: 0 < v < 1, "give a number strictly between 0 and 1"),
    ):
        for name in names:
            value = getattr(opts, name)
            if value is not None and not (real_number(value) and ok(value)):
                raise IdkError(f"{flag(name)} {value!r}: {requirement}")
            values[name] = None if value is None else float(value)
    if opts.target_refusal is not None and opts.target_error is not None:
        raise IdkError("give one of --target-refusal and --target-error, not both")
    for name in ("twin", "augment", "flip"):
        if getattr(opts, name) is not None and not isinstance(getattr(opts, name), bool):
            raise IdkError(f"{flag(name)} {getattr(opts, name)!r}: give True, False or None (the preset's)")
    if opts.channels is not None:
        if (
            isinstance(opts.channels, (str, bytes))
            or not (isinstance(opts.channels, Iterable) and (channels := list(opts.channels)))
            or not all(whole_number(c) and c >= 1 for c in channels)
        ):
            raise IdkError(f"--channels {opts.channels!r}: give one positive whole number per block")
        values["channels"] = tuple(int(c) for c in channels)
    if opts.schedule is not None and opts.schedule not in SCHEDULES:
        raise IdkError(f"--schedule {opts.schedule!r}: give one of {', '.join(SCHEDULES)}")
    # checked against the registries themselves: a score or prior added there is taken
    if opts.score is not None and opts.score not in (*SCORES, AUTO_SCORE):
        raise IdkError(f"--score {opts.score!r}: give one of {', '.join((*SCORES, 'auto'))}")
    if opts.prior is not None and opts.prior not in PRIORS:
        raise IdkError(f"--prior {opts.prior!r}: give one of {', '.join(PRIORS)}")
    if opts.guide is not None and opts.guide not in GUIDES:
        raise IdkError(f"--guide {opts.guide!r}: give one of {', '.join(GUIDES)}")
    if opts.arch is not None and opts.arch not in ARCHITECTURES:
        raise IdkError(f"--arch {opts.arch!r}: give one of {', '.join(ARCHITECTURES)}")
    if opts.drop_outliers is not None:
        dropped = [opts.drop_outliers] if isinstance(opts.drop_outliers, str) else list(opts.drop_outliers)
        values["drop_outliers"] = tuple(_family(name, "--drop-outliers") for name in dropped)
    if opts.outlier_weights is not None:
        weights = list(opts.outlier_weights.items() if isinstance(opts.outlier_weights, dict) else opts.outlier_weights)
        if not all(isinstance(w, (tuple, list)) and len(w) == 2 and real_number(w[1]) and w[1] > 0 for w in weights):
            raise IdkError(f"--outlier-weights {opts.outlier_weights!r}: give (family, weight > 0) pairs")
        values["outlier_weights"] = tuple((_family(n, "--outlier-weights"), float(w)) for n, w in weights)
    for name in ("data", "test_data"):
        value = getattr(opts, name)
        if value is not None and not isinstance(value, (str, Path)):
            raise IdkError(
                f"{flag(name)}: {a_type(value)} was given; give a data set's name or a path (a folder, or "
                "an .npz: arrays in memory are saved first, np.savez(path, images=X, labels=y, classes=names), "
                "so that the model's data can be found again to recalibrate, resume and evaluate)"
            )
        values[name] = None if value is None else str(value)
    given = [values.get(name) for name in ("data", "test_data")]
    if all(given) and (
        given[0] == given[1] or (Path(given[0]).exists() and Path(given[0]).resolve() == Path(given[1]).resolve())
    ):
        raise IdkError(
            f"--test-data {given[1]}: is the training data (--data): its figures would be on the images the model "
            "learned; give a set of its own, or leave --test-data out (a share of --data is then held out to test on)"
        )
    return replace(opts, image_size=image_size(opts.image_size), **values)


def _family(name: object, option: str) -> str:
    """A synthetic outlier family's name, refused unless one of :data:`idk.choices.OUTLIER_FAMILIES`."""
    if name not in OUTLIER_FAMILIES:
        raise IdkError(f"{option} {name!r}: not a synthetic outlier family ({', '.join(OUTLIER_FAMILIES)})")
    return str(name)
