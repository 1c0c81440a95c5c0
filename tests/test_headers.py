"""An image file's declared size read from its bytes: as PIL reads it, or None."""

from __future__ import annotations

import io
import struct

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
        ("WEBP", "RGB", {}),  # lossy: a VP8 frame's sides
        ("WEBP", "RGBA", {"lossless": True}),  # VP8L
        ("WEBP", "RGBA", {}),  # extended (VP8X): its canvas
        ("TIFF", "L", {}),
        ("TIFF", "RGB", {"compression": "tiff_lzw"}),
        ("TIFF", "I;16", {}),
        ("TIFF", "RGB", {"big_tiff": True}),  # BigTIFF: 8-byte offsets and counts
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
    tiff, webp = _file("TIFF", "L", (10, 10)), _file("WEBP", "RGB", (10, 10))
    assert declared_size(tiff[:30]) is None and declared_size(webp[:29]) is None  # the directory, the frame cut short
    assert declared_size(_file("ICO", "RGB", (10, 10))) is None
    assert declared_size(b"not an image at all") is None
    padded = b"\xff\xd8" + b"\xff\xe0\x00\x04xx" * MAX_JPEG_SEGMENTS + jpeg[2:]  # its frame header past the walk
    assert declared_size(padded) is None and Image.open(io.BytesIO(padded)).size == (10, 10)


def test_a_bomb_is_refused_from_its_header_before_pil_opens_it(tmp_path, monkeypatch):
    from idk.data import imaging
    from idk.errors import ImageError

    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("PIL opened it"))
    with pytest.raises(ImageError, match=r"too many pixels: 900,000,000 \(30000×30000\)"):
        imaging.open_image(_file("PNG", "1", (1, 1))[:16] + bytes.fromhex("0000753000007530") + b"\x01\x00\x00\x00\x00")


def _big_endian_tiff(width: int, height: int, kind: int) -> bytes:
    """A big-endian TIFF's header and first directory: its sides of TIFF type ``kind`` (3 SHORT, 4 LONG)."""
    value = struct.pack(">HH", width, 0) if kind == 3 else struct.pack(">I", width)
    entries = struct.pack(">HHI", 256, kind, 1) + value
    value = struct.pack(">HH", height, 0) if kind == 3 else struct.pack(">I", height)
    entries += struct.pack(">HHI", 257, kind, 1) + value
    return b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">H", 2) + entries + bytes(4)


def test_a_big_endian_tiff_declares_its_sides_as_short_or_long():
    assert declared_size(_big_endian_tiff(300, 20, 3)) == ("TIFF", 300, 20)
    assert declared_size(_big_endian_tiff(70_000, 5, 4)) == ("TIFF", 70_000, 5)
    assert declared_size(_big_endian_tiff(3, 4, 4)[:-12]) is None  # its height's entry cut off


def test_a_tiff_side_given_twice_is_read_as_pil_reads_it_and_one_of_several_values_is_not_read():
    """PIL keeps a tag's first entry: so does the header (a small first width, a huge second one)."""
    entries = [(256, 3, 1, struct.pack("<HH", 4, 0)), (256, 4, 1, struct.pack("<I", 50_000_000))]
    entries += [(257, 3, 1, struct.pack("<HH", 3, 0))]
    data = b"II*\x00" + struct.pack("<IH", 8, len(entries))
    data += b"".join(struct.pack("<HHI", *e[:3]) + e[3] for e in entries) + bytes(4)
    assert declared_size(data) == ("TIFF", 4, 3)
    two = b"II*\x00" + struct.pack("<IH", 8, 2) + struct.pack("<HHI", 256, 3, 2) + struct.pack("<I", 100)
    assert declared_size(two + struct.pack("<HHI", 257, 3, 1) + struct.pack("<HH", 3, 0) + bytes(4)) is None


@pytest.mark.parametrize("fmt", ["TIFF", "WEBP"])
def test_a_tiff_or_webp_bomb_is_refused_from_its_header_without_pil_warning(fmt, recwarn, monkeypatch):
    """Between PIL's own limit and twice it, PIL would warn as it opens the file: refused before."""
    from idk.data import imaging
    from idk.errors import ImageError

    data = bytearray(_file(fmt, "RGBA" if fmt == "WEBP" else "L", (10, 10)))
    if fmt == "WEBP":  # its VP8X canvas: 16,384 × 16,384 (268 megapixels)
        data[24:30] = (16_383).to_bytes(3, "little") * 2
    else:  # its first directory's sides, 16,384 × 16,384
        (at,) = struct.unpack("<I", data[4:8])
        for entry in range(at + 2, at + 2 + 12 * struct.unpack("<H", data[at : at + 2])[0], 12):
            if struct.unpack("<H", data[entry : entry + 2])[0] in (256, 257):
                data[entry + 8 : entry + 12] = (
                    struct.pack("<HH", 16_384, 0) if data[entry + 2] == 3 else struct.pack("<I", 16_384)
                )
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("PIL opened it"))
    with pytest.raises(ImageError, match=r"too many pixels: 268,435,456 \(16384×16384\)"):
        imaging.open_image(bytes(data))
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]
