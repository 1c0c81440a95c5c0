"""A folder's images surveyed before they are converted: each file's size as it will be read, and
whether it holds colour, decoding no more than that needs.

A folder given without a form is read twice: once to choose the frame (the usual size) and the
channels (colour when any image is), once to bring every image to them. The first look needs
no pixels for the size: PIL opens a file lazily, its header gives the size (a large JPEG's drafted
size, turned as its EXIF orientation says), and a greyscale mode holds no colour. Only a file of
a mode that may hold colour (RGB, palette, CMYK ...) is decoded, and only until one image with
colour is found: the set is colour then, whatever the others hold. A folder of colour photos is so
decoded once instead of twice. Pixels a header does not reveal as broken (a truncated file, a
float image holding NaN) are found when the image is converted: skipped there, and where they had
chosen another frame, the others are converted again in their own (``read_folder``).
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import ExifTags, Image

from idk.data.imaging import decoding, drafted, file_bytes, is_colour, read_image

# modes of one grey channel (with or without alpha): no colour, whatever their pixels
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "F", "I;16", "I;16B", "I;16L", "I;16N"})
TURNED = (5, 6, 7, 8)  # EXIF orientations that turn an image a quarter: its height and width swap
# what a PNG holding an orientation holds somewhere (an eXIf chunk, a text chunk "exif" or "Raw
# profile type exif", XMP): PIL looks for the EXIF after the pixels, decoding them; a file without
# any of these bytes has none to look for
PNG_ORIENTATION_MARKS = (b"eXIf", b"exif", b"xmp")


def survey_image(
    path: str | Path, look_for_colour: bool, name: str | None = None
) -> tuple[tuple[int, int], bool | None]:
    """A file's size (H, W) as :func:`~idk.data.imaging.read_image` will return its pixels (a
    large JPEG at its drafted size, upright as its EXIF orientation says), and whether it holds
    colour: False for a greyscale mode (not decoded); where its mode may hold colour, decoded and
    told when ``look_for_colour``, else None (not decoded: a colour image was found already).

    Raises:
        ImageError: naming ``name`` (default ``path``), for a file that is missing, empty, not an
            image, or over the pixel limit; broken pixels beyond its header are not looked for.
    """
    name = name or str(path)
    data = file_bytes(path, name)
    with decoding(name, data), Image.open(io.BytesIO(data)) as img:
        drafted(img, name)
        size = upright_size(img, data)
        if img.mode in GREY_MODES:
            return size, False
        if not look_for_colour:
            return size, None
    pixels, _ = read_image(data, colour=True, name=name)
    return pixels.shape[:2], is_colour(pixels)


def upright_size(img: Image.Image, data: bytes) -> tuple[int, int]:
    """(H, W) of an opened image as it is read: its sides swapped where its EXIF orientation turns
    it a quarter (PIL's ``exif_transpose``, which :func:`~idk.data.imaging.read_image` applies); as
    stored where the EXIF block cannot be read (read_image then leaves it as stored too). ``data``:
    the file's bytes, by which a PNG is known to hold no orientation without decoding its pixels."""
    width, height = img.size
    if img.format == "TIFF":  # PIL turns a TIFF's size as it opens it (and its pixels as it loads them)
        return height, width
    if img.format == "PNG" and not any(mark in data for mark in PNG_ORIENTATION_MARKS):
        return height, width
    try:
        orientation = img.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # a broken EXIF block: the image as stored
        orientation = 1
    return (width, height) if orientation in TURNED else (height, width)
