"""Posterior predictive summaries, streamed over input batches so memory stays bounded.

For each input, S sampled class-probability vectors p_s (s = 1..S) are drawn in one batched
computation and reduced at once to what scores and rules need: their mean, their q-th percentile
per class, their mean entropy, and the mean logits. Only (N, C) numbers are kept, whatever S is.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import Tensor

from idk.nn.bnn import BNN, DeterministicNet
from idk.nn.numerics import flush_denormals
from idk.progress import Progress

ACTIVATION_BUDGET = 1 << 22  # floats per (S × batch) activation tensor (16 MiB, cache-friendly): the batch size


@dataclass
class Predictions:
    """Per-input summaries of S posterior samples (N inputs, C classes)."""

    mean_probs: Tensor  # (N, C)  p̄ = (1/S) Σ_s p_s
    quantile_probs: Tensor  # (N, C)  Q_q({p_s,c}_s), linear interpolation (as numpy.percentile)
    expected_entropy: Tensor  # (N,)  (1/S) Σ_s H[p_s]
    mean_logits: Tensor  # (N, C)  (1/S) Σ_s logits_s
    percentile: float
    samples: int

    def __len__(self) -> int:
        return self.mean_probs.shape[0]

    @staticmethod
    def from_logits(logits: Tensor, percentile: float) -> Predictions:
        """Summarise sampled logits (S, N, C)."""
        log_probs = torch.log_softmax(logits, dim=-1)
        probs = log_probs.exp()
        entropy = -(probs * log_probs).sum(-1)  # (S, N)
        return Predictions(
            mean_probs=probs.mean(0),
            quantile_probs=quantile(probs, percentile / 100.0),
            expected_entropy=entropy.mean(0),
            mean_logits=logits.mean(0),
            percentile=percentile,
            samples=logits.shape[0],
        )

    @staticmethod
    def concat(parts: list[Predictions]) -> Predictions:
        first = parts[0]
        return Predictions(
            *(
                torch.cat([getattr(p, f) for p in parts])
                for f in ("mean_probs", "quantile_probs", "expected_entropy", "mean_logits")
            ),
            percentile=first.percentile,
            samples=first.samples,
        )


def quantile(x: Tensor, q: float) -> Tensor:
    """The q-quantile (q in [0, 1]) along dim 0 with linear interpolation, like ``numpy.percentile``."""
    s = x.shape[0]
    pos = q * (s - 1)
    lo, frac = int(pos), pos - int(pos)
    ordered = x.sort(dim=0).values
    if frac == 0.0 or lo + 1 >= s:
        return ordered[lo]
    return torch.lerp(ordered[lo], ordered[lo + 1], frac)


def batch_size_for(model: BNN | DeterministicNet, samples: int) -> int:
    """A batch size that keeps the largest activation near ``ACTIVATION_BUDGET`` floats: S × batch
    for layers after the first stochastic one, batch alone before it (point-mass layers run once
    per input)."""
    h = torch.zeros(1, *model.cfg.input_shape)
    shared, per_sample, sampled = h[0].numel(), 0, False
    point = model.guide.point if isinstance(model, BNN) else set()
    with torch.no_grad():
        for layer in model.net:
            if hasattr(layer, "weight_shape"):
                h = layer.apply(h, torch.zeros(layer.weight_shape), None)
                sampled = sampled or layer.site_names()[0] not in point
            else:
                h = layer(h)
            if sampled and isinstance(model, BNN):
                per_sample = max(per_sample, h[0].numel())
            else:
                shared = max(shared, h[0].numel())
    return max(1, min(10_000, ACTIVATION_BUDGET // max(per_sample * samples, shared)))


def predict(
    model: BNN | DeterministicNet,
    images: Tensor,
    samples: int,
    percentile: float = 50.0,
    *,
    method: str = "local",
    seed: int = 0,
    batch_size: int | None = None,
    progress: Progress | None = None,
    desc: str = "predict",
) -> Predictions:
    """Summaries of ``samples`` posterior predictive draws for every image (N, C, H, W)."""
    samples = 1 if isinstance(model, DeterministicNet) else samples
    batch_size = batch_size or batch_size_for(model, samples)
    generator = torch.Generator().manual_seed(seed)
    frozen = model.guide.frozen() if isinstance(model, BNN) else contextlib.nullcontext()
    bar = progress.bar(total=len(images), desc=desc, unit="img") if progress else None
    parts = []
    with frozen, torch.no_grad(), flush_denormals():
        draws = model.draw(samples, method, generator) if isinstance(model, BNN) else None
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size]
            logits = model.sample_logits(x, samples, method=method, draws=draws)
            parts.append(Predictions.from_logits(logits, percentile))
            if bar:
                bar.update(len(x))
    if bar:
        bar.close()
    if not parts:
        empty = torch.zeros(0, model.cfg.num_classes)
        return Predictions(empty, empty, torch.zeros(0), empty, percentile, samples)
    return Predictions.concat(parts)
