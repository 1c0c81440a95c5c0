"""What tells sets of images apart or alike: a set's fingerprint (its count and the SHA-256 of its
pixels and labels, which a checkpoint records), and the images two sets share."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import torch

from idk.data.images import ImageSet


def fingerprint(data: ImageSet) -> dict[str, Any]:
    """What a model was trained on: name, size and SHA-256 of the pixels and labels."""
    h = hashlib.sha256(as_bytes(data.images))
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


def shared_images(seen: ImageSet, other: ImageSet) -> int:
    """How many of ``other``'s images have the very pixels of one of ``seen``'s (a file copied into
    both, or twice into one folder), as read (in the model's form)."""

    def digest(image: torch.Tensor) -> bytes:
        return hashlib.blake2b(as_bytes(image), digest_size=16).digest()

    known = {digest(image) for image in seen.images}
    return sum(digest(image) in known for image in other.images)
