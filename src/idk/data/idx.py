"""The IDX file format of MNIST (LeCun et al.): a big-endian header, then a dense array.

Header: two zero bytes, a type code (0x08 = uint8), the number of dimensions ``k``, then ``k``
big-endian uint32 sizes. gzip-compressed files (``.gz``) are read transparently.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

from idk.errors import DataError

_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09}


def read_bytes(path: str | os.PathLike) -> bytes:
    """Read a file, decompressing gzip when its name ends in ``.gz`` (or it starts with gzip magic)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected an IDX file") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise DataError(f"{path}: corrupted or truncated gzip data ({err}); delete it and download again") from None
    return raw


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes into an array of the shape the header gives.

    Raises:
        DataError: when the header is malformed or the payload is shorter/longer than declared.
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"{name}: not an IDX file (bad magic number)")
    code, ndim = data[2], data[3]
    if code not in _DTYPES or ndim == 0:
        raise DataError(f"{name}: not an IDX file (type code {code:#x}, {ndim} dimensions)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{name}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = _DTYPES[code]
    expected = int(np.prod(shape)) * dtype.itemsize
    payload = len(data) - header
    if payload != expected:
        raise DataError(
            f"{name}: IDX payload is {payload} bytes but the header declares {expected} "
            f"(shape {shape}); the file is truncated or corrupted"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or gzip) into a numpy array."""
    return parse_idx(read_bytes(path), name=str(path))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8/int8 array as an uncompressed IDX file (used by tests and exports)."""
    array = np.ascontiguousarray(array)
    if array.dtype not in _CODES:
        raise ValueError(f"write_idx supports uint8 and int8, not {array.dtype}")
    header = bytes([0, 0, _CODES[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    Path(path).write_bytes(header + array.tobytes())
