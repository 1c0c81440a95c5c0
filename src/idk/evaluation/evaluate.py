"""Evaluation: run a model's decision rule over data sets and build the report (numbers only).

Report keys (fractions in [0, 1]; later work adds keys, never renames these)::

    {"model": {...}, "samples": S, "rule": {"percentile": q, "threshold": t, ...},
     "in_distribution": "mnist-test",
     "datasets": {"mnist-test": {"n", "forced_accuracy", "refused", "accepted_accuracy",
                                 "accepted_wrong", "accepted_accuracy_interval", "refused_interval",
                                 "per_class": {"n", "forced_accuracy", "refused", "accepted_accuracy"},
                                 "confusion": [[...]], ...},
                  "noise": {"n", "refused", ...}, "notmnist-459": {"n", "refused", ...}, ...}}

``accepted_accuracy_interval`` and ``refused_interval`` are the :data:`INTERVAL_LEVEL` Clopper–Pearson
confidence intervals of the accuracy on accepted images (``accepted_wrong`` of them answered
wrongly) and of the share refused: the true rates that these counts leave plausible.

The first data set is the model's own test set (in distribution). Sets named in ``shifted`` are
labelled *shifted* sets — the model's classes drawn, printed or scanned otherwise, which it should
still answer (``"kind": "shifted"``: answered share, accuracy on answered, forced accuracy); every
other set is out of distribution (``"kind": "ood"``), to be refused.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from idk.data.images import ImageSet
from idk.decision.calibration import clopper_pearson_interval
from idk.decision.config import RuleConfig
from idk.decision.predictive import Predictions, predict
from idk.decision.rules import Decision, Rule
from idk.decision.scores import Score, make_score, parameter_free
from idk.evaluation import metrics
from idk.nn.bnn import DeterministicNet, Model
from idk.progress import Progress

COVERAGES = (0.99, 0.98, 0.95)
INTERVAL_LEVEL = 0.95  # of the accuracy on accepted images' Clopper–Pearson interval
CURVE_POINTS = 200


@dataclass
class EvalSettings:
    """How a model is evaluated: samples for the rule and for the forced prediction, and the score
    used for out-of-distribution AUROC."""

    samples: int = RuleConfig.samples
    forced_samples: int = RuleConfig.forced_samples
    forced_average: str = RuleConfig.forced_average  # "logits" (tutorial: argmax of mean logits) or "probs"
    ood_score: Score = field(default_factory=lambda: make_score(RuleConfig.score))  # the rule's score, fitted
    method: str = "local"
    seed: int = 0


def forced_labels(pred: Predictions, how: str) -> Tensor:
    """The forced answer: argmax of the mean logits (tutorial) or of the mean probabilities."""
    if how == "logits":
        return pred.mean_logits.argmax(-1)
    if how == "probs":
        return pred.mean_probs.argmax(-1)
    raise ValueError(f"unknown forced_average {how!r}; valid: logits, probs")


HISTOGRAM_BINS = 50


def curve_points(n: int) -> Tensor:
    """Indices of about :data:`CURVE_POINTS` of a curve's ``n`` points, evenly spaced, always with
    the last (full coverage: the whole error rate)."""
    kept = torch.arange(0, n, max(1, n // CURVE_POINTS))
    return kept if not n or kept[-1] == n - 1 else torch.cat([kept, torch.tensor([n - 1])])


def score_histogram(u: Tensor, bounds: tuple[float, float]) -> dict[str, list[float]]:
    """Counts of the uncertainty score in equal-width bins over ``bounds`` (lo, hi) (for figures;
    values outside, counted in the end bins)."""
    lo, hi = bounds
    counts = torch.histc(u.double().clamp(lo, hi), bins=HISTOGRAM_BINS, min=lo, max=hi)
    return {"edges": torch.linspace(lo, hi, HISTOGRAM_BINS + 1).tolist(), "counts": counts.tolist()}


def refused_metrics(decision: Decision) -> dict[str, Any]:
    """The share of images the ``decision`` refuses, its :data:`INTERVAL_LEVEL` Clopper–Pearson
    interval, and ``hesitant``: the share answered with several classes (the percentile rule's
    "either 4 or 9"), counted as answered."""
    refused = decision.refused
    n, k = len(refused), int(refused.sum())
    return {
        "refused": float(refused.double().mean()),
        "refused_interval": list(clopper_pearson_interval(k, n, INTERVAL_LEVEL)),
        "hesitant": float((decision.accepted.sum(-1) > 1).double().mean()),
    }


def accepted_metrics(label: Tensor, y: Tensor, accepted: Tensor) -> dict[str, Any]:
    """The accuracy of answers ``label`` (N,) on the ``accepted`` (N,) images of labels ``y`` (N,),
    how many of them are wrong, and the accuracy's :data:`INTERVAL_LEVEL` Clopper–Pearson interval."""
    n, wrong = int(accepted.sum()), int((accepted & (label != y)).sum())
    return {
        "accepted_accuracy": metrics.accuracy(label[accepted], y[accepted]),
        "accepted_wrong": wrong,
        "accepted_accuracy_interval": list(clopper_pearson_interval(n - wrong, n, INTERVAL_LEVEL)),
    }


def by_class(forced: Tensor, decision: Decision, y: Tensor, classes: int) -> dict[str, Any]:
    """A labelled set's figures class by class (``per_class``: lists in the model's class order) and
    its forced answers' ``confusion`` counts (rows: the true class, columns: the answer)."""
    return {
        "per_class": metrics.per_class(forced, decision.label, decision.refused, y, classes),
        "confusion": metrics.confusion(forced, y, classes),
    }


def in_distribution_metrics(
    pred: Predictions, y: Tensor, rule: Rule, settings: EvalSettings, forced: Tensor
) -> dict[str, Any]:
    """Accuracy, refusal and calibration metrics on a labelled in-distribution set."""
    decision = rule.decide(pred)
    accepted = ~decision.refused
    label = pred.mean_probs.argmax(-1)
    correct = label == y
    score = settings.ood_score
    u = score(pred)
    coverage, risk = metrics.risk_coverage(u, correct)
    kept = curve_points(len(coverage))
    return {
        "n": len(y),
        "forced_accuracy": metrics.accuracy(forced, y),
        **refused_metrics(decision),
        **accepted_metrics(decision.label, y, accepted),
        **by_class(forced, decision, y, pred.mean_probs.shape[-1]),
        "accuracy": metrics.accuracy(label, y),
        "nll": metrics.nll(pred.mean_probs, y),
        "ece": metrics.ece(pred.mean_probs, y),
        "brier": metrics.brier(pred.mean_probs, y),
        "aurc": metrics.aurc(u, correct),
        "accuracy_at_coverage": {str(c): metrics.accuracy_at_coverage(u, correct, c) for c in COVERAGES},
        "risk_coverage": {"coverage": coverage[kept].tolist(), "risk": risk[kept].tolist()},
        "reliability": metrics.reliability(pred.mean_probs, y),
        "score_histogram": score_histogram(u, score.bounds(pred.mean_probs.shape[-1])),
    }


def shifted_metrics(
    pred: Predictions, y: Tensor, rule: Rule, u_in: Tensor, settings: EvalSettings, forced: Tensor
) -> dict[str, Any]:
    """What matters on a labelled shifted set: how much is answered, and how well.

    answered = 1 − refused; accepted_accuracy = accuracy on the answered images; forced_accuracy =
    accuracy of the ``forced`` answers (N,) (``settings.forced_average`` of ``forced_samples`` draws,
    as for the test set);
    auroc_vs_test: how well the score tells these images from the test set (lower: more alike)."""
    decision = rule.decide(pred)
    accepted = ~decision.refused
    u = settings.ood_score(pred)
    return {
        "kind": "shifted",
        "n": len(y),
        "answered": float(accepted.double().mean()),
        **refused_metrics(decision),
        **accepted_metrics(decision.label, y, accepted),
        "forced_accuracy": metrics.accuracy(forced, y),
        **by_class(forced, decision, y, pred.mean_probs.shape[-1]),
        "nll": metrics.nll(pred.mean_probs, y),
        "auroc_vs_test": metrics.auroc(u_in, u),
    }


def out_of_distribution_metrics(pred: Predictions, rule: Rule, u_in: Tensor, settings: EvalSettings) -> dict[str, Any]:
    decision = rule.decide(pred)
    score = settings.ood_score
    u = score(pred)
    return {
        "kind": "ood",
        "n": len(pred),
        **refused_metrics(decision),
        "auroc": metrics.auroc(u_in, u),
        "fpr_at_95_tpr": metrics.fpr_at_tpr(u_in, u, 0.95),
        "score_histogram": score_histogram(u, score.bounds(pred.mean_probs.shape[-1])),
    }


def evaluate(
    model: Model,
    rule: Rule,
    datasets: dict[str, ImageSet],
    settings: EvalSettings,
    progress: Progress | None = None,
    shifted: Collection[str] = (),
) -> tuple[dict[str, Any], dict[str, Predictions]]:
    """Evaluate ``rule`` on every data set; the first (labelled) one is in distribution, those
    named in ``shifted`` (labelled) are shifted sets, the others out of distribution.

    Returns the ``datasets`` part of the report and the predictions.
    """
    preds: dict[str, Predictions] = {}
    for name, data in datasets.items():
        preds[name] = predict(
            model,
            data.images,
            settings.samples,
            rule.percentile,
            method=settings.method,
            seed=settings.seed,
            progress=progress,
            desc=f"{name} ×{settings.samples}",
        )
    in_name = next(iter(datasets))
    in_data, in_pred = datasets[in_name], preds[in_name]

    def forced(name: str) -> Tensor:
        """The forced answers for a labelled set, from ``forced_samples`` draws (the test set's and
        the shifted sets' alike, whatever ``samples`` the rest of the report used)."""
        pred = preds[name]
        if settings.forced_samples != settings.samples and not isinstance(model, DeterministicNet):
            pred = predict(
                model,
                datasets[name].images,
                settings.forced_samples,
                rule.percentile,
                method=settings.method,
                seed=settings.seed + 1,
                progress=progress,
                desc=f"{name} forced ×{settings.forced_samples}",
            )
        return forced_labels(pred, settings.forced_average)

    u_in = settings.ood_score(in_pred)
    report: dict[str, Any] = {}
    for name in datasets:
        if name == in_name:
            report[name] = {
                "kind": "test",
                **in_distribution_metrics(in_pred, in_data.labels, rule, settings, forced(name)),
            }
        elif name in shifted:
            report[name] = shifted_metrics(preds[name], datasets[name].labels, rule, u_in, settings, forced(name))
        else:
            report[name] = out_of_distribution_metrics(preds[name], rule, u_in, settings)
    return report, preds


def score_comparison(
    preds: dict[str, Predictions], labels: Tensor, in_name: str, fitted: Score | None = None
) -> dict[str, Any]:
    """Every score's AURC on the in-distribution set and AUROC against each other set: the scores
    with no fitted constants, and ``fitted`` (the rule's score, fitted in training) when it has some."""
    out: dict[str, Any] = {}
    in_pred = preds[in_name]
    correct = in_pred.mean_probs.argmax(-1) == labels
    scores = {name: make_score(name) for name in parameter_free()}
    if fitted is not None and fitted.fits:
        scores[fitted.name] = fitted
    for name, score in scores.items():
        u_in = score(in_pred)
        row = {"aurc": metrics.aurc(u_in, correct)}
        for other, p in preds.items():
            if other != in_name:
                row[f"auroc:{other}"] = metrics.auroc(u_in, score(p))
        out[name] = row
    return out
