"""The posterior-sample memory budget: exact per-sample bytes, refused one sample past the budget."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from helpers import for_mnist
from idk.decision.memory import bytes_per_sample, check_samples
from idk.decision.predictive import ACTIVATION_BUDGET, batch_size_for
from idk.errors import IdkError
from idk.nn.bnn import ModelConfig, build_model
from idk.nn.networks import NetConfig


def test_per_sample_bytes_are_the_draws_and_the_largest_activation():
    model = build_model(for_mnist(ModelConfig(net=NetConfig(arch="mlp", hidden=32))), dataset_size=100)
    state = torch.get_rng_state()
    per_sample = bytes_per_sample(model)
    assert torch.equal(torch.get_rng_state(), state)  # measuring draws nothing from the global generator
    drawn = sum(t.numel() for t in model.draw(1).values())
    assert per_sample == 4 * (drawn + -(-ACTIVATION_BUDGET // batch_size_for(model, 1)))
    most = 10 * per_sample
    check_samples(model, 10, budget=most)
    with pytest.raises(IdkError, match=r"--samples 11: .* allowed; use at most 10$"):  # a given budget: no share
        check_samples(model, 11, budget=most)
    with pytest.raises(IdkError, match=r"--samples 1: .* even one sample does not fit"):
        check_samples(model, 1, budget=per_sample - 1)


def test_a_deterministic_network_takes_no_sample_memory():
    cfg = replace(for_mnist(ModelConfig(net=NetConfig(arch="mlp", hidden=32))), bayesian=False)
    model = build_model(cfg)
    assert bytes_per_sample(model) == 0
    check_samples(model, 10**12, budget=1)


def test_a_sample_count_must_be_a_whole_number_of_at_least_one():
    """The library's callers (predict_images, evaluate_checkpoint, recalibrate) get the CLI's
    check: 0 is not "the default", a negative count no tensor error."""
    import numpy as np

    model = build_model(for_mnist(ModelConfig(net=NetConfig(arch="mlp", hidden=8))), dataset_size=100)
    for bad in (0, -3, 2.5, True, "10"):
        with pytest.raises(IdkError, match=r"give a whole number of samples, at least 1"):
            check_samples(model, bad)
    check_samples(model, np.int64(3))  # a numpy count will do
    check_samples(model, None)  # the model's own
