"""The evaluation's numbers: forced answers drawn alike for the test set and the shifted sets."""

from __future__ import annotations

import pytest
import torch

from idk.data.images import ImageSet, InputSpec
from idk.decision.predictive import predict
from idk.decision.rules import Decision, PercentileRule
from idk.evaluation import metrics
from idk.evaluation.evaluate import EvalSettings, accepted_metrics, evaluate, forced_labels, refused_metrics
from idk.nn.bnn import ModelConfig, build_model
from idk.nn.networks import NetConfig


def test_forced_accuracy_of_shifted_sets_uses_the_forced_samples_as_the_test_set_does():
    """With --samples below forced_samples, every labelled set's forced answer comes from
    forced_samples draws (seed + 1): the column compares like with like."""
    torch.manual_seed(0)
    spec = InputSpec(1, 6, 6)
    model = build_model(ModelConfig(net=NetConfig(arch="mlp", hidden=8), input_shape=spec.shape, num_classes=3), 60)
    g = torch.Generator().manual_seed(1)
    sets = {
        name: ImageSet(
            name, torch.rand(60, 1, 6, 6, generator=g), torch.randint(0, 3, (60,), generator=g), ("a", "b", "c"), spec
        )
        for name in ("test", "shifted")
    }
    settings = EvalSettings(samples=3, forced_samples=40, forced_average="probs")
    report, _ = evaluate(model, PercentileRule(50.0, 0.2), sets, settings, shifted=("shifted",))
    for name in sets:
        forced = predict(model, sets[name].images, 40, 50.0, seed=1)
        expected = metrics.accuracy(forced_labels(forced, "probs"), sets[name].labels)
        assert report[name]["forced_accuracy"] == expected


def test_accepted_metrics_count_the_wrong_answers_and_bracket_the_accuracy():
    """The accuracy on accepted images, the wrong answers among them, and its 95% Clopper–Pearson
    interval (closed form when every accepted answer is right: the lower end solves p^n = 0.025)."""
    label = torch.tensor([0, 1, 2, 2, 1, 0])
    y = torch.tensor([0, 1, 1, 2, 0, 0])
    accepted = torch.tensor([True, True, True, True, False, True])
    out = accepted_metrics(label, y, accepted)
    assert out["accepted_accuracy"] == 0.8 and out["accepted_wrong"] == 1
    low, high = out["accepted_accuracy_interval"]
    assert low < 0.8 < high < 1
    right = accepted_metrics(label, label, accepted)
    assert right["accepted_wrong"] == 0
    assert right["accepted_accuracy_interval"] == [pytest.approx(0.025 ** (1 / 5)), 1.0]
    none = accepted_metrics(label, y, torch.zeros(6, dtype=torch.bool))  # everything refused
    assert none["accepted_wrong"] == 0 and none["accepted_accuracy_interval"] == [0.0, 1.0]
    assert none["accepted_accuracy"] != none["accepted_accuracy"]  # NaN: no accuracy to give


def test_refused_metrics_bracket_the_share_and_count_answers_naming_several_classes():
    refused = torch.tensor([True] * 91 + [False] * 9)
    accepted = torch.zeros(100, 3, dtype=torch.bool)
    accepted[91:, 0] = True
    accepted[91:94, 2] = True  # three of the nine answers name two classes
    out = refused_metrics(Decision(accepted, accepted.long().argmax(-1), refused))
    assert out["refused"] == pytest.approx(0.91)
    low, high = out["refused_interval"]
    assert 0.83 < low < 0.91 < high < 0.96  # Clopper–Pearson 95%: 0.8360–0.9580
    assert out["hesitant"] == pytest.approx(0.03)
