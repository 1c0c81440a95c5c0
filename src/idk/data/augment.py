"""Training-time augmentation of images (B, C, H, W): the transformations that leave an image's
class unchanged (:func:`augmentation_for` says which, from what the data are). Randomness comes
from torch's global generator of the images' device, which :mod:`idk.training.fitting` saves in its
checkpoints, so a resumed run augments as an uninterrupted one; every grid and draw is made on the
images' device."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from idk.data.images import InputSpec


@dataclass(frozen=True)
class Augmentation:
    """Per image, independently: translation by up to ``shift`` pixels in x and y, rotation by up
    to ``degrees``, scaling by a factor in [1 − ``scale``, 1 + ``scale``], and with ``flip`` a
    left–right mirror image half of the time. All zero: no change."""

    shift: float = 0.0
    degrees: float = 0.0
    scale: float = 0.0
    flip: bool = False

    def __call__(self, images: Tensor) -> Tensor:
        if self.flip:
            images = random_flip(images)
        if self.degrees == 0 and self.scale == 0:
            return random_shift(images, int(self.shift))
        return random_affine(images, self.shift, self.degrees, self.scale)


def augmentation_for(spec: InputSpec) -> Augmentation:
    """What leaves a class unchanged, from what the images are: shifts of 1/14 of the frame for
    every set; small rotations (±10°) and scalings (±10%) for drawn symbols (handwriting varies
    so); mirror images where they keep the class (clothes, most photos)."""
    shift = round(2 * min(spec.height, spec.width) / 28)
    if spec.drawn:
        return Augmentation(shift=shift, degrees=10.0, scale=0.1)
    return Augmentation(shift=shift, flip=spec.flip_invariant)


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
    offset = -theta @ (2 * shift / torch.as_tensor(size, dtype=shift.dtype, device=shift.device)).unsqueeze(
        -1
    )  # (B, 2, 1), in [−1, 1] units
    return torch.cat([theta, offset], -1)


def random_affine(images: Tensor, shift: float, degrees: float, scale: float) -> Tensor:
    """Warp each image (B, C, H, W) by its own random shift, rotation and scaling (bilinear, zero fill)."""
    b = images.shape[0]
    u = 2 * torch.rand(b, 4, device=images.device) - 1  # uniform in [−1, 1]
    theta = affine_matrices(
        shift * u[:, :2], math.radians(degrees) * u[:, 2], 1 + scale * u[:, 3], (images.shape[-1], images.shape[-2])
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, align_corners=False)
