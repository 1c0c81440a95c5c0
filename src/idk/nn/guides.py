"""Variational posteriors (guides) over every Bayesian layer's weights and biases.

A guide is what :class:`Guide` lists; :data:`GUIDES` names the ones a model may be built with
(``ModelConfig.guide``). The predictive's fast paths (local reparameterisation, Flipout, batched
weight draws in :mod:`idk.nn.layers` and :meth:`idk.nn.bnn.BNN.sample_logits`) read each site's
mean and standard deviation, so a guide is a mean-field Normal in some parameterisation (or a point
mass per site). A guide of your own is one more entry, added before a model that names it is
built or loaded::

    GUIDES["exp-scale"] = MyExpScaleGuide  # called as MeanFieldNormalGuide is

Another parameterisation of the scales is a subclass of :class:`MeanFieldNormalGuide` that overrides
:meth:`~MeanFieldNormalGuide.scale_of` and :meth:`~MeanFieldNormalGuide.rho_of` (σ = exp(ρ), say).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Protocol

import pyro
import pyro.distributions as dist
import torch
import torch.nn.functional as F
from pyro.nn import PyroModule
from torch import Tensor, nn

from idk.nn.layers import BayesianLayer
from idk.nn.normals import NoiseNormal


class Guide(Protocol):
    """What the model, the layers and the predictive need of a guide (a ``PyroModule``)."""

    sites: dict[str, tuple[int, ...]]  # every sample site's name → the shape of its tensor
    point: set[str]  # the sites given a point mass (their scale is None)

    def __call__(self, *args, **kwargs) -> dict[str, Tensor]:
        """Sample every site under Pyro (the guide of SVI): site name → tensor."""
        ...

    def loc_scale(self, site: str) -> tuple[Tensor, Tensor | None]:
        """The site's mean and standard deviation (None for a point-mass site)."""
        ...

    def sample_weights(self, site: str, num_samples: int, generator: torch.Generator | None = None) -> Tensor:
        """S independent draws of a site's tensor, (S, *shape)."""
        ...

    def frozen(self) -> contextlib.AbstractContextManager[None]:
        """A block without training in which each site's (loc, scale) may be computed once."""
        ...

    def parameters(self) -> Iterator[nn.Parameter]: ...


def softplus_inverse(y: float) -> float:
    """ρ such that softplus(ρ) = y."""
    return y + math.log(-math.expm1(-y))


class MeanFieldNormalGuide(PyroModule):
    """q(w) = Π_i Normal(w_i; μ_i, softplus(ρ_i)) over the sites of ``net``'s Bayesian layers (σ =
    softplus(ρ): :meth:`scale_of`).

    Sites of layers listed in ``point_layers`` (by type name, e.g. ``"BayesianConv2d"``) get a point
    mass instead, q(w) = δ(w − μ): their weights are MAP estimates under the prior (a partially
    stochastic network), and they cost one forward pass per input however many samples are drawn.

    Initialisation:
        ``init_loc="randn"``: μ ~ Normal(0, 1) (the tutorial); ``"net"``: μ = the layer's standard
        PyTorch initialisation (Kaiming-uniform), biases 0.
        ``init_scale=None``: ρ ~ Normal(0, 1) (the tutorial, scales ≈ 0.7 on average); a float
        ``s``: every scale starts at ``s``.
    """

    def __init__(
        self,
        net: nn.Module,
        init_loc: str = "net",
        init_scale: float | None = 1e-3,
        point_layers: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.sites: dict[str, tuple[int, ...]] = {}
        self.point: set[str] = set()
        self._cache: dict[str, tuple[Tensor, Tensor | None]] | None = None
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
                if type(layer).__name__ in point_layers:
                    self.point.add(site)
                    continue
                rho = torch.randn_like(loc) if init_scale is None else torch.full_like(loc, self.rho_of(init_scale))
                self.rhos[key] = nn.Parameter(rho)

    def scale_of(self, rho: Tensor) -> Tensor:
        """A site's standard deviations from its unconstrained parameters ρ (any shape): softplus(ρ)."""
        return F.softplus(rho)

    def rho_of(self, scale: float) -> float:
        """The ρ of a standard deviation, :meth:`scale_of`'s inverse (where scales start)."""
        return softplus_inverse(scale)

    def loc_scale(self, site: str) -> tuple[Tensor, Tensor | None]:
        """The site's mean and standard deviation (None for a point-mass site)."""
        if self._cache is not None and site in self._cache:
            return self._cache[site]
        key = _key(site)
        value = self.locs[key], None if site in self.point else self.scale_of(self.rhos[key])
        if self._cache is not None:
            self._cache[site] = value
        return value

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Within this block (no training), each site's (loc, scale) is computed once and reused."""
        self._cache = {}
        try:
            with torch.no_grad():
                yield
        finally:
            self._cache = None

    def distribution(self, site: str) -> dist.Distribution:
        loc, scale = self.loc_scale(site)
        if scale is None:
            return dist.Delta(loc).to_event(loc.dim())
        return NoiseNormal(loc, scale).to_event(loc.dim())

    def forward(self, *args, **kwargs) -> dict[str, Tensor]:
        return {site: pyro.sample(site, self.distribution(site)) for site in self.sites}

    def sample_weights(self, site: str, num_samples: int, generator: torch.Generator | None = None) -> Tensor:
        """S independent draws of a site's tensor: (S, *shape), on the parameters' device. The noise
        comes from ``generator`` on its own device (a seeded CPU generator gives the same draws on
        every device), else from the parameters' device's global generator."""
        loc, scale = self.loc_scale(site)
        if scale is None:
            return loc.expand(num_samples, *loc.shape)
        return loc + scale * standard_normal((num_samples, *loc.shape), generator, loc)


# Every guide by name, called as (net, init_loc, init_scale, point_layers); the model's is
# ModelConfig.guide, recorded in its checkpoint and checked when it is loaded.
GUIDES: dict[str, Callable[..., Guide]] = {"mean-field-normal": MeanFieldNormalGuide}


def make_guide(
    name: str, net: nn.Module, init_loc: str, init_scale: float | None, point_layers: tuple[str, ...]
) -> Guide:
    """The guide called ``name`` over ``net``'s Bayesian layers; the error lists the valid names."""
    if name not in GUIDES:
        raise ValueError(
            f"unknown guide {name!r}; valid: {', '.join(GUIDES)} (a guide of your own: add it to "
            "idk.nn.guides.GUIDES before the model is built or loaded)"
        )
    return GUIDES[name](net, init_loc, init_scale, point_layers)


def standard_normal(shape: tuple[int, ...], generator: torch.Generator | None, like: Tensor) -> Tensor:
    """Normal(0, 1) noise of ``shape`` with ``like``'s dtype and device, drawn from ``generator`` on
    the generator's device (copied over once when that is another device) or, without one, from
    the global generator of ``like``'s device."""
    device = generator.device if generator is not None else like.device
    noise = torch.randn(shape, generator=generator, dtype=like.dtype, device=device)
    return noise.to(like.device, non_blocking=True)


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
