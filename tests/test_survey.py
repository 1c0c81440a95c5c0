"""A folder's images surveyed before they are converted: sizes as read, colour decoded only while
it is not yet found (folders.read_folder's first look)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from idk.data import imaging, reading, survey
from idk.data.folders import read_folder
from idk.data.imaging import read_image
from idk.data.survey import survey_image
from idk.errors import ImageError


def _save(img: Image.Image, path, **options):
    img.save(path, **options)
    return path


def _files(tmp_path) -> list:
    """Files of every kind a folder may mix: modes, formats, frames, EXIF orientations."""
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (30, 50, 3), dtype=np.uint8))
    grey = Image.fromarray(rng.integers(0, 256, (30, 50), dtype=np.uint8))
    turned = rgb.getexif()
    turned[0x0112] = 6  # shown turned a quarter: 50 high, 30 wide
    paths = [
        _save(rgb, tmp_path / "rgb.png"),
        _save(grey, tmp_path / "grey.png"),
        _save(grey.convert("RGB"), tmp_path / "grey-as-rgb.jpg"),
        _save(rgb.convert("P"), tmp_path / "palette.gif"),
        _save(rgb.convert("RGBA"), tmp_path / "rgba.webp"),
        _save(rgb.convert("CMYK"), tmp_path / "cmyk.jpg"),
        _save(Image.fromarray((rng.random((20, 40)) * 65535).astype(np.uint16)), tmp_path / "deep.tif"),
        _save(rgb, tmp_path / "turned.jpg", exif=turned),
        _save(grey.convert("LA"), tmp_path / "grey-alpha.png"),
        _save(rgb, tmp_path / "pages.tif", save_all=True, append_images=[grey.convert("RGB").resize((10, 10))]),
    ]
    tiff_turned = grey.getexif()
    tiff_turned[0x0112] = 6  # PIL turns a TIFF's size as it opens it: not to be turned again
    paths.append(_save(grey, tmp_path / "turned.tif", exif=tiff_turned))
    png_turned = io.BytesIO()
    rgb.save(png_turned, format="PNG", exif=turned)
    (tmp_path / "turned.png").write_bytes(png_turned.getvalue())
    return [*paths, tmp_path / "turned.png"]


def test_the_surveyed_size_is_the_decoded_size_and_colour_is_told_as_decoding_tells(tmp_path):
    for path in _files(tmp_path):
        pixels, _ = read_image(path, colour=True)
        size, colour = survey_image(path, look_for_colour=True)
        assert size == pixels.shape[:2], path.name
        assert colour == imaging.is_colour(pixels), path.name
    assert survey_image(tmp_path / "turned.jpg", True)[0] == (50, 30)  # upright, as read


def test_a_large_jpeg_is_surveyed_at_its_drafted_size(tmp_path, monkeypatch):
    monkeypatch.setattr(imaging, "MAX_PIXELS", 1000)
    monkeypatch.setattr(imaging, "DRAFT_SIDE", 64)
    path = _save(Image.new("RGB", (400, 300), (200, 10, 10)), tmp_path / "big.jpg")
    pixels, _ = read_image(path, colour=True)
    assert pixels.shape[:2] == (75, 100)  # decoded at a quarter: its longer side ≥ 64
    assert survey_image(path, look_for_colour=False) == ((75, 100), None)


def test_colour_is_decoded_only_where_a_mode_may_hold_it_and_while_asked(tmp_path, monkeypatch):
    grey = _save(Image.new("L", (8, 6), 90), tmp_path / "grey.png")
    rgb = _save(Image.new("RGB", (8, 6), (1, 2, 3)), tmp_path / "rgb.png")
    decoded: list[str] = []
    monkeypatch.setattr(survey, "read_image", lambda p, **k: decoded.append(k["name"]) or read_image(p, **k))
    assert survey_image(grey, True) == ((6, 8), False) and decoded == []  # a grey mode: no colour, not decoded
    assert survey_image(rgb, False) == ((6, 8), None) and decoded == []  # not asked
    assert survey_image(rgb, True) == ((6, 8), True) and decoded == [str(rgb)]


def test_a_broken_file_is_refused_at_its_header_or_left_for_its_conversion(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_bytes(b"not an image")
    for name, reason in (("empty.png", "empty file"), ("text.png", "not an image file")):
        with pytest.raises(ImageError, match=reason):
            survey_image(tmp_path / name, True)
    whole = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (60, 60, 3), dtype=np.uint8)).save(whole, "PNG")
    (tmp_path / "cut.png").write_bytes(whole.getvalue()[:300])  # its header whole, its pixels cut short
    assert survey_image(tmp_path / "cut.png", False) == ((60, 60), None)  # not decoded: not yet known
    with pytest.raises(ImageError, match="truncated or corrupted"):
        survey_image(tmp_path / "cut.png", True)


def test_a_colour_folder_is_decoded_once_and_a_file_cut_short_is_skipped_in_order(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(4):
            pixels = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / cls / f"{i}.png")
    whole = (tmp_path / "b" / "2.png").read_bytes()
    (tmp_path / "b" / "2.png").write_bytes(whole[:200])  # found when converted (the set is colour by then)
    (tmp_path / "a" / "0.txt").write_text("no image")
    decoded: list[str] = []
    real = reading.read_image
    monkeypatch.setattr(reading, "read_image", lambda p, **k: decoded.append(p.name) or real(p, **k))
    monkeypatch.setattr(survey, "read_image", lambda p, **k: decoded.append(k["name"]) or read_image(p, **k))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # in one thread: the first file's colour decides
    try:
        said: list[str] = []
        data = read_folder(tmp_path, "colour", warn=said.append, require_labels=True)
    finally:
        torch.set_num_threads(threads)
    assert len(decoded) == 1 + 8  # the first file surveyed, then the 8 images converted (one fails)
    assert data.spec.channels == 3 and len(data) == 7 and data.labels.tolist() == [0] * 4 + [1] * 3
    skipped = next(line for line in said if "skipped" in line)
    assert skipped.index("a/0.txt") < skipped.index("b/2.png")  # in the listing's order
    for i, (cls, name) in enumerate([("a", n) for n in "0123"] + [("b", n) for n in "013"]):
        pixels, _ = read_image(tmp_path / cls / f"{name}.png", colour=True)
        assert torch.equal(data.pixels(i), torch.from_numpy(pixels).permute(2, 0, 1)), (cls, name)


def test_a_png_without_exif_or_xmp_is_not_decoded_to_find_its_orientation(tmp_path, monkeypatch):
    """PIL looks for a PNG's EXIF after its pixels, decoding them; bytes that hold none are not."""
    from PIL import PngImagePlugin

    plain = _save(Image.new("RGB", (8, 6), (1, 2, 3)), tmp_path / "plain.png")
    turned = Image.new("RGB", (8, 6)).getexif()
    turned[0x0112] = 8
    with_exif = _save(Image.new("RGB", (8, 6), (1, 2, 3)), tmp_path / "turned.png", exif=turned)
    assert survey_image(with_exif, look_for_colour=False) == ((8, 6), None)  # read, and turned
    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", lambda self: pytest.fail("decoded"))
    assert survey_image(plain, look_for_colour=False) == ((6, 8), None)


def test_images_whose_pixels_fail_choose_no_frame(tmp_path):
    """Five 40×60 float TIFFs holding NaN (a grey mode: not decoded by the survey) beside four good
    20×30 images: refused when converted, and the frame is the good images' own, as if never listed."""
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(2):
            Image.fromarray(np.full((20, 30), 60 * (i + 1), np.uint8)).save(tmp_path / cls / f"{i}.png")
    for i in range(5):
        nan = np.full((40, 60), 0.5, np.float32)
        nan[0, 0] = np.nan
        Image.fromarray(nan, mode="F").save(tmp_path / "b" / f"nan{i}.tif")
    said: list[str] = []
    data = read_folder(tmp_path, "nan", warn=said.append, require_labels=True)
    assert (data.spec.height, data.spec.width) == (20, 30) and len(data) == 4
    assert not any("resized" in line for line in said)  # the good images taken as they are
    assert any("skipped 5 unreadable" in line and "b/nan0.tif (holds NaN" in line for line in said)
