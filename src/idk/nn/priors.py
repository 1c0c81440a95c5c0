"""Priors over weights: one object that gives the prior distribution of any weight tensor.

A prior is anything with ``distribution(shape, device)`` (:class:`Prior`); :data:`PRIORS` names the
ones a model may be built with (``ModelConfig.prior``, ``idk train --prior``), each made from its
scale. A prior of your own is one more entry, added before a model that names it is built or
loaded (a checkpoint records the name, not the code)::

    PRIORS["student-t"] = lambda scale: MyStudentPrior(scale)

With the default ELBO (``TraceMeanField_ELBO``) the KL divergence from the mean-field Normal guide
to the prior is taken in closed form where ``torch.distributions.kl`` knows the pair (Normal–Normal,
and Normal–Laplace, registered here); for any other pair Pyro estimates it from the one sampled
network of each step, and training says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import pyro.distributions as dist
import torch
from torch import Tensor
from torch.distributions import kl

from idk.nn.normals import ScalarNormal


class Prior(Protocol):
    """What a Bayesian layer needs of a prior: the distribution of a weight tensor."""

    def distribution(
        self, shape: torch.Size | tuple[int, ...], device: torch.device | None = None
    ) -> dist.Distribution: ...


@dataclass(frozen=True)
class NormalPrior:
    """Independent ``Normal(loc, scale)`` on every weight and bias (the tutorial: loc 0, scale 1)."""

    loc: float = 0.0
    scale: float = 1.0

    def distribution(
        self, shape: torch.Size | tuple[int, ...], device: torch.device | None = None
    ) -> dist.Distribution:
        """The prior of a tensor of ``shape`` on ``device``, all its dimensions as event dimensions."""
        return ScalarNormal(self.loc, self.scale, torch.Size(shape), device).to_event(len(shape))


@dataclass(frozen=True)
class LaplacePrior:
    """Independent ``Laplace(0, b)`` on every weight and bias: p(w) = exp(−|w|/b) / (2b), a sharper
    peak at 0 and heavier tails than a Normal of the same scale (the Bayesian reading of an L1
    penalty: most weights near 0, a few large)."""

    scale: float = 1.0

    def distribution(
        self, shape: torch.Size | tuple[int, ...], device: torch.device | None = None
    ) -> dist.Distribution:
        """The prior of a tensor of ``shape`` on ``device``, all its dimensions as event dimensions."""
        shape = torch.Size(shape)
        zero = torch.zeros((), device=device)
        return dist.Laplace(
            zero.expand(shape), torch.full((), float(self.scale), device=device).expand(shape)
        ).to_event(len(shape))


# Every prior by name, made from its scale (``ModelConfig.prior_scale``, ``--prior-scale``); the
# names are copied into idk.choices.PRIOR_NAMES for the command line.
PRIORS: dict[str, Callable[[float], Prior]] = {
    "normal": lambda scale: NormalPrior(0.0, scale),
    "laplace": LaplacePrior,
}


def make_prior(name: str, scale: float) -> Prior:
    """The prior called ``name`` with the given scale; the error lists the valid names."""
    if name not in PRIORS:
        raise ValueError(
            f"unknown prior {name!r}; valid: {', '.join(PRIORS)} (a prior of your own: add it to "
            "idk.nn.priors.PRIORS before the model is built or loaded)"
        )
    return PRIORS[name](scale)


@kl.register_kl(dist.Normal, dist.Laplace)
def kl_normal_laplace(q: dist.Normal, p: dist.Laplace) -> Tensor:
    """KL(Normal(μ, σ) ‖ Laplace(m, b)) element-wise, in closed form:

        −½ log(2πe σ²) + log(2b) + E|w − m| / b,
        E|w − m| = σ √(2/π) exp(−d²/(2σ²)) + d erf(d / (σ√2)),  d = μ − m

    (the negative entropy of the Normal, minus its expected Laplace log-density; E|w − m| is the
    mean of a folded Normal)."""
    d, sigma, b = q.loc - p.loc, q.scale, p.scale
    folded = sigma * math.sqrt(2 / math.pi) * torch.exp(-0.5 * (d / sigma) ** 2) + d * torch.erf(
        d / (sigma * math.sqrt(2))
    )
    return -0.5 * math.log(2 * math.pi * math.e) - torch.log(sigma) + torch.log(2 * b) + folded / b
