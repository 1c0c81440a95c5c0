"""Mean-field Normal variational posterior over every Bayesian layer's weights and biases."""

from __future__ import annotations

import math

import pyro
import pyro.distributions as dist
import torch
import torch.nn.functional as F
from pyro.nn import PyroModule
from torch import Tensor, nn

from idk.nn.layers import BayesianLayer


def softplus_inverse(y: float) -> float:
    """ρ such that softplus(ρ) = y."""
    return y + math.log(-math.expm1(-y))


class MeanFieldNormalGuide(PyroModule):
    """q(w) = Π_i Normal(w_i; μ_i, softplus(ρ_i)) over the sites of ``net``'s Bayesian layers.

    Initialisation:
        ``init_loc="randn"``: μ ~ Normal(0, 1) (the tutorial); ``"net"``: μ = the layer's standard
        PyTorch initialisation (Kaiming-uniform), biases 0.
        ``init_scale=None``: ρ ~ Normal(0, 1) (the tutorial, scales ≈ 0.7 on average); a float
        ``s``: every scale starts at ``s``.
    """

    def __init__(self, net: nn.Module, init_loc: str = "net", init_scale: float | None = 1e-3) -> None:
        super().__init__()
        self.sites: dict[str, tuple[int, ...]] = {}
        self.locs = nn.ParameterDict()
        self.rhos = nn.ParameterDict()
        for layer in net.modules():
            if not isinstance(layer, BayesianLayer):
                continue
            w_site, b_site = layer.site_names()
            w_loc, b_loc = _initial_locs(layer, init_loc)
            for site, loc in ((w_site, w_loc), (b_site, b_loc)):
                key = _key(site)
                self.sites[site] = tuple(loc.shape)
                self.locs[key] = nn.Parameter(loc)
                rho = (
                    torch.randn_like(loc)
                    if init_scale is None
                    else torch.full_like(loc, softplus_inverse(init_scale))
                )
                self.rhos[key] = nn.Parameter(rho)

    def loc_scale(self, site: str) -> tuple[Tensor, Tensor]:
        key = _key(site)
        return self.locs[key], F.softplus(self.rhos[key])

    def distribution(self, site: str) -> dist.Distribution:
        loc, scale = self.loc_scale(site)
        return dist.Normal(loc, scale).to_event(loc.dim())

    def forward(self, *args, **kwargs) -> dict[str, Tensor]:
        return {site: pyro.sample(site, self.distribution(site)) for site in self.sites}

    def sample_weights(self, site: str, num_samples: int, generator: torch.Generator | None = None) -> Tensor:
        """S independent draws of a site's tensor: (S, *shape)."""
        loc, scale = self.loc_scale(site)
        noise = torch.randn(
            (num_samples, *loc.shape), generator=generator, dtype=loc.dtype, device=loc.device
        )
        return loc + scale * noise


def _key(site: str) -> str:
    return site.replace(".", "__")


def _initial_locs(layer: BayesianLayer, how: str) -> tuple[Tensor, Tensor]:
    if how == "randn":
        return torch.randn(layer.weight_shape), torch.randn(layer.bias_shape)
    if how == "net":
        weight = torch.empty(layer.weight_shape)
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5))  # PyTorch's default for Linear and Conv2d
        return weight, torch.zeros(layer.bias_shape)
    raise ValueError(f"unknown init_loc {how!r}; valid: randn, net")
