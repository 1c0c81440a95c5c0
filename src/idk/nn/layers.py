"""Bayesian layers: weights and biases are :class:`~pyro.nn.PyroSample` sites under a prior.

Each layer computes its output three ways, all from the same affine map ``apply``:

* ``forward`` (inside a Pyro model): with the weights that the trace samples, one network per call;
  inside :func:`local_reparameterization`, with the local reparameterisation trick instead;
* ``forward_weights``: with S sampled weight tensors at once, input (N, ...) or (S, N, ...);
* ``forward_local``: the local reparameterisation trick (Kingma et al., 2015). For a mean-field
  Normal posterior, the pre-activation ``a = apply(x, W, b)`` is, given the input, exactly
  ``Normal(apply(x, μ_W, μ_b), apply(x², σ_W², σ_b²))`` unit by unit, so a sample of ``a`` is
  drawn directly: per input, the same distribution as sampling whole weight tensors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol

import torch
import torch.nn.functional as F
from pyro.nn import PyroModule, PyroSample
from torch import Tensor

from idk.nn.priors import Prior


class SiteParams(Protocol):
    """What a layer needs of a mean-field guide: the (loc, scale) of a named site."""

    def loc_scale(self, site: str) -> tuple[Tensor, Tensor | None]: ...


@contextlib.contextmanager
def local_reparameterization(net: torch.nn.Module, guide: SiteParams) -> Iterator[None]:
    """Within this block, the Bayesian layers of ``net`` use ``guide``'s parameters for
    lower-variance outputs: local reparameterisation (dense) or Flipout (convolution). The weight
    sites are still sampled, so the ELBO's KL term is intact; each example's output keeps its
    exact distribution."""
    layers = [m for m in net.modules() if isinstance(m, BayesianLayer)]
    for layer in layers:
        layer.guides.append(guide)
    try:
        yield
    finally:
        for layer in layers:
            layer.guides.pop()


class BayesianLayer(PyroModule):
    """Base class: an affine map whose ``weight`` and ``bias`` are sampled from ``prior``."""

    weight_shape: tuple[int, ...]
    bias_shape: tuple[int, ...]
    local_exact: bool = False  # is local reparameterisation exact per input for this layer?

    def __init__(self, prior: Prior) -> None:
        super().__init__()
        self.prior = prior
        self.guides: list[SiteParams] = []  # the guide of an active local_reparameterization block
        # An empty buffer that moves with the module (``.to(device)``) and is never saved: the
        # priors are built on its device whenever a site is sampled, so they live where the model does.
        self.register_buffer("anchor", torch.empty(0), persistent=False)
        self.weight = PyroSample(lambda layer: layer.prior.distribution(layer.weight_shape, layer.anchor.device))
        self.bias = PyroSample(lambda layer: layer.prior.distribution(layer.bias_shape, layer.anchor.device))

    site_prefix = ""  # set by :func:`name_sites` to the layer's path in its network

    def site_names(self) -> tuple[str, str]:
        """The Pyro sample-site names of this layer's weight and bias (e.g. ``"1.weight"``)."""
        prefix = f"{self.site_prefix}." if self.site_prefix else ""
        return f"{prefix}weight", f"{prefix}bias"

    def apply(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        raise NotImplementedError

    def apply_batched(self, x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
        """x (S, N, ...) or (N, ...), weight (S, *weight_shape), bias (S, *bias_shape) → (S, N, ...)."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        weight, bias = self.weight, self.bias  # sample sites (replayed from the guide in SVI)
        if self.guides:
            w_site, b_site = self.site_names()
            w_loc, w_scale = self.guides[-1].loc_scale(w_site)
            b_loc, b_scale = self.guides[-1].loc_scale(b_site)
            if w_scale is None:  # a point-mass site: the weights are the means
                return self.apply(x, weight, bias)
            if self.local_exact:
                return self.forward_local(x, w_loc, w_scale, b_loc, b_scale)
            return self.forward_flipout(x, weight - w_loc, w_loc, bias)
        return self.apply(x, weight, bias)

    def forward_flipout(self, x: Tensor, delta: Tensor, w_loc: Tensor, bias: Tensor) -> Tensor:
        """Flipout (Wen et al., 2018): example n uses W = μ + ΔW ∘ (s_n r_nᵀ) with random signs r_n
        (inputs) and s_n (outputs). Because ΔW = w − μ is symmetric and independent per entry,
        each example's weights have exactly the posterior's distribution, decorrelated across
        the batch: ``y = apply(x, μ) + apply(x ∘ r, ΔW) ∘ s + b``. x (N, ...) → (N, ...)."""
        n = x.shape[0]
        view_in = (n, x.shape[1]) + (1,) * (x.dim() - 2)
        r = torch.randint(0, 2, (n, x.shape[1]), device=x.device).to(x.dtype).mul_(2).sub_(1).view(view_in)
        mean = self.apply(x, w_loc, bias)
        perturbation = self.apply(x * r, delta, None)
        s = torch.randint(0, 2, perturbation.shape[:2], device=x.device).to(x.dtype).mul_(2).sub_(1)
        return mean + perturbation * s.view(n, perturbation.shape[1], *(1,) * (perturbation.dim() - 2))

    def forward_point(self, x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
        """Fixed weights on x (N, ...) or (S, N, ...): the same leading shape out."""
        if x.dim() == len(self.in_shape) + 1:
            return self.apply(x, weight, bias)
        out = self.apply(x.reshape(-1, *self.in_shape), weight, bias)
        return out.reshape(*x.shape[:2], *out.shape[1:])

    def forward_weights(self, x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
        """Outputs under S sampled weight sets: (S, N, ...)."""
        return self.apply_batched(x, weight, bias)

    def forward_local(
        self,
        x: Tensor,
        w_loc: Tensor,
        w_scale: Tensor,
        b_loc: Tensor,
        b_scale: Tensor,
        noise: Tensor | None = None,
        generator: torch.Generator | None = None,
        out: Tensor | None = None,
    ) -> Tensor:
        """Local reparameterisation ``a = m + s ∘ ε`` with ``m = apply(x, μ)``, ``s² = apply(x², σ²)``.

        ``noise=None`` (training): x (N, ...) → (N, ...), an independent ε per input row.
        ``noise`` ε of shape (S, 1, ...) (prediction): x (N, ...) → (S, N, ...); m and s are
        computed once per input and each ε_s is shared by the batch. For each input the S draws
        are still independent with exactly the right distribution (the decision rule works input
        by input), at S × width normals instead of S × N × width.
        """
        mean = self.apply(x, w_loc, b_loc)
        std = self.apply(x * x, w_scale * w_scale, b_scale * b_scale).clamp_min_(1e-16).sqrt_()
        if noise is None:
            noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
            return torch.addcmul(mean, std, noise)
        if out is not None:  # a reused buffer: no fresh (S, N, width) allocation per batch
            return torch.addcmul(mean, std, noise, out=out)
        return torch.addcmul(mean, std, noise)

    @property
    def in_shape(self) -> tuple[int, ...]:
        raise NotImplementedError


class BayesianLinear(BayesianLayer):
    """``y = x Wᵀ + b`` with W (out, in) and b (out,) random."""

    local_exact = True

    def __init__(self, in_features: int, out_features: int, prior: Prior) -> None:
        self.in_features, self.out_features = in_features, out_features
        self.weight_shape, self.bias_shape = (out_features, in_features), (out_features,)
        super().__init__(prior)

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (self.in_features,)

    def apply(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        return F.linear(x, weight, bias)

    def apply_batched(self, x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
        # (N, in) or (S, N, in) @ (S, in, out) + (S, 1, out) → (S, N, out)
        return torch.baddbmm(bias.unsqueeze(1), x.expand(weight.shape[0], *x.shape[-2:]), weight.transpose(1, 2))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class BayesianConv2d(BayesianLayer):
    """2-d convolution with random kernels (out, in, k, k) and biases (out,)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        prior: Prior,
        padding: int = 0,
        in_size: tuple[int, int] = (28, 28),
    ) -> None:
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.padding, self.in_size = padding, tuple(in_size)
        self.weight_shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.bias_shape = (out_channels,)
        super().__init__(prior)

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (self.in_channels, *self.in_size)

    def apply(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        return F.conv2d(x, weight, bias, padding=self.padding)

    def apply_batched(self, x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
        s = weight.shape[0]
        w = weight.reshape(s * self.out_channels, *self.weight_shape[1:])
        if x.dim() == 4:  # shared input: one convolution with all S kernels stacked
            out = F.conv2d(x, w, bias.reshape(-1), padding=self.padding)
        else:  # (S, N, C, H, W): grouped convolution, group s uses kernel set s
            n = x.shape[1]
            grouped = x.transpose(0, 1).reshape(n, s * self.in_channels, *x.shape[-2:])
            out = F.conv2d(grouped, w, bias.reshape(-1), padding=self.padding, groups=s)
        return out.reshape(out.shape[0], s, self.out_channels, *out.shape[-2:]).transpose(0, 1)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, padding={self.padding}"


def name_sites(net: PyroModule) -> None:
    """Tell each Bayesian layer of ``net`` its path, which PyroModule uses to name its sites."""
    for name, module in net.named_modules():
        if isinstance(module, BayesianLayer):
            module.site_prefix = name
