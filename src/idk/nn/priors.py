"""Priors over weights: one object that gives the prior distribution of any weight tensor."""

from __future__ import annotations

from dataclasses import dataclass

import pyro.distributions as dist
import torch

from idk.nn.normals import ScalarNormal


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


def make_prior(name: str, scale: float) -> NormalPrior:
    """The prior called ``name`` (only ``normal`` for now) with the given scale."""
    if name != "normal":
        raise ValueError(f"unknown prior {name!r}; valid: normal")
    return NormalPrior(0.0, scale)
