"""Synthetic non-digits: images unlike any digit that idk generates itself.

They stand in for real out-of-distribution data, which idk never trains or tunes on: they teach
the posterior to be unsure off MNIST (outlier exposure, see :meth:`idk.nn.bnn.BNN.model`) and
choose the decision score. Each family is one function ``(digits, labels, n, generator) →
(n, 28, 28)`` in [0, 1]; ``digits`` (M, 28, 28) and ``labels`` (M,) are MNIST images to start from.

Families are split in two: :data:`TRAINING_FAMILIES` are seen in training, and
:data:`HELD_OUT_FAMILIES` are never trained on, so choosing the score on them measures how the
model treats a kind of non-digit it has not been shown (the trained families are refused by
every score and cannot tell the scores apart).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

Generator = torch.Generator | None
Family = Callable[[Tensor, Tensor, int, Generator], Tensor]

# Digits whose left–right mirror image is no digit (0, 1 and 8 are nearly symmetric).
MIRROR_CLASSES = (2, 3, 4, 5, 6, 7, 9)

_GRID = torch.stack(torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij"), -1)  # (28, 28, 2)


def uniform_pixels(n: int, generator: Generator = None) -> Tensor:
    """(n, 28, 28) i.i.d. Uniform(0, 1) pixels, as the tutorial's ``torch.rand(n, 28, 28)``."""
    return torch.rand(n, 28, 28, generator=generator)


def gaussian_pixels(n: int, generator: Generator = None) -> Tensor:
    """(n, 28, 28) i.i.d. pixels ``clamp(0.5 + 0.25 z, 0, 1)``, z ~ Normal(0, 1)."""
    return (0.5 + 0.25 * torch.randn(n, 28, 28, generator=generator)).clamp(0, 1)


def _pick(digits: Tensor, n: int, g: Generator, allowed: Tensor | None = None) -> Tensor:
    """Indices of n digits drawn with replacement (among ``allowed`` indices when given)."""
    pool = torch.arange(len(digits)) if allowed is None else allowed
    return pool[torch.randint(0, len(pool), (n,), generator=g)]


def shuffled_digits(digits: Tensor, labels: Tensor, n: int, g: Generator) -> Tensor:
    """Digits whose 16 patches of 7×7 are shuffled: MNIST's strokes, no digit's shape."""
    picked = digits[_pick(digits, n, g)]
    patches = picked.reshape(n, 4, 7, 4, 7).permute(0, 1, 3, 2, 4).reshape(n, 16, 7, 7)
    order = torch.argsort(torch.rand(n, 16, generator=g), dim=1)
    shuffled = patches[torch.arange(n)[:, None], order]
    return shuffled.reshape(n, 4, 4, 7, 7).permute(0, 1, 3, 2, 4).reshape(n, 28, 28)


def zoomed_digits(digits: Tensor, labels: Tensor, n: int, g: Generator) -> Tensor:
    """A window of a digit magnified 1.8–3×: thick strokes running off the edges, unlike MNIST's
    centred 20×20 box."""
    picked = digits[_pick(digits, n, g)]
    zoom = 1.8 + 1.2 * torch.rand(n, generator=g)
    centre = 0.5 * (torch.rand(n, 2, generator=g) - 0.5)  # where to look, in [−0.25, 0.25]² of the frame
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 / zoom
    theta[:, :, 2] = centre
    grid = F.affine_grid(theta, (n, 1, 28, 28), align_corners=False)
    return F.grid_sample(picked.unsqueeze(1), grid, align_corners=False).squeeze(1).clamp(0, 1)


def mirrored_digits(digits: Tensor, labels: Tensor, n: int, g: Generator) -> Tensor:
    """Left–right mirror images of the digits that have no mirror-image digit (2–7, 9)."""
    allowed = torch.isin(labels, torch.tensor(MIRROR_CLASSES)).nonzero().squeeze(1)
    if not len(allowed):
        allowed = None
    return digits[_pick(digits, n, g, allowed)].flip(-1)


def inverted_digits(digits: Tensor, labels: Tensor, n: int, g: Generator) -> Tensor:
    """Dark digits on a white page: ``1 − x``."""
    return 1 - digits[_pick(digits, n, g)]


def strokes(digits: Tensor, labels: Tensor, n: int, g: Generator) -> Tensor:
    """Pen scribbles: 2–4 random cubic Bézier curves (control points anywhere in the frame),
    drawn with a soft pen of MNIST's stroke width. Shapes of strokes, not of digits."""
    count = 4
    ctrl = 2 + 24 * torch.rand(n, count, 4, 2, generator=g)  # (n, K, 4 control points, xy)
    t = torch.linspace(0, 1, 24)
    basis = torch.stack([(1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t**2 * (1 - t), t**3], -1)  # (T, 4)
    points = torch.einsum("tc,nkcd->nktd", basis, ctrl).reshape(n, count * len(t), 2)  # (n, K·T, 2)
    present = torch.rand(n, count, generator=g) < torch.tensor([1.0, 1.0, 0.5, 0.25])
    present = present.repeat_interleave(len(t), 1)  # (n, K·T)
    width = 0.9 + 0.6 * torch.rand(n, 1, 1, generator=g)
    out = torch.empty(n, 28, 28)
    for s in range(0, n, 64):  # (64, 784, K·T) distances at a time
        e = slice(s, s + 64)
        d2 = torch.cdist(_GRID.reshape(1, 784, 2), points[e]).square()
        d2 = d2.masked_fill(~present[e].unsqueeze(1), math.inf).amin(-1).reshape(-1, 28, 28)
        out[e] = (1.6 * torch.exp(-d2 / (2 * width[e].square()))).clamp(0, 1)
    return out


def blobs(digits: Tensor, labels: Tensor, n: int, g: Generator) -> Tensor:
    """1–3 filled ellipses with soft edges: areas of ink where MNIST has lines."""
    count = 3
    centre = 5 + 18 * torch.rand(n, count, 1, 1, 2, generator=g)
    axes = 2 + 6 * torch.rand(n, count, 1, 1, 2, generator=g)
    angle = math.pi * torch.rand(n, count, 1, 1, generator=g)
    rel = _GRID - centre  # (n, K, 28, 28, 2)
    cos, sin = torch.cos(angle), torch.sin(angle)
    u = (cos * rel[..., 0] + sin * rel[..., 1]) / axes[..., 0]
    v = (-sin * rel[..., 0] + cos * rel[..., 1]) / axes[..., 1]
    ink = torch.sigmoid(6 * (1 - (u.square() + v.square())))  # (n, K, 28, 28)
    present = torch.rand(n, count, 1, 1, generator=g) < torch.tensor([1.0, 0.5, 0.25]).view(1, count, 1, 1)
    return (ink * present).amax(1)


def overlaid_digits(digits: Tensor, labels: Tensor, n: int, g: Generator) -> Tensor:
    """Two digits of different classes drawn over each other (pixel-wise maximum)."""
    first = _pick(digits, n, g)
    second = _pick(digits, n, g)
    clash = labels[first] == labels[second]
    for _ in range(8):  # redraw partners of the same class (a few rounds leave almost none)
        if not clash.any():
            break
        second[clash] = _pick(digits, int(clash.sum()), g)
        clash = labels[first] == labels[second]
    return torch.maximum(digits[first], digits[second])


def _pixels(fn: Callable[[int, Generator], Tensor]) -> Family:
    return lambda digits, labels, n, g: fn(n, g)


TRAINING_FAMILIES: dict[str, Family] = {
    "uniform-noise": _pixels(uniform_pixels),
    "gaussian-noise": _pixels(gaussian_pixels),
    "shuffled-digits": shuffled_digits,
    "zoomed-digits": zoomed_digits,
    "mirrored-digits": mirrored_digits,
    "inverted-digits": inverted_digits,
    "strokes": strokes,
    "blobs": blobs,
}
HELD_OUT_FAMILIES: dict[str, Family] = {"overlaid-digits": overlaid_digits}
FAMILIES = {**TRAINING_FAMILIES, **HELD_OUT_FAMILIES}


def synthetic_outliers(
    digits: Tensor, labels: Tensor, n: int, seed: int | None, families: tuple[str, ...] | None = None
) -> dict[str, Tensor]:
    """``n`` images of each family (default: the training families), built from ``digits``
    (M, 28, 28) with ``labels`` (M,): name → (n, 28, 28). ``seed=None`` draws from torch's global
    generator (training, so that a resumed run draws what an uninterrupted one would)."""
    names = tuple(TRAINING_FAMILIES) if families is None else families
    unknown = [name for name in names if name not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown synthetic families {unknown}; valid: {', '.join(FAMILIES)}")
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    return {name: FAMILIES[name](digits, labels, n, g) for name in names}
