"""The fast Normals compute exactly what pyro.distributions.Normal computes."""

import pyro.distributions as dist
import torch
from torch.distributions import kl_divergence

from idk.nn.normals import NoiseNormal, ScalarNormal


def test_scalar_normal_log_prob_and_kl_match_normal():
    w = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    for loc, scale in ((0.0, 1.0), (0.5, 0.1)):
        fast = ScalarNormal(loc, scale, (6, 4))
        torch.testing.assert_close(fast.log_prob(w), dist.Normal(loc, scale).log_prob(w))
        assert fast.expand((3, 6, 4)).log_prob(w).shape == (3, 6, 4)
    q = dist.Normal(torch.randn(6, 4), torch.rand(6, 4) + 0.1)
    torch.testing.assert_close(
        kl_divergence(q, ScalarNormal(0.0, 2.0, (6, 4))), kl_divergence(q, dist.Normal(0.0, 2.0))
    )


def test_noise_normal_log_prob_and_its_gradient_match_normal():
    torch.manual_seed(1)
    loc = torch.randn(5, 7, requires_grad=True)
    rho = torch.randn(5, 7, requires_grad=True)
    scale = torch.nn.functional.softplus(rho)
    fast = NoiseNormal(loc, scale)
    w = fast.rsample()
    ours, reference = fast.log_prob(w), dist.Normal(loc, scale).log_prob(w)
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-5)
    g_ours = torch.autograd.grad(ours.sum(), [loc, rho], retain_graph=True, allow_unused=True)
    g_ref = torch.autograd.grad(reference.sum(), [loc, rho])
    g_ours = [torch.zeros_like(r) if g is None else g for g, r in zip(g_ours, g_ref, strict=True)]
    for a, b in zip(g_ours, g_ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    other = torch.randn(5, 7)  # any other value: the general formula
    torch.testing.assert_close(fast.log_prob(other), dist.Normal(loc, scale).log_prob(other))
