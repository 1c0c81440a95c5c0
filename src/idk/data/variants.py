"""Written variants of a class that some writers use and a training set's writers rarely do, made
from the training images themselves: a 1 with a flag (the European 1, a short stroke down and to
the left of its top) from a training 1.

MNIST's writers flag few of their 1s, and a model trained on them reads a flagged 1 without a
foot as a 7 (docs/experiments.md). Training shows it some: with :func:`written_variants`, a share
of each batch's 1s is given a flag of its own length, angle and pen. The hand-drawn sets that idk
*measures* on (:mod:`idk.data.handwriting`) are never drawn here: the flag is added to a real
writer's 1, with its own pen width, not drawn by that module's strokes.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

FLAG_LENGTH = (0.2, 0.4)  # the flag's length over the 1's stem's
FLAG_ANGLE = (25.0, 60.0)  # degrees below the horizontal (for an upright stem), the flag running left from the top
INK = 0.5  # a pixel at or above this is ink (images in [0, 1], white on black)


def add_flag(images: Tensor) -> Tensor:
    """1s (B, C, H, W), white on black in [0, 1], each with a flag at its top: a straight stroke
    from the topmost ink down and to the left, at an angle uniform in :data:`FLAG_ANGLE` below the
    horizontal, turned with the 1's stem (its topmost to its lowest ink) where the stem leans left
    (so that a flag never opens into a Λ; on a stem leaning right it is not turned, and may lie
    close to the stem), its length uniform in :data:`FLAG_LENGTH` of the stem's (torch's generator
    of the images' device). The pen is the 1's ink over its stem's length (at least one pixel).
    Drawn anti-aliased (a pixel at distance d from the segment gets 1 − (d − pen/2) clipped to
    [0, 1], times the 1's brightest ink: ink pen + 1 wide, about a pixel heavier than the 1's own
    stroke) and merged by the maximum; an image with no ink is returned unchanged."""
    b, _, h, w = images.shape
    if b == 0:
        return images
    device, dtype = images.device, images.dtype
    gray = images.amax(dim=1)  # (B, H, W)
    rows = (gray >= INK).any(dim=2)  # (B, H)
    has_ink = rows.any(dim=1)
    row_index = torch.arange(h, device=device)
    top = torch.where(rows, row_index, h).amin(dim=1).clamp(max=h - 1)  # (B,)
    bottom = torch.where(rows, row_index, -1).amax(dim=1).clamp(min=0)
    col = torch.arange(w, device=device, dtype=dtype)
    x_top, x_bottom = _ink_centre(gray, top, col), _ink_centre(gray, bottom, col)
    stem_x, stem_y = x_bottom - x_top, (bottom - top).to(dtype)
    stem = torch.hypot(stem_x, stem_y).clamp(min=1.0)
    pen = (gray.sum(dim=(1, 2)) / stem).clamp(min=1.0)
    length = torch.empty(b, device=device, dtype=dtype).uniform_(*FLAG_LENGTH) * stem
    angle = torch.empty(b, device=device, dtype=dtype).uniform_(*map(math.radians, FLAG_ANGLE))
    ux, uy = stem_x / stem, stem_y / stem
    lean = torch.atan2(ux, uy).clamp(min=0)  # > 0: the stem runs down to the right (leans left)
    fx, fy = -torch.cos(angle + lean), torch.sin(angle + lean)  # turned with a stem that leans left
    x0, y0 = x_top + ux * pen / 2, top.to(dtype) + uy * pen / 2  # inside the stem's top: the flag joins it
    d = _distance_to_segment(
        col, torch.arange(h, device=device, dtype=dtype), x0, y0, x0 + length * fx, y0 + length * fy
    )
    peak = gray.amax(dim=(1, 2)).view(b, 1, 1)
    flag = (1 - (d - pen.view(b, 1, 1) / 2)).clamp(0, 1) * peak
    flag = torch.where(has_ink.view(b, 1, 1), flag, torch.zeros_like(flag))
    return torch.maximum(images, flag.unsqueeze(1))


def _ink_centre(gray: Tensor, row: Tensor, col: Tensor) -> Tensor:
    """The ink-weighted mean column (B,) of each image's row ``row`` (B,) of gray (B, H, W)."""
    line = gray[torch.arange(len(gray), device=gray.device), row]  # (B, W)
    return (line * col).sum(dim=1) / line.sum(dim=1).clamp(min=1e-6)


def _distance_to_segment(xs: Tensor, ys: Tensor, x0: Tensor, y0: Tensor, x1: Tensor, y1: Tensor) -> Tensor:
    """Distance (B, H, W) from each pixel centre (xs (W,), ys (H,)) to each segment (x0, y0)–(x1, y1), (B,) each."""
    px = xs.view(1, 1, -1) - x0.view(-1, 1, 1)
    py = ys.view(1, -1, 1) - y0.view(-1, 1, 1)
    dx, dy = (x1 - x0).view(-1, 1, 1), (y1 - y0).view(-1, 1, 1)
    t = ((px * dx + py * dy) / (dx * dx + dy * dy).clamp(min=1e-6)).clamp(0, 1)
    return torch.hypot(px - t * dx, py - t * dy)


VARIANTS = {"1": add_flag}  # class name → what makes a variant of an image of it


def variant_labels(classes: tuple[str, ...]) -> dict[int, str]:
    """The labels of ``classes`` that have a written variant, with their names."""
    return {label: name for label, name in enumerate(classes) if name in VARIANTS}


def written_variants(x: Tensor, y: Tensor, labels: dict[int, str], share: float) -> Tensor:
    """The batch x (B, C, H, W) with each image of a class in ``labels`` (from :func:`variant_labels`)
    replaced, with probability ``share``, by its written variant (:data:`VARIANTS`); labels are
    unchanged. Torch's generator of the images' device: resumable as the rest of training."""
    if share <= 0 or not labels or not len(x):
        return x
    drawn = torch.rand(len(x), device=x.device) < share
    out = x
    for label, name in labels.items():
        pick = torch.nonzero(drawn & (y == label)).flatten()
        if len(pick):
            out = out.clone() if out is x else out
            out[pick] = VARIANTS[name](x[pick])
    return out
