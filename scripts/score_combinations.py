"""Would a combination of scores rank the validation errors better without answering more symbols?

The diagnosis of ``scripts/shift_diagnosis.py`` (validation data only: thresholds refusing 2% of
the calibration images, shifted sets and non-digit symbols built from the tuning images), with these
candidates measured after the package's own scores, each a combination of two parts of the
predictive of S draws p_s with mean p̄:

  EE = (1/S) Σ_s H[p_s] (aleatoric),  I = H[p̄] − EE (epistemic),  M = 1 − max_c p̄_c;

  ee-or-mi      u = max(EE / a, I / b)
  ee+mi-scaled  u = EE / a + I / b
  ee+2mi        u = EE + 2 I
  ee+4mi        u = EE + 4 I
  mp-or-ee      u = max(M / a, EE / b)

where a and b are each part's :data:`idk.decision.scores.SCALE_QUANTILE` quantile on the tuning
images (as the package's entropy-or-mutual-info fits them). None of these is in the package: the
question is whether any moves the accuracy on accepted validation digits (the "calib." column)
without giving back symbols refused (docs/experiments.md).

Usage: python scripts/score_combinations.py runs/default.pt [shift_diagnosis.py's options]
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import torch
from shift_diagnosis import main as diagnosis
from torch import Tensor

from idk.decision.predictive import Predictions
from idk.decision.scores import SCALE_QUANTILE, Score, total_and_epistemic

Part = Callable[[Predictions], Tensor]


def aleatoric(pred: Predictions) -> Tensor:
    """EE = (1/S) Σ_s H[p_s], shape (N,)."""
    return pred.expected_entropy


def epistemic(pred: Predictions) -> Tensor:
    """I = H[p̄] − EE, shape (N,)."""
    return total_and_epistemic(pred)[1]


def one_minus_max(pred: Predictions) -> Tensor:
    """M = 1 − max_c p̄_c, shape (N,)."""
    return 1.0 - pred.mean_probs.max(-1).values


class Combination(Score):
    """u = reduce(part_k / scale_k): the parts each on a scale, combined by their maximum or sum.

    With ``fit``, the scales are the parts' :data:`SCALE_QUANTILE` quantiles on the predictions
    :meth:`fitted` is given; otherwise ``scales`` are fixed weights' reciprocals."""

    def __init__(
        self, name: str, parts: tuple[Part, Part], reduce: str, scales: tuple[float, float], fit: bool
    ) -> None:
        self.name, self.parts, self.reduce, self.scales, self.fit = name, parts, reduce, scales, fit

    def __call__(self, pred: Predictions) -> Tensor:
        a, b = (part(pred) / scale for part, scale in zip(self.parts, self.scales, strict=True))
        return torch.maximum(a, b) if self.reduce == "max" else a + b

    def fitted(self, pred: Predictions) -> Combination:
        if not self.fit:
            return self
        scales = tuple(max(float(torch.quantile(part(pred).double(), SCALE_QUANTILE)), 1e-9) for part in self.parts)
        return Combination(self.name, self.parts, self.reduce, scales, fit=False)


CANDIDATES: dict[str, Score] = {
    c.name: c
    for c in (
        Combination("ee-or-mi", (aleatoric, epistemic), "max", (1.0, 1.0), fit=True),
        Combination("ee+mi-scaled", (aleatoric, epistemic), "sum", (1.0, 1.0), fit=True),
        Combination("ee+2mi", (aleatoric, epistemic), "sum", (1.0, 0.5), fit=False),
        Combination("ee+4mi", (aleatoric, epistemic), "sum", (1.0, 0.25), fit=False),
        Combination("mp-or-ee", (one_minus_max, aleatoric), "max", (1.0, 1.0), fit=True),
    )
}


if __name__ == "__main__":
    diagnosis(sys.argv[1:], extra_scores=CANDIDATES)
