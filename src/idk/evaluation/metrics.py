"""Metrics: numbers only (figures live in :mod:`idk.evaluation.plots`).

Notation: p̄ (N, C) mean predictive probabilities, y (N,) labels, u (N,) uncertainty (higher = less
sure), ``correct`` (N,) bool whether the answer was right.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def accuracy(label: Tensor, y: Tensor) -> float:
    return float((label == y).double().mean()) if len(y) else math.nan


def nll(mean_probs: Tensor, y: Tensor) -> float:
    """Negative log-likelihood −(1/N) Σ_n log p̄_{n, y_n}."""
    return float(-torch.log(mean_probs.double().gather(1, y[:, None]).clamp_min(1e-300)).mean())


def brier(mean_probs: Tensor, y: Tensor) -> float:
    """Brier score (1/N) Σ_n Σ_c (p̄_nc − 1[c = y_n])²."""
    onehot = torch.nn.functional.one_hot(y, mean_probs.shape[1]).double()
    return float(((mean_probs.double() - onehot) ** 2).sum(1).mean())


def confusion(label: Tensor, y: Tensor, classes: int) -> list[list[int]]:
    """Counts M (C, C): M[i][j] images of class i answered j (rows: the truth)."""
    return torch.bincount(y * classes + label, minlength=classes * classes).reshape(classes, classes).tolist()


def per_class(forced: Tensor, label: Tensor, refused: Tensor, y: Tensor, classes: int) -> dict[str, list[float]]:
    """For each class c (lists of C, NaN where c has no image, or none of it was answered): ``n``,
    the forced answers' accuracy, the share refused, and the accuracy on its answered images
    (``label`` the rule's answers, counted where not ``refused``)."""
    out: dict[str, list[float]] = {"n": [], "forced_accuracy": [], "refused": [], "accepted_accuracy": []}
    for c in range(classes):
        mine = y == c
        answered = mine & ~refused
        out["n"].append(int(mine.sum()))
        out["forced_accuracy"].append(accuracy(forced[mine], y[mine]))
        out["refused"].append(float(refused[mine].double().mean()) if mine.any() else math.nan)
        out["accepted_accuracy"].append(accuracy(label[answered], y[answered]))
    return out


def reliability(mean_probs: Tensor, y: Tensor, bins: int = 15) -> dict[str, list[float]]:
    """Per equal-width confidence bin: mean confidence, accuracy and count (confidence = max_c p̄)."""
    conf, label = mean_probs.double().max(1)
    correct = (label == y).double()
    index = torch.clamp((conf * bins).long(), max=bins - 1)
    count = torch.bincount(index, minlength=bins).double()
    conf_sum = torch.bincount(index, conf, minlength=bins)
    acc_sum = torch.bincount(index, correct, minlength=bins)
    safe = count.clamp_min(1)
    return {
        "confidence": (conf_sum / safe).tolist(),
        "accuracy": (acc_sum / safe).tolist(),
        "count": count.tolist(),
    }


def ece(mean_probs: Tensor, y: Tensor, bins: int = 15) -> float:
    """Expected calibration error: Σ_b (n_b / N) |acc_b − conf_b| over ``bins`` equal-width bins."""
    r = reliability(mean_probs, y, bins)
    n = sum(r["count"])
    if n == 0:
        return float("nan")
    return sum(c / n * abs(a - f) for a, f, c in zip(r["accuracy"], r["confidence"], r["count"], strict=True))


def risk_coverage(uncertainty: Tensor, correct: Tensor) -> tuple[Tensor, Tensor]:
    """Accept the k least uncertain inputs, k = 1..N: coverage k/N and risk (error rate) among them."""
    order = torch.argsort(uncertainty.double(), stable=True)
    wrong = (~correct.bool())[order].double().cumsum(0)
    k = torch.arange(1, len(order) + 1, dtype=torch.float64)
    return k / len(order), wrong / k


def aurc(uncertainty: Tensor, correct: Tensor) -> float:
    """Area under the risk–coverage curve (mean selective risk over coverages k/N)."""
    return float(risk_coverage(uncertainty, correct)[1].mean())


def accuracy_at_coverage(uncertainty: Tensor, correct: Tensor, coverage: float) -> float:
    """Accuracy on the ⌈coverage · N⌉ least uncertain inputs."""
    k = max(1, math.ceil(coverage * len(correct) - 1e-9))
    order = torch.argsort(uncertainty.double(), stable=True)[:k]
    return float(correct.bool()[order].double().mean())


def auroc(u_in: Tensor, u_out: Tensor) -> float:
    """P(u_out > u_in) + ½ P(u_out = u_in): AUROC with out-of-distribution as the positive class
    (NaN when either set is empty)."""
    if not len(u_in) or not len(u_out):
        return math.nan
    scores = torch.cat([u_in.double(), u_out.double()])
    ranks = _average_ranks(scores)
    n_in, n_out = len(u_in), len(u_out)
    rank_sum = ranks[n_in:].sum()
    return float((rank_sum - n_out * (n_out + 1) / 2) / (n_in * n_out))


def fpr_at_tpr(u_in: Tensor, u_out: Tensor, tpr: float = 0.95) -> float:
    """Share of in-distribution inputs flagged (u ≥ θ) when θ flags ``tpr`` of the out-of-distribution
    ones (NaN when either set is empty)."""
    if not len(u_in) or not len(u_out):
        return math.nan
    k = max(1, math.ceil(tpr * len(u_out) - 1e-9))
    theta = u_out.double().sort(descending=True).values[k - 1]
    return float((u_in.double() >= theta).double().mean())


def _average_ranks(x: Tensor) -> Tensor:
    """1-based ranks of x, ties given their average rank."""
    order = torch.argsort(x, stable=True)
    sorted_x = x[order]
    n = len(x)
    ranks = torch.empty(n, dtype=torch.float64)
    ranks[order] = torch.arange(1, n + 1, dtype=torch.float64)
    uniq, inverse, counts = torch.unique_consecutive(sorted_x, return_inverse=True, return_counts=True)
    if len(uniq) < n:  # average the ranks within each tie group
        ends = counts.cumsum(0).double()
        avg = ends - (counts.double() - 1) / 2
        ranks[order] = avg[inverse]
    return ranks
