"""Synthetic outliers: images unlike any class of a data set, which idk generates itself.

They stand in for real out-of-distribution data, which idk never trains or tunes on: they teach
the posterior to be unsure off the training data (outlier exposure, see
:meth:`idk.nn.bnn.BNN.model`) and choose the decision score. Each family is one function
``(images, labels, n, generator) → (n, C, H, W)`` in [0, 1]; ``images`` (M, C, H, W) and
``labels`` (M,) are training images to start from, of any size and channel count.

Which families apply depends on the data (:func:`families_for`): noise, patch-shuffled and
inverted images and pen scribbles for every set; for images brought to the frame by fitting (a
user's own), also noise pictures larger than the frame shrunk into it as their files would be;
for drawn symbols (digits, letters) also magnified strokes, blobs, two shrunk symbols side by
side ("paired"), printed characters of other scripts and signs ("glyphs"), and mirror images or
turned images of the classes that then are no class.
:func:`families_for` also names the *held-out* family, never trained on, on which the score is
chosen (on the trained families every score refuses everything and cannot tell scores apart):
two images of different classes over each other.

Devices: every family returns its images on ``images``' device. Random numbers come from the
generator on its own device (a seeded CPU generator: the same outliers whatever the device), or,
with none, from the global generator of ``images``' device (training on a GPU draws there).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from idk.data.augment import affine_matrices, random_degradation
from idk.data.glyphs import glyph_bank
from idk.data.images import InputSpec, unit

Generator = torch.Generator | None
Family = Callable[[Tensor, Tensor, int, Generator], Tensor]
PATCHES = 4  # patch-shuffled images: a PATCHES × PATCHES grid
GLYPH_SHIFT, GLYPH_SCALE, GLYPH_DEGRADED = 2.0, 0.1, 0.5  # glyphs: px, share, share (see glyphs)
SHRINK = (1.5, 12.0)  # shrunk noise: the picture's side, in frames (a range, drawn log-uniformly)
SHRINK_SIDE = 2048  # shrunk noise: the longest side drawn, px (a 12× picture of a 512-px frame: 1.4 GB)
DISTANCES = 2**24  # scribbles: pixel-to-curve distances computed at once (64 MiB of float32, a few copies)


@dataclass(frozen=True)
class Scribbles:
    """How pen scribbles are drawn: the pen's Gaussian σ range in px of a 28-pixel frame, the side
    of the square the curves are drawn in as a share of the frame (a range; 1 is the whole frame),
    and the odds that each of the four curves is drawn."""

    pen: tuple[float, float] = (0.9, 1.5)
    extent: tuple[float, float] = (1.0, 1.0)
    odds: tuple[float, float, float, float] = (1.0, 1.0, 0.5, 0.25)

    def __post_init__(self) -> None:
        if len(self.pen) != 2 or len(self.extent) != 2 or len(self.odds) != 4:
            raise ValueError(f"scribbles need two pen widths, two extents and four odds, got {self}")
        if not 0 < self.extent[0] <= self.extent[1] <= 1 or not 0 < self.pen[0] <= self.pen[1]:
            raise ValueError(f"scribbles' pen or extent out of range: {self}")

    def describe(self) -> str:
        """In words, e.g. "pen σ 0.9–2.5 px, in 35–100% of the frame, curves drawn with odds 1, 0.5, 0.5, 0.25"."""
        extent = (
            "across the frame" if self.extent == (1.0, 1.0) else "in {:.0%}–{:.0%} of the frame".format(*self.extent)
        )
        odds = ", ".join(f"{p:g}" for p in self.odds)
        return f"pen σ {self.pen[0]:g}–{self.pen[1]:g} px, {extent}, curves drawn with odds {odds}"

    def as_dict(self) -> dict[str, list[float]]:
        """The plain dict a checkpoint stores."""
        return {"pen": list(self.pen), "extent": list(self.extent), "odds": list(self.odds)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scribbles:
        """Inverse of :meth:`as_dict`; ValueError, KeyError or TypeError for a malformed dict."""
        return cls(**{k: tuple(float(v) for v in d[k]) for k in ("pen", "extent", "odds")})


# drawn symbols: 2–4 curves across the frame, lines about as wide as MNIST's
DRAWN_SCRIBBLES = Scribbles()
# other images (photos of articles, scenes): 1–4 curves, drawn small or large, with any pen from fine
# to broad, as drawings, handwriting and print are
WIDE_SCRIBBLES = Scribbles(pen=(0.9, 2.5), extent=(0.35, 1.0), odds=(1.0, 0.5, 0.5, 0.25))


def scribbles_for(spec: InputSpec) -> Scribbles:
    """The style of the ``strokes`` family for images of ``spec`` (recorded in checkpoints)."""
    return DRAWN_SCRIBBLES if spec.drawn else WIDE_SCRIBBLES


def _rand(g: Generator, *shape: int, like: Tensor) -> Tensor:
    """Uniform(0, 1) numbers of ``shape`` on ``like``'s device, drawn from ``g`` on its device (see the module doc)."""
    return torch.rand(shape, generator=g, device=g.device if g is not None else like.device).to(like.device)


def _randint(g: Generator, high: int, shape: tuple[int, ...], like: Tensor) -> Tensor:
    """Integers in [0, high) of ``shape`` on ``like``'s device, drawn from ``g`` on its device."""
    device = g.device if g is not None else like.device
    return torch.randint(0, high, shape, generator=g, device=device).to(like.device)


def uniform_pixels(
    n: int, shape: tuple[int, ...], generator: Generator = None, device: torch.device | None = None
) -> Tensor:
    """(n, *shape) i.i.d. Uniform(0, 1) pixels, as the tutorial's ``torch.rand(n, 28, 28)``, on
    ``device`` (drawn on the generator's)."""
    out = torch.rand(n, *shape, generator=generator, device=generator.device if generator is not None else device)
    return out.to(device) if device is not None else out


def gaussian_pixels(
    n: int, shape: tuple[int, ...], generator: Generator = None, device: torch.device | None = None
) -> Tensor:
    """(n, *shape) i.i.d. pixels ``clamp(0.5 + 0.25 z, 0, 1)``, z ~ Normal(0, 1), on ``device``."""
    z = torch.randn(n, *shape, generator=generator, device=generator.device if generator is not None else device)
    return (0.5 + 0.25 * (z.to(device) if device is not None else z)).clamp(0, 1)


def shrunk_noise(images: Tensor, labels: Tensor, n: int, g: Generator) -> Tensor:
    """Noise pictures :data:`SHRINK` times the frame's side (as often 1.5–3 as 6–12 times; uniform
    pixels, or Gaussian as :func:`gaussian_pixels`, half each) shrunk into the frame as a larger
    file is fitted to it (bilinear with antialiasing, as Pillow's ``BILINEAR`` resize): a smooth,
    low-contrast speckle about mid-grey, fainter the larger the picture (its standard deviation
    about 2/(3f) of the noise's, for f times the frame), unlike the frame-size noise families, which
    a model may refuse while it answers a noise picture of twice its frame. Each picture is drawn
    at its own size, one at a time, at most :data:`SHRINK_SIDE` px a side; the sizes are read on
    the host (one copy from a GPU a step)."""
    _, c, h, w = images.shape
    out = torch.empty(n, c, h, w, device=images.device)
    drawn = torch.rand((n, 2), generator=g, device=g.device if g is not None else images.device)
    for i, (v, kind) in enumerate(drawn.tolist()):  # as _rand draws them, read where they are drawn
        factor = min(SHRINK[0] * (SHRINK[1] / SHRINK[0]) ** v, SHRINK_SIDE / max(h, w))
        size = (c, max(h, round(factor * h)), max(w, round(factor * w)))
        draw = uniform_pixels if kind < 0.5 else gaussian_pixels
        picture = draw(1, size, g, images.device)
        out[i] = F.interpolate(picture, size=(h, w), mode="bilinear", antialias=True, align_corners=False)[0]
    return out.clamp(0, 1)


def _pick(images: Tensor, n: int, g: Generator, allowed: Tensor | None = None) -> Tensor:
    """Indices (on ``images``' device) of n images drawn with replacement (among ``allowed`` indices when given)."""
    pool = torch.arange(len(images), device=images.device) if allowed is None else allowed.to(images.device)
    return pool[_randint(g, len(pool), (n,), images)]


def shuffled_patches(images: Tensor, labels: Tensor, n: int, g: Generator) -> Tensor:
    """Images whose 4×4 grid of patches is shuffled: the data's strokes and textures, no class's
    shape (a margin that the grid does not divide stays in place)."""
    out = images[_pick(images, n, g)].clone()
    _, c, h, w = out.shape
    ph, pw = h // PATCHES, w // PATCHES
    if ph == 0 or pw == 0:
        return out
    k = PATCHES * PATCHES
    grid = out[..., : PATCHES * ph, : PATCHES * pw]
    patches = grid.reshape(n, c, PATCHES, ph, PATCHES, pw).permute(0, 2, 4, 1, 3, 5).reshape(n, k, c, ph, pw)
    order = torch.argsort(_rand(g, n, k, like=out), dim=1)
    shuffled = patches[torch.arange(n, device=out.device)[:, None], order]
    out[..., : PATCHES * ph, : PATCHES * pw] = (
        shuffled.reshape(n, PATCHES, PATCHES, c, ph, pw)
        .permute(0, 3, 1, 4, 2, 5)
        .reshape(n, c, PATCHES * ph, PATCHES * pw)
    )
    return out


def zoomed(images: Tensor, labels: Tensor, n: int, g: Generator) -> Tensor:
    """A window of an image magnified 1.8–3×: thick strokes running off the edges, unlike a
    centred symbol."""
    picked = images[_pick(images, n, g)]
    zoom = 1.8 + 1.2 * _rand(g, n, like=picked)
    centre = 0.5 * (_rand(g, n, 2, like=picked) - 0.5)  # where to look, in [−0.25, 0.25]² of the frame
    theta = torch.zeros(n, 2, 3, device=picked.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 / zoom
    theta[:, :, 2] = centre
    grid = F.affine_grid(theta, list(picked.shape), align_corners=False)
    return F.grid_sample(picked, grid, align_corners=False).clamp(0, 1)


def mirrored(images: Tensor, labels: Tensor, n: int, g: Generator, classes: tuple[int, ...] = ()) -> Tensor:
    """Left–right mirror images of the classes whose mirror image is no class (digits 2–7, 9)."""
    allowed = torch.isin(labels, torch.tensor(classes, dtype=labels.dtype, device=labels.device)).nonzero().squeeze(1)
    return images[_pick(images, n, g, allowed if len(allowed) else None)].flip(-1)


def turned(images: Tensor, labels: Tensor, n: int, g: Generator, turns: tuple[tuple[int, int], ...] = ()) -> Tensor:
    """Symbols turned by k quarter turns, for the (class, k) pairs whose turned image is no class
    (a 7 on its side, a 4 upside down): strokes of the data, shapes of none of its classes. Each
    image is drawn among the images of classes that have a pair (so classes weigh as often as they
    occur), then k among its class's pairs; quarter turns only for square frames."""
    h, w = images.shape[-2:]
    pairs = [(c, k % 4) for c, k in turns if k % 4 and (h == w or k % 2 == 0)]
    size = max([c + 1 for c, _ in pairs], default=1)
    allowed = torch.zeros(size, 4, dtype=torch.bool)  # allowed[c, k]: class c turned by k quarters
    for c, k in pairs:
        allowed[c, k] = True
    allowed = allowed.to(images.device)
    known = (labels < size).unsqueeze(-1)  # classes beyond the table have no pair
    per_image = allowed[labels.clamp(max=size - 1)] & known  # (M, 4), without a host round trip
    eligible = per_image.any(-1).nonzero().squeeze(1)
    if not len(eligible):  # no image of a class with a pair (a small last batch): negatives instead
        return inverted(images, labels, n, g)
    picked = _pick(images, n, g, eligible)
    weights = per_image[picked].float() * (_rand(g, n, 4, like=images) + 1e-6)  # a random allowed k
    k = weights.argmax(-1).view(-1, 1, 1, 1)
    x = images[picked]
    out = torch.where(k == 2, torch.rot90(x, 2, dims=(-2, -1)), x)
    if h == w:
        out = torch.where(k == 1, torch.rot90(x, 1, dims=(-2, -1)), out)
        out = torch.where(k == 3, torch.rot90(x, 3, dims=(-2, -1)), out)
    return out


def inverted(images: Tensor, labels: Tensor, n: int, g: Generator) -> Tensor:
    """Negatives: ``1 − x`` (dark symbols on a white page, negative photographs)."""
    return 1 - images[_pick(images, n, g)]


def _frame(images: Tensor) -> tuple[int, int, int, Tensor]:
    """Channels, height, width of ``images`` and their pixel grid (H, W, 2) in row, column order."""
    _, c, h, w = images.shape
    rows, cols = torch.arange(float(h), device=images.device), torch.arange(float(w), device=images.device)
    grid = torch.stack(torch.meshgrid(rows, cols, indexing="ij"), -1)
    return c, h, w, grid


def strokes(images: Tensor, labels: Tensor, n: int, g: Generator, style: Scribbles = DRAWN_SCRIBBLES) -> Tensor:
    """Pen scribbles, white on black: up to four random cubic Bézier curves whose control points lie
    anywhere in a square of ``style.extent`` × the frame (placed anywhere in it), drawn with a soft
    Gaussian pen whose σ is drawn from ``style.pen`` (scaled to the frame): lines on an empty page."""
    c, h, w, grid = _frame(images)
    unit = min(h, w) / 28
    count = len(style.odds)
    span = torch.tensor([h - 4 * unit, w - 4 * unit], device=grid.device)
    ctrl = _rand(g, n, count, 4, 2, like=grid)  # (n, K, 4 control points, yx) in the unit square
    if style.extent != (1.0, 1.0):  # (drawn symbols' scribbles draw no more numbers than they always did)
        u = _rand(g, n, 3, like=grid)
        side = (style.extent[0] + (style.extent[1] - style.extent[0]) * u[:, :1]).view(n, 1, 1, 1)
        corner = ((1 - side.view(n, 1)) * u[:, 1:]).view(n, 1, 1, 2)
        ctrl = corner + side * ctrl
    ctrl = 2 * unit + span * ctrl
    t = torch.linspace(0, 1, 24, device=grid.device)
    basis = torch.stack([(1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t**2 * (1 - t), t**3], -1)  # (T, 4)
    points = torch.einsum("tc,nkcd->nktd", basis, ctrl).reshape(n, count * len(t), 2)  # (n, K·T, 2)
    present = _rand(g, n, count, like=grid) < torch.tensor(style.odds, device=grid.device)
    present = present.repeat_interleave(len(t), 1)  # (n, K·T)
    pen = style.pen
    width = unit * (pen[0] + (pen[1] - pen[0]) * _rand(g, n, 1, 1, like=grid))
    # squared distance from each pixel to the nearest drawn curve point, DISTANCES at a time at most:
    # up to 64 images a pass (all of a 28 × 28 frame), and for one large image, rows of its pixels
    kt, pixels = points.shape[1], h * w
    chunk = max(1, min(64, DISTANCES // (pixels * kt)))
    part = max(1, min(pixels, DISTANCES // (chunk * kt)))
    flat = grid.reshape(1, pixels, 2)
    nearest = torch.empty(n, pixels, device=grid.device)
    for s in range(0, n, chunk):
        e = slice(s, s + chunk)
        for p in range(0, pixels, part):
            q = slice(p, p + part)
            d2 = torch.cdist(flat[:, q], points[e]).square()  # (chunk, part, K·T)
            nearest[e, q] = d2.masked_fill(~present[e].unsqueeze(1), math.inf).amin(-1)
    out = (1.6 * torch.exp(-nearest.view(n, h, w) / (2 * width.square()))).clamp(0, 1)
    return out.unsqueeze(1).expand(n, c, h, w).contiguous()


def blobs(images: Tensor, labels: Tensor, n: int, g: Generator) -> Tensor:
    """1–3 filled ellipses with soft edges: areas of ink where symbols have lines."""
    c, h, w, grid = _frame(images)
    unit = torch.tensor([h / 28, w / 28], device=grid.device)
    count = 3
    centre = unit * (5 + 18 * _rand(g, n, count, 1, 1, 2, like=grid))
    axes = unit * (2 + 6 * _rand(g, n, count, 1, 1, 2, like=grid))
    angle = math.pi * _rand(g, n, count, 1, 1, like=grid)
    rel = grid - centre  # (n, K, H, W, 2)
    cos, sin = torch.cos(angle), torch.sin(angle)
    u = (cos * rel[..., 0] + sin * rel[..., 1]) / axes[..., 0]
    v = (-sin * rel[..., 0] + cos * rel[..., 1]) / axes[..., 1]
    ink = torch.sigmoid(6 * (1 - (u.square() + v.square())))  # (n, K, H, W)
    odds = torch.tensor([1.0, 0.5, 0.25], device=grid.device).view(1, count, 1, 1)
    present = _rand(g, n, count, 1, 1, like=grid) < odds
    return (ink * present).amax(1).unsqueeze(1).expand(n, c, h, w).contiguous()


def paired(images: Tensor, labels: Tensor, n: int, g: Generator) -> Tensor:
    """Two symbols side by side in one frame, each shrunk to 45–60% and set 18–26% of the frame
    either side of the centre (with a small vertical offset): a pair of symbols, not one (a
    number such as 17, or what ш, %, ≈ are made of)."""
    _, c, h, w = images.shape
    halves = []
    for side in (-1.0, 1.0):
        picked = images[_pick(images, n, g)]
        u = _rand(g, n, 3, like=picked)
        scale = 0.45 + 0.15 * u[:, 0]
        shift = torch.stack([side * w * (0.18 + 0.08 * u[:, 1]), h * 0.08 * (2 * u[:, 2] - 1)], -1)
        theta = affine_matrices(shift, torch.zeros(n, device=picked.device), scale, (w, h))
        grid = F.affine_grid(theta, list(picked.shape), align_corners=False)
        halves.append(F.grid_sample(picked, grid, align_corners=False))
    return torch.maximum(*halves).clamp(0, 1)


def overlaid(images: Tensor, labels: Tensor, n: int, g: Generator, drawn: bool = True) -> Tensor:
    """Two images of different classes over each other: the pixel-wise maximum for drawn symbols
    (two digits in one frame), the mean for other images (a double exposure)."""
    first = _pick(images, n, g)
    second = _pick(images, n, g)
    clash = labels[first] == labels[second]
    for _ in range(8):  # redraw partners of the same class (a few rounds leave almost none)
        if not clash.any():
            break
        second[clash] = _pick(images, int(clash.sum()), g)
        clash = labels[first] == labels[second]
    if drawn:
        return torch.maximum(images[first], images[second])
    return 0.5 * (images[first] + images[second])


@lru_cache(maxsize=4)
def _bank_on(height: int, width: int, device: torch.device) -> Tensor:
    """:func:`idk.data.glyphs.glyph_bank` on ``device``, copied there once."""
    return glyph_bank(height, width).to(device)


def glyphs(images: Tensor, labels: Tensor, n: int, g: Generator) -> Tensor:
    """Printed characters of other scripts and signs (:func:`idk.data.glyphs.glyph_bank`: Armenian,
    Hebrew, Georgian, arrows, ...; none that looks like a Latin letter, a digit or a measured symbol),
    each moved by up to :data:`GLYPH_SHIFT` px and scaled by 1 ± :data:`GLYPH_SCALE`, and a share
    :data:`GLYPH_DEGRADED` degraded as training digits are (blur, lower resolution, a thicker or
    thinner pen): a pen's or a font's strokes in shapes of none of the classes, in every channel."""
    _, c, h, w = images.shape
    bank = _bank_on(h, w, images.device)
    picked = bank[_pick(bank, n, g)]
    u = 2 * _rand(g, n, 3, like=picked) - 1
    theta = affine_matrices(GLYPH_SHIFT * u[:, :2], torch.zeros_like(u[:, 2]), 1 + GLYPH_SCALE * u[:, 2], (w, h))
    moved = F.grid_sample(picked, F.affine_grid(theta, list(picked.shape), align_corners=False), align_corners=False)
    return random_degradation(moved.clamp(0, 1), GLYPH_DEGRADED, g).expand(-1, c, -1, -1).contiguous()


def _noise(fn: Callable[[int, tuple[int, ...], Generator, torch.device], Tensor]) -> Family:
    return lambda images, labels, n, g: fn(n, tuple(images.shape[1:]), g, images.device)


def families_for(spec: InputSpec) -> tuple[dict[str, Family], dict[str, Family]]:
    """The (training, held-out) families that apply to images of ``spec`` (see the module doc).
    The order is part of every run: each training step draws the families in it from the global
    generator, the first ones taking a batch's remainder (idk.training.batches.family_counts). A new
    family changes every run's outliers (each family's share of a step is n / F), is trained by
    every preset, and is left out when a run begun before it resumes."""
    training: dict[str, Family] = {
        "uniform-noise": _noise(uniform_pixels),
        "gaussian-noise": _noise(gaussian_pixels),
        "shuffled-patches": shuffled_patches,
    }
    if spec.preparation == "fit":  # a larger picture is shrunk into the frame (idk.data.preparation.fit)
        training["shrunk-noise"] = shrunk_noise
    if spec.drawn:
        training["zoomed"] = zoomed
        if spec.mirror_classes:
            training["mirrored"] = partial(mirrored, classes=spec.mirror_classes)
        if spec.turns:
            training["turned"] = partial(turned, turns=spec.turns)
        training["paired"] = paired
    training["inverted"] = inverted
    training["strokes"] = partial(strokes, style=scribbles_for(spec))  # line drawings
    if spec.drawn:
        training["blobs"] = blobs
        training["glyphs"] = glyphs
    return training, {"overlaid": partial(overlaid, drawn=spec.drawn)}


def synthetic_outliers(
    images: Tensor, labels: Tensor, n: int, seed: int | None, families: dict[str, Family]
) -> dict[str, Tensor]:
    """``n`` images of each family, built from ``images`` (M, C, H, W) (float32, or 8-bit levels)
    with ``labels`` (M,): name → (n, C, H, W) float32. ``seed=None`` draws from torch's global
    generator (training, so that a resumed run draws what an uninterrupted one would)."""
    return dict(each_outlier_set(images, labels, n, seed, families))


def each_outlier_set(
    images: Tensor, labels: Tensor, n: int, seed: int | None, families: dict[str, Family]
) -> Iterator[tuple[str, Tensor]]:
    """:func:`synthetic_outliers`' sets one at a time, in order, each made when it is asked for
    (the same images: one generator draws them in turn), so that one set at a time is held."""
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    images = unit(images)
    for name, family in families.items():
        yield name, family(images, labels, n, g)
