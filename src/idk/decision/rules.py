"""Decision rules: from posterior predictive summaries to an answer or "I don't know".

:class:`PercentileRule` is the tutorial's: class c is accepted when the q-th percentile of its S
sampled probabilities exceeds t, ``Q_q({p_s,c}) > t`` (tutorial: q = 50, t = 0.2). The answer is
the set of accepted classes (empty = "I don't know", two = "either 4 or 9"); the reported label is
``argmax_c Q_q``. :class:`ScoreRule` thresholds any score: refuse when ``u > τ``, else answer
``argmax_c p̄_c``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import torch
from torch import Tensor

from idk.decision.calibration import refused_count
from idk.decision.config import RuleConfig
from idk.decision.predictive import Predictions
from idk.decision.scores import PercentileProbability, Score, is_fitted, make_score
from idk.errors import IdkError


def shown(threshold: float, digits: int = 4) -> str:
    """A threshold in a few digits for a rule's summary, rounded down (toward what the rule lets
    through), never up past a bound it sits just below (an entropy's ln C): 1.09843 → "1.098"."""
    if not math.isfinite(threshold) or threshold <= 0:
        return f"{threshold:.{digits}g}"
    exact = Decimal(repr(float(threshold)))  # its shortest decimal form: 0.5 stays 0.5 at any number of digits
    floored = exact.quantize(Decimal(1).scaleb(exact.adjusted() - digits + 1), rounding=ROUND_FLOOR)
    return f"{float(floored):.{digits}g}"


def shown_probability(p: float) -> str:
    """A probability in two decimals, rounded down as thresholds are: 0.996 → "0.99" (to nearest it
    read "1.00" beside an uncertainty that said otherwise). Read at six significant digits first,
    as the service and ``--json`` give probabilities, so a float32 0.29 (0.2899999916...) reads
    "0.29" everywhere, and "1.00" means 0.9999995 or more."""
    if not math.isfinite(p):
        return str(p)
    return str(Decimal(f"{float(p):.6g}").quantize(Decimal("0.01"), rounding=ROUND_FLOOR))


def shown_apart(score: float, threshold: float) -> tuple[str, str]:
    """A score beside its threshold, both rounded down as :func:`shown` writes the rule (so the
    threshold reads as in the rule's summary): four significant digits, or as many more as tell them
    apart (up to nine). Rounding both the same way keeps their order (a score rounded to nearest beside
    a threshold rounded down could read 0.45206 against 0.45209 as "0.4521 > 0.452")."""
    for digits in range(4, 10):
        x, y = shown(score, digits), shown(threshold, digits)
        if x != y:
            break
    return x, y


@dataclass
class Decision:
    """accepted (N, C) bool: the classes answered (none where refused); label (N,) int64: the most
    probable class, refused or not (read ``refused``: a FileResult's label is None there); refused (N,) bool."""

    accepted: Tensor
    label: Tensor
    refused: Tensor


def at_percentile(pred: Predictions, percentile: float) -> Tensor:
    """(N, C) ``pred``'s Q_q({p_s,c}_s), refused (:class:`~idk.errors.IdkError`) where its q is not
    ``percentile``, the one a rule reads: predictions summarised at another percentile would be
    decided on silently."""
    if pred.percentile != percentile:
        raise IdkError(
            f"the predictions hold each class's {pred.percentile:g}th-percentile probability and the rule reads "
            f"the {percentile:g}th: predict them with percentile={percentile:g} (the rule's .percentile)"
        )
    return pred.quantile_probs


class PercentileRule:
    """Accept class c when Q_q({p_s,c}_s) > t; refuse when no class is accepted, or every class is
    (an answer naming them all says nothing: a t under 1/C allows it, as a weak model's calibration
    can set it)."""

    def __init__(self, percentile: float = RuleConfig.percentile, threshold: float = RuleConfig.threshold) -> None:
        if not 0.0 <= percentile <= 100.0:
            raise ValueError(f"percentile must lie in [0, 100], got {percentile}")
        self.percentile, self.threshold = percentile, threshold
        self.score = make_score("percentile")

    def decide(self, pred: Predictions) -> Decision:
        stat = at_percentile(pred, self.percentile)
        accepted = stat > self.threshold
        refused = ~accepted.any(-1) | accepted.all(-1)
        return Decision(accepted & ~refused[:, None], stat.argmax(-1), refused)

    @property
    def statistic(self) -> tuple[str, str]:
        """What it reads of each class, short and in words: ``("p50", "50th-percentile probability")``."""
        return f"p{self.percentile:g}", f"{self.percentile:g}th-percentile probability"

    def class_statistic(self, pred: Predictions) -> Tensor:
        """(N, C) what it reads of each class: Q_q({p_s,c}_s)."""
        return at_percentile(pred, self.percentile)

    def compared(self, pred: Predictions) -> Tensor:
        """(N,) what it compares with its threshold: max_c Q_q (answered when > t, unless every
        class is)."""
        return at_percentile(pred, self.percentile).max(-1).values

    def refusal_score(self, pred: Predictions) -> Tensor:
        """r = −max_c Q_q: the rule refuses exactly when r > −t (r is computed exactly, no rounding),
        or when every class is accepted (which r does not tell: the threshold set for a target then
        refuses more than it, as the calibration's ``validation_refused`` says)."""
        return -at_percentile(pred, self.percentile).max(-1).values

    def with_cutoff(self, cutoff: float) -> PercentileRule:
        """The rule whose threshold refuses exactly when ``refusal_score > cutoff`` (and which refuses
        every class accepted besides): t is the largest float32 below −cutoff, so max_c Q_q ≤ t ⇔
        max_c Q_q < −cutoff."""
        t = torch.nextafter(torch.tensor(-cutoff, dtype=torch.float32), torch.tensor(-float("inf")))
        return PercentileRule(self.percentile, float(t))

    def score_threshold(self) -> float:
        """Where on its score's axis it starts to refuse: the percentile score u = 1 − max_c Q_q
        reaches 1 − t (refused there and above, as max_c Q_q ≤ t)."""
        return 1.0 - self.threshold

    def summary(self) -> str:
        """The rule in a few words: ``accept p50 > 0.2``."""
        return f"accept p{self.percentile:g} > {shown(self.threshold)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": "percentile",
            "score": "percentile",
            "percentile": self.percentile,
            "threshold": self.threshold,
        }


class ScoreRule:
    """Refuse when the score's uncertainty u exceeds τ; otherwise answer argmax_c p̄_c."""

    def __init__(self, score: Score, threshold: float, percentile: float = RuleConfig.percentile) -> None:
        self.score, self.threshold, self.percentile = score, threshold, percentile

    def _scored(self, pred: Predictions) -> Tensor:
        """(N,) u; a score of percentiles reads them at the rule's (:func:`at_percentile`)."""
        if isinstance(self.score, PercentileProbability):
            at_percentile(pred, self.percentile)
        return self.score(pred)

    def decide(self, pred: Predictions) -> Decision:
        label = pred.mean_probs.argmax(-1)
        refused = ~(self._scored(pred) <= self.threshold)  # a NaN score (a diverged model) is refused too
        accepted = torch.zeros_like(pred.mean_probs, dtype=torch.bool)
        accepted[torch.arange(len(label)), label] = True
        accepted &= ~refused.unsqueeze(-1)
        return Decision(accepted, label, refused)

    statistic = ("mean", "mean probability")  # what it reads of each class, short and in words

    def class_statistic(self, pred: Predictions) -> Tensor:
        """(N, C) what it reads of each class: the mean probability p̄_c."""
        return pred.mean_probs

    def compared(self, pred: Predictions) -> Tensor:
        """(N,) what it compares with its threshold: the uncertainty u (refused when > τ)."""
        return self._scored(pred)

    def refusal_score(self, pred: Predictions) -> Tensor:
        """r = u: the rule refuses exactly when r > τ."""
        return self._scored(pred)

    def with_cutoff(self, cutoff: float) -> ScoreRule:
        """The rule refusing exactly when ``refusal_score > cutoff``."""
        return ScoreRule(self.score, cutoff, self.percentile)

    def score_threshold(self) -> float:
        """Where on its score's axis it starts to refuse: τ (refused above it)."""
        return self.threshold

    def summary(self) -> str:
        """The rule in a few words: ``refuse entropy > 0.34``."""
        return f"refuse {self.score.name} > {shown(self.threshold)}"

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": "score",
            "score": self.score.name,
            "percentile": self.percentile,
            "threshold": self.threshold,
        }
        if self.score.params():
            d["score_params"] = self.score.params()
        return d


Rule = PercentileRule | ScoreRule
RULES = ("percentile", "score")  # the rules' names in their dict form (``as_dict``'s "name")


def rule_for(
    score: str,
    threshold: float = RuleConfig.threshold,
    percentile: float = RuleConfig.percentile,
    params: dict[str, Any] | None = None,
) -> Rule:
    """The rule on ``score``: the percentile rule for "percentile", else a :class:`ScoreRule` on
    that score (a fitted score with its ``params``)."""
    if score == "percentile":
        return PercentileRule(percentile, threshold)
    return ScoreRule(make_score(score, params), threshold, percentile)


def make_rule(d: dict[str, Any]) -> Rule:
    """A rule from its dict form (as stored in checkpoints and reports).

    Raises:
        ValueError: for a name not in :data:`RULES`, a score rule without its score, or a fitted
            score without its parameters.
    """
    name = d.get("name", "percentile")
    if name not in RULES:
        raise ValueError(f"unknown rule {name!r}; valid: {', '.join(RULES)}")
    if name == "percentile":
        return rule_for(
            "percentile",
            float(d.get("threshold", RuleConfig.threshold)),
            float(d.get("percentile", RuleConfig.percentile)),
        )
    if "score" not in d or "threshold" not in d:
        raise ValueError(f"a score rule needs its 'score' and 'threshold'; this one has {sorted(d)}")
    if is_fitted(d["score"]) and not d.get("score_params"):
        raise ValueError(f"a rule on the score {d['score']!r} needs its fitted score_params; this one has none")
    percentile = float(d.get("percentile", RuleConfig.percentile))
    return rule_for(d["score"], float(d["threshold"]), percentile, d.get("score_params"))


def infeasible_error_target(d: dict[str, Any]) -> bool:
    """Whether a rule (in its dict form) was calibrated for an error target that no coverage met
    (it then refuses every input)."""
    calibration = d.get("calibration") or {}
    return "target_error" in calibration and calibration.get("feasible") is False


def infeasible_advice(d: dict[str, Any], kept: bool = True) -> str | None:
    """What to tell the user of a rule (dict form) whose error target no coverage met; else None.
    ``kept``: the rule is kept (a model trained with it); else it is not written (a model
    recalibrated keeps its rule)."""
    if not infeasible_error_target(d):
        return None
    cal = d["calibration"]
    reachable = cal.get("certifiable_target")
    reach = f"; the smallest these images certify is --target-error {reachable:g}" if reachable is not None else ""
    return (
        f"--target-error {cal['target_error']:g} could not be certified at {100 * cal.get('confidence', RuleConfig.confidence):g}% "
        f"confidence on the {cal.get('n', '?')} validation images: the rule {'refuses' if kept else 'would refuse'} "
        f"every image{reach} (or give a lower --confidence, or more validation images)"
    )


def summarize_rule(d: dict[str, Any]) -> str:
    """A rule (dict form) in a few words, as :meth:`ScoreRule.summary` gives it, or "refuse every
    image" for one whose error target no coverage met (its threshold, −1, would say nothing)."""
    if infeasible_error_target(d):
        return f"refuse every image (error ≤ {d['calibration']['target_error']:g} not certified)"
    return make_rule(d).summary()


def describe_score_choice(selection: dict[str, Any]) -> str:
    """One line naming the score "auto" chose and why (a checkpoint's or report's ``score_selection``)."""
    return f"{selection['chosen']}, chosen because it {selection['criterion']}"


def describe_rule(d: dict[str, Any]) -> str:
    """One line saying what a rule (in its dict form) does, and how its threshold was set."""
    rule = make_rule(d)
    if isinstance(rule, PercentileRule):
        text = f"accept each class whose {rule.percentile:g}th-percentile probability over the samples is > {shown(rule.threshold)}"
    else:
        text = (
            f"refuse when {rule.score.describe()} exceeds {shown(rule.threshold)}; else answer the most probable class"
        )
    cal = d.get("calibration") or {}
    if infeasible_error_target(d):
        text = (
            f"refuse every image: an error ≤ {cal['target_error']:g} could not be certified at "
            f"{100 * cal.get('confidence', RuleConfig.confidence):g}% confidence on {cal.get('n', '?')} validation images"
        )
    elif "target_error" in cal:
        text += (
            f" (calibrated for error ≤ {cal['target_error']:g} at {100 * cal.get('confidence', RuleConfig.confidence):g}% confidence "
            f"on {cal.get('n', '?')} validation images: bound {cal.get('bound', float('nan')):.4g})"
        )
    elif "target_refusal" in cal:
        text += (
            f" (calibrated to refuse {100 * cal['target_refusal']:g}% of {cal['n']} validation images"
            f"{_refused_beyond_target(rule, cal)})"
        )
    return text


def _refused_beyond_target(rule: Rule, cal: dict[str, Any]) -> str:
    """What a rule calibrated to a refusal target refuses of its validation images where that is
    more images than the target allows (:func:`~idk.decision.calibration.refused_count`): a
    percentile rule's answers naming every class, refused besides its threshold, or NaN scores (a
    diverged model; ties at the threshold refuse fewer, never more); "" otherwise and for older
    calibrations."""
    refused, n = cal.get("validation_refused"), cal["n"]
    if refused is None or round(refused * n) <= refused_count(n, cal["target_refusal"]):
        return ""
    why = "answers naming every class, refused besides its threshold" if isinstance(rule, PercentileRule) else None
    return f"; it refuses {100 * refused:.3g}% of them{f': {why}' if why else ''}"
