"""A variational Bayesian neural network: network, prior, guide and likelihood, each swappable.

The model is ``y ~ likelihood(net_w(x))`` with ``w ~ prior``; the guide is a mean-field Normal.
Posterior predictive samples come from :meth:`BNN.sample_logits`, all S samples of a batch in one
batched computation (see :mod:`idk.nn.layers` for the two exact ways of drawing them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from idk.nn.guides import MeanFieldNormalGuide
from idk.nn.layers import BayesianLayer
from idk.nn.likelihoods import CategoricalLikelihood
from idk.nn.networks import NetConfig, build_network
from idk.nn.priors import make_prior

METHODS = ("local", "weights")


@dataclass(frozen=True)
class ModelConfig:
    """Everything that defines a model's structure and its initialisation."""

    net: NetConfig = field(default_factory=NetConfig)
    bayesian: bool = True  # False: the deterministic twin, trained by maximum likelihood
    prior: str = "normal"
    prior_scale: float = 1.0
    init_loc: str = "net"  # guide means: "randn" (tutorial) or "net" (Kaiming-uniform)
    init_scale: float | None = 1e-3  # guide scales; None: softplus(randn) (tutorial)
    scale_likelihood: bool = True  # False: the tutorial's unscaled minibatch likelihood


class BNN(nn.Module):
    """Bayesian network with a mean-field Normal guide.

    Args:
        cfg: the model's configuration.
        dataset_size: D, the number of training examples (scales the minibatch likelihood).
    """

    def __init__(self, cfg: ModelConfig, dataset_size: int | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.prior = make_prior(cfg.prior, cfg.prior_scale)
        self.net = build_network(cfg.net, self.prior)
        self.guide = MeanFieldNormalGuide(self.net, cfg.init_loc, cfg.init_scale)
        self.likelihood = CategoricalLikelihood(dataset_size if cfg.scale_likelihood else None)

    def model(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """The Pyro model: x (B, 28, 28), y (B,) → sampled or observed labels (B,)."""
        return self.likelihood(self.net(x), y)

    @torch.no_grad()
    def sample_logits(
        self, x: Tensor, num_samples: int, method: str = "local", generator: torch.Generator | None = None
    ) -> Tensor:
        """S posterior predictive draws of the logits: x (N, 28, 28) → (S, N, 10).

        ``method="local"``: local reparameterisation in the layers where it is exact (dense), one
        independent draw per input, and S sampled kernels elsewhere (convolutions); ``"weights"``:
        S whole weight sets, each shared by the batch. Both give every input the same predictive
        distribution.
        """
        if method not in METHODS:
            raise ValueError(f"unknown sampling method {method!r}; valid: {', '.join(METHODS)}")
        h, sampled = x, False
        for layer in self.net:
            if isinstance(layer, BayesianLayer):
                w_site, b_site = layer.site_names()
                if method == "local" and layer.local_exact:
                    w_loc, w_scale = self.guide.loc_scale(w_site)
                    b_loc, b_scale = self.guide.loc_scale(b_site)
                    h = layer.forward_local(
                        h, w_loc, w_scale, b_loc, b_scale, None if sampled else num_samples, generator
                    )
                else:
                    w = self.guide.sample_weights(w_site, num_samples, generator)
                    b = self.guide.sample_weights(b_site, num_samples, generator)
                    h = layer.forward_weights(h, w, b)
                sampled = True
            elif sampled:
                s, n = h.shape[:2]
                h = layer(h.reshape(s * n, *h.shape[2:]))
                h = h.reshape(s, n, *h.shape[1:])
            else:
                h = layer(h)
        return h


class DeterministicNet(nn.Module):
    """The deterministic twin: the same architecture with point weights, trained by maximum likelihood."""

    def __init__(self, cfg: ModelConfig, dataset_size: int | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.net = build_network(cfg.net, None)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    @torch.no_grad()
    def sample_logits(self, x: Tensor, num_samples: int = 1, method: str = "local", generator=None) -> Tensor:
        """The network's logits as a single "sample": (1, N, 10)."""
        return self.net(x).unsqueeze(0)


def build_model(cfg: ModelConfig, dataset_size: int | None = None) -> BNN | DeterministicNet:
    """A :class:`BNN` or, for ``cfg.bayesian=False``, its :class:`DeterministicNet` twin."""
    return (BNN if cfg.bayesian else DeterministicNet)(cfg, dataset_size)
