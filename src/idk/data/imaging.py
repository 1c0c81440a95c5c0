r"""Read any image file a user has: every mode PIL decodes, as float32 pixels in [0, 1].

Palette, 16-bit, CMYK, colour and transparent images are handled (transparency is laid on white);
missing, empty, truncated, non-image and oversized (decompression-bomb) inputs are
:class:`~idk.errors.ImageError`\ s naming the file; so are decoded pixels handed over as an
array (:func:`pixels_from_array`) of another shape, type or range. :mod:`idk.data.preparation`
brings the pixels to a model's input form.
"""

from __future__ import annotations

import io
import math
import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from idk.data.headers import declared_size
from idk.errors import ImageError, a_type

if TYPE_CHECKING:
    import torch

MAX_PIXELS = 40_000_000  # larger images are refused as decompression bombs
# A JPEG over MAX_PIXELS decodes at 1/2, 1/4 or 1/8 of its size without ever holding the whole
# (libjpeg's DCT scaling, PIL's draft): a phone's 108- or 200-megapixel photo is read so, down to no
# less than DRAFT_SIDE pixels on its longer side (far more than any model's frame), up to
# MAX_JPEG_PIXELS. Smaller JPEGs are decoded whole, as before (their pixels, and so the fingerprints
# of training sets of them, unchanged).
MAX_JPEG_PIXELS = 250_000_000
DRAFT_SIDE = 2048


def open_image(source: str | Path | bytes | Image.Image, colour: bool = False, name: str | None = None) -> np.ndarray:
    """Decode an image file (its path or bytes, or an image PIL opened) into float32 pixels in
    [0, 1]: greyscale (H, W), or with ``colour`` RGB (H, W, 3) (a greyscale file repeated into three
    channels); turned as its EXIF orientation says (as a viewer shows a phone's photo). A PIL image
    is read as its file would be, and left as it was.

    Raises:
        ImageError: for a missing, empty, truncated, non-image or oversized (bomb) input, or one
            with NaN or infinite pixel values.
    """
    return read_image(source, colour, name)[0]


# what reading a file may change beside its size and channels (:func:`read_image`), as said in a line
STORED_FORMS = {
    "transparent": "with transparent pixels laid on white",
    "cmyk": "CMYK→RGB",
    "deep": "of 16-bit, 32-bit or float grey read by their range",
    "eight": "of 16-bit colour or grey-with-alpha read at 8 bits",
    "frames": "of several frames or pages, the first read",
}


def read_image(
    source: str | Path | bytes | Image.Image, colour: bool = False, name: str | None = None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """:func:`open_image`'s pixels, and what reading them changed beside their size and channels:
    keys of :data:`STORED_FORMS` (transparent pixels laid on white, CMYK turned to RGB, 16-bit,
    32-bit or float greyscale read by its range, 16-bit colour or grey-with-alpha read at 8 bits by
    Pillow (each value's high byte), the first of several frames or pages); () for a plain 8-bit
    image and for a PIL image given (read as it is)."""
    if isinstance(source, Image.Image):
        with decoding(name or "<PIL image>"):
            return _pixels(source, colour, name or "<PIL image>", own=False), ()
    name = name or ("<bytes>" if isinstance(source, bytes) else str(source))  # what errors call it
    data = file_bytes(source, name)
    with decoding(name, data), Image.open(io.BytesIO(data)) as img:
        frames = bool(getattr(img, "is_animated", False))  # before decoding: a GIF's count seeks
        eight = _sixteen_bits_read_at_eight(img)  # before decoding: its tiles are gone after
        pixels = _pixels(img, colour, name)
        return pixels, _changed(img, frames, eight)


def file_bytes(source: str | Path | bytes, name: str) -> bytes:
    """An image file's bytes (or the bytes given), refused (:class:`ImageError` naming ``name``)
    where it is missing, a folder or empty, or its header declares more pixels than its format may
    have (:func:`~idk.data.headers.declared_size`: refused before PIL reads more of it)."""
    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source)
        if not path.exists():
            raise ImageError(name, "no such file")
        if path.is_dir():
            raise ImageError(name, "is a directory, not an image")
        data = path.read_bytes()
    if not data:
        raise ImageError(name, "empty file, not an image")
    if declared := declared_size(data):
        _within_limit(declared[1], declared[2], declared[0] == "JPEG", name)
    return data


DEEP_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")  # read by their range (:func:`_to_grey`)
# Pillow's raw modes of 16 bits a channel that it decodes to 8 (each value's high byte)
SIXTEEN_BITS_A_CHANNEL = re.compile(r"(RGB|RGBA|RGBX|LA|CMYK);16[BLN]")


def _sixteen_bits_read_at_eight(img: Image.Image) -> bool:
    """Whether the opened, undecoded ``img`` stores 16 bits a channel that Pillow decodes to an
    8-bit mode: its raw mode one of :data:`SIXTEEN_BITS_A_CHANNEL` (a 16-bit RGB(A) or
    grey-with-alpha PNG, a 16-bit RGB TIFF); not a BMP's 16 bits a pixel (``BGR;16``, 5-6-5), nor
    16-bit greyscale (``I;16B``: a :data:`DEEP_MODES` image, read by its range)."""
    for tile in getattr(img, "tile", None) or ():  # (codec, extents, offset, args): a namedtuple since Pillow 11
        args = tile[3] if len(tile) > 3 else None
        raw = args if isinstance(args, str) else args[0] if isinstance(args, tuple) and args else None
        if isinstance(raw, str) and SIXTEEN_BITS_A_CHANNEL.fullmatch(raw):
            return True
    return False


def _changed(img: Image.Image, frames: bool, eight: bool) -> tuple[str, ...]:
    """What :func:`_pixels` changed in the decoded image ``img`` beside its size and channels
    (:data:`STORED_FORMS`); ``frames``: it holds more than one; ``eight``: 16-bit colour (or grey with alpha) read at 8 bits."""
    deep = img.mode in DEEP_MODES
    found = (
        ("transparent", not deep and _see_through(img)),  # a deep image's transparency is not applied
        ("cmyk", img.mode == "CMYK"),
        ("deep", deep),
        ("eight", eight),
        ("frames", frames),
    )
    return tuple(key for key, present in found if present)


def _see_through(img: Image.Image) -> bool:
    """Whether any pixel of ``img`` is less than opaque (an alpha channel, or a transparent colour)."""
    if img.mode in ("RGBA", "LA", "PA"):
        return img.getchannel("A").getextrema()[0] < 255
    return "transparency" in img.info and img.convert("RGBA").getchannel("A").getextrema()[0] < 255


class _PilBombGuard:
    """PIL's own decompression-bomb guard set to idk's larger limit while any thread decodes here
    (PIL warns past it and refuses past twice it; each format's own limit is refused by
    :func:`_pixels`, by name, and by :func:`read_image` from the header where it can be read). The
    setting is process-wide: it is counted, set by the first thread in and restored by the last
    one out, so threads decoding at once (the service's decoding threads beside its model's)
    neither restore it under each other nor leave it changed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._outside_limit: int | None = None

    def __enter__(self) -> None:
        with self._lock:
            if self._inside == 0:
                self._outside_limit = Image.MAX_IMAGE_PIXELS
                Image.MAX_IMAGE_PIXELS = max(MAX_PIXELS, MAX_JPEG_PIXELS)
            self._inside += 1

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self._inside -= 1
            if self._inside == 0:
                Image.MAX_IMAGE_PIXELS = self._outside_limit


_PIL_BOMB_GUARD = _PilBombGuard()


# the first bytes of each format idk reads but BMP (whose two letters begin text files too)
SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}


def signature(data: bytes) -> str | None:
    """The format ``data`` begins as (:data:`SIGNATURES`, WebP's RIFF header), else None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return next((kind for head, kind in SIGNATURES.items() if data.startswith(head)), None)


@contextmanager
def decoding(name: str, data: bytes | None = None):
    """Decoding an image: bombs refused (:data:`MAX_PIXELS`), PIL's errors raised as an
    :class:`ImageError`; ``data``, the file's bytes, tells a cut-short PNG from a file of no image."""
    with _PIL_BOMB_GUARD:
        try:
            yield
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:  # a warning: under -W error
            raise ImageError(name, f"too many pixels to decode safely ({err}); scale it down first") from None
        except NonFinitePixels:
            raise ImageError(name, "holds NaN or infinite pixel values") from None
        except UnidentifiedImageError:
            if data is not None and (kind := signature(data)):
                raise ImageError(
                    name, f"truncated or corrupted {kind} (it begins as one; Pillow cannot read it)"
                ) from None
            table = "; a .csv table of images is answered by `idk predict TABLE.csv`, evaluated by `idk evaluate --test-data`"
            why = "not an image file idk reads (PNG, JPEG, BMP, GIF, WebP, TIFF)"
            raise ImageError(name, why + (table if name.lower().endswith(".csv") else "")) from None
        except (OSError, SyntaxError, ValueError, EOFError) as err:
            raise ImageError(name, f"truncated or corrupted image ({err})") from None


def _within_limit(width: int, height: int, jpeg: bool, name: str) -> None:
    """:class:`ImageError` for an image of more pixels than its format may have (a JPEG drafted
    while decoded: :data:`MAX_JPEG_PIXELS`; others :data:`MAX_PIXELS`)."""
    limit = MAX_JPEG_PIXELS if jpeg else MAX_PIXELS
    if width * height > limit:
        raise ImageError(
            name,
            f"too many pixels: {width * height:,} ({height}×{width}) is over the limit of {limit:,} (a guard against "
            "decompression bombs); scale it down first",
        )


def drafted(img: Image.Image, name: str, own: bool = True) -> None:
    """Refuse an opened, undecoded ``img`` of more pixels than its format may have; a JPEG of more
    than :data:`MAX_PIXELS` opened here (``own``) set to decode at a fraction of its size, its longer
    side ≥ :data:`DRAFT_SIDE` (``img.size`` is then the size it decodes to). A caller's image is not
    drafted (it would be changed)."""
    w, h = img.size
    jpeg = img.format == "JPEG" and own
    _within_limit(w, h, jpeg, name)
    if jpeg and w * h > MAX_PIXELS:
        scale = DRAFT_SIDE / max(w, h)
        img.draft(img.mode, (max(1, math.ceil(w * scale)), max(1, math.ceil(h * scale))))


def _pixels(img: Image.Image, colour: bool, name: str, own: bool = True) -> np.ndarray:
    """The first frame of an opened image, upright, as :func:`open_image` returns it; turned in
    place when the image is ``own`` (opened here), else a caller's image is left as it was (its
    frame too; note that its EXIF orientation is applied, as to its file, even if it was turned
    by hand)."""
    drafted(img, name, own)
    frame = img.tell()
    try:
        try:
            img.seek(0)
            img.load()
        except (AssertionError, ValueError) as err:  # Pillow's words for an image whose file is closed
            if own or not (isinstance(err, AssertionError) or "closed" in str(err)):
                raise
            raise ImageError(
                name, "its file was closed before its pixels were loaded: give the path, or call .load() first"
            ) from None
        try:  # a phone's photo as it is shown, upright
            if own:
                ImageOps.exif_transpose(img, in_place=True)
                upright = img
            else:
                upright = ImageOps.exif_transpose(img)
        except Exception:  # a broken EXIF block: the image as stored, never a lost file
            upright = img
        return _to_rgb(upright) if colour else _to_grey(upright)
    finally:
        if not own and img.tell() != frame:
            img.seek(frame)


class NonFinitePixels(ValueError):
    """A floating-point image (a TIFF of mode "F") holds NaN or infinite values."""


Pixels = TypeVar("Pixels")  # a numpy array or a torch tensor (this module does not import torch)
ARRAY_FORMS = (
    "(H, W), (H, W, 1), (H, W, 2), (H, W, 3) or (H, W, 4): uint8, uint16, bool, or numbers in [0, 1] or 0..255"
)
ROUNDING = 1e-3  # float pixels this far outside [0, 1] are clipped (a resampling's overshoot), not refused
ROBUST_PEAK = 99.9  # the percentile a 32-bit image beyond 16 bits is scaled by (a hot pixel is clipped)
FULL_RANGES = (255.0, 65535.0)  # 8-bit and 16-bit images' full ranges


# the forms of one image idk reads (a tensor: decoded pixels, as a numpy array)
Source = Union[str, os.PathLike, bytes, Image.Image, np.ndarray, "torch.Tensor"]


def image_source(source: object, name: str | None = None) -> str | Path | bytes | Image.Image | np.ndarray:
    """One image as :func:`open_image` or the preparation reads it: a path (or path-like), a
    file's bytes (or a bytearray or memoryview of them) or an image PIL opened as they are; decoded
    pixels (a numpy array or a torch tensor, channels last) checked by :func:`pixels_from_array`.

    Raises:
        ImageError: naming ``name``, for anything else (a list, a number, None), pixels that are not
            an image's, or a tensor numpy cannot hold (sparse, on the meta device).
    """
    if isinstance(source, (str, Path, bytes, Image.Image)):
        return source
    if isinstance(source, os.PathLike):
        return Path(os.fsdecode(source))
    if isinstance(source, (bytearray, memoryview)):
        return bytes(source)
    tensor = hasattr(source, "detach") and hasattr(source, "numpy")  # torch's (this module does not import torch)
    if not (tensor or isinstance(source, np.ndarray)):
        raise ImageError(
            name or f"<{type(source).__name__}>",
            f"{a_type(source)} is not an image: give a path, the file's bytes, a PIL image or pixels (a numpy array or "
            f"a tensor, {ARRAY_FORMS})",
        )
    kind = "tensor" if tensor else "array"
    name = name or f"<{kind}>"
    shape = tuple(source.shape)
    if len(shape) == 3 and shape[0] in (1, 2, 3, 4) and shape[-1] > 4:  # channels first
        turn = "permute(1, 2, 0)" if tensor else "transpose(1, 2, 0)"
        raise ImageError(
            name,
            f"{'a' if tensor else 'an'} {kind} of shape {shape}: pixels are channels last, {ARRAY_FORMS} ({kind}.{turn}); "
            f"if it holds {shape[0]} images, give each its own (name, pixels) pair, e.g. "
            f"[(str(i), x) for i, x in enumerate({kind})]",
        )
    if tensor:
        held = source.detach()
        try:
            source = (held.float() if str(held.dtype) == "torch.bfloat16" else held).cpu().numpy()
        except (TypeError, RuntimeError, NotImplementedError) as err:
            raise ImageError(
                name, f"a {held.dtype} tensor ({held.layout}, {held.device}) numpy cannot hold ({err})"
            ) from None
    return pixels_from_array(source, name)


def pixels_from_array(array: np.ndarray, name: str = "<array>") -> np.ndarray:
    """Decoded pixels as a file's would be read: float32 (H, W) or (H, W, 3) in [0, 1], from
    (H, W[, 1 | 2 | 3 | 4]) numbers read by :func:`unit_divisor` (one image by the rule a data set
    is read by in :func:`~idk.data.arrays.as_images`); an alpha channel is laid on white, as a
    transparent file's is.

    Raises:
        ImageError: naming ``name``, for any other shape or type, no pixels, NaN or infinite values,
            or values in neither [0, 1] nor 0..255.
    """
    array = np.asarray(array)
    if array.ndim == 4 and array.shape[0] == 1:  # a batch of one
        raise ImageError(
            name, f"an array of shape {tuple(array.shape)} is a batch of one image: give the image, array[0]"
        )
    if array.ndim == 4:  # a batch given as one image
        raise ImageError(
            name,
            f"an array of shape {tuple(array.shape)} holds {array.shape[0]} images, not one: give each its own "
            f"(name, pixels) pair, e.g. [(str(i), x) for i, x in enumerate(batch)]; one image's pixels are {ARRAY_FORMS}",
        )
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (1, 2, 3, 4)):
        raise ImageError(name, f"an array of shape {tuple(array.shape)}; pixels are {ARRAY_FORMS}")
    if array.size == 0:
        raise ImageError(name, f"an array of shape {tuple(array.shape)} has no pixels")
    if not (array.dtype.kind in "uif" or array.dtype == bool):
        raise ImageError(name, f"an array of {array.dtype}; pixels are {ARRAY_FORMS}")
    try:
        divisor = unit_divisor(array)
    except ValueError as err:
        raise ImageError(name, str(err)) from None
    pixels = np.clip(array.astype(np.float32) / np.float32(divisor), 0, 1)  # a resampling's overshoot clipped
    if pixels.ndim == 3 and pixels.shape[-1] in (2, 4):  # grey or colour, then alpha
        pixels = laid_on_white(pixels[..., :-1], pixels[..., -1:])
    return pixels[..., 0] if pixels.ndim == 3 and pixels.shape[-1] == 1 else pixels


def unit_divisor(array: np.ndarray) -> float:
    """What an image array (one image or a set, any shape) is divided by to lie in [0, 1]:

    * uint8: 255; uint16 with a value above 255: 65,535 (16 bits, either byte order);
    * bool: 1 (ink or not);
    * any other numbers (uint16 of 8-bit values, signed integers, floats): 1 where they lie in
      [0, 1], 255 where they lie in 0..255 beyond 2; within :data:`ROUNDING` of the range is
      taken (the caller clips), a resampling's overshoot.

    Raises:
        ValueError: for NaN or infinite values, or values in neither range (a top of 1..2 could be
            either: a bright [0, 1] image's overshoot or a black 0..255 one).
    """
    if (top := full_range(array)) is not None:
        return top
    if array.dtype == bool:
        return 1.0
    if array.dtype.kind not in "uif":
        raise ValueError(f"pixels of {array.dtype} are not numbers idk reads")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError("holds NaN or infinite pixel values")
    low, high = float(array.min()), float(array.max())
    if low >= -ROUNDING and high <= 1 + ROUNDING:
        return 1.0
    if low >= -ROUNDING and 2 < high <= 255 + ROUNDING:
        return 255.0
    raise ValueError(f"pixel values span {low + 0.0:.6g}..{high + 0.0:.6g}; pixels lie in [0, 1] or in 0..255")


def full_range(array: np.ndarray) -> float | None:
    """The full range an unsigned-integer image array is read by: 255 for uint8, 65,535 for uint16
    holding a value above 255 (16 bits, either byte order); None otherwise, uint16 of 8-bit values
    included (:func:`unit_divisor` reads them as numbers in [0, 1] or 0..255)."""
    if array.dtype.kind != "u" or array.dtype.itemsize not in (1, 2):
        return None
    return float(np.iinfo(array.dtype).max) if array.dtype.itemsize == 1 or array.max() > 255 else None


def laid_on_white(rgb: Pixels, alpha: Pixels) -> Pixels:
    """Grey or colour pixels with their opacity in [0, 1] (arrays or tensors that broadcast) laid on a white
    page, as a transparent file is read (:func:`_on_white`): rgb·α + (1 − α)."""
    return rgb * alpha + (1 - alpha)


def is_colour(rgb: np.ndarray) -> bool:
    """Whether RGB pixels (H, W, 3) hold colour (their channels differ somewhere)."""
    return bool(np.abs(rgb[..., 0] - rgb[..., 1]).max() > 1e-3 or np.abs(rgb[..., 1] - rgb[..., 2]).max() > 1e-3)


def _to_rgb(img: Image.Image) -> np.ndarray:
    if img.width == 0 or img.height == 0:
        raise ValueError("image has no pixels")
    if img.mode in (*DEEP_MODES, "L", "1", "LA"):
        grey = _to_grey(img)
        return np.repeat(grey[..., None], 3, axis=-1)
    return np.asarray(_on_white(img).convert("RGB"), dtype=np.float32) / 255.0


def _on_white(img: Image.Image) -> Image.Image:
    """Palette, CMYK and transparent images as RGB(A) laid on a white page."""
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode == "CMYK":
        img = img.convert("RGB")
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        rgba = img if img.mode == "RGBA" else img.convert("RGBA")  # a palette image is RGBA by now
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img


def _to_grey(img: Image.Image) -> np.ndarray:
    if img.width == 0 or img.height == 0:
        raise ValueError("image has no pixels")
    if img.mode in DEEP_MODES:
        arr = np.asarray(img, dtype=np.float64)
        if not np.isfinite(arr).all():
            raise NonFinitePixels
        if img.mode == "F" and arr.size and arr.max() <= 1.0:  # a float image in [0, 1] (small negatives clipped)
            return np.clip(arr, 0, 1).astype(np.float32)
        # 16-bit: its full range; a 32-bit integer or float image: 8 or 16 bits' full range where it
        # holds the values, else its own (robust) peak: a scientific camera's counts have no standard
        # range, and one hot pixel must not darken the rest to a blank page
        peak = float(np.percentile(arr, ROBUST_PEAK)) if arr.size else 0.0
        top = 65535.0 if img.mode.startswith("I;16") else next((r for r in FULL_RANGES if peak <= r), peak)
        return np.clip(arr / top, 0, 1).astype(np.float32)
    img = _on_white(img)
    grey = ImageOps.grayscale(img.convert("RGB")) if img.mode != "L" else img
    return np.asarray(grey, dtype=np.float32) / 255.0
