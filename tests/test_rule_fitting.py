import pytest
import torch

from idk.decision.predictive import Predictions
from idk.decision.rules import PercentileRule, ScoreRule
from idk.training.config import RuleConfig
from idk.training.rule_fitting import base_rule, calibrate, choose_score, fit_temperature, predictive_nll


def test_fit_temperature_recovers_the_true_temperature():
    """Labels drawn from softmax(z / 2): the NLL-optimal temperature for logits z is 2 (± sampling)."""
    g = torch.Generator().manual_seed(0)
    z = 4 * torch.randn(1, 20000, 10, generator=g)
    labels = torch.multinomial(torch.softmax(z[0] / 2.0, -1), 1, generator=g).squeeze(1)
    t = fit_temperature(z, labels)
    assert t == pytest.approx(2.0, rel=0.05)
    assert predictive_nll(z, labels, t) <= predictive_nll(z, labels, 1.0)


def _pred(probs: torch.Tensor) -> Predictions:
    return Predictions.from_logits(torch.log(probs.clamp_min(1e-12)), 10.0)


def test_choose_score_prefers_the_score_that_refuses_outliers():
    g = torch.Generator().manual_seed(0)
    # in distribution: samples agree on a confident answer
    val = torch.softmax(
        8 * torch.eye(10)[torch.randint(0, 10, (500,), generator=g)] + 0.1 * torch.randn(20, 500, 10, generator=g), -1
    )
    labels = val.mean(0).argmax(-1)
    # outliers: every sample is confident, but the samples disagree → only disagreement-aware scores see it
    out = torch.softmax(8 * torch.eye(10)[torch.randint(0, 10, (20, 300), generator=g)], -1)
    chosen, info = choose_score(_pred(val), labels, {"disagreeing": _pred(out)}, 0.02)
    assert chosen != "expected-entropy"
    assert info["scores"][chosen]["refused:disagreeing"] > 0.9
    assert info["scores"]["expected-entropy"]["refused:disagreeing"] < 0.5
    assert "entropy-or-mutual-info" not in info["scores"]  # a fitted score is a preset's choice, not auto's


def test_calibrate_meets_the_refusal_target_and_keeps_the_rule_type():
    g = torch.Generator().manual_seed(1)
    probs = torch.softmax(3 * torch.randn(30, 1000, 10, generator=g), -1)
    pred = _pred(probs)
    labels = pred.mean_probs.argmax(-1)
    for score in ("percentile", "mutual-info"):
        cfg = RuleConfig(score=score, percentile=10.0, target_refusal=0.05)
        rule, info = calibrate(base_rule(cfg), pred, labels, cfg)
        assert isinstance(rule, PercentileRule if score == "percentile" else ScoreRule)
        assert info["validation_refused"] <= 0.05 and info["validation_refused"] > 0.04
