"""Priors: the Laplace prior's closed-form KL against a Monte Carlo estimate, the registry, and a
model trained under a prior other than the default's."""

from __future__ import annotations

import math

import pyro.distributions as dist
import pytest
import torch
from pyro.distributions.kl import kl_divergence

from idk.nn.bnn import BNN, ModelConfig, kl_in_closed_form
from idk.nn.layers import BayesianLayer
from idk.nn.networks import NetConfig
from idk.nn.normals import NoiseNormal
from idk.nn.priors import PRIORS, LaplacePrior, NormalPrior, kl_normal_laplace, make_prior

CFG = ModelConfig(net=NetConfig(arch="mlp", hidden=8), input_shape=(1, 4, 4), num_classes=3)


@pytest.mark.parametrize(("mu", "sigma", "b"), [(0.0, 1.0, 1.0), (0.3, 0.5, 0.7), (-2.0, 0.1, 0.2), (1.5, 2.0, 3.0)])
def test_kl_normal_laplace_matches_a_monte_carlo_estimate(mu, sigma, b):
    """E_q[log q(w) − log p(w)] over 10⁶ draws; tolerance: four standard errors of that mean."""
    q, p = dist.Normal(torch.tensor(mu), torch.tensor(sigma)), dist.Laplace(torch.tensor(0.0), torch.tensor(b))
    w = q.sample(torch.Size([1_000_000]))
    terms = (q.log_prob(w) - p.log_prob(w)).double()
    tolerance = 4 * float(terms.std()) / math.sqrt(len(terms))
    assert float(kl_normal_laplace(q, p)) == pytest.approx(float(terms.mean()), abs=tolerance)
    assert float(kl_normal_laplace(q, p)) >= 0


def test_kl_normal_laplace_at_zero_mean_is_its_closed_form():
    """μ = 0: KL = −½ log(2πe σ²) + log(2b) + σ √(2/π) / b exactly."""
    sigma, b = 0.4, 0.9
    expected = -0.5 * math.log(2 * math.pi * math.e * sigma**2) + math.log(2 * b) + sigma * math.sqrt(2 / math.pi) / b
    got = kl_normal_laplace(dist.Normal(torch.tensor(0.0), torch.tensor(sigma)), dist.Laplace(0.0, b))
    assert float(got) == pytest.approx(expected, rel=1e-6)


def test_the_guides_normal_against_the_laplace_prior_is_dispatched_to_the_closed_form():
    """What TraceMeanField_ELBO computes for a layer: KL(q ‖ p) of the whole tensor, the sum."""
    loc, scale = torch.randn(3, 5), torch.rand(3, 5) + 0.1
    q = NoiseNormal(loc, scale).to_event(2)
    p = LaplacePrior(0.5).distribution((3, 5))
    elementwise = kl_normal_laplace(dist.Normal(loc, scale), dist.Laplace(torch.zeros(3, 5), torch.full((3, 5), 0.5)))
    torch.testing.assert_close(kl_divergence(q, p), elementwise.sum())
    assert kl_in_closed_form(CFG) and kl_in_closed_form(ModelConfig(prior="laplace"))


def test_the_registry_names_its_priors_and_takes_one_of_the_users(monkeypatch):
    assert make_prior("normal", 2.0) == NormalPrior(0.0, 2.0) and make_prior("laplace", 0.5) == LaplacePrior(0.5)
    with pytest.raises(ValueError, match=r"unknown prior 'cauchy'; valid: normal, laplace .*idk\.nn\.priors\.PRIORS"):
        make_prior("cauchy", 1.0)

    class CauchyPrior:
        def __init__(self, scale: float) -> None:
            self.scale = scale

        def distribution(self, shape, device=None):
            return dist.Cauchy(torch.zeros(shape, device=device), self.scale).to_event(len(shape))

    monkeypatch.setitem(PRIORS, "cauchy", CauchyPrior)
    model = BNN(ModelConfig(**{**CFG.__dict__, "prior": "cauchy", "prior_scale": 0.3}))
    layers = [m for m in model.net.modules() if isinstance(m, BayesianLayer)]
    assert layers and all(isinstance(m.prior, CauchyPrior) and m.prior.scale == 0.3 for m in layers)
    assert not kl_in_closed_form(model.cfg)  # Normal–Cauchy: no closed form; training says so


def test_a_model_trained_under_the_laplace_prior_is_saved_loaded_and_described(tmp_path, capsys):
    from idk.apps.cli import main
    from idk.training import checkpoint

    out = tmp_path / "laplace.pt"
    args = ["train", "--out", str(out), "--prior", "laplace", "--prior-scale", "0.5", "--train-subset", "300"]
    assert main([*args, "--epochs", "1", "--members", "1", "--no-twin", "--samples", "4", "--threads", "1", "-q"]) == 0
    err = capsys.readouterr().err
    assert "closed-form" not in err  # Normal–Laplace is known in closed form
    ckpt = checkpoint.read(out)
    assert (ckpt.model_config.prior, ckpt.model_config.prior_scale, ckpt.model_config.guide) == (
        "laplace",
        0.5,
        "mean-field-normal",
    )
    model, _ = checkpoint.load(out)
    layer = next(m for m in model.net.modules() if isinstance(m, BayesianLayer))
    assert isinstance(layer.prior, LaplacePrior) and layer.prior.scale == 0.5
    assert main(["info", str(out)]) == 0
    assert "prior: laplace" in capsys.readouterr().out
