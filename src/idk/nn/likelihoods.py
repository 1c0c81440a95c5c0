"""The observation model: a categorical distribution over classes given the network's logits."""

from __future__ import annotations

import pyro
import pyro.distributions as dist
from torch import Tensor


class CategoricalLikelihood:
    """y_n ~ Categorical(softmax(logits_n)).

    With ``dataset_size`` D, a minibatch of B is scaled by D/B (``pyro.plate`` subsampling), so the
    ELBO is an unbiased estimate of the full-data ELBO. ``dataset_size=None`` leaves the minibatch
    unscaled, as the tutorial did (its KL then outweighs the data by D/B).
    """

    def __init__(self, dataset_size: int | None = None) -> None:
        self.dataset_size = dataset_size

    def __call__(self, logits: Tensor, y: Tensor | None = None) -> Tensor:
        n = logits.shape[0]
        with pyro.plate("data", size=self.dataset_size or n, subsample_size=n):
            return pyro.sample("obs", dist.Categorical(logits=logits), obs=y)
