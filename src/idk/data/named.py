"""The data sets idk knows by name (:data:`NAMED`): their classes, input form and the usual
out-of-distribution sets for a model trained on them, read from their verified files
(:data:`~idk.data.sources.DOWNLOADS`); the tutorial's notMNIST letters and seeded noise beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from idk.choices import NOISE_NAMES
from idk.data.folders import read_folder
from idk.data.idx import read_idx
from idk.data.images import ImageSet, InputSpec, unit
from idk.data.preparation import prepare_pixels
from idk.data.sources import DOWNLOADS, NOTMNIST_459, DataConfig
from idk.data.synthetic import gaussian_pixels, uniform_pixels


@dataclass(frozen=True)
class NamedSet:
    """A data set idk knows by name: its classes, input form and usual outliers; its files are
    :data:`~idk.data.sources.DOWNLOADS`' entry of its name, in a folder of its name."""

    name: str
    classes: tuple[str, ...]
    spec: InputSpec
    ood: tuple[str, ...]  # the report's out-of-distribution sets for a model trained on it
    splits: tuple[str, ...] = ("train", "test")  # file splits; one alone: a fixed split is recorded


# Digits that are no digit when turned on their side (a 3 as ω, a 7 as Γ) or upside down (a 3 as ε,
# a 4 as h). Left out: 0, 1 and 8 (a slanted 1 on its side is a 1 slanted the other way), 6 and 9
# (each other upside down, and 6-like on their side), 2 and 5 upside down (a Z-like 2 stays a 2, a
# round 5 looks like one).
DIGIT_TURNS = tuple((c, k) for c in (2, 3, 4, 5, 7) for k in (1, 3)) + tuple((c, 2) for c in (3, 4, 7))
DIGIT_SPEC = InputSpec(1, 28, 28, "mnist", drawn=True, mirror_classes=(2, 3, 4, 5, 6, 7, 9), turns=DIGIT_TURNS)
NAMED: dict[str, NamedSet] = {
    "mnist": NamedSet("mnist", tuple("0123456789"), DIGIT_SPEC, ("noise", "notmnist-459", "fashion-mnist")),
    "fashion-mnist": NamedSet(
        "fashion-mnist",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        InputSpec(1, 28, 28, "fashion-mnist", flip_invariant=True),
        ("noise", "mnist", "notmnist-10k"),
    ),
    "notmnist-10k": NamedSet(
        "notmnist-10k",
        tuple("ABCDEFGHIJ"),
        InputSpec(1, 28, 28, "mnist", drawn=True),
        ("noise", "mnist"),
        splits=("test",),
    ),
}
NOISE = NOISE_NAMES  # made on the fly (idk.data.synthetic; noise-3x prepared as a file), never downloaded
KNOWN = (*NAMED, "notmnist-459", *NOISE)


def noise_sets(spec: InputSpec) -> tuple[str, ...]:
    """The noise sets a model of ``spec`` is checked on: uniform and Gaussian, and ``noise-3x``
    where a larger file is shrunk into its frame (a model of one's own, "fit"; the named sets'
    usual sets are their own, :attr:`NamedSet.ood`)."""
    return NOISE if spec.preparation == "fit" else tuple(n for n in NOISE if n != "noise-3x")


def named_split(name: str, split: str, cfg: DataConfig) -> ImageSet:
    """A file split (``train``/``test``) of a named set, in its own form."""
    known, files = NAMED[name], DOWNLOADS[name]
    assert isinstance(files, dict), f"{name}: a named set is IDX files"
    images = read_idx(cfg.file(name, files[f"{split}-images"]))
    labels = torch.from_numpy(read_idx(cfg.file(name, files[f"{split}-labels"])).astype(np.int64))
    pixels = torch.from_numpy(images.copy()).unsqueeze(1)  # 8-bit levels (ImageSet)
    return ImageSet(f"{name}-{split}", pixels, labels, known.classes, known.spec)


def mnist(split: str, cfg: DataConfig) -> ImageSet:
    """MNIST ``train`` (60,000) or ``test`` (10,000)."""
    return named_split("mnist", split, cfg)


def notmnist_459(cfg: DataConfig, transpose: bool = False) -> ImageSet:
    """The tutorial's 459 notMNIST letters. ``transpose`` mimics the notebook's loader quirk."""
    images = read_folder(cfg.folder(NOTMNIST_459), "notmnist-459", spec=DIGIT_SPEC)
    if transpose:
        images.images = images.images.transpose(-1, -2).contiguous()
    return images


LARGE_NOISE = 3  # noise-3x: the pictures' side, in frames


def noise(name: str, n: int, spec: InputSpec, seed: int = 0) -> ImageSet:
    """``n`` seeded noise images of ``spec``'s form: ``noise`` (uniform), ``gaussian-noise``, or
    ``noise-3x``: uniform noise pictures :data:`LARGE_NOISE` times the frame's side, 8-bit as in a
    file, each prepared as ``idk predict`` prepares a file (a model of one's own shrinks it into
    its frame: a smooth speckle that frame-sized noise does not show)."""
    g = torch.Generator().manual_seed(seed)
    if name == "noise-3x":
        images = torch.empty(n, *spec.shape)
        for i in range(n):  # into one tensor: a list stacked at the end would hold the set twice
            images[i] = _large_noise(spec, g)
        return ImageSet(name, images, None, (), spec)
    pixels = uniform_pixels if name == "noise" else gaussian_pixels
    return ImageSet(name, pixels(n, spec.shape, g), None, (), spec)


def _large_noise(spec: InputSpec, g: torch.Generator) -> torch.Tensor:
    """One picture of :func:`noise`'s ``noise-3x``, prepared: (C, H, W)."""
    shape = (LARGE_NOISE * spec.height, LARGE_NOISE * spec.width, *((3,) if spec.channels == 3 else ()))
    stored = (uniform_pixels(1, shape, g)[0] * 255).round().to(torch.uint8)  # 8-bit levels, as in a file
    return torch.from_numpy(prepare_pixels(unit(stored).numpy(), spec).pixels)
