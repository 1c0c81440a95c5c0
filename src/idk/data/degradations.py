"""How a pen, a scanner or a screen degrades a drawn symbol: the degradations of the shifted sets
(:mod:`idk.data.shifted`), each on greyscale images at :data:`UPSCALE` × the frame (``hires``),
white on black, then brought to a model's frame by the model's own preparation
(:func:`idk.data.preparation.to_mnist`: crop to the ink, fit 20/28 of the frame, centre by mass):

* ``low-res``: scanned at 9–14 px and scaled back up (blurry, thick, blocky strokes);
* ``thick-pen`` / ``thin-pen``: grey-level dilation / erosion of the strokes (a broader or finer pen);
* ``blurred``: Gaussian blur, σ 0.6–1.2 frame pixels (an out-of-focus photo);
* ``scanned``: dark ink on grey paper, blur, sensor noise and a JPEG of quality 15–40, prepared
  from the file's bytes (light background inverted);
* ``canvas``: the strokes' skeleton redrawn with a round pen of one width, as the web page's
  canvas draws them.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from idk.data.images import InputSpec, unit
from idk.data.preparation import MNIST_BOX, prepare, to_mnist

UPSCALE = 4  # degradations work at 4× the frame (112 px for 28 × 28)
PEN_SHARE = 0.1  # the canvas family's pen width over the symbol's height

Rng = np.random.Generator
Shift = Callable[[Tensor, Rng], Tensor]  # hires (N, 1, S, S) white on black → degraded, same shape


def hires(images: Tensor) -> Tensor:
    """Frame-sized images (N, C, H, W) (float32, or 8-bit levels) as greyscale at UPSCALE × their
    size (N, 1, 4H, 4W) float32."""
    grey = unit(images).mean(1, keepdim=True)
    return F.interpolate(grey, scale_factor=UPSCALE, mode="bilinear", align_corners=False).clamp(0, 1)


def _per_image(x: Tensor, values: np.ndarray, fn: Callable[[Tensor, float], Tensor]) -> Tensor:
    """``fn(image, value)`` for each image (1, 1, S, S) and its own parameter."""
    return torch.cat([fn(x[i : i + 1], float(v)) for i, v in enumerate(values)])


def low_res(x: Tensor, rng: Rng) -> Tensor:
    size = x.shape[-1]
    frame = size // UPSCALE
    pixels = rng.integers(9, 15, len(x)) * frame / 28  # 9–14 px for a 28-px frame

    def one(img: Tensor, k: float) -> Tensor:
        small = F.interpolate(img, size=(max(4, round(k)),) * 2, mode="area")
        return F.interpolate(small, size=(size, size), mode="bilinear", align_corners=False)

    return _per_image(x, pixels, one)


def _dilate(img: Tensor, radius: int) -> Tensor:
    return F.max_pool2d(img, 2 * radius + 1, stride=1, padding=radius) if radius > 0 else img


def thick_pen(x: Tensor, rng: Rng) -> Tensor:
    """Strokes widened by 1–2 frame pixels (dilation radius 2–4 at 4×)."""
    return _per_image(x, rng.integers(2, 5, len(x)), lambda img, r: _dilate(img, int(r)))


def thin_pen(x: Tensor, rng: Rng) -> Tensor:
    """Strokes narrowed by 1–1.5 frame pixels (erosion radius 2–3 at 4×); an image that would fade
    whole (no pixel left above half ink) is eroded less. A thin part of a stroke can still break."""

    def one(img: Tensor, r: float) -> Tensor:
        for radius in range(int(r), 0, -1):
            out = -_dilate(-img, radius)
            if out.max() > 0.5:
                return out
        return img

    return _per_image(x, rng.integers(2, 4, len(x)), one)


def gaussian_blur(img: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of (N, 1, H, W) with standard deviation ``sigma`` pixels."""
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=img.dtype)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    out = F.conv2d(F.pad(img, (radius, radius, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    return F.conv2d(F.pad(out, (0, 0, radius, radius), mode="replicate"), k.view(1, 1, -1, 1))


def blurred(x: Tensor, rng: Rng) -> Tensor:
    sigmas = rng.uniform(0.6, 1.2, len(x)) * UPSCALE  # frame pixels → hires pixels
    return _per_image(x, sigmas, gaussian_blur)


def skeleton(mask: np.ndarray) -> np.ndarray:
    """Zhang–Suen thinning of binary images (N, H, W) to one-pixel-wide strokes."""
    img = mask.astype(np.uint8)
    while True:
        changed = False
        for step in (0, 1):
            p = np.pad(img, ((0, 0), (1, 1), (1, 1)))
            n = [p[:, :-2, 1:-1], p[:, :-2, 2:], p[:, 1:-1, 2:], p[:, 2:, 2:]]
            n += [p[:, 2:, 1:-1], p[:, 2:, :-2], p[:, 1:-1, :-2], p[:, :-2, :-2]]  # P2 … P9, clockwise
            count = sum(v.astype(np.int16) for v in n)
            ring = n + [n[0]]
            transitions = sum(((ring[i] == 0) & (ring[i + 1] == 1)).astype(np.int16) for i in range(8))
            p2, p4, p6, p8 = n[0], n[2], n[4], n[6]
            if step == 0:
                side = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                side = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            remove = (img == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & side
            if remove.any():
                img[remove] = 0
                changed = True
        if not changed:
            return img.astype(bool)


def canvas(x: Tensor, rng: Rng) -> Tensor:
    """The skeleton redrawn with a round pen a tenth of the symbol's height wide (the page's canvas
    draws with a 20-px pen; a digit drawn there is about 200 px tall), anti-aliased."""
    size = x.shape[-1]
    bones = torch.from_numpy(skeleton((x[:, 0] > 0.5).numpy())).float().unsqueeze(1)
    radius = max(1, round(PEN_SHARE / 2 * MNIST_BOX * size))  # half the pen, in hires pixels
    yy, xx = torch.meshgrid(torch.arange(-radius, radius + 1), torch.arange(-radius, radius + 1), indexing="ij")
    disc = ((yy**2 + xx**2) <= radius**2).float().view(1, 1, 2 * radius + 1, 2 * radius + 1)
    ink = (F.conv2d(bones, disc, padding=radius) > 0).float()
    return gaussian_blur(ink, 0.7)


def scanned(x: Tensor, rng: Rng) -> Tensor:
    """Marker for :func:`degrade`: scanning ends in a file, prepared from its bytes."""
    raise NotImplementedError("scanned images are made by degrade()")


def _scan_bytes(img: np.ndarray, rng: Rng) -> bytes:
    """A white-on-black hires image (S, S) as a JPEG of dark ink on grey paper."""
    paper, ink = rng.uniform(0.75, 0.95), rng.uniform(0.05, 0.3)
    page = paper - (paper - ink) * img
    page = gaussian_blur(torch.from_numpy(page)[None, None].float(), 1.0)[0, 0].numpy()
    page = np.clip(page + rng.normal(0, rng.uniform(0.02, 0.06), page.shape), 0, 1)
    buf = io.BytesIO()
    Image.fromarray((page * 255).astype(np.uint8)).save(buf, format="JPEG", quality=int(rng.integers(15, 41)))
    return buf.getvalue()


SHIFTS: dict[str, Shift] = {
    "low-res": low_res,
    "thick-pen": thick_pen,
    "thin-pen": thin_pen,
    "blurred": blurred,
    "scanned": scanned,
    "canvas": canvas,
}


def degrade(x: Tensor, shift: str, spec: InputSpec, rng: Rng) -> Tensor:
    """Hires images (N, 1, S, S) degraded by ``shift`` (a name of :data:`SHIFTS`, or "plain": not
    at all) and prepared for ``spec``: (N, C, H, W)."""
    if shift == "scanned":
        return torch.stack([torch.from_numpy(prepare(_scan_bytes(img[0].numpy(), rng), spec).pixels) for img in x])
    out = x if shift == "plain" else SHIFTS[shift](x, rng)
    return prepared(out.clamp(0, 1), spec)


def prepared(x: Tensor, spec: InputSpec) -> Tensor:
    """Images (N, 1, S, S) brought to ``spec``'s frame as a user's image is: (N, C, H, W)."""
    if not len(x):
        return torch.empty(0, spec.channels, spec.height, spec.width)
    frames = [to_mnist(img[0].numpy(), spec.height, spec.width).pixels for img in x]
    return torch.from_numpy(np.stack(frames)).expand(-1, spec.channels, -1, -1).contiguous()
