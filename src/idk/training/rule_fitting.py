"""Fitting a decision rule on held-out training images: which score, and which threshold.

Only in-distribution validation images and synthetic noise that idk generates are used, never a
test set and never an out-of-distribution data set.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from idk.choices import AUTO_SCORE
from idk.data.catalog import TrainingData
from idk.data.images import ImageSet, InputSpec
from idk.data.named import noise, noise_sets
from idk.data.synthetic import each_outlier_set, families_for
from idk.decision.calibration import (
    certifiable_target,
    clopper_pearson_upper,
    refused_count,
    threshold_for_error,
    threshold_for_refusal,
    thresholds_for_refusal,
)
from idk.decision.config import RuleConfig
from idk.decision.predictive import Predictions, predict
from idk.decision.rules import Rule, ScoreRule, rule_for
from idk.decision.scores import auto_candidates, fitted_score, is_fitted, make_score
from idk.evaluation import metrics
from idk.nn.bnn import DeterministicNet, Model
from idk.progress import Progress
from idk.training.splits import split_digest, tuning_split
from idk.training.temperature import fitted_temperature, validation_logits

SELECTION_REFUSAL = 0.02  # the in-distribution refusal at which scores are compared (when no target is set)
SELECTION_SEED = 777  # synthetic outliers for choosing the score; evaluation's noise uses other seeds
SELECTION_OUTLIERS = 1000  # images per synthetic outlier set
AUROC_DIGITS = 4  # equal scores' mean AUROCs are compared to this many digits; a tie goes to the lower AURC
SELECTION_BOOTSTRAP = 400  # resamplings for the standard errors that decide which scores refuse alike
SELECTION_BOOTSTRAP_SEED = 779
ONE_SIGMA = torch.tensor([0.158655, 0.841345], dtype=torch.float64)  # Φ(−1), Φ(1): ± one standard deviation
BOOTSTRAP_CHUNK = 1 << 22  # scores gathered at once: resamplings run in chunks of this many over the images
# Noise (which must be refused) and the synthetic family never trained on: on the trained
# families every score refuses everything, so they could not tell the scores apart.
SELECTION_NOISE = ("uniform-noise", "gaussian-noise")

NOISE_CHECK = 500  # images of each noise set the rule is measured on once its threshold is set
NOISE_CHECK_SEED = 778  # idk evaluate's noise sets are drawn with other seeds
CHANCE_CONFIDENCE = 0.95  # of the lower bound on validation accuracy compared with the majority class's share

# --score on a rule with no target (the tutorial's): its threshold belongs to its own score
FIXED_THRESHOLD = (
    "rule has a fixed threshold, set for its own score, and no target to set another by: give "
    "--target-refusal or --target-error with --score"
)


def base_rule(cfg: RuleConfig, score: str | None = None) -> Rule:
    """The rule of ``cfg`` (with ``score`` in place of ``cfg.score`` when given), uncalibrated."""
    name = score or cfg.score
    if name == AUTO_SCORE:
        raise ValueError("score 'auto' must be resolved with choose_score first")
    return rule_for(name, cfg.threshold, cfg.percentile)


def stand_in(cfg: RuleConfig) -> str | None:
    """The score of a rule that has not been fitted yet (a checkpoint saved during training, or no
    validation images to fit on): the percentile rule in place of "auto" and of fitted scores;
    None (``cfg``'s own) otherwise."""
    return "percentile" if cfg.score == AUTO_SCORE or is_fitted(cfg.score) else None


def refusal_difference_errors(
    u_val: dict[str, Tensor],
    u_out: dict[str, dict[str, Tensor]],
    target: float,
    leader: str,
    draws: int = SELECTION_BOOTSTRAP,
    seed: int = SELECTION_BOOTSTRAP_SEED,
) -> dict[str, float]:
    """For each score s, the standard error of d = m(leader) − m(s), m a score's mean refusal over
    the outlier sets at the threshold refusing ``target`` of the validation images
    (:func:`~idk.decision.calibration.threshold_for_refusal`), by the paired bootstrap: the
    validation scores ``u_val[s]`` (N,) and each outlier set's ``u_out[s][k]`` (Nₖ,) resampled with
    replacement ``draws`` times, the same images for every score, and the half-width of the central
    68.3% of the resampled d, (q₀.₈₄₁ − q₀.₁₅₉)/2: its standard deviation were d normal, and steady
    where a few resamplings jump (the percentile score's values tie, and its threshold can leap from
    one tied value to the next: there its standard deviation moved from 0.9 to 5.1 points with the
    resampling seed, the half-width stayed at 0.8–0.9). The threshold moves with the validation
    images it is set on (at 2% of 1,000 it rests on the 20 least certain), and so does every refusal
    it gives: the outliers' binomial error alone, blind to this, was up to 3 times smaller on the
    checkpoints measured (docs/experiments.md)."""
    differences = resampled_differences(u_val, u_out, target, leader, draws, seed)
    return {name: central_half_width(d) for name, d in differences.items()}


def central_half_width(d: Tensor) -> float:
    """Half the width of the central 68.3% of resampled values d (R,): (q₀.₈₄₁ − q₀.₁₅₉)/2, their
    standard deviation were they normal."""
    return float(torch.quantile(d.double(), ONE_SIGMA).diff() / 2)


def resampled_differences(
    u_val: dict[str, Tensor], u_out: dict[str, dict[str, Tensor]], target: float, leader: str, draws: int, seed: int
) -> dict[str, Tensor]:
    """The paired bootstrap of :func:`refusal_difference_errors`: for each score s, m(leader) − m(s)
    in each of ``draws`` resamplings (draws,) float64, every resampling drawing its validation and
    outlier images in turn from a generator seeded with ``seed`` (the same whatever the chunks)."""
    if draws < 2:
        raise ValueError(f"a standard error takes at least 2 resamplings, got {draws}")
    g = torch.Generator().manual_seed(seed)
    n = len(next(iter(u_val.values())))
    sets = {k: len(u) for k, u in next(iter(u_out.values())).items()}
    if not n or not sets or not all(sets.values()):
        raise ValueError(f"no images to resample: {n} validation scores, outlier sets {sets}")
    chunk = max(1, BOOTSTRAP_CHUNK // (n + sum(sets.values())))
    means: dict[str, list[Tensor]] = {name: [] for name in u_val}
    for start in range(0, draws, chunk):
        # each resampling draws its images in turn: the same ones whatever the chunk's size
        rows = [
            [torch.randint(size, (size,), generator=g) for size in (n, *sets.values())]
            for _ in range(min(chunk, draws - start))
        ]
        val_idx, *out_idx = (torch.stack(parts) for parts in zip(*rows, strict=True))  # (b, N), (b, Nₖ) …
        for name, u in u_val.items():
            tau = thresholds_for_refusal(u.double()[val_idx], target).unsqueeze(1)  # (b, 1)
            outliers = u_out[name].values()
            refused = [(v.double()[idx] > tau).double().mean(1) for v, idx in zip(outliers, out_idx, strict=True)]
            means[name].append(torch.stack(refused).mean(0))
    return {name: torch.cat(means[leader]) - torch.cat(parts) for name, parts in means.items()}


def selection_target(cfg: RuleConfig) -> float:
    """The validation refusal at which "auto" compares the scores: the rule's target, else
    :data:`SELECTION_REFUSAL`."""
    return cfg.target_refusal if cfg.target_refusal is not None else SELECTION_REFUSAL


def too_few_to_choose(tuning: int, cfg: RuleConfig) -> bool:
    """Whether ``tuning`` images (some) are too few for "auto" to compare the scores: at the
    :func:`selection_target` (above 0) they refuse none."""
    target = selection_target(cfg)
    return tuning > 0 and target > 0 and refused_count(tuning, target) < 1


# A score spanning no more than FLAT_ULPS float32 epsilons × max(1, log C) (an entropy's own size,
# C classes) over the validation images is rounding alone and ranks nothing: the mutual information of
# a walk's network of point masses spanned 1.2e-6 (10 epsilons) on 2,000 digits, a one-epoch Bayesian
# CNN's 2.1e-5; the limit for 10 classes is 4.4e-6.
FLAT_ULPS = 16


def choose_score(
    val: Predictions, labels: torch.Tensor, outliers: dict[str, Predictions], target_refusal: float
) -> tuple[str, dict[str, Any]]:
    """Of the scores that refuse as many synthetic outliers as any, within sampling error, at the
    threshold refusing ``target_refusal`` of validation images, the one that ranks them best:
    each score's mean refusal m over the outlier sets; m* the highest, a score with
    m* − m ≤ SE(m* − m) (:func:`refusal_difference_errors`, bootstrapped over the validation images
    and the outliers) counts as equal to it, and among the equal the highest mean AUROC against the
    outliers wins (then the lowest validation AURC). Without the margin, a few of 1,000 overlaid
    digits decided between scores, and could pick one whose values tie (the percentile rule's
    quantile over S draws: its AUROC against noise capped near 0.99 although it refuses all of it).
    The candidates are the scores that opt in (:func:`auto_candidates`): a fitted score (entropy or
    mutual information) is named by a preset (or ``--score``), on validation evidence these
    outliers do not give (on notMNIST letters it refuses the most of them on average, and half as
    many printed symbols: docs/experiments.md). A score that is the same on every validation image
    (to :data:`FLAT_ULPS`: the mutual information of a model whose weights are all point masses,
    whose networks never disagree) ranks nothing and is left out, unless every one is."""
    correct = val.mean_probs.argmax(-1) == labels
    table: dict[str, dict[str, float]] = {}
    u_val: dict[str, Tensor] = {}
    u_out: dict[str, dict[str, Tensor]] = {}
    candidates = auto_candidates()  # those that opt in; the others are named by a preset or --score
    on_val = {name: make_score(name)(val) for name in candidates}
    limit = FLAT_ULPS * torch.finfo(torch.float32).eps * max(1.0, math.log(val.mean_probs.shape[-1]))
    flat = [n for n, u in on_val.items() if len(u) and float(u.max() - u.min()) <= limit]
    for name in [n for n in candidates if n not in flat] or candidates:
        score = make_score(name)
        u_val[name] = on_val[name]
        u_out[name] = {set_name: score(pred) for set_name, pred in outliers.items()}
        tau = threshold_for_refusal(u_val[name], target_refusal)
        row = {"validation_aurc": metrics.aurc(u_val[name], correct)}
        for set_name, u in u_out[name].items():
            row[f"refused:{set_name}"] = float((u > tau).double().mean())
            row[f"auroc:{set_name}"] = metrics.auroc(u_val[name], u)
        row["mean_refused"] = sum(row[f"refused:{k}"] for k in outliers) / len(outliers)
        row["mean_auroc"] = sum(row[f"auroc:{k}"] for k in outliers) / len(outliers)
        table[name] = row
    most = max(table, key=lambda n: table[n]["mean_refused"])
    errors = refusal_difference_errors(u_val, u_out, target_refusal, most)
    best = table[most]["mean_refused"]
    equal = [n for n in table if best - table[n]["mean_refused"] <= errors[n] + 1e-12]
    chosen = max(equal, key=lambda n: (round(table[n]["mean_auroc"], AUROC_DIGITS), -table[n]["validation_aurc"]))
    others = [n for n in equal if n != most]
    if len(table) == 1:
        standing = "the only candidate"
    elif chosen != most:
        gap = 100 * (best - table[chosen]["mean_refused"])
        standing = (
            f"{most} refuses the most, {100 * best:.1f}%: {gap:.1f} points more, within the bootstrapped standard "
            f"error of the difference ({100 * errors[chosen]:.1f} points)"
        )
    elif others:
        standing = (
            f"it refuses the most, and {' and '.join(others)} as many within the bootstrapped standard error of the "
            "difference"
        )
    else:
        standing = (
            "it refuses the most, every other score fewer by more than the bootstrapped standard error of the "
            "difference"
        )
    if flat and len(flat) < len(candidates):
        standing += f"; {' and '.join(flat)} left out: the same on every validation image"
    why = (
        f"refuses as many synthetic outliers as any within sampling error ({100 * table[chosen]['mean_refused']:.1f}% "
        f"on average over {', '.join(outliers)}; {standing}) at the threshold refusing "
        f"{100 * target_refusal:g}% of validation images, and of those ranks them best "
        f"({ranking_reason(table, chosen, equal)})"
    )
    info = {"chosen": chosen, "criterion": why, "standard_errors": errors, "equal": equal, "scores": table}
    return chosen, info


def ranking_reason(table: dict[str, dict[str, float]], chosen: str, equal: list[str]) -> str:
    """The words for how ``chosen`` ranks the outliers among the ``equal`` scores of
    :func:`choose_score`'s ``table``: its mean AUROC, and where another ties it to :data:`AUROC_DIGITS`, the
    validation images' errors ranked better (lower AURC) that broke the tie."""
    auroc = round(table[chosen]["mean_auroc"], AUROC_DIGITS)
    tied = [n for n in equal if n != chosen and round(table[n]["mean_auroc"], AUROC_DIGITS) == auroc]
    said = f"mean AUROC {table[chosen]['mean_auroc']:.{AUROC_DIGITS}f}"
    if not tied:
        return said
    aurcs = ", ".join(f"{n} {table[n]['validation_aurc']:.2g}" for n in tied)
    aurc = table[chosen]["validation_aurc"]
    # a tie on the AURC too (no validation error at all: 0 against 0) goes to the first in the scores' order
    how = "better" if all(table[n]["validation_aurc"] > aurc for n in tied) else "no worse (first in the scores' order)"
    return (
        f"{said}, as {' and '.join(tied)} to {_in_words(AUROC_DIGITS)} digits; it ranks the validation images' errors "
        f"{how}: AURC {aurc:.2g} against {aurcs}"
    )


def _in_words(n: int) -> str:
    """A small count in words, as the reasons write it ("four digits"); a figure beyond ten."""
    words = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    return words[n] if 0 <= n < len(words) else str(n)


def selection_outliers(
    model: Model, tune: ImageSet, spec: InputSpec, cfg: RuleConfig, seed: int, progress: Progress | None = None
) -> dict[str, Predictions]:
    """The model's predictions on the synthetic outliers "auto" compares the scores on: noise and the
    held-out family, made from the tuning images ``tune``, predicted with training's seeds; one set
    made and held at a time (four sets of 1,000 colour images of 128² would take 0.8 GB at once)."""
    trained, held_out = families_for(spec)
    families = {**{name: trained[name] for name in SELECTION_NOISE}, **held_out}
    generated = each_outlier_set(tune.images, tune.labels, SELECTION_OUTLIERS, SELECTION_SEED, families)
    return {
        name: predict(model, images, cfg.samples, cfg.percentile, seed=seed + 8, progress=progress, desc=name)
        for name, images in generated
    }


def select_score(
    model: Model,
    tune: ImageSet,
    tune_pred: Predictions,
    spec: InputSpec,
    cfg: RuleConfig,
    seed: int,
    progress: Progress | None = None,
    outliers: dict[str, Predictions] | None = None,
) -> tuple[str, dict[str, Any]]:
    """ "auto"'s choice (:func:`choose_score`) for a model with predictions ``tune_pred`` on its tuning
    images ``tune``: against noise and the held-out family (:func:`selection_outliers`, unless
    given), at the rule's target refusal."""
    if outliers is None:
        outliers = selection_outliers(model, tune, spec, cfg, seed, progress)
    target = selection_target(cfg)
    chosen, info = choose_score(tune_pred, tune.labels, outliers, target)
    if too_few_to_choose(len(tune), cfg):  # training warned of it; the choice's record says it too
        info["criterion"] += (
            f"; on only {len(tune)} tuning images, none of them refused at {100 * target:g}%: too few to tell the "
            "scores apart"
        )
    return chosen, info


def calibration_predictions(
    model: Model, images: torch.Tensor, cfg: RuleConfig, seed: int, progress: Progress | None = None
) -> Predictions:
    """The predictions a rule's threshold is set on for the calibration images (N, C, H, W):
    ``cfg.samples`` draws seeded from training's ``seed``, so a threshold set again later (a script
    recalibrating a trained model) sees the draws training saw."""
    return predict(model, images, cfg.samples, cfg.percentile, seed=seed + 9, progress=progress, desc="calibration")


def calibrate(rule: Rule, pred: Predictions, labels: torch.Tensor, cfg: RuleConfig) -> tuple[Rule, dict[str, Any]]:
    """``rule`` with its threshold chosen on validation predictions to meet ``cfg``'s target."""
    if not cfg.targeted:
        return rule, {"method": "fixed"}
    u = rule.refusal_score(pred)
    label = rule.decide(pred).label
    info: dict[str, Any] = {"n": len(labels)}
    if cfg.target_error is not None:
        sgr = threshold_for_error(u, label == labels, cfg.target_error, cfg.confidence)
        rule = rule.with_cutoff(sgr.threshold)
        info.update(
            method="guaranteed risk (SGR with Clopper–Pearson bounds)",
            target_error=cfg.target_error,
            confidence=cfg.confidence,
            bound=sgr.bound,
            validation_coverage=sgr.coverage,
            validation_risk=sgr.risk,
            feasible=sgr.feasible,
        )
        if not sgr.feasible:  # what could be asked for instead
            info["certifiable_target"] = certifiable_target(u, label == labels, cfg.confidence)
    else:
        rule = rule.with_cutoff(threshold_for_refusal(u, cfg.target_refusal))
        info.update(method="refusal quantile", target_refusal=cfg.target_refusal)
    decision = rule.decide(pred)
    ok = ~decision.refused
    info["validation_refused"] = float(decision.refused.double().mean())
    info["validation_accepted_accuracy"] = (
        float((decision.label[ok] == labels[ok]).double().mean()) if ok.any() else None
    )
    return rule, info


def noise_refusal(
    model: Model, rule: Rule, spec: InputSpec, cfg: RuleConfig, seed: int, progress: Progress | None = None
) -> dict[str, float]:
    """The share of :data:`NOISE_CHECK` images of each noise set of ``spec``
    (:func:`~idk.data.named.noise_sets`: uniform and Gaussian pixels in ``spec``'s form, and for a
    model of one's own noise pictures three times its frame, made as ``idk evaluate`` makes them,
    with another seed) that ``rule`` refuses, with the networks drawn as for its threshold: set
    name → share."""
    refused = {}
    for name in noise_sets(spec):
        images = noise(name, NOISE_CHECK, spec, NOISE_CHECK_SEED).images
        pred = predict(model, images, cfg.samples, cfg.percentile, seed=seed + 9, progress=progress, desc=name)
        refused[name] = float(rule.decide(pred).refused.double().mean())
    return refused


def against_chance(correct: torch.Tensor, labels: torch.Tensor) -> dict[str, Any]:
    """What tells a model that learned nothing, on N images of two classes or more: the share of
    the most common class among ``labels`` (N,) (always answering it scores that), the one-sided
    :data:`CHANCE_CONFIDENCE` lower Clopper–Pearson bound on the accuracy of answers ``correct``
    (N,) bool, and N; {} for images of one class (the share is 1: nothing to compare)."""
    n, counts = len(labels), torch.bincount(labels)
    if int((counts > 0).sum()) < 2:
        return {}
    right = int(correct.sum())
    return {
        "validation_majority": float(counts.max()) / n,
        "validation_accuracy_low": 1.0 - clopper_pearson_upper(n - right, n, 1.0 - CHANCE_CONFIDENCE),
        "validation_n": n,
    }


def fit_rules(
    model: Model,
    twin: DeterministicNet | None,
    val_set: ImageSet,
    cfg: RuleConfig,
    seed: int,
    source: TrainingData,
    progress: Progress | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit the predictive's temperature, choose the score and fit its scales on the tuning share of
    the validation split (:func:`~idk.training.splits.tuning_split`), then calibrate the thresholds on the rest (so the
    threshold's guarantee is computed on data the score never saw). Sets the models' temperatures.

    Returns the rule's dict and the checkpoint's other fields (twin rule, score choice, metrics)."""
    extra: dict[str, Any] = {"metrics": {}}
    if not len(val_set):
        return {**base_rule(cfg, stand_in(cfg)).as_dict(), "calibration": {"method": "fixed"}}, extra
    tune, held = tuning_split(val_set, cfg, source.record.data)
    extra["validation_split"] = {"tuning": len(tune), "calibration": len(held), "sha256": split_digest(tune, held)}
    tune = tune.as_floats()  # what the temperature and the score are fitted on (outliers made of it)
    # "auto" and a fitted score stand in as the percentile rule until the tuning images choose or fit
    # them (no tuning images: fewer than 5 validation images, or a user's set of one image per class)
    score = stand_in(cfg) or cfg.score
    if cfg.fit_temperature and len(tune):
        for key, net, samples in (("temperature", model, cfg.samples), ("twin_temperature", twin, 1)):
            if net is not None:
                extra[key] = fitted_temperature(validation_logits(net, tune.images, samples, seed + 6), tune.labels)
                net.temperature.fill_(extra[key]["value"])
    tune_pred = None
    if len(tune) and stand_in(cfg):
        tune_pred = predict(
            model, tune.images, cfg.samples, cfg.percentile, seed=seed + 7, progress=progress, desc="tuning"
        )
        score = cfg.score  # a fitted score; "auto" is chosen next
    if cfg.score == AUTO_SCORE and tune_pred is not None:
        score, extra["score_selection"] = select_score(model, tune, tune_pred, source.spec, cfg, seed, progress)
    pred = calibration_predictions(model, held.images, cfg, seed, progress)
    correct = pred.mean_probs.argmax(-1) == held.labels
    extra["metrics"]["validation_accuracy"] = float(correct.double().mean())
    rule = base_rule(cfg, score)
    if is_fitted(score):  # its scales, from the tuning images
        rule = ScoreRule(fitted_score(score, tune_pred), rule.threshold, rule.percentile)
    rule, info = calibrate(rule, pred, held.labels, cfg)
    if len(held):
        extra["metrics"].update(against_chance(correct, held.labels))
    extra["metrics"]["noise_refused"] = noise_refusal(model, rule, source.spec, cfg, seed, progress)
    if twin is not None:
        twin_pred = predict(twin, held.images, 1, cfg.percentile, progress=progress, desc="twin calibration")
        twin_rule, twin_info = calibrate(ScoreRule(make_score("max-prob"), 1.0), twin_pred, held.labels, cfg)
        extra["twin_rule"] = {**twin_rule.as_dict(), "calibration": twin_info}
        extra["metrics"]["twin_validation_accuracy"] = float(
            (twin_pred.mean_probs.argmax(-1) == held.labels).double().mean()
        )
    return {**rule.as_dict(), "calibration": info}, extra
