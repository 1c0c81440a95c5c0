import math

import pytest
import torch

from idk.decision.predictive import Predictions
from idk.decision.scores import SCORES, make_score


def _pred(probs, q=50.0):
    return Predictions.from_logits(torch.log(torch.tensor(probs, dtype=torch.float64)), q)


def test_two_samples_that_disagree_completely_give_mutual_information_ln2():
    eps = 1e-12
    pred = _pred([[[1 - eps, eps]], [[eps, 1 - eps]]])
    assert make_score("mutual-info")(pred).item() == pytest.approx(math.log(2), abs=1e-9)
    assert make_score("expected-entropy")(pred).item() == pytest.approx(0.0, abs=1e-9)
    assert make_score("entropy")(pred).item() == pytest.approx(math.log(2), abs=1e-9)
    assert make_score("max-prob")(pred).item() == pytest.approx(0.5)


def test_agreeing_uncertain_samples_are_aleatoric_not_epistemic():
    pred = _pred([[[0.5, 0.5]], [[0.5, 0.5]], [[0.5, 0.5]]])
    assert make_score("mutual-info")(pred).item() == pytest.approx(0.0, abs=1e-12)
    assert make_score("expected-entropy")(pred).item() == pytest.approx(math.log(2))


def test_uniform_over_ten_classes_has_entropy_ln10_and_percentile_score():
    pred = _pred([[[0.1] * 10]] * 5, q=10)
    assert make_score("entropy")(pred).item() == pytest.approx(math.log(10))
    assert make_score("percentile")(pred).item() == pytest.approx(0.9)


def test_percentile_score_uses_the_requested_percentile():
    samples = [[[p, 1 - p]] for p in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0 - 1e-12)]
    pred = _pred(samples, q=10)
    # class 0's 10th percentile of (0.1..1.0) = 0.19; class 1's = 1 - 90th pct of class 0 = 0.1 + 0.09 = 0.19
    assert make_score("percentile")(pred).item() == pytest.approx(1 - 0.19, abs=1e-9)


def test_factory_lists_valid_names():
    with pytest.raises(ValueError) as err:
        make_score("nonsense")
    for name in SCORES:
        assert name in str(err.value)
    for name, cls in SCORES.items():
        assert "=" in cls.__doc__, f"{name} must state its formula"
