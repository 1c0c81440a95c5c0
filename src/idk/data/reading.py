"""Decoding a listing of image files into one set (a folder's: :mod:`idk.data.folders`; a CSV
file's: :mod:`idk.data.manifests`): in as many threads as torch computes with, at most
:data:`MAX_READ_THREADS`; the form surveyed from the files where none is given (:mod:`idk.data.survey`),
each image then decoded once and brought to it; held as 8-bit levels where every image is one
(:class:`~idk.data.images.ImageSet`); unreadable files named in one line and skipped, what was
converted said in another.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from idk.data.images import ImageSet, InputSpec, levels, unit
from idk.data.imaging import STORED_FORMS, is_colour, read_image
from idk.data.listing import IMAGE_SUFFIXES, some_of
from idk.data.preparation import fit, prepare_pixels
from idk.data.survey import survey_image
from idk.errors import DataError, ImageError

Warn = Callable[[str], None]
T, R = TypeVar("T"), TypeVar("R")
MAX_READ_THREADS = 4  # files decoded at once by default, each holding its full-size pixels meanwhile
MAX_SIDE = 128  # a folder's default image size is capped here (larger inputs: --image-size)
Listed = tuple[str, Path, int, "str | None"]  # (shown, file, label, why it is not read), in the listing's order


def read_listed(
    root: Path | str,
    name: str,
    listed: list[Listed],
    classes: tuple[str, ...] | None,
    spec: InputSpec | None = None,
    image_size: tuple[int, int] | None = None,
    warn: Warn | None = None,
    require_labels: bool = False,
    prepare_all: bool = False,
    classes_are: str = "class folder(s)",
    luminance_grey: bool = False,
) -> ImageSet:
    """The ``listed`` files as one set named ``name``, labelled by ``classes`` (None: unlabelled),
    in ``spec``'s form, else in the form of the images (:func:`_frame`: colour where any image is,
    ``image_size`` or their usual size); ``root`` names the listing in what ``warn`` is told.
    ``require_labels``: DataError for a class none of whose files could be read (its ``classes_are``
    word); ``luminance_grey``: the surveyed form's (:class:`~idk.data.images.InputSpec`). See
    :func:`idk.data.folders.read_folder` for the rest."""
    found: list[_Found] = []  # (file, label, (H, W), colour, place in the listing)
    ready: list[np.ndarray] = []  # the images converted as read, when the form is known
    forms: Counter[str] = Counter()  # what reading the files changed beside size and channels (STORED_FORMS)
    skipped: list[tuple[int, str]] = []  # (place in the listing, "name (why)")
    colour_found = threading.Event()  # the set is colour once one image is: the others' colour is not looked for

    def read(entry: tuple[str, Path, int, str | None]) -> _Read | str:
        """One file's size and colour: with ``spec``, its pixels in form and what reading changed;
        without, surveyed (:func:`~idk.data.survey.survey_image`: decoded only to look for colour
        until one image has it); or why it is skipped."""
        shown, f, _, why = entry
        if why:
            return f"{shown} ({why})"
        try:
            if spec is None:
                size, colour = survey_image(f, look_for_colour=not colour_found.is_set())
                if colour:
                    colour_found.set()
                return size, colour, (), None
            px, changed = read_image(f, colour=True)
        except ImageError as err:
            return f"{shown} ({err.reason})"
        return px.shape[:2], is_colour(px), changed, stored(_in_form(px, spec, prepare_all))

    for k, ((_, f, label, _), got) in enumerate(zip(listed, in_threads(read, listed), strict=True)):
        if isinstance(got, str):
            skipped.append((k, got))
            continue
        size, colour, changed, pixels = got
        found.append((f, label, size, colour, k))
        forms.update(changed)
        if pixels is not None:
            ready.append(pixels)
    capped = False
    if spec is None and found:
        shown = [name for name, *_ in listed]
        spec, capped = _frame(found, image_size, luminance_grey)
        images, read, forms = _converted(found, spec, prepare_all, skipped, shown)
        if read and len(read) < len(found) and (refit := _frame(read, image_size, luminance_grey))[0] != spec:
            # images whose pixels failed to decode had chosen the frame: the others converted again in their own
            spec, capped = refit
            images, read, forms = _converted(read, spec, prepare_all, skipped, shown)
        found = read
    else:
        images = stacked(ready)
    if skipped and warn:  # in the listing's order, whichever reading found them
        said = [why for _, why in sorted(skipped)]
        warn(f"{root}: skipped {len(said)} unreadable or non-image files: {some_of(said, '; ')}")
    if not found:
        raise DataError(f"{root}: no readable images ({', '.join(IMAGE_SUFFIXES)})")
    if require_labels and classes is not None:
        present = {lab for _, lab, *_ in found}
        empty = [cls for i, cls in enumerate(classes) if i not in present]
        if empty:
            raise DataError(f"{root}: no readable images in {classes_are} {', '.join(empty)}")
    if warn:
        _say_conversions(root, found, forms, spec, capped, warn)
    labels = torch.tensor([lab for _, lab, *_ in found]) if classes is not None else None
    return ImageSet(name, torch.from_numpy(images), labels, classes or (), spec)


def stored(pixels: np.ndarray) -> np.ndarray:
    """One image in form (C, H, W) as it is kept: uint8 levels where each pixel is k/255 exactly
    (:func:`~idk.data.images.levels`), else float32."""
    kept = levels(torch.from_numpy(pixels))
    return pixels if kept is None else kept.numpy()


def stacked(ready: list[np.ndarray]) -> np.ndarray:
    """Images kept by :func:`stored` as one array (N, C, H, W): uint8 where all are, else float32."""
    if not ready:
        return np.empty((0, 1, 1, 1), np.float32)
    if all(px.dtype == np.uint8 for px in ready):
        return np.stack(ready)
    return np.stack([unit(torch.from_numpy(px)).numpy() for px in ready])


class _Rows:
    """A set's rows (N, C, H, W) written by threads, one image each: uint8 levels while every image
    written is 8-bit (:func:`~idk.data.images.levels`), float32 from the first that is not (the rows
    written so far read again as floats, once)."""

    def __init__(self, n: int, shape: tuple[int, ...]) -> None:
        self.array = np.empty((n, *shape), np.uint8)
        self._lock = threading.Lock()

    def put(self, i: int, pixels: np.ndarray) -> None:
        """Row ``i`` ← one image (C, H, W) float32 in [0, 1]."""
        if self.array.dtype == np.uint8 and (kept := levels(torch.from_numpy(pixels))) is not None:
            with self._lock:  # the rows not read again as floats meanwhile
                if self.array.dtype == np.uint8:
                    self.array[i] = kept.numpy()
                    return
        with self._lock:
            if self.array.dtype == np.uint8:
                self.array = unit(torch.from_numpy(self.array)).numpy()
        self.array[i] = pixels


def _frame(
    found: list[_Found], image_size: tuple[int, int] | None, luminance_grey: bool = False
) -> tuple[InputSpec, bool]:
    """The form a folder's ``found`` images are brought to (and whether its size was capped at
    :data:`MAX_SIDE`): ``image_size``, else their :func:`usual_size`; colour where any image is."""
    height, width = image_size or usual_size([size for _, _, size, _, _ in found])
    capped = image_size is None and max(height, width) > MAX_SIDE
    if capped:
        scale = MAX_SIDE / max(height, width)
        height, width = max(1, round(height * scale)), max(1, round(width * scale))
    channels = 3 if any(c for *_, c, _ in found) else 1
    return InputSpec(channels, height, width, "fit", luminance_grey=luminance_grey), capped


_Read = tuple[tuple[int, int], "bool | None", tuple[str, ...], "np.ndarray | None"]  # size, colour, changed, pixels
_Found = tuple[Path, int, tuple[int, int], "bool | None", int]  # file, label, size, colour, place in the listing


def _converted(
    found: list[_Found],
    spec: InputSpec,
    prepare_all: bool,
    skipped: list[tuple[int, str]],
    shown: list[str],
) -> tuple[np.ndarray, list[_Found], Counter[str]]:
    """The surveyed images decoded again and brought to ``spec``, each written into its row (no
    list of them beside the array), with each one's size and colour as decoded, and what reading
    changed (counts of :data:`STORED_FORMS` keys); one whose pixels cannot be decoded (a file cut
    short past its header) is said in ``skipped`` (by its place in the listing, and its name as
    ``shown``) and its row dropped."""
    rows = _Rows(len(found), spec.shape)

    def into_place(i: int) -> tuple[tuple[int, int], bool, tuple[str, ...]] | str:
        f, place = found[i][0], found[i][4]
        try:
            px, changed = read_image(f, colour=True)
        except ImageError as err:
            return f"{shown[place]} ({err.reason})"
        rows.put(i, _in_form(px, spec, prepare_all))
        return px.shape[:2], is_colour(px), changed

    read: list[_Found] = []
    forms: Counter[str] = Counter()
    got_all = in_threads(into_place, list(range(len(found))))
    images = rows.array
    for i, got in enumerate(got_all):
        if isinstance(got, str):
            skipped.append((found[i][4], got))
            continue
        size, colour, changed = got
        forms.update(changed)
        images[len(read)] = images[i]  # the rows kept moved up in place (none moves where none failed)
        read.append((found[i][0], found[i][1], size, colour, found[i][4]))
    return images[: len(read)], read, forms


def in_threads(work: Callable[[T], R], items: list[T], threads: int | None = None) -> list[R]:
    """``work`` over ``items``, results in order, in ``threads`` threads (default: as many as torch
    computes with, ``--threads``, at most :data:`MAX_READ_THREADS`: each holds a full-size image
    while it decodes): decoding releases the GIL, and two threads read a folder of 480×360 JPEGs
    1.5 times as fast as one on 2 cores (one thread: in this one)."""
    threads = min(threads or min(torch.get_num_threads(), MAX_READ_THREADS), len(items))
    if threads <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(threads, "idk-read") as pool:
        return list(pool.map(work, items))


def _in_form(px: np.ndarray, spec: InputSpec, prepare_all: bool) -> np.ndarray:
    """One decoded image (H, W, 3) in ``spec``'s form (C, H', W'): one already of the frame's size
    pixel for pixel, its channels converted (unless ``prepare_all``); others prepared."""
    if px.shape[:2] == (spec.height, spec.width) and not prepare_all:
        return fit(px, spec).pixels
    return prepare_pixels(px, spec).pixels


def usual_size(sizes: list[tuple[int, int]]) -> tuple[int, int]:
    """The frame (H, W) a folder's images are brought to when none is asked: the most common size
    where at least half the images have it (a data set's one size), else the median height and the
    median width (a folder of photos of 543 sizes, 3 of them the most common and portrait, had its
    mostly landscape photos trained in that portrait frame)."""
    size, count = Counter(sizes).most_common(1)[0]
    if 2 * count >= len(sizes):
        return size
    heights, widths = zip(*sizes, strict=True)
    return int(np.median(heights)), int(np.median(widths))


def _say_conversions(root: Path, found, forms: Counter[str], spec: InputSpec, capped: bool, warn: Warn) -> None:
    """One line: how many of the ``found`` images were resized, given channels or made grey, and
    read otherwise than as plain 8-bit pixels (``forms``: counts of :data:`STORED_FORMS` keys)."""
    resized = sum(size != (spec.height, spec.width) for _, _, size, *_ in found)
    to_colour = sum(not c for *_, c, _ in found) if spec.channels == 3 else 0
    to_grey = sum(bool(c) for *_, c, _ in found) if spec.channels == 1 else 0
    counts = [
        (resized, "resized"),
        (to_colour, "with grey pixels only, given 3 channels"),
        (to_grey, "colour→greyscale"),
        *((forms[key], what) for key, what in STORED_FORMS.items()),
    ]
    if any(n for n, _ in counts):
        parts = [f"{n} {what}" for n, what in counts if n]  # "; ": a part may hold a comma
        notes = ["height × width"] if spec.height != spec.width else []  # 128×96 is no landscape frame
        notes += [f"sizes capped at {MAX_SIDE} px; --image-size chooses another"] if capped else []
        said = f" ({'; '.join(notes)})" if notes else ""
        warn(
            f"{root}: brought {len(found)} image{'s' if len(found) != 1 else ''} to {spec.describe()}{said} ({'; '.join(parts)})"
        )
