"""The held-out figures after each epoch: their formula, their sample, and that measuring changes nothing."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from helpers import MNIST_SPEC, SMALL_CNN
from idk.nn.bnn import BNN, build_model
from idk.training.config import TrainConfig
from idk.training.fitting import fit
from idk.training.held_out import HeldOut


def test_the_sample_is_seeded_without_the_global_generator_and_keeps_the_order():
    images, labels = torch.arange(50.0).reshape(50, 1, 1, 1), torch.arange(50)
    torch.manual_seed(0)
    before = torch.get_rng_state()
    a = HeldOut.sample(images, labels, seed=7, at_most=10)
    assert torch.equal(torch.get_rng_state(), before)
    b = HeldOut.sample(images, labels, seed=7, at_most=10)
    c = HeldOut.sample(images, labels, seed=8, at_most=10)
    assert len(a) == 10 and torch.equal(a.chosen, b.chosen) and not torch.equal(a.chosen, c.chosen)
    assert torch.equal(a.chosen, a.chosen.sort().values) and len(set(a.chosen.tolist())) == 10
    assert a.images is images  # read where they lie, not copied
    first, rest = a.batch(0, 4), a.batch(4, 100)
    x, y = torch.cat([first[0], rest[0]]), torch.cat([first[1], rest[1]])
    assert torch.equal(y, a.chosen) and torch.equal(x.flatten().long(), y)  # each image with its own label
    whole = HeldOut.sample(images[:5], labels[:5], seed=7, at_most=10)
    assert len(whole) == 5 and whole.chosen is None and torch.equal(whole.batch(3, 10)[1], labels[3:5])
    assert HeldOut.sample(images[:0], labels[:0], seed=7) is None
    levels = HeldOut.sample(images.to(torch.uint8), labels, seed=7, at_most=10)  # a set held as 8-bit levels
    assert torch.equal(levels.batch(0, 4)[0], first[0] / 255)  # measured as the floats they stand for


def test_the_batches_hold_what_the_device_budget_holds(monkeypatch):
    """Measured in batches of :func:`batch_size_for`'s size, the figures are those of one pass."""
    from idk.training import held_out

    torch.manual_seed(0)
    model = BNN(SMALL_CNN, 100)
    x, y = torch.rand(30, 1, 28, 28), torch.randint(0, 10, (30,))
    whole = HeldOut(x, y).measure(model)
    monkeypatch.setattr(held_out, "batch_size_for", lambda model, samples: 7)
    parts = HeldOut(x, y).measure(model)
    assert parts["held_out_accuracy"] == whole["held_out_accuracy"]
    assert parts["held_out_nll"] == pytest.approx(whole["held_out_nll"], rel=1e-5)
    model.temperature.fill_(0.4)  # a resumed finished run's fitted one: its epochs are measured at T = 1 too
    assert HeldOut(x, y).measure(model) == parts
    assert HeldOut(x[:0], y[:0]).measure(model) == {}


def test_the_figures_are_the_mean_networks_accuracy_and_nll():
    """The mean network is the posterior's limit as every scale vanishes: one draw of the sampling
    path (local reparameterisation and Flipout) with σ = softplus(−40) ≈ 4e−18 gives its logits."""
    torch.manual_seed(0)
    model = BNN(SMALL_CNN, 100)
    x, y = torch.rand(30, 1, 28, 28), torch.randint(0, 10, (30,))
    model.train()
    figures = HeldOut(x, y).measure(model)
    assert model.training  # its mode restored
    with torch.no_grad():
        for rho in model.guide.rhos.values():
            rho.fill_(-40.0)
        logits = model.sample_logits(x, 1)[0]
    torch.testing.assert_close(model.mean_logits(x), logits, rtol=1e-5, atol=1e-5)
    assert figures["held_out_accuracy"] == pytest.approx((logits.argmax(-1) == y).double().mean().item(), abs=1e-12)
    assert figures["held_out_nll"] == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-4)
    assert HeldOut.said(figures).startswith(", held-out accuracy ") and HeldOut.said({}) == ""


@pytest.mark.parametrize(
    "bayesian,norm", [(True, False), (False, False), (True, True)], ids=["bayesian", "twin", "batch-normalised"]
)
def test_measuring_after_each_epoch_changes_no_weight_and_fills_the_history(mnist_train, bayesian, norm):
    """The measurement draws no random number and, in eval mode, leaves batch normalisation's running
    statistics as they were: the weights and buffers are those of a run without it, bit for bit."""
    x, y = mnist_train.images[:512], mnist_train.labels[:512]
    held = HeldOut(mnist_train.images[512:812], mnist_train.labels[512:812])
    tcfg = TrainConfig(epochs=2, batch_size=128, lr=1e-3, elbo="meanfield", local_reparam=True, seed=3)
    cfg = replace(SMALL_CNN, bayesian=bayesian, net=replace(SMALL_CNN.net, norm=norm))
    runs = []
    for watched in (None, held):
        torch.manual_seed(0)
        model = build_model(cfg, 512)
        state = fit(model, x, y, tcfg, spec=MNIST_SPEC, held_out=watched)
        runs.append((model.state_dict(), state.history))
    (plain, plain_history), (measured, history) = runs
    assert history[-1] == {**history[-1], **held.measure(model)}  # the last epoch's are the trained model's
    for key, value in plain.items():
        assert torch.equal(measured[key], value), key
    assert "held_out_accuracy" not in plain_history[0]
    assert [h["loss"] for h in history] == [h["loss"] for h in plain_history]
    for h in history:
        assert 0 <= h["held_out_accuracy"] <= 1 and math.isfinite(h["held_out_nll"])
