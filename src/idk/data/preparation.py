"""Bring an outside image to a model's input form, the way the model's training images were made.

Three recipes (``InputSpec.preparation``):

* ``mnist`` (LeCun et al.): white strokes on black; invert when the background (median of the
  border) is light; crop to the ink's bounding box; fit into a box of 20/28 of the frame keeping
  the aspect ratio; centre by centre of mass. An image already of the frame's size on a dark
  background is taken as it is.
* ``fashion-mnist`` (Xiao et al., 2017, "Converting product images"): trim the edges close to the
  corner colour (5% of the largest RGB distance), shrink the longest edge to the frame by
  subsampling rows and columns, sharpen (Gaussian radius and σ 1), pad the short edge centred,
  negate, greyscale.
* ``fit``: scale to fit the frame keeping the aspect ratio, pad centred with the border's median
  colour (how :mod:`idk.data.folders` brings a folder of mixed sizes to one size).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from PIL import Image, ImageFilter

from idk.data.images import LUMINANCE, InputSpec, unit
from idk.data.imaging import Source, image_source, open_image
from idk.errors import ImageError

INK_LEVEL = 0.25  # a pixel is ink when it is this far above the background (after inversion)
MNIST_BOX = 20 / 28  # MNIST fits each digit into 20×20 of its 28×28 frame
CORNER_DISTANCE = 0.05 * np.sqrt(3)  # Fashion-MNIST's trim: 5% of the largest RGB distance
FLAT = 1e-3  # an image whose pixels span less than this is one flat colour: blank
# A training image whose channels each span less than this between their 5th and 95th percentiles
# is nearly one colour (a swatch with a few stray pixels); where this share of a set's training
# images are, an image of one flat colour is like them, and asked about, not called blank.
NEARLY_FLAT, NEARLY_FLAT_SHARE = 0.05, 0.05
FLAT_SAMPLE = 2000  # the training images looked at for it (evenly spaced through the set)
FLAT_CHUNK = 200  # of them at once


@dataclass(frozen=True)
class PreparedImage:
    """An image in a model's input form, float32 in [0, 1] (C, H, W), and what preparing it found."""

    pixels: np.ndarray  # (C, H, W)
    inverted: bool
    blank: bool  # nothing found to classify (no ink, or one flat colour)
    # how many times what it shows was scaled up (1: not enlarged), and that content's (H, W) before:
    # the whole image (fit-and-pad, arrays), or the ink's bounding box (MNIST's way)
    enlarged: float = 1.0
    source_size: tuple[int, int] | None = None

    @classmethod
    def scaled(
        cls, pixels: np.ndarray, inverted: bool, blank: bool, scale: float, size: tuple[int, int]
    ) -> PreparedImage:
        """Content of ``size`` (H, W) brought to the frame by ``scale``, recorded as ``enlarged``
        max(scale, 1): content shrunk to fit was not enlarged."""
        return cls(pixels, inverted, blank, max(scale, 1.0), size)


def fitted_scale(size: tuple[int, int], spec: InputSpec) -> float:
    """The scale that fits an image of ``size`` (H, W) into ``spec``'s frame, aspect kept."""
    return min(spec.height / size[0], spec.width / size[1])


def prepare(source: Source, spec: InputSpec, name: str | None = None) -> PreparedImage:
    """Decode (unless given pixels: :func:`~idk.data.imaging.image_source`'s forms) and prepare
    one image for ``spec``; ``name``: what errors call it (default: its path, ``<bytes>``,
    ``<array>``, ...). What cannot be read as an image is an :class:`~idk.errors.ImageError`."""
    source = image_source(source, name)
    if isinstance(source, np.ndarray):
        return prepare_pixels(source, spec)
    if spec.preparation == "fit":
        return fit(open_image(source, spec.channels == 3, name), spec)
    if spec.preparation == "mnist":
        prepared = to_mnist(open_image(source, name=name), spec.height, spec.width)
    else:
        prepared = to_fashion_mnist(open_image(source, colour=True, name=name), spec.height, spec.width)
    return _in_channels(prepared, spec)


def prepared_or_error(source: Source, spec: InputSpec, name: str | None = None) -> PreparedImage | ImageError:
    """:func:`prepare`'s image, or the :class:`~idk.errors.ImageError` that says why there is none:
    for a batch, where one unreadable file answers with its error and the others are answered."""
    try:
        return prepare(source, spec, name)
    except ImageError as err:
        return err


def prepare_pixels(pixels: np.ndarray, spec: InputSpec) -> PreparedImage:
    """:func:`prepare` for decoded pixels, float32 (H, W) or (H, W, 3) in [0, 1] as
    :func:`~idk.data.imaging.read_image` returns them (not checked again: a folder's images were
    checked as they were read)."""
    if spec.preparation == "fit":
        return fit(pixels, spec)
    grey = pixels if pixels.ndim == 2 else pixels @ np.array(LUMINANCE, np.float32)
    if spec.preparation == "mnist":
        prepared = to_mnist(grey, spec.height, spec.width)
    else:
        prepared = to_fashion_mnist(np.repeat(grey[..., None], 3, -1), spec.height, spec.width)
    return _in_channels(prepared, spec)


def _in_channels(prepared: PreparedImage, spec: InputSpec) -> PreparedImage:
    """A prepared one-channel image repeated into ``spec``'s three channels where it has three."""
    return replace(prepared, pixels=np.repeat(prepared.pixels, 3, axis=0)) if spec.channels == 3 else prepared


def _border(pixels: np.ndarray) -> np.ndarray:
    """The pixels of an image's four edges, (2H + 2W, ...) for pixels (H, W, ...)."""
    return np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])


def blank_in_input_form(pixels: np.ndarray, spec: InputSpec) -> bool:
    """Whether pixels already in ``spec``'s input form (C, H, W) hold nothing to classify, as
    :func:`prepare` would judge the same image: for MNIST's form, no pixel :data:`INK_LEVEL`
    above the border's median; otherwise one flat colour."""
    if spec.preparation == "mnist":
        grey = pixels.mean(0)
        return bool(grey.max() - np.median(_border(grey)) < INK_LEVEL)
    return one_colour(pixels, channels_at=0)


def flat_images_seen(images: np.ndarray) -> bool:
    """Whether at least :data:`NEARLY_FLAT_SHARE` of training ``images`` (N, C, H, W) are nearly one
    colour (:data:`NEARLY_FLAT`; judged on at most :data:`FLAT_SAMPLE` of them): a model of colour
    swatches then answers a flat colour as it answers its own images, where one of photos or drawn
    symbols calls it blank."""
    if not len(images):
        return False
    step = -(-len(images) // FLAT_SAMPLE)  # at most FLAT_SAMPLE of them
    taken = images[::step]
    flat = []
    for start in range(0, len(taken), FLAT_CHUNK):  # a chunk at a time: percentiles copy what they sort
        chunk = unit(torch.from_numpy(taken[start : start + FLAT_CHUNK])).numpy()  # 8-bit levels as their floats
        low, high = np.percentile(chunk.reshape(len(chunk), images.shape[1], -1), [5, 95], axis=-1)
        flat.append((high - low).max(-1) < NEARLY_FLAT)  # each image's widest channel
    return bool(np.concatenate(flat).mean() >= NEARLY_FLAT_SHARE)


def one_colour(pixels: np.ndarray, channels_at: int | None = None) -> bool:
    """Whether an image is one flat colour: every channel's pixels span less than :data:`FLAT`
    (pixels (H, W), or with their channels at axis ``channels_at``: a red page is flat too)."""
    if channels_at is None:
        return bool(np.ptp(pixels) < FLAT)
    # channel by channel, the first that spans FLAT ends it: one reduction across the channel axis of
    # (H, W, 3) took 10 ms on a 480×360 photo, half of its reading for training
    return all(np.ptp(channel) < FLAT for channel in np.moveaxis(pixels, channels_at, 0))


def to_mnist(grey: np.ndarray, height: int = 28, width: int = 28) -> PreparedImage:
    """A greyscale image (H, W) in [0, 1] in MNIST's form (1, height, width); see the module doc."""
    grey = np.asarray(grey, dtype=np.float32)
    background = float(np.median(_border(grey)))
    inverted = background > 0.5
    img = 1.0 - grey if inverted else grey
    background = 1.0 - background if inverted else background
    if grey.shape == (height, width) and not inverted:
        return PreparedImage(img[None].astype(np.float32), False, bool(img.max() - background < INK_LEVEL))
    peak = float(img.max())
    if peak - background < INK_LEVEL:
        return PreparedImage(np.zeros((1, height, width), np.float32), inverted, True)
    img = np.clip((img - background) / (peak - background), 0.0, 1.0)
    rows = np.flatnonzero((img > INK_LEVEL).any(axis=1))
    cols = np.flatnonzero((img > INK_LEVEL).any(axis=0))
    img = img[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = img.shape
    scale = MNIST_BOX * min(height, width) / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = Image.fromarray((img * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS)
    small = np.asarray(small, dtype=np.float32) / 255.0
    return PreparedImage.scaled(_centre_by_mass(small, height, width)[None], inverted, False, scale, (h, w))


def _centre_by_mass(small: np.ndarray, height: int, width: int) -> np.ndarray:
    h, w = small.shape
    total = small.sum()
    ys, xs = np.indices(small.shape)
    cy = (ys * small).sum() / total if total > 0 else (h - 1) / 2
    cx = (xs * small).sum() / total if total > 0 else (w - 1) / 2
    top = int(np.clip(round(height / 2 - cy), 0, height - h))
    left = int(np.clip(round(width / 2 - cx), 0, width - w))
    out = np.zeros((height, width), np.float32)
    out[top : top + h, left : left + w] = small
    return out


def to_fashion_mnist(rgb: np.ndarray, height: int = 28, width: int = 28) -> PreparedImage:
    """A product photo (H, W, 3) in [0, 1] in Fashion-MNIST's form (1, height, width); see the module doc."""
    rgb = np.asarray(rgb, dtype=np.float32)
    corner = rgb[0, 0]
    far = np.linalg.norm(rgb - corner, axis=-1) > CORNER_DISTANCE
    if not far.any():
        return PreparedImage(np.zeros((1, height, width), np.float32), False, True)
    rows, cols = np.flatnonzero(far.any(axis=1)), np.flatnonzero(far.any(axis=0))
    rgb = rgb[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = rgb.shape[:2]
    scale = min(height / h, width / w, 1.0)  # subsampling only shrinks
    ys = np.floor(np.arange(max(1, round(h * scale))) / scale).astype(int).clip(0, h - 1)
    xs = np.floor(np.arange(max(1, round(w * scale))) / scale).astype(int).clip(0, w - 1)
    small = Image.fromarray((rgb[ys][:, xs] * 255).round().astype(np.uint8))
    small = small.filter(ImageFilter.UnsharpMask(radius=1, percent=100, threshold=0))
    canvas = Image.new("RGB", (width, height), tuple(int(round(255 * v)) for v in corner))
    canvas.paste(small, ((width - small.width) // 2, (height - small.height) // 2))
    grey = np.asarray(canvas.convert("L"), dtype=np.float32) / 255.0
    return PreparedImage((1.0 - grey)[None], True, False)


def _one_channel(rgb: np.ndarray, luminance_grey: bool) -> np.ndarray:
    """Colour pixels (H, W, 3) as grey (H, W): their luminance (:data:`LUMINANCE`); a grey image's
    (three equal channels) one channel as it is, its 8-bit levels exact, unless ``luminance_grey``
    (:class:`~idk.data.images.InputSpec`: the product, as before checkpoint format 5)."""
    if not luminance_grey and (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 0] == rgb[..., 2]).all():
        return np.ascontiguousarray(rgb[..., 0])
    return rgb @ np.array(LUMINANCE, np.float32)


def fit(pixels: np.ndarray, spec: InputSpec) -> PreparedImage:
    """Pixels (H, W) or (H, W, 3) in [0, 1] scaled to fit ``spec``'s frame (aspect kept) and padded
    centred with the border's median colour, in ``spec``'s channels: (C, height, width)."""
    pixels = np.asarray(pixels, dtype=np.float32)
    if pixels.ndim == 2 and spec.channels == 3:
        pixels = np.repeat(pixels[..., None], 3, -1)
    elif pixels.ndim == 3 and spec.channels == 1:
        pixels = _one_channel(pixels, spec.luminance_grey)
    h, w = pixels.shape[:2]
    flat = one_colour(pixels, None if pixels.ndim == 2 else -1)
    scale = fitted_scale((h, w), spec)
    if (h, w) != (spec.height, spec.width):
        fill = np.median(_border(pixels), axis=0)
        size = (max(1, min(spec.width, round(w * scale))), max(1, min(spec.height, round(h * scale))))
        mode = "RGB" if pixels.ndim == 3 else "L"
        img = Image.fromarray((pixels * 255).round().astype(np.uint8), mode).resize(size, Image.Resampling.BILINEAR)
        out = np.empty((spec.height, spec.width, *pixels.shape[2:]), np.float32)
        out[...] = fill
        top, left = (spec.height - size[1]) // 2, (spec.width - size[0]) // 2
        out[top : top + size[1], left : left + size[0]] = np.asarray(img, dtype=np.float32) / 255.0
        pixels = out
    chw = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    return PreparedImage.scaled(np.ascontiguousarray(chw), False, flat, scale, (h, w))
