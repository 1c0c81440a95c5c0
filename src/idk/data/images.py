"""Image sets that describe themselves: pixels (N, C, H, W), labels, class names, and the input form.

:class:`InputSpec` says what a model's inputs are (channels, height, width), how an outside image
is brought to that form (``preparation``), and the facts about the images that training policies
depend on (drawn symbols or not, which mirror images are no class). It is recorded in every
checkpoint, and everything downstream (networks, scores, predict, the web page) reads it from there.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F

from idk.errors import DataError

PREPARATIONS = ("mnist", "fashion-mnist", "fit")
LUMINANCE = (0.299, 0.587, 0.114)  # ITU-R 601 weights of R, G, B: colour to greyscale everywhere


@dataclass(frozen=True)
class InputSpec:
    """The form of a model's input images and how outside images are brought to it.

    ``preparation``: ``"mnist"`` (greyscale, light background inverted, ink fitted into a box of
    20/28 of the frame and centred by mass: MNIST's own recipe, for digits and letters),
    ``"fashion-mnist"`` (Fashion-MNIST's recipe, see :mod:`idk.data.preparation`) or ``"fit"``
    (scaled to fit the frame keeping the aspect ratio, padded with the border's colour: how
    idk brings a user's folder of images to one size).
    ``drawn``: images of drawn symbols (ink strokes on a plain background): the web page offers a
    drawing canvas, and stroke-like synthetic outliers apply.
    ``mirror_classes``: indices of classes whose left–right mirror image belongs to no class
    (digits 2–7 and 9); ``turns``: (class, k) pairs whose image turned by k quarter turns
    (anticlockwise) belongs to no class (a 7 on its side; not a 6 upside down, which is a 9);
    ``flip_invariant``: a mirror image keeps its class (clothes, most photos).
    ``luminance_grey``: a grey file's pixels brought to one channel through the colour-to-grey
    product (:data:`LUMINANCE`), an ulp off k/255 in 31 of the 256 levels, as idk read them before
    checkpoint format 5 (a "fit" model trained then reads its files as it did); else taken as they
    are, k/255 exactly (held as 8-bit levels).
    """

    channels: int
    height: int
    width: int
    preparation: str = "fit"
    drawn: bool = False
    mirror_classes: tuple[int, ...] = ()
    flip_invariant: bool = False
    turns: tuple[tuple[int, int], ...] = ()
    luminance_grey: bool = False

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise DataError(f"images must have 1 (greyscale) or 3 (colour) channels, got {self.channels}")
        if self.height < 1 or self.width < 1:
            raise DataError(f"images must have at least one pixel, got {self.height}×{self.width}")
        if self.preparation not in PREPARATIONS:
            raise DataError(f"unknown preparation {self.preparation!r}; valid: {', '.join(PREPARATIONS)}")

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.channels, self.height, self.width)

    def describe(self) -> str:
        colour = "greyscale" if self.channels == 1 else "colour"
        return f"{self.height}×{self.width} {colour}"

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["mirror_classes"] = list(self.mirror_classes)
        d["turns"] = [list(pair) for pair in self.turns]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InputSpec:
        return cls(
            **{
                **d,
                "mirror_classes": tuple(d.get("mirror_classes", ())),
                "turns": tuple((int(c), int(k)) for c, k in d.get("turns", ())),
            }
        )


@dataclass
class ImageSet:
    """Images (N, C, H, W): float32 in [0, 1], or uint8 levels where every pixel is k/255 (a
    quarter of the memory; :func:`unit` reads them as the floats, :meth:`pixels` a part of them);
    labels (N,) int64 or None; class names.

    ``spec`` describes the images' form (None where nothing is known of it); ``named``: False when
    the classes came as label indices only (IDX labels, an .npz without ``classes``: named "0",
    "1", ... by :func:`unnamed_classes`), which a model's own names may replace; a folder's names,
    digits or not, are names."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor | None
    classes: tuple[str, ...]
    spec: InputSpec | None = None
    named: bool = True

    def __len__(self) -> int:
        return self.images.shape[0]

    def pixels(self, index: torch.Tensor | slice = slice(None)) -> torch.Tensor:
        """The images at ``index`` as float32 in [0, 1] (b, C, H, W), whichever way they are stored."""
        return unit(self.images[index])

    def as_floats(self) -> ImageSet:
        """This set with its images as float32 (itself where they are): for what works on the whole
        set at once, on sets that are not a training set's size."""
        return self if self.images.is_floating_point() else replace(self, images=unit(self.images))

    def subset(self, index: torch.Tensor | slice, name: str | None = None) -> ImageSet:
        labels = None if self.labels is None else self.labels[index]
        return replace(self, name=name or self.name, images=self.images[index], labels=labels)

    def kept(self, rows: torch.Tensor, name: str | None = None) -> ImageSet:
        """:meth:`subset` at ascending ``rows``, made by moving them to the front of this set's own
        images in place, ``KEEP_CHUNK`` at a time (each row moves to a place at or before its own, so
        none is overwritten before it moved): no second copy of them beside the set, which is spent
        (its images are the subset's, then the rest). ValueError for rows that do not ascend."""
        if len(rows) > 1 and not bool((rows[1:] > rows[:-1]).all()):
            raise ValueError("kept: rows must ascend, each once")
        images = self.images
        for start in range(0, len(rows), KEEP_CHUNK):
            at = rows[start : start + KEEP_CHUNK]
            images[start : start + len(at)] = images[at]  # gathered first, then written
        labels = None if self.labels is None else self.labels[rows]
        return replace(self, name=name or self.name, images=images[: len(rows)], labels=labels)


KEEP_CHUNK = 4096  # rows moved at once by ImageSet.kept

LEVELS = 255  # an 8-bit pixel's full range: level k stored as uint8 reads as k / LEVELS


def unit(images: torch.Tensor) -> torch.Tensor:
    """Stored pixels as float32 in [0, 1]: floats as they are, uint8 level k as k / 255 (the very
    float32 that dividing a decoded 8-bit image by 255 gives, so either storage reads the same):
    divided on the CPU, looked up on another device (:func:`looked_up`)."""
    if images.is_floating_point():
        return images
    return images.float().div_(LEVELS) if images.device.type == "cpu" else looked_up(images)


def looked_up(stored: torch.Tensor) -> torch.Tensor:
    """uint8 levels as their float32 from a table divided on the CPU, on the levels' device: the
    CPU's floats on any device (CUDA divides by a number as a multiplication by its reciprocal,
    one ulp off for 126 of the 256 levels)."""
    return _level_values(stored.device)[stored.long()]


@functools.cache
def _level_values(device: torch.device) -> torch.Tensor:
    """k / 255 for k = 0..255 (256,) float32, divided on the CPU, on ``device``."""
    return (torch.arange(LEVELS + 1, dtype=torch.float32) / LEVELS).to(device)


def levels(images: torch.Tensor) -> torch.Tensor | None:
    """float32 pixels in [0, 1] as uint8 levels where every one is k / 255 exactly (:func:`unit`
    gives them back bit for bit), else None: 8-bit storage loses nothing or is not used."""
    if not images.is_floating_point():
        return images
    stored = images.mul(LEVELS).round_().clamp_(0, LEVELS).to(torch.uint8)
    same = torch.equal(unit(stored).view(torch.int32), images.view(torch.int32))  # bits: -0.0 is not 0.0
    return stored if same else None


def index_classes(count: int) -> tuple[str, ...]:
    """Names for classes that come unnamed (IDX labels, an .npz without ``classes``): "0", "1", ..."""
    return tuple(str(c) for c in range(count))


MAX_UNNAMED = 100_000  # classes named by their index; a larger label is a mistake (an ID, not a class)


def unnamed_classes(labels: torch.Tensor, source: str) -> tuple[str, ...]:
    """:func:`index_classes` for every label up to the largest in ``labels``; DataError naming
    ``source`` for one of :data:`MAX_UNNAMED` or more (it would name that many classes)."""
    top = int(labels.max()) if len(labels) else -1
    if top >= MAX_UNNAMED:
        raise DataError(
            f"{source}: a label of {top} would make {top + 1} classes; labels are class indices 0, 1, 2, ... "
            f"(at most {MAX_UNNAMED - 1} without the set's class names)"
        )
    return index_classes(top + 1)


def check_labels(labels: torch.Tensor, n: int, classes: tuple[str, ...], source: str) -> None:
    """Raise :class:`DataError` unless ``labels`` are N class indices in [0, len(classes))."""
    if labels.dim() != 1 or len(labels) != n:
        raise DataError(f"{source}: {len(labels)} labels for {n} images; give one label per image")
    if n and int(labels.min()) < 0:  # before the range: unnamed classes are counted from the labels
        raise DataError(f"{source}: labels must be class indices 0, 1, 2, ...; found {int(labels.min())}")
    if n and int(labels.max()) >= len(classes):
        raise DataError(
            f"{source}: labels must lie in 0..{len(classes) - 1} (one per class name); "
            f"found {int(labels.min())}..{int(labels.max())}"
        )


def check_pixels(images: torch.Tensor, source: str) -> None:
    """Raise :class:`DataError` for an empty set or for NaN/inf pixels."""
    if images.shape[0] == 0:
        raise DataError(f"{source}: holds no images")
    if images.numel() == 0:
        raise DataError(f"{source}: images have no pixels (shape {tuple(images.shape)})")
    if not all_finite(images):
        raise DataError(f"{source}: images contain NaN or infinite pixel values")


FINITE_CHUNK = 1 << 22  # values checked at once by all_finite


def all_finite(values: torch.Tensor) -> bool:
    """Whether no value is NaN or infinite, checked a chunk of ``FINITE_CHUNK`` at a time: ``torch.isfinite``
    on a whole set holds a copy of it and more (20,000 64×64 colour images: 1.4 GB beside 0.98 GB)."""
    if not values.is_floating_point():  # 8-bit levels
        return True
    if values.dim() == 0:
        return bool(torch.isfinite(values))
    step = max(1, FINITE_CHUNK // max(1, math.prod(values.shape[1:])))  # along the first axis: views, not copies
    return all(bool(torch.isfinite(values[i : i + step]).all()) for i in range(0, len(values), step))


def conform(data: ImageSet, spec: InputSpec) -> ImageSet:
    """``data`` brought to ``spec``'s channels and size: greyscale repeated into colour, colour to
    luminance (ITU-R 601), then bilinear resizing (antialiased when shrinking). Sets already in
    that form are returned as they are."""
    images = data.images
    if images.dim() != 4:
        raise DataError(f"{data.name}: expected images (N, C, H, W), got shape {tuple(images.shape)}")
    c = images.shape[1]
    if c != spec.channels:
        if c == 1 and spec.channels == 3:
            images = images.expand(-1, 3, -1, -1)
        elif c == 3 and spec.channels == 1:
            images = unit(images)
            weights = torch.tensor(LUMINANCE, dtype=images.dtype).view(1, 3, 1, 1)
            images = (images * weights).sum(1, keepdim=True)
        else:
            raise DataError(f"{data.name}: {c}-channel images cannot be brought to the model's {spec.describe()} form")
    if tuple(images.shape[-2:]) != (spec.height, spec.width):
        images = F.interpolate(unit(images), size=(spec.height, spec.width), mode="bilinear", antialias=True)
        images = images.clamp(0, 1)
    if images is data.images:
        return data
    return replace(data, images=images.contiguous(), spec=spec)
