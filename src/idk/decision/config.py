"""How a model decides: the rule's configuration, one home for each of its settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RuleConfig:
    """How the model decides (see :mod:`idk.decision.rules`); ``target_*`` calibrate the threshold."""

    score: str = "percentile"  # a score name (idk.decision.scores) or "auto": chosen on validation data
    percentile: float = 50.0
    threshold: float = 0.2
    samples: int = 100  # posterior samples per image for the decision
    forced_samples: int = 10  # samples for the forced prediction (tutorial: 10, mean logits)
    forced_average: str = "logits"  # forced answer: argmax of mean "logits" (tutorial) or "probs"
    fit_temperature: bool = False  # fit the predictive's temperature on validation data
    target_refusal: float | None = None
    target_error: float | None = None
    confidence: float = 0.95

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RuleConfig:
        return cls(**d)
