"""What tells sets of images apart or alike: fingerprints and the images two sets share."""

from __future__ import annotations

import torch

from idk.data.fingerprints import fingerprint, image_digests, same_images, shared_images
from idk.data.images import ImageSet


def _set(name: str, images: torch.Tensor, labels: list[int]) -> ImageSet:
    return ImageSet(name, images, torch.tensor(labels), ("a", "b"))


def test_a_fingerprint_follows_pixels_and_labels_not_the_sets_name():
    images = torch.rand(4, 1, 3, 3)
    one = fingerprint(_set("here", images, [0, 1, 0, 1]))
    assert same_images(one) == same_images(fingerprint(_set("moved", images.clone(), [0, 1, 0, 1])))
    assert same_images(one) != same_images(fingerprint(_set("here", images, [1, 1, 0, 1])))  # a label changed
    edited = images.clone()
    edited[2, 0, 1, 1] += 1e-3
    assert same_images(one) != same_images(fingerprint(_set("here", edited, [0, 1, 0, 1])))


def test_shared_images_counts_the_others_images_seen_pixel_for_pixel():
    seen = torch.rand(5, 1, 3, 3)
    other = torch.cat([seen[[1, 1, 3]], torch.rand(2, 1, 3, 3)])  # a copy twice, another once, two new
    assert shared_images(_set("train", seen, [0] * 5), _set("test", other, [0] * 5)) == 3
    assert shared_images(_set("train", seen, [0] * 5), _set("none", seen[:0], [])) == 0


def test_image_digests_tell_images_by_their_pixels_and_serve_for_the_set():
    images = torch.rand(6, 3, 4, 4)
    digests = image_digests(images)
    assert digests.dtype == torch.int64 and digests.shape == (6,) and len(set(digests.tolist())) == 6
    assert torch.equal(digests, image_digests(images.clone()))  # the pixels, not the tensor
    assert torch.equal(image_digests(images[[4, 1]]), digests[[4, 1]])  # each image alone, wherever it lies
    edited = images.clone()
    edited[0, 2, 3, 3] += 1e-6
    assert (image_digests(edited) != digests).tolist() == [True] + [False] * 5
    other = torch.cat([images[[2, 2]], torch.rand(1, 3, 4, 4)])
    assert shared_images(digests, _set("test", other, [0, 1, 0])) == 2  # a checkpoint's digests serve as the set
    assert image_digests(images[:0]).shape == (0,)
