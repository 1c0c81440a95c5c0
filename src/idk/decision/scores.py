"""Uncertainty scores: one number per input, higher = less sure (and more likely out of distribution).

Each is a small class whose docstring gives its formula, in terms of S sampled probability vectors
p_s (s = 1..S) over C classes and their mean p̄ = (1/S) Σ_s p_s. ``H[p] = -Σ_c p_c log p_c``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from idk.decision.predictive import Predictions


class Score:
    name: str = ""

    def upper(self, num_classes: int) -> float:
        """The largest value the score can take with ``num_classes`` classes (for histograms)."""
        return 1.0

    def __call__(self, pred: Predictions) -> Tensor:
        """Uncertainty per input, shape (N,)."""
        raise NotImplementedError

    def describe(self) -> str:
        return (self.__doc__ or self.name).strip().splitlines()[0].rstrip(".")


def entropy(p: Tensor) -> Tensor:
    """H[p] along the last dimension, with 0 log 0 = 0."""
    return -(p * torch.log(p.clamp_min(1e-30))).sum(-1)


class MaxProbability(Score):
    """u = 1 − max_c p̄_c  (one minus the maximum mean probability)."""

    name = "max-prob"

    def __call__(self, pred: Predictions) -> Tensor:
        return 1.0 - pred.mean_probs.max(-1).values


class PredictiveEntropy(Score):
    """u = H[p̄]  (total uncertainty: entropy of the mean prediction)."""

    name = "entropy"

    def upper(self, num_classes: int) -> float:
        return math.log(num_classes)

    def __call__(self, pred: Predictions) -> Tensor:
        return entropy(pred.mean_probs)


class ExpectedEntropy(Score):
    """u = (1/S) Σ_s H[p_s]  (aleatoric: how ambiguous each sampled network finds the input)."""

    name = "expected-entropy"

    def upper(self, num_classes: int) -> float:
        return math.log(num_classes)

    def __call__(self, pred: Predictions) -> Tensor:
        return pred.expected_entropy


class MutualInformation(Score):
    """u = H[p̄] − (1/S) Σ_s H[p_s]  (epistemic: how much the sampled networks disagree)."""

    name = "mutual-info"

    def upper(self, num_classes: int) -> float:
        return math.log(num_classes)

    def __call__(self, pred: Predictions) -> Tensor:
        return (entropy(pred.mean_probs) - pred.expected_entropy).clamp_min(0.0)


class PercentileProbability(Score):
    """u = 1 − max_c Q_q({p_s,c}_s)  (one minus the best class's q-th percentile probability)."""

    name = "percentile"

    def __call__(self, pred: Predictions) -> Tensor:
        return 1.0 - pred.quantile_probs.max(-1).values


SCORES: dict[str, type[Score]] = {
    cls.name: cls
    for cls in (MaxProbability, PredictiveEntropy, ExpectedEntropy, MutualInformation, PercentileProbability)
}


def make_score(name: str) -> Score:
    """The score called ``name``; the error lists the valid names."""
    if name not in SCORES:
        raise ValueError(f"unknown score {name!r}; valid: {', '.join(SCORES)}")
    return SCORES[name]()
