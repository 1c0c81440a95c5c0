"""An image file's declared size read from its bytes: as PIL reads it, or None."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from idk.data.headers import MAX_JPEG_SEGMENTS, declared_size


def _file(fmt: str, mode: str, size: tuple[int, int], **options) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, format=fmt, **options)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mode", "options"),
    [
        ("PNG", "L", {}),
        ("PNG", "1", {}),
        ("PNG", "RGBA", {}),
        ("GIF", "P", {}),
        ("BMP", "RGB", {}),
        ("BMP", "1", {}),
        ("JPEG", "L", {}),
        ("JPEG", "RGB", {"progressive": True}),
        ("JPEG", "RGB", {"icc_profile": b"x" * 70_000, "exif": b"Exif\x00\x00" + bytes(100)}),  # segments first
    ],
)
def test_the_declared_size_is_what_pil_reads(fmt, mode, options):
    rng = np.random.default_rng(0)
    for _ in range(5):
        size = (int(rng.integers(1, 3000)), int(rng.integers(1, 3000)))
        data = _file(fmt, mode, size, **options)
        assert declared_size(data) == (fmt, *size) == (fmt, *Image.open(io.BytesIO(data)).size)


def test_headers_cut_short_other_formats_and_long_walks_are_unknown():
    png, jpeg = _file("PNG", "L", (10, 10)), _file("JPEG", "L", (10, 10))
    assert [declared_size(png[:cut]) for cut in (0, 8, 16, 23)] == [None] * 4 and declared_size(png[:24])
    assert declared_size(jpeg[:4]) is None and declared_size(jpeg) == ("JPEG", 10, 10)
    assert declared_size(_file("TIFF", "L", (10, 10))) is None and declared_size(_file("WEBP", "RGB", (10, 10))) is None
    assert declared_size(b"not an image at all") is None
    padded = b"\xff\xd8" + b"\xff\xe0\x00\x04xx" * MAX_JPEG_SEGMENTS + jpeg[2:]  # its frame header past the walk
    assert declared_size(padded) is None and Image.open(io.BytesIO(padded)).size == (10, 10)


def test_a_bomb_is_refused_from_its_header_before_pil_opens_it(tmp_path, monkeypatch):
    from idk.data import imaging
    from idk.errors import ImageError

    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("PIL opened it"))
    with pytest.raises(ImageError, match=r"too many pixels: 900,000,000 \(30000×30000\)"):
        imaging.open_image(_file("PNG", "1", (1, 1))[:16] + bytes.fromhex("0000753000007530") + b"\x01\x00\x00\x00\x00")
