"""Uncertainty scores: one number per input, higher = less sure (and more likely out of distribution).

Each is a small class whose docstring gives its formula, in terms of S sampled probability vectors
p_s (s = 1..S) over C classes and their mean p̄ = (1/S) Σ_s p_s. ``H[p] = -Σ_c p_c log p_c``.
A score sees only :class:`~idk.decision.predictive.Predictions`, the per-input summaries of the S
draws (p̄, a percentile of p_s, (1/S) Σ_s H[p_s], the mean logits); the first line of its docstring
is what ``idk info`` and the reports print for it (its formula). A score of your own is a subclass
added to :data:`SCORES`, before a model that names it is loaded.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from idk.decision.predictive import Predictions

SCALE_QUANTILE = 0.99  # fitted scores' scales: this quantile of each part on validation images


class Score:
    name: str = ""
    fits: bool = False  # True: its constants are fitted on validation predictions (:meth:`fitted`)
    # True: one of the scores "auto" chooses among (:func:`auto_candidates`); a score with fitted
    # constants never is. Opt-in: a new candidate may change the rule of every model trained with
    # "auto", the default's among them; measure that before making one.
    auto_candidate: bool = False

    def bounds(self, num_classes: int) -> tuple[float, float]:
        """The range the score's values lie in with ``num_classes`` classes (for histograms):
        [0, 1] unless a score says otherwise (an entropy's [0, ln C], an energy's negative values)."""
        return 0.0, 1.0

    def __call__(self, pred: Predictions) -> Tensor:
        """Uncertainty per input, shape (N,)."""
        raise NotImplementedError

    def describe(self) -> str:
        return (self.__doc__ or self.name).strip().splitlines()[0].rstrip(".")

    def fitted(self, pred: Predictions) -> Score:
        """This score with its constants fitted on validation predictions ``pred`` (most have none)."""
        return self

    def params(self) -> dict[str, Any]:
        """The fitted constants, as stored in a rule's dict (``score_params``)."""
        return {}


def entropy(p: Tensor) -> Tensor:
    """H[p] along the last dimension, with 0 log 0 = 0."""
    return -(p * torch.log(p.clamp_min(1e-30))).sum(-1)


def total_and_epistemic(pred: Predictions, dtype: torch.dtype | None = None) -> tuple[Tensor, Tensor]:
    """(H[p̄], I) per input, shapes (N,) and (N,): the total uncertainty and its epistemic part
    I = H[p̄] − (1/S) Σ_s H[p_s] (clamped at 0 against rounding), the difference taken in ``dtype``
    (default: the predictions')."""
    total = entropy(pred.mean_probs)
    if dtype is not None:
        total = total.to(dtype)
    return total, (total - pred.expected_entropy.to(total.dtype)).clamp_min(0.0)


class MaxProbability(Score):
    """u = 1 − max_c p̄_c  (one minus the maximum mean probability)."""

    name = "max-prob"
    auto_candidate = True

    def __call__(self, pred: Predictions) -> Tensor:
        return 1.0 - pred.mean_probs.max(-1).values


class EntropyScore(Score):
    """An entropy, or a difference of entropies, of C-class predictions: its values lie in [0, ln C]."""

    def bounds(self, num_classes: int) -> tuple[float, float]:
        return 0.0, math.log(num_classes)


class PredictiveEntropy(EntropyScore):
    """u = H[p̄]  (total uncertainty: entropy of the mean prediction)."""

    name = "entropy"
    auto_candidate = True

    def __call__(self, pred: Predictions) -> Tensor:
        return entropy(pred.mean_probs)


class ExpectedEntropy(EntropyScore):
    """u = (1/S) Σ_s H[p_s]  (aleatoric: how ambiguous each sampled network finds the input)."""

    name = "expected-entropy"
    auto_candidate = True

    def __call__(self, pred: Predictions) -> Tensor:
        return pred.expected_entropy


class MutualInformation(EntropyScore):
    """u = H[p̄] − (1/S) Σ_s H[p_s]  (epistemic: how much the sampled networks disagree)."""

    name = "mutual-info"
    auto_candidate = True

    def __call__(self, pred: Predictions) -> Tensor:
        return total_and_epistemic(pred)[1]


class EntropyOrMutualInformation(Score):
    """u = max(H[p̄] / a, I / b), I = H[p̄] − (1/S) Σ_s H[p_s]  (total or epistemic uncertainty, each on its scale).

    Refuses when either part is unusual: a and b are the :data:`SCALE_QUANTILE` quantiles of H[p̄]
    and of I on validation images (:meth:`fitted`), so one unit on either scale is "as uncertain as
    the 1% most uncertain validation images". An input the networks agree on but find ambiguous
    (a blurry symbol) is judged by the total; one on which they disagree while each is confident
    (an unfamiliar drawing) by the epistemic part. Unfitted (no scales), it refuses to score.
    """

    name = "entropy-or-mutual-info"
    fits = True
    HISTOGRAM_UPPER = 4.0  # histograms span four times the scale (beyond: the last bin)

    def __init__(self, scales: tuple[float, float] | list[float] | None = None) -> None:
        if scales is not None and (len(scales) != 2 or min(scales) <= 0):
            raise ValueError(f"{self.name} needs two positive scales (entropy, mutual information), got {scales}")
        self.scales = None if scales is None else (float(scales[0]), float(scales[1]))

    def bounds(self, num_classes: int) -> tuple[float, float]:
        return 0.0, self.HISTOGRAM_UPPER

    def describe(self) -> str:
        if self.scales is None:
            return super().describe()
        a, b = self.scales
        return f"u = max(H[p̄] / {a:.3g}, I / {b:.3g}), I = H[p̄] − (1/S) Σ_s H[p_s] (total or epistemic uncertainty)"

    def __call__(self, pred: Predictions) -> Tensor:
        if self.scales is None:
            raise ValueError(f"the score {self.name} has no scales: fit it on validation predictions first")
        total, epistemic = total_and_epistemic(pred)
        return torch.maximum(total / self.scales[0], epistemic / self.scales[1])

    def fitted(self, pred: Predictions) -> EntropyOrMutualInformation:
        if not len(pred):
            raise ValueError(f"the score {self.name} needs validation predictions to fit its scales; got none")
        total, epistemic = total_and_epistemic(pred, torch.float64)
        # networks that never disagree on the validation images: disagreement beyond float32 rounding is unusual
        floor = 1e-6 * math.log(pred.mean_probs.shape[-1])
        return type(self)(tuple(max(float(torch.quantile(v, SCALE_QUANTILE)), floor) for v in (total, epistemic)))

    def params(self) -> dict[str, Any]:
        return {} if self.scales is None else {"scales": list(self.scales)}


class PercentileProbability(Score):
    """u = 1 − max_c Q_q({p_s,c}_s)  (one minus the best class's q-th percentile probability)."""

    name = "percentile"
    auto_candidate = True

    def __call__(self, pred: Predictions) -> Tensor:
        return 1.0 - pred.quantile_probs.max(-1).values


# Every score by name (copied into idk.choices.SCORE_NAMES for the command line). A score added here
# is used where a preset or --score names it; it is one of "auto"'s candidates only when its class
# sets auto_candidate = True (see Score).
SCORES: dict[str, type[Score]] = {
    cls.name: cls
    for cls in (
        MaxProbability,
        PredictiveEntropy,
        ExpectedEntropy,
        MutualInformation,
        EntropyOrMutualInformation,
        PercentileProbability,
    )
}


def parameter_free() -> list[str]:
    """The names of the scores with no fitted constants (those a report compares on any model)."""
    return [name for name, cls in SCORES.items() if not cls.fits]


def auto_candidates() -> list[str]:
    """The names of the scores "auto" chooses among: those with no fitted constants that opt in."""
    return [name for name in parameter_free() if SCORES[name].auto_candidate]


def is_fitted(name: str) -> bool:
    """Whether the score called ``name`` has constants fitted on validation predictions."""
    return name in SCORES and SCORES[name].fits


def make_score(name: str, params: dict[str, Any] | None = None) -> Score:
    """The score called ``name`` with its fitted constants ``params`` (as :meth:`Score.params`
    returns them); the error lists the valid names. Its ``name`` is the key it is found by in
    :data:`SCORES`, what a rule records (a class of one's own may leave ``name`` unset, or be
    registered under another)."""
    if name not in SCORES:
        raise ValueError(
            f"unknown score {name!r}; valid: {', '.join(SCORES)} (a score of your own: add it to "
            "idk.decision.scores.SCORES before a model that uses it is loaded)"
        )
    return _named(SCORES[name](**(params or {})), name)


def fitted_score(name: str, pred: Predictions) -> Score:
    """The score called ``name`` with its constants fitted on validation predictions ``pred``
    (:meth:`Score.fitted`), named as :func:`make_score` names it."""
    return _named(make_score(name).fitted(pred), name)


def _named(score: Score, name: str) -> Score:
    """``score`` under the key it is registered by (what a rule records)."""
    if score.name != name:
        try:
            score.name = name
        except AttributeError:  # a read-only ``name`` of a class of one's own
            raise ValueError(
                f"the score registered as {name!r} calls itself {score.name!r} and cannot be renamed; "
                f"give its class name = {name!r}"
            ) from None
    return score
