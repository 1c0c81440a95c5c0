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

import torch

from idk import checkpoint as ckpt_io
from idk.calibration import threshold_for_error, threshold_for_refusal
from idk.config import Preset, RuleConfig, get_preset, to_dict, train_config_from_dict
from idk.data.sources import DIGITS, DataConfig, ImageSet, mnist
from idk.errors import CheckpointError
from idk.fitting import FitState, fit
from idk.nn.bnn import BNN, DeterministicNet, build_model
from idk.predictive import predict
from idk.progress import Progress
from idk.rules import PercentileRule, Rule, ScoreRule
from idk.scores import make_score

SPLIT_SEED = 20_181_127


def split_train_val(n: int, val_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed random split of n training indices into (train, validation) of ``val_size``."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED))
    return order[: n - val_size].sort().values, order[n - val_size :].sort().values


def fingerprint(data: ImageSet) -> dict[str, Any]:
    """What the model was trained on: name, size and SHA-256 of the pixels and labels."""
    h = hashlib.sha256(data.images.numpy().tobytes())
    if data.labels is not None:
        h.update(data.labels.numpy().tobytes())
    return {"name": data.name, "n": len(data), "sha256": h.hexdigest()}


def base_rule(cfg: RuleConfig) -> Rule:
    if cfg.score == "percentile":
        return PercentileRule(cfg.percentile, cfg.threshold)
    return ScoreRule(make_score(cfg.score), cfg.threshold, cfg.percentile)


def calibrate(
    model: BNN | DeterministicNet,
    images: torch.Tensor,
    labels: torch.Tensor,
    cfg: RuleConfig,
    progress: Progress | None = None,
    seed: int = 0,
) -> tuple[Rule, dict[str, Any]]:
    """The rule of ``cfg`` with its threshold chosen on (images, labels) to meet the target."""
    rule = base_rule(cfg)
    if cfg.target_refusal is None and cfg.target_error is None:
        return rule, {"method": "fixed"}
    pred = predict(
        model, images, cfg.samples, cfg.percentile, seed=seed + 7, progress=progress, desc="calibrate"
    )
    u = rule.score(pred)
    label = rule.decide(pred).label
    info: dict[str, Any] = {"n": len(labels)}
    if cfg.target_error is not None:
        sgr = threshold_for_error(u, label == labels, cfg.target_error, cfg.confidence)
        rule = rule.with_uncertainty_threshold(sgr.threshold)
        info.update(
            method="guaranteed-risk (SGR, Clopper–Pearson)",
            target_error=cfg.target_error,
            confidence=cfg.confidence,
            bound=sgr.bound,
            validation_coverage=sgr.coverage,
            validation_risk=sgr.risk,
            feasible=sgr.feasible,
        )
    else:
        rule = rule.with_uncertainty_threshold(threshold_for_refusal(u, cfg.target_refusal))
        info.update(method="refusal quantile", target_refusal=cfg.target_refusal)
    decision = rule.decide(pred)
    info["validation_refused"] = float(decision.refused.double().mean())
    ok = ~decision.refused
    info["validation_accepted_accuracy"] = (
        float((decision.label[ok] == labels[ok]).double().mean()) if ok.any() else None
    )
    return rule, info


@dataclass
class TrainOptions:
    """What a user may change on the command line; None keeps the preset's value."""

    epochs: int | None = None
    lr: float | None = None
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
    train_fields = {f.name for f in dataclasses.fields(preset.train)}
    rule_fields = {f.name for f in dataclasses.fields(preset.rule)}
    values = {k: v for k, v in dataclasses.asdict(opts).items() if v is not None}
    train = replace(preset.train, **{k: v for k, v in values.items() if k in train_fields})
    rule_values = {k: v for k, v in values.items() if k in rule_fields}
    if "target_error" in rule_values:
        rule_values.setdefault("target_refusal", None)
    elif "target_refusal" in rule_values:
        rule_values["target_error"] = None
    return replace(preset, train=train, rule=replace(preset.rule, **rule_values))


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
    train_idx, val_idx = split_train_val(len(full), min(tcfg.val_size, len(full) // 2))
    train_set, val_set = full.subset(train_idx, "mnist-train"), full.subset(val_idx, "mnist-validation")
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

    provisional = base_rule(preset.rule).as_dict()
    fit(
        model,
        train_set.images,
        train_set.labels,
        tcfg,
        state=states["model"],
        progress=progress,
        label="bayes",
        on_epoch=lambda st: save(provisional),
    )
    if twin is not None:
        fit(
            twin,
            train_set.images,
            train_set.labels,
            tcfg,
            state=states["twin"],
            progress=progress,
            label="twin",
            on_epoch=lambda st: save(provisional),
        )
    rule, info = (base_rule(preset.rule), {"method": "fixed"})
    twin_rule = None
    if len(val_set) and (preset.rule.target_refusal is not None or preset.rule.target_error is not None):
        rule, info = calibrate(model, val_set.images, val_set.labels, preset.rule, progress, tcfg.seed)
        if twin is not None:
            twin_rule, twin_info = calibrate(
                twin, val_set.images, val_set.labels, preset.rule, progress, tcfg.seed
            )
    rule_dict = {**rule.as_dict(), "calibration": info}
    extra: dict[str, Any] = {}
    if twin_rule is not None:
        extra["twin_rule"] = {**twin_rule.as_dict(), "calibration": twin_info}
    if len(val_set):
        pred = predict(
            model, val_set.images, preset.rule.samples, rule.percentile, progress=progress, desc="validation"
        )
        extra["metrics"] = {
            "validation_accuracy": float((pred.mean_probs.argmax(-1) == val_set.labels).double().mean())
        }
    else:
        extra["metrics"] = {}
    extra["metrics"]["final_loss"] = states["model"].history[-1]["loss"] if states["model"].history else None
    return save(rule_dict, **extra)


def _resumed_preset(previous: dict[str, Any], preset: Preset, path: Path) -> Preset:
    """The preset a checkpoint was trained with; refuse to resume a different architecture."""
    if previous.get("preset") != preset.name or previous["model_config"] != to_dict(preset.model):
        raise CheckpointError(
            f"{path}: cannot resume: it was trained with preset {previous.get('preset')!r} and another "
            "architecture; use a new --out"
        )
    stored = train_config_from_dict(previous["train_config"])
    return replace(preset, train=replace(stored, epochs=preset.train.epochs))
