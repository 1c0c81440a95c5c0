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

    @property
    def targeted(self) -> bool:
        """Whether the threshold is set on validation images to meet a target (refusal or error);
        otherwise it is ``threshold``, fixed by hand for its own score (the tutorial's)."""
        return self.target_refusal is not None or self.target_error is not None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RuleConfig:
        return cls(**d)
