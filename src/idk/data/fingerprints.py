"""What tells sets of images apart or alike: a set's fingerprint (its count and the SHA-256 of its
pixels and labels, which a checkpoint records), and the images two sets share."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import torch

from idk.data.images import KEEP_CHUNK, ImageSet, unit


def fingerprint(data: ImageSet) -> dict[str, Any]:
    """What a model was trained on: name, size and SHA-256 of the pixels (as float32, however the
    set stores them: 8-bit levels hash as the floats they stand for) and labels."""
    h = hashlib.sha256()
    for start in range(0, len(data), KEEP_CHUNK):
        h.update(as_bytes(unit(data.images[start : start + KEEP_CHUNK])))
    if data.labels is not None:
        h.update(as_bytes(data.labels))
    return {"name": data.name, "n": len(data), "sha256": h.hexdigest()}


def as_bytes(values: torch.Tensor) -> np.ndarray:
    """A tensor's bytes in C order (as ``.numpy().tobytes()`` gives them) for a hash to read, without
    a copy where it is contiguous (a set's pixels are the largest thing training holds)."""
    return np.ascontiguousarray(values.numpy()).reshape(-1).view(np.uint8)


def same_images(fingerprint: dict[str, Any]) -> tuple[Any, Any]:
    """What tells two fingerprints of a set's images apart: their count and SHA-256 (not the set's
    name, which follows the folder)."""
    return fingerprint.get("n"), fingerprint.get("sha256")


def image_digests(images: torch.Tensor) -> torch.Tensor:
    """Each image's 64-bit digest (N,) int64 (the first 8 bytes of its BLAKE2b) of images (N, ...):
    what tells one image from another by its very pixels, as read (in the model's form: 8-bit levels
    as the floats they stand for). A checkpoint records its training images'
    (``Checkpoint.training_digests``)."""
    return torch.tensor(
        [
            int.from_bytes(hashlib.blake2b(as_bytes(unit(image)), digest_size=8).digest(), "little", signed=True)
            for image in images
        ],
        dtype=torch.int64,
    )


def shared_images(seen: ImageSet | torch.Tensor, other: ImageSet) -> int:
    """How many of ``other``'s images have the very pixels of one of ``seen``'s (a file copied into
    both, or twice into one folder), as read (in the model's form); ``seen`` a set, or its images'
    :func:`image_digests`."""
    known = set((seen if isinstance(seen, torch.Tensor) else image_digests(seen.images)).tolist())
    return sum(digest in known for digest in image_digests(other.images).tolist())
