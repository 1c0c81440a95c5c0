import math

import pytest
import torch

from idk.training import temperature
from idk.training.temperature import (
    GRID_POINTS,
    TEMPERATURE_RANGE,
    fit_temperature,
    fitted_temperature,
    predictive_nll,
    temperature_posterior,
    total_nll,
)


def test_fit_temperature_recovers_the_true_temperature():
    """Labels drawn from softmax(z / 2) on 20,000 images: the posterior is narrow about the NLL's
    minimum (sd of log T under 0.05), so T̂ = 2 (± sampling, 5%) and the NLL there is below the NLL at 1."""
    g = torch.Generator().manual_seed(0)
    z = 4 * torch.randn(1, 20000, 10, generator=g)
    labels = torch.multinomial(torch.softmax(z[0] / 2.0, -1), 1, generator=g).squeeze(1)
    t = fit_temperature(z, labels)
    assert t == pytest.approx(2.0, rel=0.05) and fitted_temperature(z, labels)["log_sd"] < 0.05
    assert predictive_nll(z, labels, t) <= predictive_nll(z, labels, 1.0)


def test_a_likelihood_flat_in_t_leaves_the_prior_whose_mean_is_the_range_centre():
    """Closed form: logits equal in every class give NLL = log C at every T, so the posterior is the
    log-uniform prior: exp E[log T] = √(lo · hi) (the grid's cells are symmetric: to rounding), and
    the sd of log T is that of K equal cells of a range log(hi / lo) wide, log(hi / lo) / √12 ·
    √(1 − 1/K²); no tuning images give the same."""
    lo, hi = TEMPERATURE_RANGE
    flat = torch.zeros(5, 30, 4)
    labels = torch.arange(30) % 4
    assert fit_temperature(flat, labels) == pytest.approx(math.sqrt(lo * hi), rel=1e-7)
    assert fit_temperature(flat[:, :0], labels[:0]) == pytest.approx(math.sqrt(lo * hi), rel=1e-7)
    k = GRID_POINTS
    sd = math.log(hi / lo) / math.sqrt(12) * math.sqrt(1 - 1 / k**2)
    assert fitted_temperature(flat, labels)["log_sd"] == pytest.approx(sd, rel=1e-7)
    assert fit_temperature(flat, labels, 0.5, 8.0) == pytest.approx(2.0, rel=1e-7)


def test_no_errors_keep_the_fit_off_the_range_end_where_the_nll_minimum_sits():
    """40 right answers and no error: the NLL falls all the way to the range's lower end, yet the
    posterior mean stays inside it, below 1 (sharper answers are still likelier), and its standard
    deviation of log T is wide (over 0.1); 2,000 images drawn from softmax(z / 0.5) pin T near 0.5
    (10%), their sd of log T under a third of the 40 images'."""
    g = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 10, (40,), generator=g)
    z = torch.randn(20, 40, 10, generator=g) + 3 * torch.nn.functional.one_hot(labels, 10)
    log_t, weights = temperature_posterior(z, labels)
    nll = [predictive_nll(z, labels, math.exp(x)) for x in log_t.tolist()]
    assert min(range(len(nll)), key=nll.__getitem__) == 0  # the NLL's minimum: the lowest cell
    fit = fitted_temperature(z, labels)
    assert math.log(fit["value"] / TEMPERATURE_RANGE[0]) > 0.1 and fit["value"] < 1.0
    assert fit["log_sd"] > 0.1 and fit["n"] == 40 and fit["nll"] < fit["nll_at_1"]
    many = 3 * torch.randn(1, 2000, 10, generator=g)
    drawn = torch.multinomial(torch.softmax(many[0] / 0.5, -1), 1, generator=g).squeeze(1)
    pinned = fitted_temperature(many, drawn)
    assert pinned["value"] == pytest.approx(0.5, rel=0.1) and pinned["log_sd"] < fit["log_sd"] / 3


def test_the_grid_mean_matches_a_fine_quadrature():
    """The posterior mean on the module's grid against the same formula on 4,000 cells: the cells
    are narrow enough that T̂ moves by less than 0.1%."""
    g = torch.Generator().manual_seed(2)
    labels = torch.randint(0, 3, (200,), generator=g)
    z = 2 * torch.randn(8, 200, 3, generator=g) + 2 * torch.nn.functional.one_hot(labels, 3)
    lo, hi = (math.log(t) for t in TEMPERATURE_RANGE)
    fine = lo + (torch.arange(4000, dtype=torch.float64) + 0.5) * (hi - lo) / 4000
    weights = torch.softmax(-torch.tensor([total_nll(z, labels, math.exp(x)) for x in fine.tolist()]), 0)
    assert fit_temperature(z, labels) == pytest.approx(math.exp(float((weights * fine).sum())), rel=1e-3)


def test_validation_logits_run_in_small_batches_and_draw_per_block(monkeypatch):
    """Batches sized for memory (a fully stochastic CNN at S = 100 takes a few images at a time) give
    the logits of one pass per block of DRAW_EVERY images, with the same networks."""
    from idk.nn.bnn import ModelConfig, build_model
    from idk.nn.networks import NetConfig

    model = build_model(ModelConfig(net=NetConfig(arch="mlp", hidden=8), input_shape=(1, 6, 6), num_classes=3), 100)
    images = torch.rand(25, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    monkeypatch.setattr(temperature, "DRAW_EVERY", 10)
    seen: list[int] = []
    run = model.sample_logits
    monkeypatch.setattr(model, "sample_logits", lambda x, *a, **k: seen.append(len(x)) or run(x, *a, **k))
    monkeypatch.setattr(temperature, "batch_size_for", lambda net, samples: 4)
    logits = temperature.validation_logits(model, images, 7, seed=3)
    assert logits.shape == (7, 25, 3) and seen == [4, 4, 2, 4, 4, 2, 4, 1]
    generator = torch.Generator().manual_seed(3)  # one pass per block of 10, networks drawn in turn
    whole = torch.cat([run(images[s : s + 10], 7, generator=generator) for s in range(0, 25, 10)], 1)
    torch.testing.assert_close(logits, whole)
