"""Posterior predictive summaries, streamed over input batches so memory stays bounded.

For each input, S sampled class-probability vectors p_s (s = 1..S) are drawn in one batched
computation and reduced at once to what scores and rules need: their mean, their q-th percentile
per class, their mean entropy, and the mean logits. Only (N, C) numbers are kept, whatever S is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from idk.data.images import all_finite, unit
from idk.data.imaging import ROUNDING
from idk.errors import IdkError
from idk.nn.bnn import BNN, DeterministicNet, Model, sampling_pass
from idk.nn.numerics import flush_denormals
from idk.progress import Progress

# floats per (S × batch) activation tensor, which sets the batch size: 16 MiB on a CPU (cache-friendly);
# 256 MiB on an accelerator (large batches keep it busy, memory is no concern at that size)
ACTIVATION_BUDGET = 1 << 22
ACCELERATOR_BUDGET = 1 << 26
RESIDENT_BYTES = 1 << 30  # image sets up to this size are copied to the model's device at once, larger in batches


@dataclass
class Predictions:
    """Per-input summaries of S posterior samples (N inputs, C classes)."""

    mean_probs: Tensor  # (N, C)  p̄ = (1/S) Σ_s p_s
    quantile_probs: Tensor  # (N, C)  Q_q({p_s,c}_s), linear interpolation (as numpy.percentile)
    expected_entropy: Tensor  # (N,)  (1/S) Σ_s H[p_s]
    mean_logits: Tensor  # (N, C)  (1/S) Σ_s logits_s
    percentile: float
    samples: int
    SUMMARIES: ClassVar[tuple[str, ...]] = ("mean_probs", "quantile_probs", "expected_entropy", "mean_logits")

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

    def to(self, device: torch.device | str) -> Predictions:
        """The same summaries on ``device``."""
        return Predictions.combine([self], lambda parts: parts[0].to(device))

    @staticmethod
    def concat(parts: list[Predictions]) -> Predictions:
        """The summaries of several batches of inputs, one after the other."""
        return Predictions.combine(parts, torch.cat)

    @staticmethod
    def combine(
        parts: list[Predictions], how: Callable[[list[Tensor]], Tensor], samples: int | None = None
    ) -> Predictions:
        """Each summary of ``parts`` combined by ``how`` (a list of that summary's tensors → one), with
        the first part's percentile and ``samples`` (default: the first part's)."""
        first = parts[0]
        summaries = {name: how([getattr(p, name) for p in parts]) for name in Predictions.SUMMARIES}
        return Predictions(**summaries, percentile=first.percentile, samples=samples or first.samples)


def quantile(x: Tensor, q: float) -> Tensor:
    """The q-quantile (q in [0, 1]) along dim 0 with linear interpolation, like ``numpy.percentile``."""
    s = x.shape[0]
    pos = q * (s - 1)
    lo, frac = int(pos), pos - int(pos)
    ordered = x.sort(dim=0).values
    if frac == 0.0 or lo + 1 >= s:
        return ordered[lo]
    return torch.lerp(ordered[lo], ordered[lo + 1], frac)


def activation_budget(device: torch.device) -> int:
    """Floats per (S × batch) activation tensor on ``device``: ``ACTIVATION_BUDGET`` on a CPU,
    ``ACCELERATOR_BUDGET`` elsewhere."""
    return ACTIVATION_BUDGET if device.type == "cpu" else ACCELERATOR_BUDGET


def batch_size_for(model: Model, samples: int) -> int:
    """A batch size that keeps the largest activation near the device's :func:`activation_budget`
    floats: S × batch for layers after the first stochastic one, batch alone before it (point-mass
    layers run once per input). A mixture runs its members one after the other, each with its share
    (:func:`~idk.nn.bnn.sampling_pass`)."""
    model, samples = sampling_pass(model, samples)
    device = model.device
    budget = activation_budget(device)
    h = torch.zeros(1, *model.cfg.input_shape, device=device)
    shared, per_sample, sampled = h[0].numel(), 0, False
    point = model.guide.point if isinstance(model, BNN) else set()
    with torch.no_grad():
        for layer in model.net:
            if hasattr(layer, "weight_shape"):
                h = layer.apply(h, torch.zeros(layer.weight_shape, device=device), None)
                sampled = sampled or layer.site_names()[0] not in point
            else:
                h = layer(h)
            if sampled and isinstance(model, BNN):
                per_sample = max(per_sample, h[0].numel())
            else:
                shared = max(shared, h[0].numel())
    return max(1, min(10_000, budget // max(per_sample * samples, shared)))


def device_batches(images: Tensor, batch_size: int, device: torch.device) -> Iterator[Tensor]:
    """``images`` (N, ...) in batches of ``batch_size`` on ``device``, as float32 in [0, 1]
    (8-bit levels read there by :func:`~idk.data.images.unit`): a set of up to ``RESIDENT_BYTES``
    is copied over once; a larger one batch by batch from pinned memory (each copy overlapping the
    work on the previous batch)."""
    if images.device != device and images.numel() * images.element_size() <= RESIDENT_BYTES:
        images = images.to(device)
    pin = images.device != device and device.type == "cuda"
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size]
        if x.device != device:
            x = (x.pin_memory() if pin else x).to(device, non_blocking=True)
        yield unit(x)


def check_images(model: Model, images: Tensor) -> None:
    """Refuse images that are not in ``model``'s input form, (N, C, H, W) float32 in [0, 1] or uint8
    levels (k read as k / 255, as an image set may hold them), with a line saying what to change
    (channels last, a missing axis, another size or type, 0..255 in floats, NaN) rather than a
    layer's error or a silent answer."""
    want = tuple(model.cfg.input_shape)
    form = f"(N, {', '.join(map(str, want))}) float32 in [0, 1] (or uint8 0..255)"
    if not isinstance(images, Tensor):
        raise IdkError(f"images must be a torch tensor {form}, got {type(images).__name__}")
    images = images.detach()
    shape = tuple(images.shape)
    if images.dim() != 4 or shape[1:] != want:
        if images.dim() == 4 and (shape[3], *shape[1:3]) == want:
            hint = " (channels last: x.permute(0, 3, 1, 2))"
        elif shape == want:
            hint = " (one image: x[None])"
        elif images.dim() == 3 and want[0] == 1 and shape[1:] == want[1:]:
            hint = " (no channel axis: x[:, None])"
        else:
            hint = ""
        raise IdkError(f"images of shape {shape}: this model takes {form}{hint}")
    if images.dtype == torch.uint8:  # 8-bit levels: every value is a pixel in [0, 1]
        return
    if images.dtype != torch.float32:
        hint = "x.float()" if images.is_floating_point() or images.dtype == torch.bool else "x.float() / 255"
        raise IdkError(f"images of {images.dtype}: this model takes {form} ({hint})")
    if len(images):
        if not all_finite(images):
            raise IdkError(f"images hold NaN or infinite pixels: this model takes {form}")
        low, high = float(images.min()), float(images.max())
        if low < -ROUNDING or high > 1 + ROUNDING:  # beyond a resampling's overshoot: another scale
            raise IdkError(f"pixels span {low:.6g}..{high:.6g}: this model takes {form}")


def predict(
    model: Model,
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
    """Summaries of ``samples`` posterior predictive draws for every image (N, C, H, W) (float32 in
    [0, 1] or uint8 levels), computed on
    the model's device and returned on the CPU (one copy at the end, none per batch).

    The S networks are drawn once from a CPU generator seeded with ``seed``: the same networks on
    every device. Images in another form are an :class:`~idk.errors.IdkError` (:func:`check_images`)."""
    check_images(model, images)
    samples = 1 if isinstance(model, DeterministicNet) else samples
    batch_size = batch_size or batch_size_for(model, samples)
    generator = torch.Generator().manual_seed(seed)
    bayesian = not isinstance(model, DeterministicNet)
    frozen = model.frozen() if bayesian else contextlib.nullcontext()
    bar = progress.bar(total=len(images), desc=desc, unit="img") if progress else None
    parts = []
    with frozen, torch.no_grad(), flush_denormals():
        draws = model.draw(samples, method, generator) if bayesian else None
        for x in device_batches(images, batch_size, model.device):
            logits = model.sample_logits(x, samples, method=method, draws=draws)
            parts.append(Predictions.from_logits(logits, percentile))
            if bar:
                bar.update(len(x))
    if bar:
        bar.close()
    if not parts:
        return Predictions.from_logits(torch.zeros(samples, 0, model.cfg.num_classes), percentile)
    return Predictions.concat(parts).to("cpu")
