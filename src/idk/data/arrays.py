"""A user's image arrays: ``.npz`` with images and labels, ``.npy`` with images alone, IDX files.

Images may come (N, H, W), (N, H, W, C), (N, C, H, W) or as rows of flattened square images,
in [0, 1] or 0..255 (:func:`as_images`); labels are whole numbers, class names optional.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from idk.data.folders import Warn
from idk.data.idx import read_idx
from idk.data.images import ImageSet, InputSpec, check_labels, check_pixels, unnamed_classes
from idk.data.imaging import laid_on_white, unit_divisor
from idk.errors import DataError

LABEL_KEYS = ("labels", "y", "Y")  # an .npz's labels array, by the first of these names it holds
MIN_FLAT_SIDE = 8  # a 2-D array is read as flat square images (N, side²) of this side at least


def flat_side(pixels: int) -> int | None:
    """The side H of square images flattened to rows of ``pixels`` = H²; None where no square
    has that many."""
    side = int(round(pixels**0.5))
    return side if side > 0 and side * side == pixels else None


def channels_last_image(shape: tuple[int, ...]) -> bool:
    """Whether a 3-D ``shape`` is one image (H, W, C), far likelier than H images of W × C pixels:
    its last axis 1–4 and narrower than the one before."""
    return len(shape) == 3 and shape[2] in (1, 2, 3, 4) and shape[1] > shape[2]


def as_images(array: np.ndarray, source: str, warn: Warn | None = None) -> torch.Tensor:
    """An image array (N, H, W), (N, H, W, C), (N, C, H, W), or (N, D) of flattened square images
    (D = H², greyscale) → (N, C, H, W) float32 in [0, 1], or uint8 levels (read by
    :func:`~idk.data.images.unit`) where the array holds whole numbers in 0..255 without an alpha channel.

    Pixel values are read by :func:`~idk.data.imaging.unit_divisor`, as one image's are: uint8 /
    255, uint16 holding values above 255 / 65,535 (16-bit images), bool 0 or 1, other numbers (uint16
    of 8-bit values too) in [0, 1] or 0..255. The rule is the array's: a dim 16-bit set with no value
    above 255 is read as 8 bits. ``warn`` is told of 8-bit pixels that hold only 0 and 1 (a mask saved
    as uint8 reads almost black; bool or float 0/1 is ink), and of uint16 pixels read as 8-bit values."""
    array = np.asarray(array)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise DataError(f"{source}: images must be a numeric array, got dtype {array.dtype}")
    if array.ndim == 2:
        side = flat_side(array.shape[1])
        if side is None:
            raise DataError(f"{source}: flat images of {array.shape[1]} pixels are not square; give (N, H, W)")
        if side < MIN_FLAT_SIDE:  # more likely one image (H, W) than H images of side × side pixels
            raise DataError(
                f"{source}: shape {array.shape} read as {array.shape[0]} flat images of {side}×{side} pixels is too "
                f"small; give images as (N, H, W) (one image: (1, H, W))"
            )
        array = array.reshape(-1, side, side)
    if array.ndim == 3 and channels_last_image(array.shape):
        raise DataError(
            f"{source}: shape {array.shape} read as {array.shape[0]} images of {array.shape[1]}×{array.shape[2]} "
            f"pixels is too narrow: one image with its channels last? Give images as (N, H, W, C) "
            f"(one image: array[None], shape (1, {', '.join(map(str, array.shape))}))"
        )
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4 and array.shape[-1] in (1, 3, 4) and array.shape[1] not in (1, 3):
        array = array.transpose(0, 3, 1, 2)
    elif array.ndim == 4 and array.shape[1] == 4:
        pass
    elif array.ndim == 4 and array.shape[1] not in (1, 3):
        raise DataError(
            f"{source}: images need 1 or 3 channels (or RGBA) on the second or last axis, got shape {array.shape}"
        )
    elif array.ndim != 4:
        raise DataError(f"{source}: expected images (N, H, W) or (N, H, W, C), got shape {array.shape}")
    if array.shape[1] not in (1, 3, 4):
        raise DataError(f"{source}: images need 1 or 3 channels, got {array.shape[1]} (shape {array.shape})")
    if array.size == 0:
        check_pixels(torch.empty(array.shape), source)  # no images, or images of no pixels: its words
    try:
        divisor = unit_divisor(array)
    except ValueError as err:
        raise DataError(f"{source}: {err}") from None
    if warn and array.dtype == np.uint8 and array.max() == 1:
        warn(
            f"{source}: its uint8 pixels hold only 0 and 1, read as 8-bit values (1/255: almost black); "
            "if 1 means ink, give the array as bool or float (`images.astype(bool)`)"
        )
    if warn and divisor == 255.0 and array.dtype == np.uint16:  # no value above 255: 8-bit values, by the rule
        warn(
            f"{source}: its uint16 pixels are all 255 or less, read as 8-bit values (255: white), as suits 8-bit "
            "images stored as uint16; if they are 16-bit values of dim images (65,535: white), give them as "
            "floats in [0, 1] (`images / 65535`)"
        )
    if divisor == 255.0 and np.issubdtype(array.dtype, np.integer) and array.shape[1] != 4:  # 8-bit levels
        return torch.from_numpy(np.array(array, dtype=np.uint8, order="C", copy=True))
    # one float32 copy (always a copy: the caller's array is never changed), in (N, C, H, W) order,
    # divided and clipped in place: the array's size in float32 beside it, not three times that
    images = torch.from_numpy(np.array(array, dtype=np.float32, order="C", copy=True))
    images.div_(divisor).clamp_(0, 1)  # within ROUNDING of the range: a resampling's overshoot
    if images.shape[1] == 4:  # RGBA
        images = laid_on_white(images[:, :3], images[:, 3:])
    return images


def read_array(path: Path, name: str, warn: Warn | None = None) -> ImageSet:
    """A ``.npy`` image array, or a ``.npz`` with ``images`` (or ``x``), optional ``labels`` (or
    ``y``) and optional ``classes`` (names; default "0", "1", ...); ``warn`` as :func:`as_images`'."""
    try:
        return _read_array(path, name, warn)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as err:
        first = (str(err).splitlines() or [type(err).__name__])[0][:100]
        if "pickle" in str(err):  # numpy's advice to allow_pickle is no advice for image data
            first = "it holds no numeric array (text or pickled objects)"
        raise DataError(f"{path}: not a readable .npy/.npz array file ({first})") from None


def _read_array(path: Path, name: str, warn: Warn | None) -> ImageSet:
    loaded = np.load(path, allow_pickle=False)
    labels, classes = None, ()
    if isinstance(loaded, np.lib.npyio.NpzFile):
        keys = set(loaded.files)
        key = next((k for k in ("images", "x", "X") if k in keys), None)
        if key is None:
            raise DataError(f"{path}: .npz has no 'images' (or 'x') array; it holds {sorted(keys)}")
        images = as_images(loaded[key], str(path), warn)
        lkey = next((k for k in LABEL_KEYS if k in keys), None)
        if lkey is not None:
            raw = loaded[lkey]
            if raw.ndim == 2 and len(raw) == len(images) and raw.shape[1] > 1:  # one-hot rows
                raw = raw.argmax(1)
            elif raw.ndim == 2 and raw.shape[1] == 1:  # a column of labels
                raw = raw[:, 0]
            raw = whole_labels(raw, path)
            labels = torch.from_numpy(raw.astype(np.int64).reshape(-1) if raw.ndim <= 1 else raw.astype(np.int64))
            if "classes" in keys:
                classes = class_names(loaded["classes"], path)
            else:
                classes = unnamed_classes(labels, str(path))
            check_labels(labels, len(images), classes, str(path))
    else:
        images = as_images(loaded, str(path), warn)
    _, c, h, w = images.shape
    named = labels is None or "classes" in keys
    return ImageSet(name, images, labels, classes, InputSpec(c, h, w, "fit"), named=named)


def whole_labels(raw: np.ndarray, path: Path | str) -> np.ndarray:
    """An array's labels as integers: integer ones as they are, floating-point ones that all hold
    whole numbers (3.0, as pandas or MATLAB may save them) as those numbers; DataError for any
    other (naming the first label that is no whole number)."""
    if np.issubdtype(raw.dtype, np.integer):
        return raw
    if not np.issubdtype(raw.dtype, np.floating):
        raise DataError(f"{path}: labels must be whole numbers (class indices), got dtype {raw.dtype}")
    flat = raw.reshape(-1)
    if (bad := ~np.isfinite(flat) | (flat != np.round(flat))).any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}: labels must be whole numbers (class indices); label {i} is {float(flat[i])!r}")
    if (large := np.abs(flat) >= 2**62).any():  # beyond int64 (and far beyond any class index)
        i = int(np.flatnonzero(large)[0])
        raise DataError(f"{path}: labels must be class indices 0, 1, 2, ...; label {i} is {float(flat[i])!r}")
    return raw.astype(np.int64)


def class_names(raw: np.ndarray, path: Path | str) -> tuple[str, ...]:
    """An .npz's ``classes`` as names: one per class (a 1-D array of text, bytes decoded as UTF-8,
    or numbers), none empty, none twice (each must name one answer)."""
    if raw.ndim != 1:
        raise DataError(f"{path}: 'classes' must hold one name per class (a 1-D array), got shape {raw.shape}")
    names = tuple(c.decode("utf-8", "replace") if isinstance(c, bytes) else str(c) for c in raw.tolist())
    if empty := [i for i, c in enumerate(names) if not c.strip()]:
        raise DataError(f"{path}: class {empty[0]} has an empty name in 'classes'; name every class")
    seen: dict[str, int] = {}
    for i, c in enumerate(names):
        if c in seen:
            raise DataError(f"{path}: the class name {c!r} is given twice in 'classes' (classes {seen[c]} and {i})")
        seen[c] = i
    return names


def read_idx_images(path: Path, name: str) -> ImageSet:
    """An IDX file of images (N, H, W), raw or gzip."""
    images = as_images(read_idx(path), str(path))
    return ImageSet(name, images, None, (), InputSpec(1, *images.shape[-2:], "fit"))
