"""The observation model: a categorical distribution over classes given the network's logits."""

from __future__ import annotations

import pyro
import pyro.distributions as dist
from pyro import poutine
from torch import Tensor


class CategoricalLikelihood:
    """y_n ~ Categorical(softmax(logits_n)).

    With ``dataset_size`` D, a minibatch of B is scaled by D/B (as ``pyro.plate`` subsampling would), so the
    ELBO is an unbiased estimate of the full-data ELBO. ``dataset_size=None`` leaves the minibatch
    unscaled, as the tutorial did (its KL then outweighs the data by D/B).
    """

    def __init__(self, dataset_size: int | None = None) -> None:
        self.dataset_size = dataset_size

    def scale(self, n: int) -> float:
        """The factor on a minibatch of ``n`` log-likelihoods: D/n, or 1 unscaled."""
        return self.dataset_size / n if self.dataset_size and n else 1.0

    def __call__(self, logits: Tensor, y: Tensor | None = None, scale: float | None = None) -> Tensor:
        """Observe (or sample) labels (B,) for ``logits`` (B, C), each log-likelihood times ``scale``
        (None: :meth:`scale` of B). The plate is the minibatch itself (no subsample indices are
        drawn, so nothing random is spent and nothing is made on another device)."""
        n = logits.shape[0]
        if n == 0:  # nothing observed (a data-parallel process's empty share of a last batch)
            return y
        scale = self.scale(n) if scale is None else scale
        with pyro.plate("data", n, device=logits.device), poutine.scale(scale=scale):
            return pyro.sample("obs", dist.Categorical(logits=logits), obs=y)
