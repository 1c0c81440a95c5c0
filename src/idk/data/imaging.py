"""Read any image a user has and bring it to MNIST's form, the way MNIST itself was made.

MNIST digits are white strokes on black, cropped to the ink's bounding box, scaled to fit 20×20
keeping the aspect ratio, and centred by centre of mass in a 28×28 frame (LeCun et al.). An image
that is already 28×28 on a dark background is taken as it is.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from idk.errors import ImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
MAX_PIXELS = 40_000_000  # larger images are refused as decompression bombs
INK_LEVEL = 0.25  # a pixel is ink when it is this far above the background (after inversion)
MNIST_CENTRE = 14.0  # MNIST digits have their centre of mass at pixel (14, 14) (measured on the test set)


@dataclass(frozen=True)
class PreparedImage:
    """A 28×28 float32 image in [0, 1], white ink on black, and what preparing it found."""

    pixels: np.ndarray  # (28, 28) float32
    inverted: bool
    blank: bool  # no ink found: nothing to classify


def open_image(source: str | Path | bytes) -> np.ndarray:
    """Decode an image file (or its bytes) into a float32 greyscale array in [0, 1], shape (H, W).

    Handles palette, 16-bit, CMYK, colour and transparent images (transparency is laid on white).

    Raises:
        ImageError: for a missing, empty, truncated, non-image or oversized (bomb) input.
    """
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source)
        if not path.exists():
            raise ImageError(f"{name}: no such file")
        if path.is_dir():
            raise ImageError(f"{name}: is a directory, not an image")
        data = path.read_bytes()
    if not data:
        raise ImageError(f"{name}: empty file, not an image")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS
        try:
            with Image.open(io.BytesIO(data)) as img:
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise ImageError(f"{name}: {w}×{h} pixels is too large (limit {MAX_PIXELS:,})")
                img.seek(0)
                img.load()
                return _to_grey(img)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise ImageError(f"{name}: refused as a decompression bomb ({err})") from None
        except UnidentifiedImageError:
            raise ImageError(f"{name}: not an image PIL can read (PNG, JPEG, BMP, GIF, WebP, TIFF)") from None
        except (OSError, SyntaxError, ValueError, EOFError) as err:
            raise ImageError(f"{name}: truncated or corrupted image ({err})") from None
        finally:
            Image.MAX_IMAGE_PIXELS = previous


def _to_grey(img: Image.Image) -> np.ndarray:
    if img.width == 0 or img.height == 0:
        raise ValueError("image has no pixels")
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        return np.clip(arr / top, 0, 1).astype(np.float32)
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode == "CMYK":
        img = img.convert("RGB")
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    grey = ImageOps.grayscale(img.convert("RGB")) if img.mode != "L" else img
    return np.asarray(grey, dtype=np.float32) / 255.0


def to_mnist(grey: np.ndarray) -> PreparedImage:
    """Bring a greyscale image (H, W) in [0, 1] to MNIST's 28×28 form.

    Steps: invert when the background (median of the border) is light; rescale so background is 0
    and the brightest ink 1; crop to the ink's bounding box; fit into 20×20 keeping the aspect
    ratio; place in 28×28 with the centre of mass at the centre.
    """
    grey = np.asarray(grey, dtype=np.float32)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    inverted = background > 0.5
    img = 1.0 - grey if inverted else grey
    background = 1.0 - background if inverted else background
    if grey.shape == (28, 28) and not inverted:
        return PreparedImage(img.astype(np.float32), False, bool(img.max() - background < INK_LEVEL))
    peak = float(img.max())
    if peak - background < INK_LEVEL:
        return PreparedImage(np.zeros((28, 28), np.float32), inverted, True)
    img = np.clip((img - background) / (peak - background), 0.0, 1.0)
    rows = np.flatnonzero((img > INK_LEVEL).any(axis=1))
    cols = np.flatnonzero((img > INK_LEVEL).any(axis=0))
    img = img[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = img.shape
    scale = 20.0 / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = Image.fromarray((img * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS)
    small = np.asarray(small, dtype=np.float32) / 255.0
    return PreparedImage(_centre_by_mass(small), inverted, False)


def _centre_by_mass(small: np.ndarray) -> np.ndarray:
    h, w = small.shape
    total = small.sum()
    ys, xs = np.indices(small.shape)
    cy = (ys * small).sum() / total if total > 0 else (h - 1) / 2
    cx = (xs * small).sum() / total if total > 0 else (w - 1) / 2
    top = int(np.clip(round(MNIST_CENTRE - cy), 0, 28 - h))
    left = int(np.clip(round(MNIST_CENTRE - cx), 0, 28 - w))
    out = np.zeros((28, 28), np.float32)
    out[top : top + h, left : left + w] = small
    return out


def load_for_mnist(source: str | Path | bytes) -> PreparedImage:
    """Open an image file and prepare it for an MNIST model (see :func:`to_mnist`)."""
    return to_mnist(open_image(source))


def list_images(paths: list[str]) -> list[Path]:
    """Expand files, folders (recursively) and glob patterns to image paths, in a stable order.

    A path that does not exist is kept, so that the caller reports it in its place.
    """
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
            )
            if not found:
                raise ImageError(f"{raw}: directory has no images ({', '.join(IMAGE_SUFFIXES)})")
            out.extend(found)
        elif any(ch in raw for ch in "*?[") and not path.exists():
            matches = (
                sorted(Path().glob(raw))
                if not path.is_absolute()
                else sorted(Path(path.anchor).glob(str(path.relative_to(path.anchor))))
            )
            if not matches:
                raise ImageError(f"{raw}: pattern matches no files")
            out.extend(m for m in matches if m.is_file())
        else:
            out.append(path)
    return out
