"""Training-time augmentation of digit images (B, 28, 28): small shifts, rotations and scalings
that leave a digit the same digit. Randomness comes from torch's global generator, which
:mod:`idk.training.fitting` saves in its checkpoints, so a resumed run augments as an uninterrupted one."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class Augmentation:
    """Per image, independently: translation by up to ``shift`` pixels in x and y, rotation by up
    to ``degrees``, scaling by a factor in [1 − ``scale``, 1 + ``scale``]. All zero: no change."""

    shift: float = 0.0
    degrees: float = 0.0
    scale: float = 0.0

    def __call__(self, images: Tensor) -> Tensor:
        if self.degrees == 0 and self.scale == 0:
            return random_shift(images, int(self.shift))
        return random_affine(images, self.shift, self.degrees, self.scale)


def random_shift(images: Tensor, max_shift: int) -> Tensor:
    """Translate each image (B, H, W) by its own integer offset in [−max_shift, max_shift]²
    (zero fill): pixels move, values are unchanged."""
    if max_shift <= 0:
        return images
    b, h, w = images.shape
    padded = F.pad(images, (max_shift,) * 4)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, b, 1))
    rows = (dy + torch.arange(h)).unsqueeze(-1)  # (B, H, 1)
    cols = (dx + torch.arange(w)).unsqueeze(1)  # (B, 1, W)
    return padded[torch.arange(b)[:, None, None], rows, cols]


def affine_matrices(shift: Tensor, angle: Tensor, scale: Tensor, size: int = 28) -> Tensor:
    """Matrices (B, 2, 3) for :func:`torch.nn.functional.affine_grid` that rotate by ``angle``
    (B,) radians and scale by ``scale`` (B,) about the centre, then translate by ``shift`` (B, 2)
    pixels (x, y). ``affine_grid`` maps output to input coordinates, so this is the inverse map."""
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], -2)  # (B, 2, 2)
    offset = -theta @ (2 * shift / size).unsqueeze(-1)  # (B, 2, 1), in [−1, 1] units
    return torch.cat([theta, offset], -1)


def random_affine(images: Tensor, shift: float, degrees: float, scale: float) -> Tensor:
    """Warp each image (B, H, W) by its own random shift, rotation and scaling (bilinear, zero fill)."""
    b = images.shape[0]
    u = 2 * torch.rand(b, 4) - 1  # uniform in [−1, 1]
    theta = affine_matrices(shift * u[:, :2], math.radians(degrees) * u[:, 2], 1 + scale * u[:, 3], images.shape[-1])
    grid = F.affine_grid(theta, (b, 1, *images.shape[-2:]), align_corners=False)
    return F.grid_sample(images.unsqueeze(1), grid, align_corners=False).squeeze(1)
