"""``idk train``: train a preset on MNIST, calibrate its rule on held-out training images, save.

Checkpoints are written after every epoch (atomically), so ``resume=True`` continues a killed run
from its last completed epoch with the optimiser state and the data order it would have had.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyro
import torch

from idk.data.sources import DIGITS, DataConfig, ImageSet, mnist
from idk.data.synthetic import HELD_OUT_FAMILIES, synthetic_outliers
from idk.decision.predictive import predict
from idk.decision.rules import ScoreRule
from idk.decision.scores import make_score
from idk.errors import CheckpointError
from idk.nn.bnn import BNN, DeterministicNet, build_model
from idk.progress import Progress
from idk.training import checkpoint as ckpt_io
from idk.training.config import Preset, RuleConfig, get_preset, to_dict, train_config_from_dict
from idk.training.fitting import FitState, fit
from idk.training.rule_fitting import (
    SELECTION_REFUSAL,
    base_rule,
    calibrate,
    choose_score,
    fit_temperature,
    predictive_nll,
    validation_logits,
)

SPLIT_SEED = 20_181_127
SELECTION_SEED = 777  # synthetic outliers for choosing the score; evaluation's noise uses other seeds
SELECTION_OUTLIERS = 1000  # images per synthetic outlier set
# Noise (which must be refused) and the synthetic families never trained on: on the trained
# families every score refuses everything, so they could not tell the scores apart.
SELECTION_FAMILIES = ("uniform-noise", "gaussian-noise", *HELD_OUT_FAMILIES)
TUNING_SHARE = 0.2  # of the validation split: temperature and score choice; the rest sets thresholds


def split_train_val(n: int, val_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed random split of n training indices into (train, validation) of ``val_size``."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED))
    return order[: n - val_size].sort().values, order[n - val_size :].sort().values


def calibration_images(full: ImageSet, validation_size: int) -> ImageSet:
    """The validation images that :func:`fit_rules` sets thresholds on (those after the tuning
    share), for a model trained on ``full`` with ``validation_size`` held out."""
    _, val_idx = split_train_val(len(full), validation_size)
    return full.subset(val_idx[int(len(val_idx) * TUNING_SHARE) :], "validation")


def fingerprint(data: ImageSet) -> dict[str, Any]:
    """What the model was trained on: name, size and SHA-256 of the pixels and labels."""
    h = hashlib.sha256(data.images.numpy().tobytes())
    if data.labels is not None:
        h.update(data.labels.numpy().tobytes())
    return {"name": data.name, "n": len(data), "sha256": h.hexdigest()}


@dataclass
class TrainOptions:
    """What a user may change on the command line; None keeps the preset's value."""

    epochs: int | None = None
    lr: float | None = None
    schedule: str | None = None
    kl_weight: float | None = None
    prior_scale: float | None = None
    channels: tuple[int, int] | None = None
    dense: int | None = None
    batch_size: int | None = None
    seed: int | None = None
    train_subset: int | None = None
    val_size: int | None = None
    twin: bool | None = None
    samples: int | None = None
    target_refusal: float | None = None
    target_error: float | None = None
    confidence: float | None = None


def configure(preset: Preset, opts: TrainOptions) -> Preset:
    """The preset with the user's overrides applied."""
    values = {k: v for k, v in dataclasses.asdict(opts).items() if v is not None}

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


def train(
    out: str | Path,
    preset_name: str = "cnn",
    data: DataConfig | None = None,
    opts: TrainOptions | None = None,
    resume: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train, calibrate and save; return the checkpoint dict."""
    out = Path(out)
    data = data or DataConfig.from_env()
    preset = configure(get_preset(preset_name), opts or TrainOptions())
    previous = ckpt_io.read_checkpoint(out) if resume and out.exists() else None
    if previous is not None:
        preset = _resumed_preset(previous, preset, out)
    tcfg = preset.train
    full = mnist("train", data)
    if tcfg.train_subset:
        full = full.subset(slice(0, tcfg.train_subset))
    train_idx, val_idx = split_train_val(len(full), min(tcfg.val_size, len(full) // 5))
    train_set, val_set = full.subset(train_idx, "mnist-train"), full.subset(val_idx, "mnist-validation")
    pyro.set_rng_seed(tcfg.seed)  # the initial weights, too, follow the seed
    model = build_model(preset.model, dataset_size=len(train_set))
    twin = build_model(replace(preset.model, bayesian=False), len(train_set)) if tcfg.twin else None
    states = {"model": FitState(), "twin": FitState()}
    if previous is not None:
        model.load_state_dict(previous["state_dict"])
        if twin is not None and "twin_state_dict" in previous:
            twin.load_state_dict(previous["twin_state_dict"])
        for key, st in previous.get("training_state", {}).items():
            states[key] = FitState(**st)
        if progress:
            progress.log(f"resuming {out} after epoch {states['model'].epoch} (twin: {states['twin'].epoch})")
    common = {
        "preset": preset.name,
        "train_config": to_dict(tcfg),
        "dataset_size": len(train_set),
        "classes": list(DIGITS),
        "data_fingerprint": fingerprint(full),
        "validation_size": len(val_set),
    }

    def save(rule: dict[str, Any], **extra: Any) -> dict[str, Any]:
        fields = {
            **common,
            "rule": rule,
            "rule_config": to_dict(preset.rule),
            "history": states["model"].history,
            "training_state": {k: s.as_dict() for k, s in states.items()},
            **extra,
        }
        if twin is not None:
            fields["twin_state_dict"] = twin.state_dict()
            fields["twin_history"] = states["twin"].history
        ckpt = ckpt_io.make_checkpoint(model, **fields)
        ckpt_io.atomic_save(ckpt, out)
        return ckpt

    provisional = base_rule(preset.rule, "percentile" if preset.rule.score == "auto" else None).as_dict()
    for key, net in (("model", model), ("twin", twin)):
        if net is not None:
            fit(
                net,
                train_set.images,
                train_set.labels,
                tcfg,
                state=states[key],
                progress=progress,
                label="bayes" if key == "model" else "twin",
                on_epoch=lambda st: save(provisional),
            )
    rule_dict, extra = fit_rules(model, twin, val_set, preset.rule, tcfg.seed, progress)
    extra["metrics"]["final_loss"] = states["model"].history[-1]["loss"] if states["model"].history else None
    return save(rule_dict, **extra)


def fit_rules(
    model: BNN | DeterministicNet,
    twin: DeterministicNet | None,
    val_set: ImageSet,
    cfg: RuleConfig,
    seed: int,
    progress: Progress | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit the predictive's temperature and choose the score on the first ``TUNING_SHARE`` of the
    validation split, then calibrate the thresholds on the rest (so the threshold's guarantee is
    computed on data the score never saw). Sets the models' temperatures.

    Returns the rule's dict and the checkpoint's other fields (twin rule, score choice, metrics)."""
    extra: dict[str, Any] = {"metrics": {}}
    default_score = "percentile" if cfg.score == "auto" else None
    if not len(val_set):
        return {**base_rule(cfg, default_score).as_dict(), "calibration": {"method": "fixed"}}, extra
    cut = int(len(val_set) * TUNING_SHARE) if (cfg.fit_temperature or cfg.score == "auto") else 0
    tune, held = val_set.subset(slice(0, cut), "validation-tuning"), val_set.subset(slice(cut, None), "validation")
    extra["validation_split"] = {"tuning": len(tune), "calibration": len(held)}
    score = default_score or cfg.score
    if cfg.fit_temperature:
        for key, net, samples in (("temperature", model, cfg.samples), ("twin_temperature", twin, 1)):
            if net is not None:
                logits = validation_logits(net, tune.images, samples, seed + 6)
                t = fit_temperature(logits, tune.labels)
                extra[key] = {
                    "value": t,
                    "nll_at_1": predictive_nll(logits, tune.labels, 1.0),
                    "nll": predictive_nll(logits, tune.labels, t),
                    "n": len(tune),
                }
                net.temperature.fill_(t)
    if cfg.score == "auto":
        tune_pred = predict(
            model, tune.images, cfg.samples, cfg.percentile, seed=seed + 7, progress=progress, desc="tuning"
        )
        outliers = {
            name: predict(model, images, cfg.samples, cfg.percentile, seed=seed + 8, progress=progress, desc=name)
            for name, images in synthetic_outliers(
                tune.images, tune.labels, SELECTION_OUTLIERS, SELECTION_SEED, SELECTION_FAMILIES
            ).items()
        }
        target = cfg.target_refusal if cfg.target_refusal is not None else SELECTION_REFUSAL
        score, extra["score_selection"] = choose_score(tune_pred, tune.labels, outliers, target)
    pred = predict(
        model, held.images, cfg.samples, cfg.percentile, seed=seed + 9, progress=progress, desc="calibration"
    )
    extra["metrics"]["validation_accuracy"] = float((pred.mean_probs.argmax(-1) == held.labels).double().mean())
    rule, info = calibrate(base_rule(cfg, score), pred, held.labels, cfg)
    if twin is not None:
        twin_pred = predict(twin, held.images, 1, cfg.percentile, progress=progress, desc="twin calibration")
        twin_rule, twin_info = calibrate(ScoreRule(make_score("max-prob"), 1.0), twin_pred, held.labels, cfg)
        extra["twin_rule"] = {**twin_rule.as_dict(), "calibration": twin_info}
        extra["metrics"]["twin_validation_accuracy"] = float(
            (twin_pred.mean_probs.argmax(-1) == held.labels).double().mean()
        )
    return {**rule.as_dict(), "calibration": info}, extra


def _resumed_preset(previous: dict[str, Any], preset: Preset, path: Path) -> Preset:
    """The preset a checkpoint was trained with; refuse to resume a different architecture."""
    if previous.get("preset") != preset.name or previous["model_config"] != to_dict(preset.model):
        raise CheckpointError(
            f"{path}: cannot resume: it was trained with preset {previous.get('preset')!r} and another "
            "architecture; use a new --out"
        )
    stored = train_config_from_dict(previous["train_config"])
    return replace(preset, train=replace(stored, epochs=preset.train.epochs))
