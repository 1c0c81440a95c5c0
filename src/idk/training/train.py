"""``idk train``: train a preset on a data set, calibrate its rule on held-out training images, save.

Checkpoints are written after every epoch (atomically), so ``resume=True`` continues a killed run
from its last completed epoch with the optimiser state and the data order it would have had.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyro
import torch

from idk.choices import AUTO_SCORE
from idk.data.catalog import DEFAULT_DATA, fingerprint, training_data
from idk.data.glyphs import glyph_bank, glyph_classes, printable, rendered_digest
from idk.data.images import ImageSet, InputSpec
from idk.data.named import NAMED
from idk.data.sources import DataConfig
from idk.data.synthetic import scribbles_for
from idk.data.variants import VARIANTS, variant_labels
from idk.decision.calibration import few_to_calibrate
from idk.decision.memory import check_samples
from idk.decision.rules import infeasible_advice
from idk.devices import resolve_device
from idk.errors import CheckpointError, DataError, IdkError
from idk.nn.bnn import (
    DeterministicNet,
    Model,
    ModelConfig,
    bayesian_members,
    build_model,
    kl_in_closed_form,
    with_data,
)
from idk.progress import Progress
from idk.training import checkpoint as ckpt_io
from idk.training import distributed
from idk.training.batches import outlier_families, trained_printed
from idk.training.checkpoint import Checkpoint, member_key
from idk.training.config import Preset, TrainConfig, get_preset, preset_for
from idk.training.fitting import FitState, fit
from idk.training.options import TrainOptions, checked, configure
from idk.training.resumption import (
    check_same_data,
    check_same_rendering,
    finished_run,
    gone_too,
    restore,
    resumed_outliers,
    resumed_preset,
)
from idk.training.rule_fitting import (
    FIXED_THRESHOLD,
    base_rule,
    fit_rules,
    selection_target,
    stand_in,
    too_few_to_choose,
)
from idk.training.splits import (
    by_class,
    split,
    tuning_split,
    untrained_classes,
    untrained_reason,
    used_images,
    validation_size,
)


def already_there(out: Path) -> str:
    """What stops a new run from writing ``out``, an existing file: the model it holds, or that it holds none."""
    try:
        held = ckpt_io.read(out)
    except CheckpointError as err:  # not one, or one this idk cannot read: its reason, without the path
        why = str(err).removeprefix(f"{out}: ")
        return f"exists: {why}; --overwrite replaces it, or give another --out"
    except OSError as err:
        return f"exists and cannot be read ({err.strerror or err}); --overwrite replaces it, or give another --out"
    if held.finished:
        return (
            f"holds a finished model ({len(held.classes)} classes); --overwrite "
            "replaces it, --resume with a larger --epochs trains it longer, or give another --out"
        )
    return (
        f"holds an unfinished model ({len(held.classes)} classes, {held.training_progress()}); --resume goes on "
        "with it, --overwrite replaces it, or give another --out"
    )


# fewer optimiser steps than this (a small set, or few epochs asked for) are said, with the epochs for as many
FEW_STEPS = 200
FEW_PER_CLASS = 10  # a class with fewer training images than this is said


def train(
    out: str | Path,
    preset_name: str | None = None,
    data: DataConfig | None = None,
    opts: TrainOptions | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    device: str | torch.device | None = None,
    overwrite: bool = False,
) -> Checkpoint:
    """Train, calibrate and save; return the checkpoint. ``preset_name`` None: the preset chosen
    for the data set (:func:`idk.training.config.preset_for`), or the resumed run's. ``device``:
    where to train (:func:`idk.devices.resolve_device`; None: ``auto``). Started by torchrun, the
    processes train one model together (:mod:`idk.training.distributed`); rank 0 alone writes.
    A file already at ``out`` is resumed (``resume``), replaced (``overwrite``), or refused."""
    out = Path(out)
    data = data or DataConfig.from_env()
    opts = checked(opts or TrainOptions())
    if out.is_dir():
        raise IdkError(f"{out}: is a folder; give the checkpoint's file path (e.g. {out / 'model.pt'})")
    if resume and overwrite:
        raise IdkError("give --resume (go on with --out's model) or --overwrite (replace it), not both")
    if not resume and not overwrite and out.exists():
        raise IdkError(f"{out}: {already_there(out)}")
    replicas, device = distributed.setup(resolve_device(device))
    progress = (progress or Progress(quiet=True)) if replicas.is_main else Progress(muted=True)
    if replicas.active:  # else the run's lines read as one process's
        progress.log(f"{replicas.world} processes train one model together ({distributed.backend()} on {device})")
    if resume and not out.exists():
        raise CheckpointError(f"{out}: nothing to resume (no such file); drop --resume, or use --resume-if-exists")
    previous = ckpt_io.read(out) if resume else None
    if previous is None:
        preset = configure(get_preset(preset_for(opts.data or DEFAULT_DATA, preset_name)), opts)
        if opts.score is not None and not preset.rule.targeted:
            raise IdkError(f"--score {opts.score}: the {preset.name} preset's {FIXED_THRESHOLD}")
    else:  # its preset and data; only the number of epochs may change
        preset = resumed_preset(previous, preset_name, opts, out)
        if resumes_nothing(previous, opts.epochs):
            kept = finished_run(previous, opts, data, out, progress, write=replicas.is_main)
            distributed.teardown(replicas)
            return kept
        stored = previous.data
        gone_too(previous, opts, out)
        opts = replace(
            opts,
            data=opts.data or stored.data,
            test_data=opts.test_data or stored.test_data,
            image_size=opts.image_size or (None if stored.data in NAMED else stored.image_size),
        )
    source = training_data(opts.data or DEFAULT_DATA, data, opts.test_data, opts.image_size, warn=progress.warn)
    tcfg = preset.train
    families = _check_training(tcfg, source.spec, opts.data or DEFAULT_DATA, source.train.classes)
    scribbles = scribbles_for(source.spec)
    if previous is None:
        _unused_options(opts, source.spec, source.train.classes, progress.warn)
    full = used_images(source.train, tcfg)
    # a resumed run keeps its validation images (a checkpoint from before 2026-12-06 drew them over all)
    stratified = previous.validation_by_class if previous is not None else by_class(source.record.data)
    train_set, val_set = split(full, tcfg, stratified)
    if untrained := untrained_classes(full, train_set):
        raise DataError(f"{opts.data or DEFAULT_DATA}: no training image for {untrained_reason(untrained, tcfg)}")
    if previous is None and opts.epochs is None and (opts.data or DEFAULT_DATA) not in NAMED:
        tcfg = _enough_steps(tcfg, len(train_set), opts.data, progress.log)
        preset = replace(preset, train=tcfg)
    model_cfg = with_data(preset.model, source.spec.shape, len(full.classes))
    if previous is not None and not any(
        v is not None for v in (opts.channels, opts.dense, opts.prior, opts.prior_scale, opts.guide, opts.members)
    ):
        model_cfg = previous.model_config  # no architecture option given: the stored one
    data_fingerprint = fingerprint(full)
    # the versions first (another Pillow may decode the same files otherwise); Python's to the minor version
    versions = {k: v.rsplit(".", 1)[0] if k == "python" else v for k, v in ckpt_io.versions().items()}
    replicas.same_everywhere("package versions", versions, "install the same requirements on every machine")
    replicas.same_everywhere(
        "training data",
        f"{data_fingerprint['n']} images, SHA-256 {data_fingerprint['sha256'][:12]}",
        "give every machine the same data files (IDK_DATA_DIR, --data-dir, --data)",
    )
    if previous is not None:
        check_same_data(
            previous, model_cfg, source.record, data_fingerprint, opts.data, len(full.classes), source.spec, out
        )
        families, added = resumed_outliers(previous, families, scribbles, source.spec, out)
        if added:  # a family added to idk since the run began (none is dropped on resuming): left out
            tcfg = replace(tcfg, drop_outliers=(*tcfg.drop_outliers, *added))
            preset = replace(preset, train=tcfg)
    rendered = rendered_fingerprints(tcfg, source.spec, families, full.classes)
    replicas.same_everywhere(
        "font-rendered training images",
        rendered,
        "install the same fonts, Pillow and FreeType on every machine (`idk info` lists the versions)",
    )
    if previous is not None:
        check_same_rendering(previous, rendered, out)
    model, twin = _models(model_cfg, tcfg, len(train_set), opts.data or DEFAULT_DATA)
    states = {key: FitState() for key in [*map(member_key, range(model_cfg.members)), "twin"]}
    if previous is not None:
        restore(previous, model, twin, states, tcfg.epochs, replicas.world, out, progress.log)
    model.to(device)
    if twin is not None:
        twin.to(device)
    # before training (not when the rule is fitted at its end), and before the warnings below
    check_samples(model, preset.rule.samples)
    if model_cfg.bayesian and tcfg.elbo == "meanfield" and not kl_in_closed_form(model_cfg):
        progress.warn(
            f"the {model_cfg.prior} prior has no closed-form KL divergence from the {model_cfg.guide} guide "
            "(torch.distributions.kl knows no such pair): Pyro estimates it from each step's sampled weights, "
            "a noisier gradient"
        )
    _before_training(preset, opts, source.record.data, full, train_set, val_set, previous is None, progress.warn)
    provisional = base_rule(preset.rule, stand_in(preset.rule)).as_dict()
    ckpt = Checkpoint(
        kind=type(model).__name__,
        model_config=model_cfg,
        state_dict=model.state_dict(),
        classes=full.classes,
        input_spec=source.spec,
        rule={**provisional, "calibration": {"method": "fixed"}},
        rule_config=preset.rule,
        train_config=tcfg,
        data=source.record,
        preset=preset.name,
        dataset_size=len(train_set),
        validation_size=len(val_set),
        validation_by_class=stratified,
        data_fingerprint=data_fingerprint,
        outlier_families=families,
        scribbles=scribbles if "strokes" in families else None,
        rendered=rendered,
        processes=replicas.world,
    )

    def save(**fields: Any) -> Checkpoint:
        nonlocal ckpt
        ckpt = replace(
            ckpt,
            state_dict=model.state_dict(),
            history=states["model"].history,
            training_state={k: s.as_dict() for k, s in states.items()},
            **fields,
        )
        if twin is not None:
            ckpt = replace(ckpt, twin_state_dict=twin.state_dict(), twin_history=states["twin"].history)
        if replicas.is_main:
            ckpt_io.save(ckpt, out)
        return ckpt

    for key, net, label, cfg in fitted_parts(model, twin, tcfg):
        fit(
            net,
            train_set.images,
            train_set.labels,
            cfg,
            spec=source.spec,
            state=states[key],
            progress=progress,
            label=label,
            on_epoch=lambda st: save(),
            replicas=replicas,
            classes=full.classes,
        )
    # the rule on the whole validation split, fitted by rank 0 while the others wait for it
    fitted = fit_rules(model, twin, val_set, preset.rule, tcfg.seed, source, progress) if replicas.is_main else None
    rule_dict, extra = replicas.from_main(fitted)
    for key, net in (("temperature", model), ("twin_temperature", twin)):  # rank 0 set its own in place
        if net is not None and key in extra:
            net.temperature.fill_(extra[key]["value"])
    extra["metrics"]["final_loss"] = states["model"].history[-1]["loss"] if states["model"].history else None
    ckpt = save(rule=rule_dict, finished=True, **extra)
    if advice := infeasible_advice(rule_dict):
        progress.warn(f"{out}: {advice}; `idk calibrate` sets another target without training again")
    replicas.barrier()  # the finished checkpoint is written before any process returns
    distributed.teardown(replicas)
    return ckpt


def _models(model_cfg: ModelConfig, tcfg: TrainConfig, n: int, data: str) -> tuple[Model, DeterministicNet | None]:
    """The model to train on ``n`` images, and its deterministic twin when ``tcfg`` asks for one,
    their initial weights drawn from ``tcfg.seed``. IdkError for a network the images do not fit."""
    pyro.set_rng_seed(tcfg.seed)
    try:
        model = build_model(model_cfg, dataset_size=n)
        twin = build_model(replace(model_cfg, bayesian=False), n) if tcfg.twin else None
    except ValueError as err:
        raise IdkError(f"{data}: {err} (try --image-size, --channels or --preset tutorial)") from None
    return model, twin


def _unused_options(opts: TrainOptions, spec: InputSpec, classes: tuple[str, ...], warn: Callable[[str], None]) -> None:
    """Warn of the given shares of drawn symbols' training images that this data does not use."""
    data = opts.data or DEFAULT_DATA
    if opts.degrade and not spec.drawn:
        warn(f"--degrade applies to drawn symbols only: the images of {data} are not degraded")
    if opts.printed and not (spec.drawn and printable(classes)):
        warn(f"--printed applies to drawn symbols named by one letter or digit each: no class of {data} is printed")
    if opts.variants and not (spec.drawn and variant_labels(classes)):
        warn(
            f"--variants applies to drawn symbols with a class of a written variant ({', '.join(VARIANTS)}): "
            f"no class of {data} has one"
        )


def _before_training(
    preset: Preset,
    opts: TrainOptions,
    recorded: str,
    full: ImageSet,
    train_set: ImageSet,
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
        if not tcfg.val_size:  # the tutorial's preset, or TrainOptions(val_size=0)
            why, advice = f"the {preset.name} preset holds none out", "choose another --preset"
        else:
            why = "too few training images" if not validation_size(len(full), tcfg) else "no class has a second image"
            advice = (
                f"give each class more images (a fifth of them, at most {tcfg.val_size}, are held out for the rule)"
            )
        warn(
            f"{data}: no validation image is held out to set the rule's threshold ({why}): "
            f"it keeps a fixed one, not set for its target; {advice}"
        )
    elif preset.rule.target_refusal is not None:
        if few := few_to_calibrate(held, preset.rule.target_refusal):
            warn(
                f"{data}: {few}; more training images narrow it (a fifth of them, at most "
                f"{tcfg.val_size}, are held out for the rule)"
            )
    counts = torch.bincount(train_set.labels, minlength=len(full.classes)).tolist()
    if new and (rare := [(c, n) for c, n in zip(full.classes, counts, strict=True) if n < FEW_PER_CLASS]):
        listed = ", ".join(f"{c} ({n})" for c, n in rare[:5]) + (f" and {len(rare) - 5} more" if len(rare) > 5 else "")
        warn(
            f"{data}: few training images for {listed}, under {FEW_PER_CLASS}: the model learns little of "
            f"{'them' if len(rare) > 1 else 'it'} and may answer wrongly with confidence; `idk evaluate --json` "
            "or --report gives each class's figures"
        )
    if (steps := steps_per_epoch(len(train_set), tcfg) * tcfg.epochs) < FEW_STEPS and new:  # few epochs asked for
        epochs = f"--epochs {tcfg.epochs}" if opts.epochs is not None else f"the preset's {tcfg.epochs} epochs"
        warn(
            f"{data}: {len(train_set)} training images make {steps} optimiser "
            f"step{'s' * (steps != 1)} in {epochs}, few to learn from; --epochs {epochs_for(len(train_set), tcfg)} "
            f"gives {FEW_STEPS} (and may answer better)"
        )


def epochs_for(n: int, tcfg: TrainConfig) -> int:
    """The epochs a new run on a user's ``n`` training images takes when ``--epochs`` is not given:
    the preset's, or as many as make :data:`FEW_STEPS` optimiser steps where those make fewer (a
    small set of 192 training images makes 2 an epoch: after 15 epochs its rule refused no noise,
    after 100 all of it; docs/experiments.md, "A small set of one's own")."""
    return max(tcfg.epochs, math.ceil(FEW_STEPS / steps_per_epoch(n, tcfg)))


def _enough_steps(tcfg: TrainConfig, n: int, data: str | None, log: Callable[[str], None]) -> TrainConfig:
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


def resumes_nothing(previous: Checkpoint, epochs: int | None) -> bool:
    """Whether resuming the run ``previous`` with ``--epochs`` ``epochs`` (None: its own) has nothing
    left to train: :func:`train` then returns it as it is, the file untouched."""
    return previous.finished and epochs in (None, previous.train_config.epochs)


# member k of a mixture trains with seed + k · this (member 0 with the run's own seed, as one posterior
# would); runs whose seeds differ by a multiple of it share members' data orders, not their initial weights
MEMBER_SEED_STEP = 1009


def fitted_parts(
    model: Model, twin: DeterministicNet | None, tcfg: TrainConfig
) -> Iterator[tuple[str, Model, str, TrainConfig]]:
    """What :func:`train` fits, in order: (state key, network, progress label, its training settings).
    A mixture's members one after the other, each from its own seed (its initial weights were
    drawn apart when the mixture was built), member 0 under the key a single BNN has; then the twin."""
    members = bayesian_members(model)
    for k, member in enumerate(members):
        label = "bayes" if len(members) == 1 else f"bayes {k + 1}/{len(members)}"
        yield member_key(k), member, label, replace(tcfg, seed=tcfg.seed + MEMBER_SEED_STEP * k)
    if twin is not None:
        yield "twin", twin, "twin", tcfg


def rendered_fingerprints(
    tcfg: TrainConfig, spec: InputSpec, families: tuple[str, ...], classes: tuple[str, ...]
) -> dict[str, str]:
    """Fingerprints (:func:`idk.data.glyphs.rendered_digest`) of the font-rendered images a run trains
    on: ``glyphs``, the outlier glyphs, when that family is trained; ``printed``, the class names in
    print, when a share of them is (as :mod:`idk.training.batches` draws them)."""
    out = {}
    if "glyphs" in families:
        out["glyphs"] = rendered_digest(glyph_bank(spec.height, spec.width))
    if (printed := trained_printed(tcfg, spec, classes)) is not None:
        out["printed"] = rendered_digest(printed[0])
    return out


def _check_training(tcfg: TrainConfig, spec: InputSpec, data: str, classes: tuple[str, ...]) -> tuple[str, ...]:
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
