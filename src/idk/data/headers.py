"""An image file's size as its header declares it, read from the bytes without decoding them.

PIL's ``Image.open`` reads more than the size: a PNG's compressed text chunks are inflated there
(up to 64 MiB of text hidden in a file of kilobytes). Reading the few bytes that hold the size
costs microseconds, whatever else the file holds: the web service asks it on its event loop
before choosing where a file is decoded, and a file refused for its size is refused before PIL
opens it.
"""

from __future__ import annotations

import struct

MAX_JPEG_SEGMENTS = 64  # a JPEG's segments read before its frame header; past them its size is unknown
# a JPEG's start-of-frame markers (0xC0–0xCF but DHT 0xC4, JPG 0xC8 and DAC 0xCC), which hold its size
_JPEG_FRAMES = {m for m in range(0xC0, 0xD0) if m not in (0xC4, 0xC8, 0xCC)}
_JPEG_BARE = {0x01, *range(0xD0, 0xD9)}  # markers without a length: TEM, RSTn, SOI (EOI ends the walk)


def declared_size(data: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) as a PNG's, GIF's, BMP's, JPEG's, WebP's or TIFF's header declares
    them (a TIFF's first page); None for other formats, and for a header cut short, a JPEG's not
    read within :data:`MAX_JPEG_SEGMENTS`, or a TIFF's first directory not among ``data``."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "PNG", width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])  # the logical screen: what PIL sizes it by
        return "GIF", width, height
    if data[:2] == b"BM" and len(data) >= 26:
        if int.from_bytes(data[14:18], "little") == 12:  # OS/2's header: 16-bit sides
            width, height = struct.unpack("<HH", data[18:22])
        else:
            width, height = struct.unpack("<ii", data[18:26])  # height < 0: stored top-down
        return "BMP", abs(width), abs(height)
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_size(data)
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return _tiff_size(data)
    return None


def _webp_size(data: bytes) -> tuple[str, int, int] | None:
    """A WebP's size from its first chunk: the canvas of an extended file (``VP8X``), else the
    frame of a lossy (``VP8 ``, a key frame's 14-bit sides) or lossless (``VP8L``) one."""
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width, height = int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    elif chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = (v & 0x3FFF for v in struct.unpack("<HH", data[26:30]))
    elif chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    else:
        return None
    return "WEBP", width, height


_TIFF_SIDES = {256: "width", 257: "height"}  # ImageWidth, ImageLength
_TIFF_TYPES = {3: "H", 4: "I", 16: "Q"}  # SHORT, LONG, LONG8 (BigTIFF): the types a side may have
# classic TIFF and BigTIFF: (the offset's and the entry count's format, an entry's count's and value's size)
_TIFF_FORMS = {42: ("I", "H", "I", 4), 43: ("Q", "Q", "Q", 8)}


def _tiff_size(data: bytes) -> tuple[str, int, int] | None:
    """A TIFF's (or BigTIFF's) first page's size from its first image file directory, where
    ``data`` holds it: each side's first entry of one value (PIL keeps the first, too)."""
    order = "<" if data[:2] == b"II" else ">"
    if len(data) < 16:
        return None
    (version,) = struct.unpack(order + "H", data[2:4])
    if version not in _TIFF_FORMS:
        return None
    offset, counted, entry_count, value_size = _TIFF_FORMS[version]
    start = 4 if version == 42 else 8  # BigTIFF: two more words (the offsets' size, 8, and 0) first
    (at,) = struct.unpack_from(order + offset, data, start)
    head = struct.calcsize(counted)
    if at + head > len(data):
        return None
    (count,) = struct.unpack_from(order + counted, data, at)
    size = 4 + struct.calcsize(entry_count) + value_size  # tag, type, count, value (or its offset)
    sides: dict[str, int] = {}
    for entry in range(at + head, min(at + head + size * count, len(data) - size + 1), size):
        tag, kind = struct.unpack_from(order + "HH", data, entry)
        (values,) = struct.unpack_from(order + entry_count, data, entry + 4)
        if (
            tag in _TIFF_SIDES
            and kind in _TIFF_TYPES
            and values == 1
            and struct.calcsize(_TIFF_TYPES[kind]) <= value_size
        ):
            (side,) = struct.unpack_from(order + _TIFF_TYPES[kind], data, entry + size - value_size)
            sides.setdefault(_TIFF_SIDES[tag], side)
    if len(sides) < 2:
        return None
    return "TIFF", sides["width"], sides["height"]


def _jpeg_size(data: bytes) -> tuple[str, int, int] | None:
    """A JPEG's size from its frame header, walked to segment by segment from the start."""
    at = 2
    for _ in range(MAX_JPEG_SEGMENTS):
        if at + 1 >= len(data) or data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # a fill byte before the marker
            at += 1
            continue
        if marker in _JPEG_BARE:
            at += 2
            continue
        if marker in _JPEG_FRAMES:
            if at + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return "JPEG", width, height
        if marker in (0xD9, 0xDA) or at + 4 > len(data):  # the image ended or its scan began without a frame header
            return None
        at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    return None
