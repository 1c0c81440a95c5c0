"""The predictive's temperature: one number T that divides every sampled logit, fitted on the tuning images.

The fit is Bayesian in T alone. A log-uniform prior on [``lo``, ``hi``] and the tuning images'
likelihood Π_n p_T(y_n | x_n) give a posterior over log T,

    p(log T | D) ∝ exp(−Σ_n NLL_n(T)),  log T ∈ [log lo, log hi],

and the temperature taken is T̂ = exp E[log T | D], computed on a grid of log T. Where the tuning
images hold many errors the posterior is narrow and T̂ is the NLL's minimum; where they hold one
or none (a small set of one's own: 40 tuning images) the NLL keeps falling as the answers
sharpen, its minimum sits at the range's lower end, and the posterior mean stays inside, as far
as those images can tell (docs/experiments.md, "The temperature of a small set").
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from idk.data.images import unit
from idk.decision.predictive import batch_size_for
from idk.nn.bnn import DeterministicNet, Model

TEMPERATURE_RANGE = (0.25, 4.0)  # the prior's support: beyond it a mean-field predictive turns into vote shares
GRID_POINTS = 160  # cells of log T the posterior is summed over (each 0.017 wide on the range above)
DRAW_EVERY = 1000  # validation_logits draws new networks for every this many images


def validation_logits(model: Model, images: Tensor, samples: int, seed: int) -> Tensor:
    """Sampled logits (S, N, C) for the validation images, at temperature 1, on the CPU: S
    networks drawn anew for every :data:`DRAW_EVERY` images, each block run in batches that keep
    the activations within the device's budget (:func:`~idk.decision.predictive.batch_size_for`:
    a fully stochastic CNN holds S copies of its feature maps)."""
    generator = torch.Generator().manual_seed(seed)
    step = batch_size_for(model, samples)
    parts = []
    for start in range(0, len(images), DRAW_EVERY):
        block = unit(images[start : start + DRAW_EVERY])
        draws = None if isinstance(model, DeterministicNet) else model.draw(samples, generator=generator)
        parts += [model.sample_logits(block[i : i + step], samples, draws=draws) for i in range(0, len(block), step)]
    return (torch.cat(parts, dim=1) * model.temperature).cpu()


def total_nll(logits: Tensor, labels: Tensor, temperature: float) -> float:
    """−Σ_n log (1/S) Σ_s softmax(logits_sn / T)[y_n] for logits (S, N, C), labels (N,): the
    images' negative log-likelihood at T (0 for no images), in float64."""
    log_probs = torch.log_softmax(logits.double() / temperature, -1)
    per_sample = log_probs.gather(-1, labels.expand(logits.shape[0], -1).unsqueeze(-1)).squeeze(-1)  # (S, N)
    return float(-(torch.logsumexp(per_sample, 0) - math.log(logits.shape[0])).sum())


def predictive_nll(logits: Tensor, labels: Tensor, temperature: float) -> float:
    """The mean of :func:`total_nll` over the N images (NaN for none)."""
    return total_nll(logits, labels, temperature) / len(labels) if len(labels) else math.nan


def temperature_posterior(
    logits: Tensor, labels: Tensor, lo: float = TEMPERATURE_RANGE[0], hi: float = TEMPERATURE_RANGE[1]
) -> tuple[Tensor, Tensor]:
    """The posterior over log T of the module's formula: (log T at the centres of
    :data:`GRID_POINTS` equal cells of [log lo, log hi], their probabilities), both (K,), float64.
    Where the posterior is narrower than a cell (many thousands of images), T̂ is as exact as the
    cells are narrow (±0.9%)."""
    a, b = math.log(lo), math.log(hi)
    log_t = a + (torch.arange(GRID_POINTS, dtype=torch.float64) + 0.5) * (b - a) / GRID_POINTS
    logits = logits.double()  # once, not at each of the cells
    nll = torch.tensor([total_nll(logits, labels, math.exp(x)) for x in log_t.tolist()], dtype=torch.float64)
    return log_t, torch.softmax(-nll, 0)


def posterior_mean_sd(log_t: Tensor, weights: Tensor) -> tuple[float, float]:
    """E[log T] and the standard deviation of log T under :func:`temperature_posterior`'s weights."""
    mean = float((weights * log_t).sum())
    return mean, math.sqrt(max(float((weights * (log_t - mean) ** 2).sum()), 0.0))


def fit_temperature(
    logits: Tensor, labels: Tensor, lo: float = TEMPERATURE_RANGE[0], hi: float = TEMPERATURE_RANGE[1]
) -> float:
    """T̂ = exp E[log T | D] for sampled logits (S, N, C) at temperature 1 and labels (N,)."""
    return math.exp(posterior_mean_sd(*temperature_posterior(logits, labels, lo, hi))[0])


def fitted_temperature(logits: Tensor, labels: Tensor) -> dict[str, Any]:
    """The checkpoint's record of a fit: T̂ (``value``), the posterior's standard deviation of log T
    (``log_sd``: how far the tuning images pin it down), the tuning NLL at T̂ and at 1, their count."""
    mean, sd = posterior_mean_sd(*temperature_posterior(logits, labels))
    t = math.exp(mean)
    return {
        "value": t,
        "log_sd": sd,
        "nll_at_1": predictive_nll(logits, labels, 1.0),
        "nll": predictive_nll(logits, labels, t),
        "n": len(labels),
    }
