"""``idk train``: train a preset on a data set, calibrate its rule on held-out training images, save.

Checkpoints are written after every epoch (atomically), so ``resume=True`` continues a killed run
from its last completed epoch with the optimiser state and the data order it would have had.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyro
import torch

from idk.data.catalog import DEFAULT_DATA, training_data
from idk.data.fingerprints import fingerprint, image_digests
from idk.data.glyphs import glyph_bank, rendered_digest
from idk.data.images import InputSpec
from idk.data.named import NAMED
from idk.data.preparation import flat_images_seen
from idk.data.sources import DATA_CONFIG_HINT, DataConfig
from idk.data.synthetic import scribbles_for
from idk.decision.memory import check_samples
from idk.decision.rules import infeasible_advice
from idk.devices import resolve_device
from idk.errors import CheckpointError, DataError, IdkError, expect
from idk.nn.bnn import (
    DeterministicNet,
    Model,
    ModelConfig,
    bayesian_members,
    build_model,
    kl_in_closed_form,
    with_data,
)
from idk.nn.networks import NetConfig, check_bayesian
from idk.progress import Progress, duration
from idk.training import checkpoint as ckpt_io
from idk.training import distributed
from idk.training.batches import trained_printed
from idk.training.checkpoint import Checkpoint, member_key
from idk.training.config import TrainConfig, get_preset, preset_for
from idk.training.fitting import FitState, fit, part_epochs
from idk.training.held_out import HeldOut
from idk.training.notices import say_measured
from idk.training.options import TrainOptions, checked, configure, given_for
from idk.training.preflight import check_training, enough_steps, warn_before_training, warn_unused_options
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
    stand_in,
)
from idk.training.splits import (
    by_class,
    split_rows,
    untrained_classes,
    untrained_reason,
    used_images,
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
    started, out = time.perf_counter(), Path(out)
    expect(data, DataConfig, "train(data=...)", DATA_CONFIG_HINT + "; the set to train on is TrainOptions(data=...)")
    expect(
        opts, TrainOptions, "train(opts=...)", "TrainOptions(data=..., epochs=...), each field a command-line option"
    )
    data = data or DataConfig.from_env()
    opts = checked(opts or TrainOptions())
    check_out(out, resume, overwrite)
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
            say_measured(kept, out, progress.warn)
            distributed.teardown(replicas)
            return kept
        stored = previous.data
        gone_too(previous, opts, out)
        data = previous.reading(data)  # its tables and grey files read as they were
        opts = replace(
            opts,
            data=opts.data or stored.data,
            test_data=opts.test_data or stored.test_data,
            image_size=opts.image_size or (None if stored.data in NAMED else stored.image_size),
        )
    source = training_data(opts.data or DEFAULT_DATA, data, opts.test_data, opts.image_size, warn=progress.warn)
    tcfg = preset.train
    families = check_training(tcfg, source.spec, opts.data or DEFAULT_DATA, source.train.classes)
    scribbles = scribbles_for(source.spec)
    if previous is None:
        warn_unused_options(opts, source.spec, source.train.classes, progress.warn, preset.model.net)
    full = used_images(source.train, tcfg)
    # a resumed run keeps its validation images (a checkpoint from before 2026-12-06 drew them over all)
    stratified = previous.validation_by_class if previous is not None else by_class(source.record.data)
    # training reads its rows of the set in place; the validation images are a set of their own
    train_rows, val_rows = split_rows(full, tcfg, stratified)
    train_labels, val_set = full.labels[train_rows], full.subset(val_rows, "validation")
    if untrained := untrained_classes(full, train_labels):
        raise DataError(f"{opts.data or DEFAULT_DATA}: no training image for {untrained_reason(untrained, tcfg)}")
    if previous is None and opts.epochs is None and (opts.data or DEFAULT_DATA) not in NAMED:
        tcfg = enough_steps(tcfg, len(train_rows), opts.data, progress.log)
        preset = replace(preset, train=tcfg)
    model_cfg = with_data(preset.model, source.spec.shape, len(full.classes))
    if previous is not None and not given_for(opts, ModelConfig, NetConfig):
        model_cfg = previous.model_config  # no option of the model given: the stored one
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
    model, twin = _models(model_cfg, tcfg, len(train_rows), opts.data or DEFAULT_DATA)
    states = {key: FitState() for key in [*map(member_key, range(model_cfg.members)), "twin"]}
    if previous is not None:
        restore(previous, model, twin, states, tcfg.epochs, replicas.world, out, progress.log)
    model.to(device)
    if twin is not None:
        twin.to(device)
    # before training (not when the rule is fitted at its end), and before the warnings below
    check_samples(model, preset.rule.samples)
    if model_cfg.bayesian and tcfg.elbo == "meanfield" and not kl_in_closed_form(model_cfg):
        progress.warn(KL_ESTIMATED.format(prior=model_cfg.prior, guide=model_cfg.guide))
    warn_before_training(preset, opts, source.record.data, full, train_labels, val_set, previous is None, progress.warn)
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
        dataset_size=len(train_rows),
        validation_size=len(val_set),
        validation_by_class=stratified,
        data_fingerprint=data_fingerprint,
        training_digests=image_digests(full.images),  # a test set sharing its images is said by evaluate
        outlier_families=families,
        scribbles=scribbles if "strokes" in families else None,
        rendered=rendered,
        processes=replicas.world,
        flat_seen=source.spec.preparation != "mnist" and flat_images_seen(full.images.numpy()),
    )
    save = Saver(ckpt, model, twin, states, out, replicas)
    # each epoch's held-out figures: rank 0's alone (every process holds the same weights)
    held_out = HeldOut.sample(val_set.images, val_set.labels, tcfg.seed) if replicas.is_main else None
    after_epoch = EpochEnd(save, list(fitted_parts(model, twin, tcfg)), progress)
    for key, net, label, cfg in after_epoch.parts:
        fit(
            net,
            full.images,
            full.labels,
            cfg,
            spec=source.spec,
            state=states[key],
            progress=progress,
            label=label,
            on_epoch=after_epoch,
            replicas=replicas,
            classes=full.classes,
            held_out=held_out,
            rows=train_rows,
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
    say_measured(ckpt, out, progress.warn)
    replicas.barrier()  # the finished checkpoint is written before any process returns
    session = " (this session's part)" if previous is not None else ""
    progress.log(f"{out}: trained and its rule fitted in {duration(time.perf_counter() - started)}{session}")
    distributed.teardown(replicas)
    return ckpt


def check_out(out: Path, resume: bool, overwrite: bool) -> None:
    """IdkError where ``out`` cannot be trained into as asked: a folder, both ``resume`` and
    ``overwrite``, or a file there that neither names (said by :func:`already_there`)."""
    if out.is_dir():
        raise IdkError(f"{out}: is a folder; give the checkpoint's file path (e.g. {out / 'model.pt'})")
    if resume and overwrite:
        raise IdkError("give --resume (go on with --out's model) or --overwrite (replace it), not both")
    if not resume and not overwrite and out.exists():
        raise IdkError(f"{out}: {already_there(out)}")


KL_ESTIMATED = (
    "the {prior} prior has no closed-form KL divergence from the {guide} guide (torch.distributions.kl knows "
    "no such pair): Pyro estimates it from each step's sampled weights, a noisier gradient"
)


@dataclass
class Saver:
    """What writes a run's checkpoint (rank 0 alone, atomically) after every epoch and at its end:
    ``ckpt`` with the weights, histories and training states of ``model``, ``twin`` and ``states``
    as they are when it is called, and the ``fields`` given; :attr:`ckpt` the last one made."""

    ckpt: Checkpoint
    model: Model
    twin: DeterministicNet | None
    states: dict[str, FitState]
    out: Path
    replicas: distributed.Replicas

    def __call__(self, **fields: Any) -> Checkpoint:
        states = self.states
        self.ckpt = replace(
            self.ckpt,
            state_dict=self.model.state_dict(),
            history=states["model"].history,
            training_state={k: s.as_dict() for k, s in states.items()},
            **fields,
        )
        if self.twin is not None:
            self.ckpt = replace(self.ckpt, twin_state_dict=self.twin.state_dict(), twin_history=states["twin"].history)
        if self.replicas.is_main:
            ckpt_io.save(self.ckpt, self.out)
        return self.ckpt


@dataclass
class EpochEnd:
    """What follows each epoch of each of the ``parts`` (:func:`fitted_parts`) a run fits: the
    checkpoint saved, and after this session's first epoch (rank 0) how long the rest takes, where
    that is long (:func:`pace_note`)."""

    save: Saver
    parts: list[tuple[str, Model, str, TrainConfig]]
    progress: Progress
    paced: bool = False

    def __call__(self, state: FitState) -> None:
        self.save()
        if not self.paced and self.save.replicas.is_main:
            self.paced = True
            states = self.save.states
            left = {key: max(0, part_epochs(net, cfg) - states[key].epoch) for key, net, _, cfg in self.parts}
            if note := pace_note(state.history[-1]["seconds"], left.pop("twin", 0), sum(left.values())):
                self.progress.log(note)


def _models(model_cfg: ModelConfig, tcfg: TrainConfig, n: int, data: str) -> tuple[Model, DeterministicNet | None]:
    """The model to train on ``n`` images, and its deterministic twin when ``tcfg`` asks for one,
    their initial weights drawn from ``tcfg.seed``. IdkError for a network the images do not fit."""
    pyro.set_rng_seed(tcfg.seed)
    try:
        model = build_model(model_cfg, dataset_size=n)
        if model_cfg.bayesian:
            check_bayesian(model, model_cfg.net.arch)
        twin = build_model(replace(model_cfg, bayesian=False), n) if tcfg.twin else None
    except ValueError as err:
        raise IdkError(f"{data}: {err} (try --image-size, --channels or --preset tutorial)") from None
    return model, twin


def resumes_nothing(previous: Checkpoint, epochs: int | None) -> bool:
    """Whether resuming the run ``previous`` with ``--epochs`` ``epochs`` (None: its own) has nothing
    left to train: :func:`train` then returns it as it is, the file untouched."""
    return previous.finished and epochs in (None, previous.train_config.epochs)


PACE_NOTE_AFTER = 120.0  # seconds of training left, by the first epoch's pace, before the run's length is said


def pace_note(seconds: float, twin_left: int, bayes_left: int) -> str | None:
    """How long the Bayesian epochs left take at the pace of the first (``seconds`` each), where that
    is :data:`PACE_NOTE_AFTER` or more: a small set of large photos took half an hour with no word
    of it (its epochs: as many as make 200 steps, for each of the mixture's three members)."""
    if bayes_left * seconds < PACE_NOTE_AFTER:
        return None
    twin = f", then the deterministic twin's {twin_left}" if twin_left else ""
    return (
        f"at {seconds:.1f} s an epoch, the {bayes_left} Bayesian epochs left take about "
        f"{duration(bayes_left * seconds)}{twin} (a smaller --image-size, fewer --epochs or --members shorten it)"
    )


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
