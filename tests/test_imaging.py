"""The image loader: MNIST-style preparation, every bad input a clear error, no crash on any bytes."""

from __future__ import annotations

import io
import os
import pickle
import struct
import threading
import zlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from helpers import MNIST_SPEC
from idk.data.imaging import MAX_JPEG_PIXELS, MAX_PIXELS, image_source, open_image, pixels_from_array
from idk.data.preparation import prepare, to_mnist
from idk.errors import DataError, ImageError


def _for_mnist(source):
    """An image file prepared for a 28×28 MNIST model, as idk predict prepares it."""
    return prepare(source, MNIST_SPEC)


def _save(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _png16(channels: np.ndarray) -> bytes:
    """A PNG of bit depth 16 from uint16 (H, W, 2) (grey with alpha, colour type 4) or (H, W, 3)
    (RGB, colour type 2): Pillow writes neither."""
    h, w, c = channels.shape
    rows = b"".join(b"\x00" + channels[y].astype(">u2").tobytes() for y in range(h))  # filter 0 each row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 16, {2: 4, 3: 2}[c], 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _bmp565(w: int, h: int, pixel: int) -> bytes:
    """A BMP of 16 bits a pixel (5-6-5 bit fields), every pixel ``pixel``: 8 bits a channel or fewer."""
    pixels = struct.pack("<H", pixel) * (w * h)  # rows of 4 bytes' multiple for even w
    dib = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 16, 3, len(pixels), 2835, 2835, 0, 0)
    dib += struct.pack("<III", 0xF800, 0x07E0, 0x001F)
    start = 14 + len(dib)
    return b"BM" + struct.pack("<IHHI", start + len(pixels), 0, 0, start) + dib + pixels


def _digit_on_paper(digit: np.ndarray, scale: int = 10) -> Image.Image:
    """An MNIST digit drawn black on white at ``scale``× size, in RGB."""
    big = np.kron(digit, np.ones((scale, scale)))
    return Image.fromarray((255 * (1 - big)).astype(np.uint8)).convert("RGB")


def test_large_black_on_white_jpeg_becomes_mnist_like(mnist_test):
    digit = mnist_test.images[0, 0].numpy()
    prepared = _for_mnist(_save(_digit_on_paper(digit), "JPEG", quality=90))
    assert prepared.inverted and not prepared.blank
    px = prepared.pixels[0]
    assert prepared.pixels.shape == (1, 28, 28) and px.dtype == np.float32 and 0 <= px.min() and px.max() <= 1
    rows, cols = np.nonzero(px > 0.25)
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) <= 20  # fits the 20×20 box
    cy, cx = (np.indices(px.shape) * px).reshape(2, -1).sum(1) / px.sum()
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1  # centred by mass
    assert np.corrcoef(px.ravel(), digit.ravel())[0, 1] > 0.6


def test_mnist_sized_dark_image_is_taken_as_is(mnist_test):
    digit = mnist_test.images[1, 0].numpy()
    prepared = _for_mnist(_save(Image.fromarray((digit * 255).astype(np.uint8))))
    np.testing.assert_allclose(prepared.pixels[0], digit, atol=1 / 255)


def test_blank_page_is_blank():
    assert _for_mnist(_save(Image.new("L", (300, 200), 255))).blank
    assert _for_mnist(_save(Image.new("RGB", (50, 50), (0, 0, 0)))).blank


def _bar(mode: str) -> Image.Image:
    """A dark vertical bar on a light (or transparent) 60×40 background, in ``mode``."""
    grey = np.full((40, 60), 255, np.uint8)
    grey[10:30, 28:32] = 0
    base = Image.fromarray(grey)
    if mode == "I;16":
        return Image.fromarray(grey.astype(np.uint16) * 257)
    if mode in ("RGBA", "LA"):
        alpha = Image.fromarray(np.where(grey == 0, 255, 0).astype(np.uint8))
        img = base.convert(mode)
        img.putalpha(alpha)
        return img
    return base.convert("RGB").convert(mode)


@pytest.mark.parametrize("mode", ["I;16", "CMYK", "RGBA", "LA", "P", "1", "RGB"])
def test_unusual_modes_are_read(mode):
    img = _bar(mode)
    grey = open_image(_save(img, "TIFF" if mode == "CMYK" else "PNG"))
    assert grey.shape == (40, 60) and 0 <= grey.min() and grey.max() <= 1
    prepared = to_mnist(grey)
    assert prepared.inverted and not prepared.blank and prepared.pixels.max() > 0.5
    assert prepared.pixels[0, :, :8].max() == 0  # a thin bar stays in the middle


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "GIF", "WEBP"])
def test_formats(fmt):
    img = Image.new("RGB", (80, 80), "white")
    img.paste((0, 0, 0), (30, 10, 45, 70))
    assert not _for_mnist(_save(img, fmt)).blank


def test_bad_inputs_are_clear_errors(tmp_path):
    (tmp_path / "text.png").write_text("this is not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    data = _save(Image.new("RGB", (200, 200), "white"), "PNG")
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "header.png").write_bytes(data[:30])  # its signature and half its header: was "not an image"
    (tmp_path / "cut.webp").write_bytes(b"RIFF\0\0\0\0WEBPxx")  # a WebP header, no image after it
    cases = {
        tmp_path / "text.png": "not an image",
        tmp_path / "empty.png": "empty file",
        tmp_path / "cut.png": "truncated or corrupted",
        tmp_path / "header.png": "truncated or corrupted PNG",
        tmp_path / "cut.webp": "truncated or corrupted WebP",
        tmp_path / "missing.png": "no such file",
        tmp_path: "is a directory",
    }
    for path, needle in cases.items():
        with pytest.raises(ImageError, match=needle) as err:
            _for_mnist(path)
        assert str(err.value) == f"{path}: {err.value.reason}" and err.value.name == str(path)
        assert needle in err.value.reason and str(path) not in err.value.reason  # the reason alone
        again = pickle.loads(pickle.dumps(err.value))  # e.g. from a worker process: both parts kept
        assert (type(again), again.name, again.reason) == (ImageError, err.value.name, err.value.reason)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_pixels_of_a_float_tiff_are_refused(tmp_path, value):
    floats = np.full((40, 40), 0.5, np.float32)
    floats[3, 4] = value
    Image.fromarray(floats, mode="F").save(tmp_path / "x.tif")
    for colour in (False, True):
        with pytest.raises(ImageError, match="NaN or infinite") as err:
            open_image(tmp_path / "x.tif", colour=colour)
        assert str(tmp_path / "x.tif") in str(err.value)


@pytest.mark.parametrize(
    ("peak", "top"), [(200, 255.0), (40_000, 65535.0), (3_000_000, 3_000_000.0), (2_000_000_000, 2_000_000_000.0)]
)
def test_a_32_bit_integer_tiff_is_read_in_8_or_16_bits_range_or_else_by_its_peak(tmp_path, peak, top):
    values = np.zeros((40, 40), np.int32)
    values[10:30, 18:22] = peak  # a bar, and a fainter one beside it
    values[10:30, 24:26] = peak // 2
    Image.fromarray(values, mode="I").save(tmp_path / "x.tif")
    assert Image.open(tmp_path / "x.tif").mode == "I"
    grey = open_image(tmp_path / "x.tif", colour=False)
    assert grey.max() == pytest.approx(peak / top, rel=1e-5)  # not clipped at 16 bits' full range
    assert grey[20, 25] == pytest.approx((peak // 2) / top, rel=1e-5)
    if peak > 65535:  # read by its peak, it is a digit-like bar, not a blank page
        prepared = _for_mnist(tmp_path / "x.tif")
        assert not prepared.blank and prepared.pixels.max() == pytest.approx(1.0, abs=0.02)
        values[0, 0] = 2**31 - 1  # one hot pixel: clipped, the bar still read by its own level
        Image.fromarray(values, mode="I").save(tmp_path / "hot.tif")
        grey = open_image(tmp_path / "hot.tif", colour=False)
        assert grey[0, 0] == 1 and grey[20, 20] == pytest.approx(1.0) and grey[20, 25] == pytest.approx(0.5, abs=1e-3)


def test_decompression_bomb_is_refused(tmp_path):
    # a 30,000 × 30,000 PNG compresses to a few hundred kB; it must be refused before decoding
    path = tmp_path / "bomb.png"
    Image.new("1", (30_000, 30_000), 1).save(path)
    with pytest.raises(ImageError, match="too large|too many pixels"):
        _for_mnist(path)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_crash(data):
    try:
        prepared = _for_mnist(data)
    except ImageError:
        return
    assert prepared.pixels.shape == (1, 28, 28) and np.isfinite(prepared.pixels).all()


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=512), st.integers(0, 2000))
def test_corrupted_real_images_never_crash(noise, at):
    data = bytearray(_save(Image.new("RGB", (40, 30), "white"), "PNG"))
    at = at % len(data)
    data[at : at + len(noise)] = noise
    try:
        _for_mnist(bytes(data))
    except ImageError:
        pass


def test_a_phone_photo_is_read_upright_as_its_exif_orientation_says():
    """Stored 20 wide and 10 high with orientation 6 (turn 90° clockwise to show): read 10 wide,
    20 high, its dark left column now on top, as every viewer shows it."""
    stored = np.full((10, 20), 255, np.uint8)
    stored[:, :3] = 0  # a dark band at the stored image's left
    img = Image.fromarray(stored)
    exif = img.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90° CW to display
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif, quality=95)
    pixels = open_image(buf.getvalue())
    assert pixels.shape == (20, 10)
    assert pixels[:3].mean() < 0.2 and pixels[-3:].mean() > 0.8  # the band is on top
    plain = io.BytesIO()
    img.save(plain, format="JPEG", quality=95)  # no orientation: as stored
    assert open_image(plain.getvalue()).shape == (10, 20)


def test_a_float_tiff_in_zero_to_one_is_taken_as_it_is(tmp_path):
    values = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    Image.fromarray(values).save(tmp_path / "f.tif")
    assert np.allclose(open_image(tmp_path / "f.tif"), values)  # not divided by 255 (black)
    Image.fromarray(values * 255).save(tmp_path / "f255.tif")  # a float image of 0..255
    assert np.allclose(open_image(tmp_path / "f255.tif"), values, atol=1e-6)
    Image.fromarray(values - 0.001).save(tmp_path / "under.tif")  # after processing, a little below 0
    assert np.allclose(open_image(tmp_path / "under.tif"), np.clip(values - 0.001, 0, 1))


def test_arrays_of_pixels_are_read_as_a_file_would_be():
    grey = np.linspace(0, 1, 12, dtype=np.float64).reshape(3, 4)
    np.testing.assert_allclose(pixels_from_array(grey), grey.astype(np.float32))
    assert pixels_from_array(grey).dtype == np.float32
    np.testing.assert_allclose(pixels_from_array((grey * 255).round().astype(np.uint8)), grey, atol=1 / 255)
    np.testing.assert_allclose(pixels_from_array((grey * 65535).round().astype(np.uint16)), grey, atol=1 / 65535)
    assert pixels_from_array(grey[..., None]).shape == (3, 4)  # (H, W, 1): greyscale
    overshoot = grey + np.where(grey == 1, 1e-4, 0) - np.where(grey == 0, 1e-4, 0)  # a bicubic resize's
    np.testing.assert_allclose(pixels_from_array(overshoot), grey.astype(np.float32))  # clipped, not refused
    big_endian = (grey * 65535).round().astype(">u2")
    np.testing.assert_allclose(pixels_from_array(big_endian), grey, atol=1 / 65535)
    rgba = np.zeros((3, 4, 4), np.uint8)
    rgba[0, 0] = (0, 0, 0, 255)  # one opaque black pixel, the rest transparent: laid on white
    rgb = pixels_from_array(rgba)
    assert rgb.shape == (3, 4, 3) and rgb[0, 0].max() == 0 and rgb[1:].min() == 1
    assert np.array_equal(pixels_from_array(grey > 0.5), (grey > 0.5).astype(np.float32))  # binarised: 0 or 1
    la = rgba[..., 2:]  # grey and alpha, as an "LA" file
    assert np.array_equal(pixels_from_array(la), rgb[..., 0])


def test_one_image_is_read_by_the_rule_a_data_set_is_read_by():
    """Signed integers and floats of 0..255 are read as 8 bits, uint16 of 0/1 as ink or not, for one
    image as for a set of them (one image of int64 or float 0..255 was refused that a set took)."""
    from idk.data.arrays import as_images
    from idk.data.images import unit

    grey = np.linspace(0, 1, 12).reshape(3, 4)
    u8 = (grey * 255).round().astype(np.uint8)
    for array in (u8.astype(np.int64), u8.astype(np.float64), u8.astype(np.int16), (grey > 0.5).astype(np.uint16)):
        one = pixels_from_array(array)
        np.testing.assert_array_equal(one, unit(as_images(array[None], "set"))[0, 0].numpy())
    np.testing.assert_allclose(pixels_from_array(u8.astype(np.int64)), pixels_from_array(u8), atol=1e-7)
    assert np.array_equal(pixels_from_array((grey > 0.5).astype(np.uint16)), (grey > 0.5).astype(np.float32))
    with pytest.raises(DataError, match=r"set: pixel values span 0\.5\.\.1\.5; pixels lie in"):
        as_images(np.array([[[0.5, 1.5]]]), "set")  # a set as one image: the same words


@pytest.mark.parametrize(
    ("array", "needle"),
    [
        (np.zeros((0, 0)), "has no pixels"),
        (np.zeros(10), r"shape \(10,\)"),
        (np.zeros((5, 5, 5)), r"an array of shape \(5, 5, 5\); pixels are"),
        (np.zeros((3, 9, 9)), r"shape \(3, 9, 9\): pixels are channels last.*transpose\(1, 2, 0\)"),
        # four images of 80×100 or one RGBA image channels first: both ways out are said
        (np.zeros((4, 80, 100)), r"transpose\(1, 2, 0\)\); if it holds 4 images, give each its own \(name, pixels\)"),
        (
            np.zeros((2, 9, 9, 3)),
            r"shape \(2, 9, 9, 3\) holds 2 images, not one: give each its own \(name, pixels\) pair",
        ),
        (np.zeros((1, 9, 9, 3)), r"shape \(1, 9, 9, 3\) is a batch of one image: give the image, array\[0\]"),
        (np.array([[0.5, np.nan]]), "NaN or infinite"),
        (np.array([[0.5, np.inf]]), "NaN or infinite"),
        (np.array([[-0.5, 0.5]]), r"span -0\.5\.\.0\.5; pixels lie in \[0, 1\] or in 0\.\.255$"),
        (np.array([[0.5, 1.01]]), r"span 0\.5\.\.1\.01; pixels lie in"),  # either a bright overshoot or near black
        (np.array([[0, 300]]), r"span 0\.\.300; pixels lie in"),
        (np.zeros((4, 4), np.complex64), "array of complex64"),
    ],
)
def test_arrays_that_are_no_image_are_refused_with_their_name(array, needle):
    with pytest.raises(ImageError, match=needle) as err:
        image_source(array, "mine")
    assert err.value.name == "mine"


def test_a_pil_image_and_a_tensor_are_read_as_their_file_and_array_are(tmp_path):
    """A library user's image may already be open (PIL) or a tensor: read as its file and its numpy
    array are, the caller's image left as it was; anything else is an ImageError naming its type."""
    stored = np.full((10, 20), 255, np.uint8)
    stored[:, :3] = 0
    img = Image.fromarray(stored)
    exif = img.getexif()
    exif[0x0112] = 6  # shown turned 90° clockwise
    buf = io.BytesIO()
    img.save(buf, format="PNG", exif=exif)
    opened = Image.open(io.BytesIO(buf.getvalue()))
    assert image_source(opened) is opened  # decoded by open_image, as a file is
    np.testing.assert_array_equal(open_image(opened), open_image(buf.getvalue()))  # upright, as the file
    assert opened.size == (20, 10) and opened.getexif()[0x0112] == 6  # the caller's image untouched
    for mode in ("P", "RGBA", "I;16", "F"):  # as their files are read
        converted = Image.fromarray(stored).convert(mode)
        converted.save(tmp_path / f"{mode}.tif")
        for colour in (False, True):
            np.testing.assert_array_equal(open_image(converted, colour), open_image(tmp_path / f"{mode}.tif", colour))
    frames = [Image.new("L", (4, 4), v) for v in (0, 100, 200)]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    animated = Image.open(io.BytesIO(gif.getvalue()))
    animated.seek(2)
    assert open_image(animated).max() == 0 and animated.tell() == 2  # its first frame, as a file's; left at 2
    with Image.open(io.BytesIO(gif.getvalue())) as closed:
        pass
    with pytest.raises(ImageError, match="its file was closed before its pixels were loaded"):
        open_image(closed)
    (tmp_path / "g.gif").write_bytes(gif.getvalue())
    entry = next(e for e in os.scandir(tmp_path) if e.name == "g.gif")  # path-like, not a Path
    np.testing.assert_array_equal(open_image(image_source(entry)), open_image(tmp_path / "g.gif"))
    assert image_source(bytearray(b"\x89PNG")) == b"\x89PNG" and image_source(memoryview(b"ab")) == b"ab"

    grey = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(image_source(torch.from_numpy(grey)), pixels_from_array(grey))
    held = torch.from_numpy(grey).requires_grad_()
    np.testing.assert_array_equal(image_source(held), pixels_from_array(grey))
    brain = torch.from_numpy(grey).bfloat16()  # numpy has no bfloat16: read as float32
    np.testing.assert_array_equal(image_source(brain), pixels_from_array(brain.float().numpy()))
    with pytest.raises(ImageError, match=r"a torch.float32 tensor \(torch.sparse_coo, cpu\) numpy cannot hold"):
        image_source(torch.from_numpy(grey).to_sparse(), "sparse")
    with pytest.raises(
        ImageError, match=r"a tensor of shape \(3, 28, 28\): pixels are channels last.*permute\(1, 2, 0\)"
    ):
        image_source(torch.zeros(3, 28, 28), "chw")
    for thing, what in (([[0.0, 1.0]], "a list"), (7, "an int"), (None, "None")):
        with pytest.raises(ImageError, match=f"{what} is not an image: give a path"):
            image_source(thing)


def test_a_large_jpeg_is_decoded_at_a_fraction_of_its_size_a_large_png_refused(tmp_path, monkeypatch):
    """A phone's 108-megapixel photo, scaled down here: the limits lowered so that a 1200 × 900 JPEG
    stands for it. The JPEG is read by libjpeg's DCT scaling (draft) to a longer side ≥ DRAFT_SIDE
    (300 here: 1200 / 2 = 600 ≥ 300, 1200 / 4 = 300, the largest reduction that keeps it); a PNG
    of the same size has no such decoding and is refused."""
    from idk.data import imaging

    monkeypatch.setattr(imaging, "MAX_PIXELS", 500_000)
    monkeypatch.setattr(imaging, "DRAFT_SIDE", 300)
    photo = Image.new("RGB", (1200, 900), "white")
    photo.paste((0, 0, 0), (500, 300, 700, 600))  # a dark block in the middle
    photo.save(tmp_path / "big.jpg", quality=90)
    photo.save(tmp_path / "big.png")
    pixels = open_image(tmp_path / "big.jpg", colour=True)
    assert pixels.shape == (225, 300, 3)  # 1/4 scale
    monkeypatch.setattr(imaging, "MAX_PIXELS", 1200 * 900)  # at the limit: decoded whole, as any photo is
    assert open_image(tmp_path / "big.jpg", colour=True).shape == (900, 1200, 3)
    monkeypatch.setattr(imaging, "MAX_PIXELS", 500_000)
    assert pixels[112, 150].max() < 0.1 and pixels[10, 10].min() > 0.9  # the block where it was
    with pytest.raises(
        ImageError,
        match=r"too many pixels: 1,080,000 \(900×1200\) is over the limit of 500,000 \(a guard against decompression bombs\); scale it down",
    ):
        open_image(tmp_path / "big.png")
    monkeypatch.setattr(imaging, "MAX_JPEG_PIXELS", 1_000_000)  # over the JPEG limit too: refused
    with pytest.raises(ImageError, match="over the limit of 1,000,000"):
        open_image(tmp_path / "big.jpg")


def test_what_reading_a_file_changed_is_told_with_its_pixels(tmp_path):
    """read_image names transparent pixels laid on white, CMYK, deep greyscale and several frames;
    nothing for a plain image, an opaque alpha channel, or a deep image's transparent colour (not applied)."""
    from idk.data.imaging import read_image

    grey = Image.fromarray(np.full((8, 8), 90, np.uint8))
    see_through = grey.convert("RGBA")
    see_through.putpixel((0, 0), (90, 90, 90, 0))
    palette = grey.convert("P")
    palette.info["transparency"] = palette.getpixel((0, 0))  # every pixel that colour: transparent
    deep = Image.fromarray(np.full((8, 8), 40_000, np.uint16))
    files = {
        "plain.png": (grey, {}, ()),
        "opaque.png": (grey.convert("RGBA"), {}, ()),  # an alpha channel that hides nothing
        "alpha.png": (see_through, {}, ("transparent",)),
        "trns.png": (palette, {"transparency": palette.info["transparency"]}, ("transparent",)),
        "cmyk.jpg": (grey.convert("CMYK"), {}, ("cmyk",)),
        "deep.png": (deep, {}, ("deep",)),
        "deep-trns.png": (deep, {"transparency": 40_000}, ("deep",)),  # read by its range, not laid on white
        "moving.gif": (grey, {"save_all": True, "append_images": [grey.point(lambda v: 255 - v)]}, ("frames",)),
        "still.gif": (grey, {}, ()),
    }
    for name, (image, options, forms) in files.items():
        image.save(tmp_path / name, **options)
        pixels, changed = read_image(tmp_path / name)
        assert changed == forms, name
        np.testing.assert_array_equal(pixels, open_image(tmp_path / name))  # the same pixels as open_image's
    # 16-bit colour (Pillow writes none: a PNG of bit depth 16, colour type 2, written here) is read
    # at 8 bits, each value's high byte
    rgb = np.random.default_rng(0).integers(0, 65536, (4, 5, 3), dtype=np.uint16)
    pixels, changed = read_image(_png16(rgb), colour=True)
    assert changed == ("eight",)
    np.testing.assert_allclose(pixels, (rgb >> 8) / 255.0, atol=1e-6)
    grey_alpha = np.stack([rgb[..., 0], np.full((4, 5), 65535, np.uint16)], axis=-1)  # opaque
    pixels, changed = read_image(_png16(grey_alpha))
    assert changed == ("eight",)
    np.testing.assert_allclose(pixels, (grey_alpha[..., 0] >> 8) / 255.0, atol=1e-6)
    assert read_image(_bmp565(4, 2, 0xF800), colour=True)[1] == ()  # 16 bits a pixel, not a channel: red
    assert read_image(see_through)[1] == ()  # a PIL image given is read as it is


def test_pils_bomb_guard_is_set_while_any_thread_decodes_and_restored_after_the_last():
    """Counted, not saved and restored by each decoding: one thread's end left another thread's
    large JPEG to PIL's own lower limit, and the last one out could leave idk's limit set. (No
    warning filter is touched: the warnings module's filters are process-wide too.)"""
    from idk.data.imaging import _PIL_BOMB_GUARD

    outside = Image.MAX_IMAGE_PIXELS
    first, second = threading.Event(), threading.Event()

    def decode_a_while():
        with _PIL_BOMB_GUARD:
            first.set()
            assert second.wait(10)

    other = threading.Thread(target=decode_a_while)
    other.start()
    assert first.wait(10)
    with _PIL_BOMB_GUARD:
        second.set()
        other.join(10)  # the other thread's decoding ended inside this one's
        assert Image.MAX_IMAGE_PIXELS == max(MAX_PIXELS, MAX_JPEG_PIXELS)
    assert Image.MAX_IMAGE_PIXELS == outside


def test_pils_bomb_warning_is_an_image_error_where_warnings_are_errors(tmp_path, monkeypatch):
    """Past PIL's limit (set to idk's larger one while decoding) PIL warns; under ``-W error`` the
    warning is raised, and is refused as a bomb, not let out raw (a PPM: no header read by hand)."""
    import warnings

    monkeypatch.setattr("idk.data.imaging.MAX_PIXELS", 1000)
    monkeypatch.setattr("idk.data.imaging.MAX_JPEG_PIXELS", 1000)
    Image.new("L", (40, 40)).save(tmp_path / "big.ppm")  # 1,600 pixels: PIL warns past 1,000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageError, match="too many pixels to decode safely"):
            open_image(tmp_path / "big.ppm")
