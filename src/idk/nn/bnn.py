"""A variational Bayesian neural network: network, prior, guide and likelihood, each its own part.

The model is ``y ~ likelihood(net_w(x))`` with ``w ~ prior``, fitted by a guide q(w) (by default
a mean-field Normal). The prior and the guide are named in :class:`ModelConfig` and made from
:data:`idk.nn.priors.PRIORS` and :data:`idk.nn.guides.GUIDES` (add to those to swap in your own);
the network from :class:`~idk.nn.networks.NetConfig`; the likelihood is a classifier's
:class:`~idk.nn.likelihoods.CategoricalLikelihood` (no setting names another).
Posterior predictive samples come from :meth:`BNN.sample_logits`, all S samples of a batch in one
batched computation (see :mod:`idk.nn.layers` for the two exact ways of drawing them).
:class:`BNNMixture` is an equal mixture of K such posteriors, each trained alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import pyro
import pyro.distributions as dist
import torch
from pyro import poutine
from pyro.distributions.kl import kl_divergence
from torch import Tensor, nn

from idk.nn import guides, priors
from idk.nn.guides import standard_normal
from idk.nn.layers import BayesianLayer
from idk.nn.likelihoods import CategoricalLikelihood
from idk.nn.networks import NetConfig, build_network

METHODS = ("local", "weights")


@dataclass(frozen=True)
class ModelConfig:
    """Everything that defines a model's structure and its initialisation. ``input_shape``
    (C, H, W) and ``num_classes`` come from the training data (:func:`with_data`)."""

    net: NetConfig = field(default_factory=NetConfig)
    input_shape: tuple[int, ...] = ()
    num_classes: int = 0
    bayesian: bool = True  # False: the deterministic twin, trained by maximum likelihood
    prior: str = "normal"  # a name of idk.nn.priors.PRIORS
    prior_scale: float = 1.0
    guide: str = "mean-field-normal"  # a name of idk.nn.guides.GUIDES
    init_loc: str = "net"  # guide means: "randn" (tutorial) or "net" (Kaiming-uniform)
    init_scale: float | None = 1e-3  # guide scales; None: softplus(randn) (tutorial)
    scale_likelihood: bool = True  # False: the tutorial's unscaled minibatch likelihood
    point_layers: tuple[str, ...] = ()  # layer types whose weights get a point mass (MAP), e.g. ("BayesianConv2d",)
    members: int = 1  # K > 1: an equal mixture of K posteriors (BNNMixture), each trained alone


def kl_in_closed_form(cfg: ModelConfig) -> bool:
    """Whether the KL divergence from a mean-field Normal (the guides' family) to ``cfg``'s prior is
    known in closed form (``torch.distributions.kl``): what ``TraceMeanField_ELBO`` uses, where it
    is; else Pyro estimates it from the sampled weights."""
    prior = priors.make_prior(cfg.prior, cfg.prior_scale).distribution((1,))
    try:
        kl_divergence(dist.Normal(torch.zeros(1), torch.ones(1)).to_event(1), prior)
    except NotImplementedError:
        return False
    return True


def with_data(cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int) -> ModelConfig:
    """``cfg`` for inputs of ``input_shape`` (C, H, W) and ``num_classes`` classes."""
    return replace(cfg, input_shape=tuple(input_shape), num_classes=num_classes)


class BNN(nn.Module):
    """Bayesian network: the network of ``cfg.net`` under the prior ``cfg.prior``, its posterior
    approximated by the guide ``cfg.guide``, a Categorical likelihood.

    Args:
        cfg: the model's configuration.
        dataset_size: D, the number of training examples (scales the minibatch likelihood).
    """

    def __init__(self, cfg: ModelConfig, dataset_size: int | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.prior = priors.make_prior(cfg.prior, cfg.prior_scale)
        self.net = build_network(cfg.net, self.prior, cfg.input_shape, cfg.num_classes)
        self.guide = guides.make_guide(cfg.guide, self.net, cfg.init_loc, cfg.init_scale, tuple(cfg.point_layers))
        self.likelihood = CategoricalLikelihood(dataset_size if cfg.scale_likelihood else None)
        # predictive temperature T (logits / T), fitted on validation data after training; 1 = none
        self.register_buffer("temperature", torch.ones(()))
        self._workspace: dict[str, Tensor] = {}  # reused output buffers of sample_logits (see there)

    @property
    def device(self) -> torch.device:
        """Where the model's parameters, priors and buffers live (``.to(device)`` moves them all)."""
        return self.temperature.device

    def frozen(self) -> contextlib.AbstractContextManager[None]:
        """A block without training: each site's (loc, scale) computed once and reused."""
        return self.guide.frozen()

    def model(
        self,
        x: Tensor,
        y: Tensor | None = None,
        outliers: Tensor | None = None,
        outlier_weight: float = 0.0,
        kl_weight: float = 1.0,
        data_scale: float | None = None,
    ) -> Tensor:
        """The Pyro model: x (B, C, H, W), y (B,) → sampled or observed labels (B,).

        ``data_scale`` replaces the likelihood's minibatch scale D/B (data-parallel training gives
        each process's share of a global batch the scale of the whole, :mod:`idk.training.distributed`).

        ``outliers`` (M, C, H, W) with ``outlier_weight`` λ add outlier exposure (Hendrycks et al.,
        2019) as a pseudo-likelihood: ``λ · (D/M) Σ_m (1/C) Σ_c log p(c | x_m)``, the labels of
        synthetic outliers taken as uniform, so the posterior learns to be unsure off the data.

        ``kl_weight`` β scales the weight sites' log-densities (the guide must be scaled alike, as
        :class:`idk.training.fitting.ElboObjective` does): the ELBO becomes ``E_q[log p(y | x, w)] − β KL(q ‖ p)``,
        a tempered posterior; β = 1 is Bayes' rule."""
        inputs = x if outliers is None or not len(outliers) else torch.cat([x, outliers])
        with poutine.scale(scale=kl_weight):
            logits = self.net(inputs)
        if len(inputs) == len(x):
            return self.likelihood(logits, y, data_scale)
        out = logits[len(x) :]
        scale = outlier_weight * (self.likelihood.dataset_size or len(x)) / len(out)
        pyro.factor("outliers", scale * torch.log_softmax(out, -1).mean(-1).sum())
        return self.likelihood(logits[: len(x)], y, data_scale)

    @torch.no_grad()
    def draw(
        self, num_samples: int, method: str = "local", generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        """S posterior draws of what :meth:`sample_logits` needs: per stochastic site either sampled
        weights (S, *shape), or, for a layer done by local reparameterisation, the unit noise
        ε (S, 1, out) under the weight site's name; on the model's device (a seeded CPU
        ``generator`` draws the same networks whatever the device)."""
        if method not in METHODS:
            raise ValueError(f"unknown sampling method {method!r}; valid: {', '.join(METHODS)}")
        draws: dict[str, Tensor] = {}
        sampled = False
        for layer in self.net:
            if not isinstance(layer, BayesianLayer):
                continue
            w_site, b_site = layer.site_names()
            if w_site in self.guide.point:
                continue
            if method == "local" and layer.local_exact and not sampled:
                loc, _ = self.guide.loc_scale(b_site)
                draws[w_site] = standard_normal((num_samples, 1, *loc.shape), generator, loc)
            else:
                draws[w_site] = self.guide.sample_weights(w_site, num_samples, generator)
                draws[b_site] = self.guide.sample_weights(b_site, num_samples, generator)
            sampled = True
        return draws

    @torch.no_grad()
    def sample_logits(
        self,
        x: Tensor,
        num_samples: int,
        method: str = "local",
        generator: torch.Generator | None = None,
        draws: dict[str, Tensor] | None = None,
    ) -> Tensor:
        """S posterior predictive draws of the logits: x (N, C, H, W) on any device → (S, N, classes)
        on the model's device.

        ``method="local"``: the first stochastic layer, when it is dense and its input is the same
        for every sample, by local reparameterisation (its weights are never drawn); every later
        layer with S sampled weight sets. ``"weights"``: S sampled weight sets in every layer.
        Both give each input exactly the same predictive distribution (tested): the S draws for
        one input are independent and exact, while inputs of a batch share the S networks (as
        the tutorial's loop shares one network per sample and batch). Point-mass layers run once
        per input; a network of point masses only (a MAP guide, no Bayesian layer) gives its one
        network's logits S times. ``draws`` (from :meth:`draw`) reuses the same S networks across calls.
        """
        draws = self.draw(num_samples, method, generator) if draws is None else draws
        x = x.to(self.device, non_blocking=True)
        h, sampled = x, False
        for layer in self.net:
            if isinstance(layer, BayesianLayer):
                w_site, b_site = layer.site_names()
                w_loc, w_scale = self.guide.loc_scale(w_site)
                b_loc, b_scale = self.guide.loc_scale(b_site)
                if w_scale is None:
                    h = layer.forward_point(h, w_loc, b_loc)
                    continue
                if b_site not in draws:  # local reparameterisation with the drawn unit noise
                    noise = draws[w_site]
                    shape = (noise.shape[0], h.shape[0], *noise.shape[2:])
                    out = self._workspace.get(w_site)
                    if (
                        out is None
                        or out.device != noise.device
                        or out.dtype != noise.dtype
                        or out.shape[0] != shape[0]
                        or out.shape[1] < shape[1]
                        or out.shape[2:] != shape[2:]
                    ):
                        out = self._workspace[w_site] = torch.empty(shape, dtype=noise.dtype, device=noise.device)
                    h = layer.forward_local(h, w_loc, w_scale, b_loc, b_scale, noise=noise, out=out[:, : shape[1]])
                else:  # S weight sets, each shared by the batch (one batched matmul or convolution)
                    h = layer.forward_weights(h, draws[w_site], draws[b_site])
                sampled = True
            elif isinstance(layer, nn.ReLU):
                h = torch.relu_(h) if h is not x else torch.relu(h)  # in place on our own activations
            elif sampled:
                s, n = h.shape[:2]
                h = layer(h.reshape(s * n, *h.shape[2:]))
                h = h.reshape(s, n, *h.shape[1:])
            else:
                h = layer(h)
        if not sampled:  # every weight a point mass: each of the S networks is the one network
            h = h.expand(num_samples, *h.shape)
        return h / self.temperature

    @torch.no_grad()
    def mean_logits(self, x: Tensor) -> Tensor:
        """The logits of one network, the guide's locations (a Normal's means) as its weights, at
        T = 1 (the temperature is fitted once training ends; a resumed run's would differ from its
        first epochs'): x (N, C, H, W) on any device → (N, classes) on the model's device. No draw,
        so no random numbers: what training measures its held-out images with after each epoch."""
        h = x.to(self.device, non_blocking=True)
        for layer in self.net:
            if isinstance(layer, BayesianLayer):
                w_site, b_site = layer.site_names()
                h = layer.forward_point(h, self.guide.loc_scale(w_site)[0], self.guide.loc_scale(b_site)[0])
            else:
                h = layer(h)
        return h


def member_samples(samples: int, members: int) -> list[int]:
    """S draws shared among K members as evenly as can be: S // K each, one more for the first S mod K."""
    return [samples // members + (k < samples % members) for k in range(members)]


class BNNMixture(nn.Module):
    """An equal mixture of K mean-field posteriors: q(w) = (1/K) Σ_k q_k(w).

    Each member is a :class:`BNN` trained alone, from its own initialisation and data order (a deep
    ensemble of Bayesian networks; Wilson and Izmailov, 2020): where one mean-field posterior covers
    one mode, the mixture covers K. Its S predictive draws are stratified, S_k =
    :func:`member_samples` (S, K)[k] from member k, so that for S divisible by K the predictive mean
    is (1/K) Σ_k p̄_k exactly as the mixture's. One temperature, fitted on the mixture, scales every
    draw; the members' own stay 1.
    """

    def __init__(self, cfg: ModelConfig, dataset_size: int | None = None) -> None:
        super().__init__()
        if cfg.members < 2:
            raise ValueError(f"a mixture needs at least 2 members, got {cfg.members}")
        self.cfg = cfg
        self.members = nn.ModuleList(BNN(replace(cfg, members=1), dataset_size) for _ in range(cfg.members))
        self.register_buffer("temperature", torch.ones(()))

    @property
    def device(self) -> torch.device:
        return self.temperature.device

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Every member's :meth:`BNN.frozen` at once."""
        with contextlib.ExitStack() as stack:
            for member in self.members:
                stack.enter_context(member.frozen())
            yield

    def _shares(self, num_samples: int) -> Iterator[tuple[int, BNN, int]]:
        """(k, member k, its share S_k of the S draws), in member order."""
        for k, (member, n) in enumerate(zip(self.members, member_samples(num_samples, len(self.members)), strict=True)):
            yield k, member, n

    @torch.no_grad()
    def draw(
        self, num_samples: int, method: str = "local", generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        """Each member's :meth:`BNN.draw` of its share of the S networks, in member order, under
        the keys ``"k/site"``."""
        draws: dict[str, Tensor] = {}
        for k, member, n in self._shares(num_samples):
            draws.update({f"{k}/{site}": t for site, t in member.draw(n, method, generator).items()})
        return draws

    @torch.no_grad()
    def sample_logits(
        self,
        x: Tensor,
        num_samples: int,
        method: str = "local",
        generator: torch.Generator | None = None,
        draws: dict[str, Tensor] | None = None,
    ) -> Tensor:
        """S draws of the logits from the mixture: x (N, C, H, W) → (S, N, classes), member 0's
        share first (see :meth:`BNN.sample_logits`; ``draws`` from :meth:`draw`)."""
        draws = self.draw(num_samples, method, generator) if draws is None else draws
        parts = []
        for k, member, n in self._shares(num_samples):
            if n:
                own = {key.split("/", 1)[1]: t for key, t in draws.items() if key.startswith(f"{k}/")}
                parts.append(member.sample_logits(x, n, method, draws=own))
        return torch.cat(parts) / self.temperature


class DeterministicNet(nn.Module):
    """The deterministic twin: the same architecture with point weights, trained by maximum likelihood."""

    def __init__(self, cfg: ModelConfig, dataset_size: int | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.net = build_network(cfg.net, None, cfg.input_shape, cfg.num_classes)
        self.register_buffer("temperature", torch.ones(()))

    @property
    def device(self) -> torch.device:
        return self.temperature.device

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    @torch.no_grad()
    def mean_logits(self, x: Tensor) -> Tensor:
        """The network's logits at T = 1: x (N, C, H, W) → (N, classes) on the model's device (its
        weights are points: :meth:`BNN.mean_logits`' counterpart)."""
        return self.net(x.to(self.device, non_blocking=True))

    @torch.no_grad()
    def sample_logits(
        self, x: Tensor, num_samples: int = 1, method: str = "local", generator=None, draws=None
    ) -> Tensor:
        """The network's logits (over the temperature) as a single "sample": (1, N, classes), on
        the model's device."""
        return (self.net(x.to(self.device, non_blocking=True)) / self.temperature).unsqueeze(0)


Model = BNN | BNNMixture | DeterministicNet


def build_model(cfg: ModelConfig, dataset_size: int | None = None) -> Model:
    """A :class:`BNN` (a :class:`BNNMixture` of ``cfg.members`` > 1 of them) or, for
    ``cfg.bayesian=False``, the :class:`DeterministicNet` twin."""
    if not cfg.bayesian:
        return DeterministicNet(cfg, dataset_size)
    if cfg.members < 1:
        raise ValueError(f"members: a model needs at least one, got {cfg.members}")
    return (BNNMixture if cfg.members > 1 else BNN)(cfg, dataset_size)


def sampling_pass(model: Model, samples: int) -> tuple[BNN | DeterministicNet, int]:
    """The network one sampling pass runs and how many of the S draws it takes at once: for a
    mixture (whose members run in turn) its first member with the largest share, else the model
    itself with all S. What sizes a pass's batch and memory."""
    if isinstance(model, BNNMixture):
        return model.members[0], max(member_samples(samples, len(model.members)))
    return model, samples


def bayesian_members(model: Model) -> list[BNN]:
    """The BNNs trained one after the other to make ``model``: its members, itself, or none (a twin)."""
    if isinstance(model, BNNMixture):
        return list(model.members)
    return [model] if isinstance(model, BNN) else []
