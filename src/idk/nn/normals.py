"""Normal distributions that compute the same log-densities as ``pyro.distributions.Normal`` with
fewer passes over the weights (a BNN step evaluates them on every one of ~10⁶ weights).

* :class:`ScalarNormal`: the prior's Normal(m, s) with one m and s for the whole tensor:
  ``log p(w) = −(w − m)² / (2 s²) − log s − log √(2π)`` with m, s as numbers, not tensors.
* :class:`NoiseNormal`: the guide's Normal(μ, σ) whose reparameterised sample w = μ + σ ε keeps its
  ε, so ``log q(w) = −ε²/2 − log σ − log √(2π)`` for that very sample. Same value, and the same
  gradient, since (w − μ)/σ = ε whatever μ and σ are.

Both fall back to the general formula for any other value; their KL divergences are Normal's.
"""

from __future__ import annotations

import math

import pyro.distributions as dist
import torch
from torch import Tensor

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class ScalarNormal(dist.Normal):
    """Normal(m, s) broadcast over ``shape``, with m and s the same for every element, on ``device``
    (its ``loc`` and ``scale`` tensors are one number each, expanded: no memory per weight)."""

    def __init__(
        self, loc: float, scale: float, shape: torch.Size | tuple[int, ...], device: torch.device | None = None
    ) -> None:
        shape = torch.Size(shape)
        super().__init__(
            torch.full((), float(loc), device=device).expand(shape),
            torch.full((), float(scale), device=device).expand(shape),
        )
        self.loc_value, self.scale_value = float(loc), float(scale)

    def expand(self, batch_shape, _instance=None):
        return ScalarNormal(self.loc_value, self.scale_value, torch.Size(batch_shape), self.loc.device)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        centred = value - self.loc_value if self.loc_value else value
        out = centred.square().mul(-0.5 / self.scale_value**2).sub(math.log(self.scale_value) + LOG_SQRT_2PI)
        if out.shape != self.batch_shape:  # broadcast like Normal.log_prob does
            out = out.expand(torch.broadcast_shapes(out.shape, self.batch_shape))
        return out


class NoiseNormal(dist.Normal):
    """Normal(μ, σ) that remembers the ε of its last reparameterised sample."""

    _last: tuple[Tensor, Tensor] | None = None

    def rsample(self, sample_shape: tuple[int, ...] = ()) -> Tensor:
        shape = self._extended_shape(torch.Size(sample_shape))
        eps = torch.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        value = torch.addcmul(self.loc, self.scale, eps)
        self._last = (value, eps)
        return value

    def log_prob(self, value: Tensor) -> Tensor:
        if self._last is not None and value is self._last[0]:
            eps = self._last[1]
            return eps.square().mul_(-0.5).sub_(LOG_SQRT_2PI) - self.scale.log()
        return super().log_prob(value)
