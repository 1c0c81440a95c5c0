"""Training-time augmentation of images (B, C, H, W): the transformations that leave an image's
class unchanged (:func:`augmentation_for` says which, from what the data are). Randomness comes
from torch's global generator of the images' device, which :mod:`idk.training.fitting` saves in its
checkpoints, so a resumed run augments as an uninterrupted one; every grid and draw is made on the
images' device.

Degradation (:func:`random_degradation`) is the other kind: the image a blurry photo, a coarse scan
or another pen makes of the same symbol. It changes pixel values, not positions, and applies to
drawn symbols only (a blurred garment may be another garment)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from idk.data.images import InputSpec

DEGRADATIONS = ("blur", "low-res", "thick-pen", "thin-pen")  # one is drawn per degraded image
SIGMA = (0.5, 1.5)  # blur: standard deviation in pixels
SIDE = (8 / 28, 16 / 28)  # resolution loss: the side it is down-sampled to, as a share of the frame's
THICKER = (0.5, 1.0)  # thicker pen: share of the dilated image blended in
THINNER = (0.3, 0.8)  # thinner pen: share of the eroded image blended in
ERASED = 0.3  # thinner pen: an image whose erosion peaks below this keeps its strokes


@dataclass(frozen=True)
class Augmentation:
    """Per image, independently: with probability ``degrade`` one degradation
    (:func:`random_degradation`), then translation by up to ``shift`` pixels in x and y, rotation
    by up to ``degrees``, scaling by a factor in [1 − ``scale``, 1 + ``scale``], and with ``flip``
    a left–right mirror image half of the time. All zero: no change (and no random numbers drawn)."""

    shift: float = 0.0
    degrees: float = 0.0
    scale: float = 0.0
    flip: bool = False
    degrade: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.degrade <= 1.0:
            raise ValueError(f"degrade must be a share of the images in [0, 1], got {self.degrade}")

    def __call__(self, images: Tensor) -> Tensor:
        if not len(images):  # a process's empty share of a ragged last batch (idk.training.distributed)
            return images
        if self.degrade > 0:
            images = random_degradation(images, self.degrade)
        if self.flip:
            images = random_flip(images)
        if self.degrees == 0 and self.scale == 0:
            return random_shift(images, int(self.shift))
        return random_affine(images, self.shift, self.degrees, self.scale)


def augmentation_for(
    spec: InputSpec, degrade: float = 0.0, geometric: bool = True, flip: bool | None = None
) -> Augmentation:
    """What leaves a class unchanged, from what the images are: shifts of 1/14 of the frame for
    every set; small rotations (±10°) and scalings (±10%) for drawn symbols (handwriting varies
    so); mirror images where they keep the class (``spec.flip_invariant``: clothes). ``degrade``:
    the share of images degraded, for drawn symbols only (ignored for other sets). ``geometric``
    False: none of the moves and mirror images, only the degradation. ``flip`` True or False: mirror
    images or none, whatever the spec says (the user knows their classes; True holds without
    ``geometric`` too)."""
    degrade = degrade if spec.drawn else 0.0
    mirror = spec.flip_invariant if flip is None else flip
    if not geometric:
        return Augmentation(degrade=degrade, flip=flip is True)
    shift = round(2 * min(spec.height, spec.width) / 28)
    if spec.drawn:
        return Augmentation(shift=shift, degrees=10.0, scale=0.1, degrade=degrade, flip=mirror)
    return Augmentation(shift=shift, flip=mirror)


def random_flip(images: Tensor) -> Tensor:
    """Mirror each image (B, C, H, W) left–right with probability 1/2."""
    flip = torch.rand(images.shape[0], device=images.device) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)


def random_shift(images: Tensor, max_shift: int) -> Tensor:
    """Translate each image (B, C, H, W) by its own integer offset in [−max_shift, max_shift]²
    (zero fill): pixels move, values are unchanged."""
    if max_shift <= 0:
        return images
    b, c, h, w = images.shape
    padded = F.pad(images, (max_shift,) * 4)
    device = images.device
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, b, 1), device=device)
    rows = (dy + torch.arange(h, device=device)).view(b, 1, h, 1)
    cols = (dx + torch.arange(w, device=device)).view(b, 1, 1, w)
    batch, channel = torch.arange(b, device=device).view(b, 1, 1, 1), torch.arange(c, device=device).view(1, c, 1, 1)
    return padded[batch, channel, rows, cols]


def affine_matrices(shift: Tensor, angle: Tensor, scale: Tensor, size: int | tuple[int, int] = 28) -> Tensor:
    """Matrices (B, 2, 3) for :func:`torch.nn.functional.affine_grid` that rotate by ``angle``
    (B,) radians and scale by ``scale`` (B,) about the centre, then translate by ``shift`` (B, 2)
    pixels (x, y) of a frame of ``size`` (width, height; one number: square). ``affine_grid`` maps
    output to input coordinates, so this is the inverse map."""
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], -2)  # (B, 2, 2)
    w, h = (size, size) if isinstance(size, int) else size
    if w != h:  # a rotation in pixels, not in the [−1, 1]² coordinates (a shear where W ≠ H): D⁻¹ R D
        d = torch.tensor([w / 2, h / 2], dtype=theta.dtype, device=theta.device)
        theta = theta * d.view(1, 1, 2) / d.view(1, 2, 1)
    offset = -theta @ (2 * shift / torch.as_tensor(size, dtype=shift.dtype, device=shift.device)).unsqueeze(
        -1
    )  # (B, 2, 1), in [−1, 1] units
    return torch.cat([theta, offset], -1)


def random_affine(images: Tensor, shift: float, degrees: float, scale: float) -> Tensor:
    """Warp each image (B, C, H, W) by its own random shift, rotation and scaling (bilinear, zero fill)."""
    b = images.shape[0]
    u = 2 * torch.rand(b, 4, device=images.device, dtype=images.dtype) - 1  # uniform in [−1, 1]
    theta = affine_matrices(
        shift * u[:, :2], math.radians(degrees) * u[:, 2], 1 + scale * u[:, 3], (images.shape[-1], images.shape[-2])
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, align_corners=False)


def gaussian_matrix(sigma: Tensor, n: int) -> Tensor:
    """(B, n, n) for ``sigma`` (B,) pixels: A[i, j] = exp(−(i − j)² / 2σ²) / Σ_d exp(−d² / 2σ²),
    d over −(n − 1)..n − 1. ``A @ line`` is a 1-D Gaussian blur with zero padding (ink that
    spreads past the border is lost)."""
    k = torch.arange(n, dtype=sigma.dtype, device=sigma.device)
    sigma = sigma.view(-1, 1, 1)
    d = torch.arange(1 - n, n, dtype=sigma.dtype, device=sigma.device)
    norm = torch.exp(-0.5 * (d / sigma) ** 2).sum(-1, keepdim=True)
    return torch.exp(-0.5 * ((k.view(-1, 1) - k) / sigma) ** 2) / norm


def resolution_matrix(side: Tensor, n: int) -> Tensor:
    """(B, n, n) for whole numbers ``side`` (B,) in [1, n]: ``A @ line`` down-samples a line of n
    pixels to ``side`` by area (output pixel i the mean of the input span [i n/s, (i + 1) n/s),
    partial pixels weighted by their overlap), then back up to n by linear interpolation (as
    :func:`torch.nn.functional.interpolate`, ``align_corners=False``). Rows sum to 1."""
    k = torch.arange(n, dtype=side.dtype, device=side.device)
    s = side.view(-1, 1, 1)
    i, j = k.view(-1, 1), k  # down: output i (rows) from input j (columns)
    overlap = torch.minimum((i + 1) * n / s, j + 1) - torch.maximum(i * n / s, j)
    down = overlap.clamp(min=0) * (s / n) * (i < s)  # (B, n, n); rows i ≥ s are unused
    pos = ((k + 0.5) * s.view(-1, 1) / n - 0.5).clamp(min=0)  # up: output o reads input pos (B, n)
    lo = pos.floor()
    hi = torch.minimum(lo + 1, s.view(-1, 1) - 1)
    up = (1 - pos + lo).unsqueeze(-1) * (k == lo.unsqueeze(-1)) + (pos - lo).unsqueeze(-1) * (k == hi.unsqueeze(-1))
    return up @ down


def separable(images: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
    """Each image (B, C, H, W) mapped by its own row (B, H, H) and column (B, W, W) matrices:
    rows[b] @ images[b, c] @ cols[b]ᵀ for every channel c."""
    return rows.unsqueeze(1) @ images @ cols.unsqueeze(1).transpose(-1, -2)


def blur(images: Tensor, sigma: Tensor) -> Tensor:
    """Gaussian blur of images (B, C, H, W), each with its own ``sigma`` (B,) pixels (zero padding)."""
    sigma = sigma.to(images.dtype)
    return separable(images, gaussian_matrix(sigma, images.shape[-2]), gaussian_matrix(sigma, images.shape[-1]))


def lower_resolution(images: Tensor, share: Tensor) -> Tensor:
    """Images (B, C, H, W) down-sampled to round(``share`` × H) × round(``share`` × W) pixels
    (``share`` (B,) in (0, 1]) by area, and back up bilinearly (:func:`resolution_matrix`)."""
    h, w = images.shape[-2:]
    share = share.to(images.dtype)
    rows = resolution_matrix((share * h).round().clamp(1, h), h)
    return separable(images, rows, resolution_matrix((share * w).round().clamp(1, w), w))


def dilate(images: Tensor) -> Tensor:
    """Grey dilation of images (B, C, H, W): each pixel the max of its 3 × 3 neighbourhood (as
    ``max_pool2d(x, 3, stride=1, padding=1)``, computed as two 1-D maxima: many times faster on a CPU)."""
    p = F.pad(images, (1, 1, 1, 1), value=-math.inf)
    rows = torch.maximum(torch.maximum(p[..., :-2], p[..., 1:-1]), p[..., 2:])
    return torch.maximum(torch.maximum(rows[..., :-2, :], rows[..., 1:-1, :]), rows[..., 2:, :])


def thicker(images: Tensor, strength: Tensor) -> Tensor:
    """A broader pen: x + a (dilate(x) − x) (:func:`dilate`), a = ``strength`` (B,), per image (B, C, H, W)."""
    return torch.lerp(images, dilate(images), strength.to(images.dtype).view(-1, 1, 1, 1))


def thinner(images: Tensor, strength: Tensor) -> Tensor:
    """A finer pen: x + a (erode(x) − x), erode a grey erosion (3 × 3 min: −dilate(−x)), a =
    ``strength`` (B,); an image whose erosion peaks below :data:`ERASED` (strokes one pixel wide,
    which it would erase) is left as it is. Images (B, C, H, W)."""
    eroded = -dilate(-images)
    kept = eroded.amax((1, 2, 3), keepdim=True) < ERASED
    return torch.where(kept, images, torch.lerp(images, eroded, strength.to(images.dtype).view(-1, 1, 1, 1)))


def renormalised(images: Tensor, original: Tensor) -> Tensor:
    """``images`` (B, C, H, W) scaled up, where their peak fell below ``original``'s, to peak as it
    did (a blurred stroke is as dark as a sharp one), then clamped to [0, 1]."""
    peak, was = images.amax((1, 2, 3), keepdim=True), original.amax((1, 2, 3), keepdim=True)
    gain = torch.where(peak > 0, was / peak.clamp(min=torch.finfo(images.dtype).tiny), 1.0).clamp(min=1.0)
    return (images * gain).clamp(0, 1)


def random_degradation(images: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """With probability ``p`` per image (B, C, H, W), independently, one of :data:`DEGRADATIONS`
    (uniformly), its parameter t ~ U(0, 1) mapped onto its range: :func:`blur` with σ in
    :data:`SIGMA` px; :func:`lower_resolution` to a side of :data:`SIDE` of the frame (8–16 px of
    28); :func:`thicker` and :func:`thinner` with a blend in :data:`THICKER`, :data:`THINNER`;
    then :func:`renormalised`. ``p`` 0: the images themselves, no random numbers drawn. One draw
    (B, 3), from ``generator`` on its device (None: the global generator of the images' device);
    every degradation is computed for the whole batch (no host synchronisation) and each image keeps
    its own."""
    if p <= 0:
        return images
    b, _, h, w = images.shape
    device = generator.device if generator is not None else images.device
    u = torch.rand(b, 3, generator=generator, device=device, dtype=images.dtype).to(images.device)
    degraded = (u[:, 0] < p).view(-1, 1, 1, 1)
    kind = (u[:, 1] * len(DEGRADATIONS)).long().clamp(max=len(DEGRADATIONS) - 1).view(-1, 1, 1)
    t = u[:, 2]

    def within(bounds: tuple[float, float]) -> Tensor:
        return bounds[0] + (bounds[1] - bounds[0]) * t

    def linear(n: int) -> Tensor:  # per image: the blur, the resolution loss or nothing, along one axis
        eye = torch.eye(n, dtype=images.dtype, device=images.device).expand(b, n, n)
        low = resolution_matrix((within(SIDE) * n).round().clamp(1, n), n)
        return torch.where(kind == 0, gaussian_matrix(within(SIGMA), n), torch.where(kind == 1, low, eye))

    rows = linear(h)
    out = separable(images, rows, rows if w == h else linear(w))
    kind = kind.unsqueeze(-1)
    out = torch.where(kind == 2, thicker(images, within(THICKER)), out)
    out = torch.where(kind == 3, thinner(images, within(THINNER)), out)
    return torch.where(degraded, renormalised(out, images), images)
