"""Local reparameterisation is exact per input: the same predictive distribution as sampling weights."""

from __future__ import annotations

import pyro
import pytest
import torch
from scipy.stats import ks_2samp

from helpers import for_mnist
from idk.nn.bnn import BNN, ModelConfig
from idk.nn.layers import BayesianLinear
from idk.nn.networks import NetConfig
from idk.nn.priors import NormalPrior

S = 4000
ALPHA = 1e-3  # per coordinate; 10 coordinates → family-wise ≤ 1%


def _model(arch: str) -> BNN:
    """A small model with large posterior scales; ``cnn-point``: conv layers are point masses."""
    torch.manual_seed(1)
    point = ("BayesianConv2d",) if arch == "cnn-point" else ()
    net = NetConfig(arch=arch.removesuffix("-point"), hidden=32, channels=(3, 4), dense=16)
    return BNN(for_mnist(ModelConfig(net=net, init_loc="net", init_scale=0.3, point_layers=point)), dataset_size=100)


def _ks_pvalues(a: torch.Tensor, b: torch.Tensor) -> list[float]:
    a, b = a.detach(), b.detach()
    return [ks_2samp(a[:, c].numpy(), b[:, c].numpy()).pvalue for c in range(a.shape[1])]


@pytest.mark.parametrize("arch", ["mlp", "cnn", "cnn-point"])
def test_local_reparameterisation_matches_weight_sampling(arch):
    model = _model(arch)
    x = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    local = model.sample_logits(x, S, "local", torch.Generator().manual_seed(4))[:, 0]
    weights = model.sample_logits(x, S, "weights", torch.Generator().manual_seed(5))[:, 0]
    assert local.shape == weights.shape == (S, 10)
    assert min(_ks_pvalues(local, weights)) > ALPHA
    # power: the same test rejects a draw whose spread is off by 20% (a realistic bug)
    mean = weights.mean(0)
    wrong = mean + 0.8 * (local - local.mean(0))
    assert min(_ks_pvalues(wrong, weights)) < ALPHA


def test_local_reparameterisation_moments_match_closed_form():
    torch.manual_seed(0)
    layer = BayesianLinear(3, 2, NormalPrior())
    x = torch.tensor([[1.0, -2.0, 0.5]])
    w_loc, w_scale = torch.randn(2, 3), torch.rand(2, 3)
    b_loc, b_scale = torch.randn(2), torch.rand(2)
    out = layer.forward_local(x, w_loc, w_scale, b_loc, b_scale, noise=torch.randn(200_000, 1, 2))[:, 0]
    mean = x @ w_loc.T + b_loc
    var = (x * x) @ (w_scale * w_scale).T + b_scale * b_scale
    # standard errors: sd/sqrt(n) ≈ 0.004 for the mean; tolerance 5 standard errors
    torch.testing.assert_close(out.mean(0), mean[0], atol=5 * float(var.max().sqrt()) / 200_000**0.5, rtol=0)
    torch.testing.assert_close(out.var(0), var[0], rtol=0.02, atol=0)


def test_model_sites_match_guide_sites_and_elbo_is_finite():
    model = _model("cnn")
    trace = pyro.poutine.trace(model.model).get_trace(torch.rand(4, 1, 28, 28), torch.tensor([0, 1, 2, 3]))
    sample_sites = {n for n, s in trace.nodes.items() if s["type"] == "sample" and not s["is_observed"] and n != "data"}
    assert sample_sites == set(model.guide.sites)
    loss = pyro.infer.TraceMeanField_ELBO().differentiable_loss(
        model.model, model.guide, torch.rand(4, 1, 28, 28), torch.tensor([0, 1, 2, 3])
    )
    assert torch.isfinite(loss)


def test_samples_are_shared_across_the_batch_and_independent_across_samples():
    model = _model("mlp")
    x = torch.rand(1, 1, 28, 28).expand(5, 1, 28, 28)
    for method in ("local", "weights"):
        out = model.sample_logits(x, 3, method, torch.Generator().manual_seed(0))
        torch.testing.assert_close(out[:, 0], out[:, 4])  # one network per sample, shared by the batch
        assert not torch.allclose(out[0], out[1])


def test_point_layers_are_deterministic():
    model = _model("cnn-point")
    assert model.guide.point == {"0.weight", "0.bias", "3.weight", "3.bias"}
    conv = model.net[0](torch.rand(2, 1, 28, 28))  # pyro model call: a Delta site returns its mean
    assert conv.shape == (2, 3, 24, 24)


def test_a_network_of_point_masses_only_gives_its_one_network_s_times():
    """Every layer a point mass (a MAP guide): sample_logits keeps its (S, N, classes) shape, each
    draw the one network, and predict answers as for any model (it crashed after training)."""
    from idk.decision.predictive import predict

    net = NetConfig(arch="cnn", channels=(3, 4), dense=16)
    cfg = ModelConfig(net=net, init_loc="net", point_layers=("BayesianConv2d", "BayesianLinear"))
    model = BNN(for_mnist(cfg), dataset_size=100)
    x = torch.rand(5, 1, 28, 28)
    logits = model.sample_logits(x, 8)
    assert logits.shape == (8, 5, 10) and torch.equal(logits[0], logits[7])
    torch.testing.assert_close(logits[0], model.mean_logits(x))
    pred = predict(model, x, 8)
    entropy = -(pred.mean_probs * pred.mean_probs.log()).sum(-1)  # no disagreement: H[p̄] = E[H[p_s]]
    assert pred.mean_probs.shape == (5, 10) and torch.allclose(pred.expected_entropy, entropy, atol=1e-5)


def test_flipout_gives_each_example_the_posterior_distribution():
    """Over draws of ΔW and the signs, Flipout's output for an example has the distribution of
    the convolution with a directly sampled kernel."""
    model = _model("cnn")
    conv = model.net[0]
    x = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    w_loc, w_scale = model.guide.loc_scale("0.weight")
    b_loc, _ = model.guide.loc_scale("0.bias")
    w_loc, w_scale, b_loc = w_loc.detach(), w_scale.detach(), b_loc.detach()
    torch.manual_seed(6)
    flip = torch.stack(
        [conv.forward_flipout(x, w_scale * torch.randn(w_scale.shape), w_loc, b_loc)[1, 0, 10:14, 14] for _ in range(S)]
    )
    w = w_loc + w_scale * torch.randn(S, *w_scale.shape, generator=torch.Generator().manual_seed(7))
    direct = conv.forward_weights(x[1:], w, b_loc.expand(S, -1))[:, 0, 0, 10:14, 14]
    assert min(_ks_pvalues(flip, direct)) > ALPHA


def test_flipout_and_sampling_on_an_empty_batch_and_in_double():
    """An empty share (torchrun's ragged last batch) goes through Flipout; a model moved to float64
    samples with fresh output buffers."""
    from idk.nn.layers import BayesianConv2d

    model = BNN(for_mnist(ModelConfig(net=NetConfig(arch="cnn", channels=(4, 8), dense=16))), 100)
    conv = next(layer for layer in model.net if isinstance(layer, BayesianConv2d))
    shape = conv.weight_shape
    out = conv.forward_flipout(torch.zeros(0, 1, 28, 28), torch.zeros(shape), torch.zeros(shape), torch.zeros(4))
    assert out.shape == (0, 4, 24, 24)
    x = torch.rand(3, 1, 28, 28)
    assert model.sample_logits(x, 5).dtype == torch.float32
    model.double()
    assert model.sample_logits(x.double(), 5).dtype == torch.float64
