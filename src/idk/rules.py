"""Decision rules: from posterior predictive summaries to an answer or "I don't know".

:class:`PercentileRule` is the tutorial's: digit c is accepted when the q-th percentile of its S
sampled probabilities exceeds t, ``Q_q({p_s,c}) > t`` (tutorial: q = 50, t = 0.2). The answer is
the set of accepted digits (empty = "I don't know", two = "either 4 or 9"); the reported label is
``argmax_c Q_q``. :class:`ScoreRule` thresholds any score: refuse when ``u > τ``, else answer
``argmax_c p̄_c``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from idk.predictive import Predictions
from idk.scores import Score, make_score


@dataclass
class Decision:
    """accepted (N, C) bool, label (N,) int64, refused (N,) bool."""

    accepted: Tensor
    label: Tensor
    refused: Tensor


class PercentileRule:
    """Accept digit c when Q_q({p_s,c}_s) > t; refuse when no digit is accepted."""

    def __init__(self, percentile: float = 50.0, threshold: float = 0.2) -> None:
        if not 0.0 <= percentile <= 100.0:
            raise ValueError(f"percentile must lie in [0, 100], got {percentile}")
        self.percentile, self.threshold = percentile, threshold
        self.score = make_score("percentile")

    def decide(self, pred: Predictions) -> Decision:
        stat = pred.quantile_probs
        accepted = stat > self.threshold
        return Decision(accepted, stat.argmax(-1), ~accepted.any(-1))

    def with_uncertainty_threshold(self, tau: float) -> PercentileRule:
        """The rule refusing exactly when the percentile score u = 1 − max_c Q_q exceeds τ."""
        return PercentileRule(self.percentile, 1.0 - tau)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": "percentile",
            "score": "percentile",
            "percentile": self.percentile,
            "threshold": self.threshold,
        }


class ScoreRule:
    """Refuse when the score's uncertainty u exceeds τ; otherwise answer argmax_c p̄_c."""

    def __init__(self, score: Score, threshold: float, percentile: float = 50.0) -> None:
        self.score, self.threshold, self.percentile = score, threshold, percentile

    def decide(self, pred: Predictions) -> Decision:
        label = pred.mean_probs.argmax(-1)
        refused = self.score(pred) > self.threshold
        accepted = torch.zeros_like(pred.mean_probs, dtype=torch.bool)
        accepted[torch.arange(len(label)), label] = True
        accepted &= ~refused.unsqueeze(-1)
        return Decision(accepted, label, refused)

    def with_uncertainty_threshold(self, tau: float) -> ScoreRule:
        return ScoreRule(self.score, tau, self.percentile)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": "score",
            "score": self.score.name,
            "percentile": self.percentile,
            "threshold": self.threshold,
        }


Rule = PercentileRule | ScoreRule


def rule_uncertainty_threshold(rule: Rule) -> float:
    """τ such that the rule refuses exactly when its score's u > τ."""
    return 1.0 - rule.threshold if isinstance(rule, PercentileRule) else rule.threshold


def make_rule(d: dict[str, Any]) -> Rule:
    """A rule from its dict form (as stored in checkpoints and reports)."""
    if d.get("name", "percentile") == "percentile":
        return PercentileRule(float(d.get("percentile", 50.0)), float(d.get("threshold", 0.2)))
    return ScoreRule(make_score(d["score"]), float(d["threshold"]), float(d.get("percentile", 50.0)))
