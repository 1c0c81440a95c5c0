"""A user's own labelled images: folders of image files, ``.npz``/``.npy`` arrays, IDX files.

Layouts read:

* a folder ``DIR/CLASS/*`` (labels = sorted class-folder names), or a flat folder of images
  (unlabelled, for out-of-distribution sets);
* ``.npz`` with ``images`` (N, H, W) or (N, H, W, C), ``labels`` (N,) and optional ``classes``;
  ``.npy`` with images alone;
* an IDX file of images (raw or gzip).

Mixed sizes and modes are brought to one form (see :func:`read_folder`) with one warning line
saying what was converted; unreadable files are named in one line and skipped.
"""

from __future__ import annotations

import os
import zipfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from idk.data.class_names import nfc
from idk.data.idx import read_idx
from idk.data.images import ImageSet, InputSpec, check_labels, check_pixels, unnamed_classes
from idk.data.imaging import STORED_FORMS, is_colour, laid_on_white, open_image, read_image, unit_divisor
from idk.data.listing import IMAGE_SUFFIXES, not_read, some_of, unsaid
from idk.data.preparation import fit, prepare_pixels
from idk.errors import DataError, ImageError

Warn = Callable[[str], None]
T, R = TypeVar("T"), TypeVar("R")
MAX_SIDE = 128  # a folder's default image size is capped here (larger inputs: --image-size)
LABEL_KEYS = ("labels", "y", "Y")  # an .npz's labels array, by the first of these names it holds
MIN_FLAT_SIDE = 8  # a 2-D array is read as flat square images (N, side²) of this side at least


def _files(folder: Path) -> list[Path]:
    """The files of ``folder`` (links to nothing among them, said when read), but those passed over
    unsaid (:func:`~idk.data.listing.unsaid`: hidden, Thumbs.db), sorted by name."""
    return sorted(
        f for f in folder.iterdir() if (f.is_file() or (f.is_symlink() and not f.exists())) and not unsaid(f.name)
    )


def class_folders(root: Path) -> list[Path]:
    """The non-hidden sub-folders of ``root``, sorted by name."""
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _folders_within(root: Path) -> list[Path]:
    """Every folder below ``root`` at any depth but hidden ones, sorted; a link to a folder is read,
    not followed further (no loops)."""
    found: list[Path] = []
    for here, folders, _ in os.walk(root):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        found += [Path(here) / f for f in folders]
    return sorted(found)


def read_folder(
    root: Path,
    name: str,
    spec: InputSpec | None = None,
    image_size: tuple[int, int] | None = None,
    warn: Warn | None = None,
    require_labels: bool = False,
    prepare_all: bool = False,
    unlabelled: bool = False,
    least_classes: int = 2,
) -> ImageSet:
    """Images of ``root`` (one sub-folder per class, or flat) in ``spec``'s form; ``unlabelled``:
    every image of ``root`` and of its sub-folders at any depth, without labels (an
    out-of-distribution set's). ``require_labels``: refused unless it holds ``least_classes`` class
    folders or more (a training set two, a test set one).

    Without ``spec`` the form comes from the images: colour when any image is, else greyscale;
    ``image_size`` (H, W), else the most common size scaled down to at most :data:`MAX_SIDE`;
    prepared by ``fit``. Images already of the frame's size are taken pixel for pixel: a folder of
    them is a data set in the model's form (notMNIST-459's letters, dark on light, are read so),
    where ``idk predict`` prepares a photo of the same size (inverting a light background for a
    digit model); ``prepare_all`` prepares them as ``idk predict`` does. Others are prepared as
    ``spec`` says. Images beside the class sub-folders are
    not read (one ``warn`` line names them). Files that cannot be decoded are skipped
    and named in one ``warn`` line; what was converted is said in another. Images are decoded one
    at a time, never all at full size: once when ``spec`` is given, converted as read; else twice
    (once to learn sizes and colours, once to convert).
    """
    subdirs = class_folders(root)
    if require_labels and len(subdirs) < least_classes:
        if [d.name for d in subdirs] == ["train"]:
            raise DataError(
                f"{root}: holds train/ without test/; put the test images in {root / 'test'}, or give "
                f"{root / 'train'} alone (a share of it is then held out to test on)"
            )
        found = "one class folder" if len(subdirs) == 1 else "no class folders"
        least = "at least two" if least_classes == 2 else f"at least {least_classes}"
        raise DataError(f"{root}: {found}; a labelled folder holds one sub-folder per class ({least})")
    if subdirs and not unlabelled:
        check_class_names(root, [d.name for d in subdirs])
    if unlabelled:  # no labels to read: the folder's own images and its sub-folders', at any depth
        groups = [("", root), *((d.relative_to(root).as_posix(), d) for d in _folders_within(root))]
    else:
        groups = [(d.name, d) for d in subdirs] if subdirs else [("", root)]
    beside = [f.name for f in _files(root) if f.suffix.lower() in IMAGE_SUFFIXES] if subdirs and not unlabelled else []
    if beside and warn:
        warn(
            f"{root}: {len(beside)} image{'s' * (len(beside) != 1)} beside its sub-folders {'are' if len(beside) != 1 else 'is'} not read (only the sub-folders' images are, "
            f"one folder per class): {some_of(beside)}"
        )
    found: list[tuple[Path, int, tuple[int, int], bool]] = []  # (file, label, (H, W), colour)
    ready: list[np.ndarray] = []  # the images converted as read, when the form is known
    forms: Counter[str] = Counter()  # what reading the files changed beside size and channels (STORED_FORMS)
    skipped: list[str] = []  # "name (why)"
    nested = [] if unlabelled else [f"{cls}/{d.name}" for cls, folder in groups if cls for d in class_folders(folder)]
    if nested and warn:
        warn(
            f"{root}: folders inside class folders are not read (only the images directly in each class "
            f"folder are): {some_of(nested)}"
        )
    listed: list[tuple[str, Path, int, str | None]] = []  # (shown, file, label, why not read), in order
    for label, (cls, folder) in enumerate(groups):
        files = _files(folder)
        if require_labels and not files:
            inside = " of images (its sub-folders are not read)" if class_folders(folder) else ""
            raise DataError(f"{folder}: class folder {cls!r} is empty{inside}; give it images or remove it")
        # a Thumbs.db of which class folder
        listed += [(f"{cls}/{f.name}" if cls else f.name, f, label, not_read(f)) for f in files]

    def read(entry: tuple[str, Path, int, str | None]) -> _Read | str:
        """One file's size, colour, what reading changed, and (``spec`` given) its pixels in form;
        or why it is skipped."""
        shown, f, _, why = entry
        if why:
            return f"{shown} ({why})"
        try:
            px, changed = read_image(f, colour=True)
        except ImageError as err:
            return f"{shown} ({err.reason})"
        return px.shape[:2], is_colour(px), changed, None if spec is None else _in_form(px, spec, prepare_all)

    for (_, f, label, _), got in zip(listed, in_threads(read, listed), strict=True):
        if isinstance(got, str):
            skipped.append(got)
            continue
        size, colour, changed, pixels = got
        found.append((f, label, size, colour))
        forms.update(changed)
        if pixels is not None:
            ready.append(pixels)
    if skipped and warn:
        warn(f"{root}: skipped {len(skipped)} unreadable or non-image files: {some_of(skipped, '; ')}")
    if not found:
        raise DataError(f"{root}: no readable images ({', '.join(IMAGE_SUFFIXES)})")
    if require_labels:
        empty = [cls for i, (cls, _) in enumerate(groups) if not any(lab == i for _, lab, _, _ in found)]
        if empty:
            raise DataError(f"{root}: no readable images in class folder(s) {', '.join(empty)}")
    capped = False
    if spec is None:
        height, width = image_size or Counter(size for _, _, size, _ in found).most_common(1)[0][0]
        if image_size is None and max(height, width) > MAX_SIDE:
            scale = MAX_SIDE / max(height, width)
            height, width, capped = max(1, round(height * scale)), max(1, round(width * scale)), True
        spec = InputSpec(3 if any(c for *_, c in found) else 1, height, width, "fit")
    if ready:
        images = np.stack(ready).astype(np.float32, copy=False)
    else:
        images = np.empty((len(found), *spec.shape), np.float32)
        form = spec  # bound for the threads: the spec just chosen

        def in_form(f: Path) -> np.ndarray:
            return _in_form(open_image(f, colour=True), form, prepare_all)

        for i, pixels in enumerate(in_threads(in_form, [f for f, *_ in found])):
            images[i] = pixels
    if warn:
        _say_conversions(root, found, forms, spec, capped, warn)
    labelled = bool(subdirs) and not unlabelled
    labels = torch.tensor([lab for _, lab, _, _ in found]) if labelled else None
    classes = tuple(c for c, _ in groups) if labelled else ()
    return ImageSet(name, torch.from_numpy(images), labels, classes, spec)


_Read = tuple[tuple[int, int], bool, tuple[str, ...], "np.ndarray | None"]  # size, colour, changed, pixels


def in_threads(work: Callable[[T], R], items: list[T], threads: int | None = None) -> list[R]:
    """``work`` over ``items``, results in order, in ``threads`` threads (default: as many as torch
    computes with, ``--threads``): decoding releases the GIL, and two threads read a folder of
    480×360 JPEGs 1.5 times as fast as one on 2 cores (one thread: in this one)."""
    threads = min(threads or torch.get_num_threads(), len(items))
    if threads <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(threads, "idk-read") as pool:
        return list(pool.map(work, items))


def check_class_names(root: Path, names: list[str]) -> None:
    """Refuse class folders whose names would read as nothing (blank) or as another's: one name in
    two Unicode forms (macOS writes "café" as "cafe" + accent, another system as one letter).

    Raises:
        DataError: naming the folders and what to do.
    """
    blank = [n for n in names if not n.strip()]
    if blank:
        raise DataError(
            f"{root}: class folder {blank[0]!r} has a blank name (its answers would name nothing); rename it"
        )
    seen: dict[str, str] = {}
    for name, one_form in zip(names, nfc(tuple(names)), strict=True):
        same = seen.setdefault(one_form, name)
        if same != name:
            raise DataError(
                f"{root}: class folders {same!r} and {name!r} are one name in two Unicode forms (an accent written "
                "apart, as macOS writes it, or joined): merge them into one folder"
            )


def _in_form(px: np.ndarray, spec: InputSpec, prepare_all: bool) -> np.ndarray:
    """One decoded image (H, W, 3) in ``spec``'s form (C, H', W'): one already of the frame's size
    pixel for pixel, its channels converted (unless ``prepare_all``); others prepared."""
    if px.shape[:2] == (spec.height, spec.width) and not prepare_all:
        return fit(px, spec).pixels
    return prepare_pixels(px, spec).pixels


def _say_conversions(root: Path, found, forms: Counter[str], spec: InputSpec, capped: bool, warn: Warn) -> None:
    """One line: how many of the ``found`` images were resized, given channels or made grey, and
    read otherwise than as plain 8-bit pixels (``forms``: counts of :data:`STORED_FORMS` keys)."""
    resized = sum(size != (spec.height, spec.width) for _, _, size, _ in found)
    to_colour = sum(not c for *_, c in found) if spec.channels == 3 else 0
    to_grey = sum(c for *_, c in found) if spec.channels == 1 else 0
    counts = [
        (resized, "resized"),
        (to_colour, "with grey pixels only, given 3 channels"),
        (to_grey, "colour→greyscale"),
        *((forms[key], what) for key, what in STORED_FORMS.items()),
    ]
    if any(n for n, _ in counts):
        parts = [f"{n} {what}" for n, what in counts if n]  # "; ": a part may hold a comma
        cap = f" (sizes capped at {MAX_SIDE} px; --image-size chooses another)" if capped else ""
        warn(
            f"{root}: brought {len(found)} image{'s' if len(found) != 1 else ''} to {spec.describe()}{cap} ({'; '.join(parts)})"
        )


def flat_side(pixels: int) -> int | None:
    """The side H of square images flattened to rows of ``pixels`` = H²; None where no square
    has that many."""
    side = int(round(pixels**0.5))
    return side if side > 0 and side * side == pixels else None


def channels_last_image(shape: tuple[int, ...]) -> bool:
    """Whether a 3-D ``shape`` is one image (H, W, C), far likelier than H images of W × C pixels:
    its last axis 1–4 and narrower than the one before."""
    return len(shape) == 3 and shape[2] in (1, 2, 3, 4) and shape[1] > shape[2]


def as_images(array: np.ndarray, source: str, warn: Warn | None = None) -> torch.Tensor:
    """An image array (N, H, W), (N, H, W, C), (N, C, H, W), or (N, D) of flattened square images
    (D = H², greyscale) → float32 (N, C, H, W) in [0, 1].

    Pixel values are read by :func:`~idk.data.imaging.unit_divisor`, as one image's are: uint8 /
    255, uint16 holding values above 255 / 65,535 (16-bit images), bool 0 or 1, other numbers (uint16
    of 8-bit values too) in [0, 1] or 0..255. The rule is the array's: a dim 16-bit set with no value
    above 255 is read as 8 bits. ``warn`` is told of 8-bit pixels that hold only 0 and 1 (a mask saved
    as uint8 reads almost black; bool or float 0/1 is ink), and of uint16 pixels read as 8-bit values."""
    array = np.asarray(array)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise DataError(f"{source}: images must be a numeric array, got dtype {array.dtype}")
    if array.ndim == 2:
        side = flat_side(array.shape[1])
        if side is None:
            raise DataError(f"{source}: flat images of {array.shape[1]} pixels are not square; give (N, H, W)")
        if side < MIN_FLAT_SIDE:  # more likely one image (H, W) than H images of side × side pixels
            raise DataError(
                f"{source}: shape {array.shape} read as {array.shape[0]} flat images of {side}×{side} pixels is too "
                f"small; give images as (N, H, W) (one image: (1, H, W))"
            )
        array = array.reshape(-1, side, side)
    if array.ndim == 3 and channels_last_image(array.shape):
        raise DataError(
            f"{source}: shape {array.shape} read as {array.shape[0]} images of {array.shape[1]}×{array.shape[2]} "
            f"pixels is too narrow: one image with its channels last? Give images as (N, H, W, C) "
            f"(one image: array[None], shape (1, {', '.join(map(str, array.shape))}))"
        )
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4 and array.shape[-1] in (1, 3, 4) and array.shape[1] not in (1, 3):
        array = array.transpose(0, 3, 1, 2)
    elif array.ndim == 4 and array.shape[1] == 4:
        pass
    elif array.ndim == 4 and array.shape[1] not in (1, 3):
        raise DataError(
            f"{source}: images need 1 or 3 channels (or RGBA) on the second or last axis, got shape {array.shape}"
        )
    elif array.ndim != 4:
        raise DataError(f"{source}: expected images (N, H, W) or (N, H, W, C), got shape {array.shape}")
    if array.shape[1] not in (1, 3, 4):
        raise DataError(f"{source}: images need 1 or 3 channels, got {array.shape[1]} (shape {array.shape})")
    if array.size == 0:
        check_pixels(torch.empty(array.shape), source)  # no images, or images of no pixels: its words
    try:
        divisor = unit_divisor(array)
    except ValueError as err:
        raise DataError(f"{source}: {err}") from None
    if warn and array.dtype == np.uint8 and array.max() == 1:
        warn(
            f"{source}: its uint8 pixels hold only 0 and 1, read as 8-bit values (1/255: almost black); "
            "if 1 means ink, give the array as bool or float (`images.astype(bool)`)"
        )
    if warn and divisor == 255.0 and array.dtype == np.uint16:  # no value above 255: 8-bit values, by the rule
        warn(
            f"{source}: its uint16 pixels are all 255 or less, read as 8-bit values (255: white), as suits 8-bit "
            "images stored as uint16; if they are 16-bit values of dim images (65,535: white), give them as "
            "floats in [0, 1] (`images / 65535`)"
        )
    images = torch.from_numpy(np.ascontiguousarray(array.astype(np.float32)))
    images = (images / divisor).clamp_(0, 1)  # within ROUNDING of the range: a resampling's overshoot
    if images.shape[1] == 4:  # RGBA
        images = laid_on_white(images[:, :3], images[:, 3:])
    return images


def read_array(path: Path, name: str, warn: Warn | None = None) -> ImageSet:
    """A ``.npy`` image array, or a ``.npz`` with ``images`` (or ``x``), optional ``labels`` (or
    ``y``) and optional ``classes`` (names; default "0", "1", ...); ``warn`` as :func:`as_images`'."""
    try:
        return _read_array(path, name, warn)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as err:
        first = (str(err).splitlines() or [type(err).__name__])[0][:100]
        if "pickle" in str(err):  # numpy's advice to allow_pickle is no advice for image data
            first = "it holds no numeric array (text or pickled objects)"
        raise DataError(f"{path}: not a readable .npy/.npz array file ({first})") from None


def _read_array(path: Path, name: str, warn: Warn | None) -> ImageSet:
    loaded = np.load(path, allow_pickle=False)
    labels, classes = None, ()
    if isinstance(loaded, np.lib.npyio.NpzFile):
        keys = set(loaded.files)
        key = next((k for k in ("images", "x", "X") if k in keys), None)
        if key is None:
            raise DataError(f"{path}: .npz has no 'images' (or 'x') array; it holds {sorted(keys)}")
        images = as_images(loaded[key], str(path), warn)
        lkey = next((k for k in LABEL_KEYS if k in keys), None)
        if lkey is not None:
            raw = loaded[lkey]
            if raw.ndim == 2 and len(raw) == len(images) and raw.shape[1] > 1:  # one-hot rows
                raw = raw.argmax(1)
            elif raw.ndim == 2 and raw.shape[1] == 1:  # a column of labels
                raw = raw[:, 0]
            raw = whole_labels(raw, path)
            labels = torch.from_numpy(raw.astype(np.int64).reshape(-1) if raw.ndim <= 1 else raw.astype(np.int64))
            if "classes" in keys:
                classes = class_names(loaded["classes"], path)
            else:
                classes = unnamed_classes(labels, str(path))
            check_labels(labels, len(images), classes, str(path))
    else:
        images = as_images(loaded, str(path), warn)
    _, c, h, w = images.shape
    named = labels is None or "classes" in keys
    return ImageSet(name, images, labels, classes, InputSpec(c, h, w, "fit"), named=named)


def whole_labels(raw: np.ndarray, path: Path | str) -> np.ndarray:
    """An array's labels as integers: integer ones as they are, floating-point ones that all hold
    whole numbers (3.0, as pandas or MATLAB may save them) as those numbers; DataError for any
    other (naming the first label that is no whole number)."""
    if np.issubdtype(raw.dtype, np.integer):
        return raw
    if not np.issubdtype(raw.dtype, np.floating):
        raise DataError(f"{path}: labels must be whole numbers (class indices), got dtype {raw.dtype}")
    flat = raw.reshape(-1)
    if (bad := ~np.isfinite(flat) | (flat != np.round(flat))).any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}: labels must be whole numbers (class indices); label {i} is {float(flat[i])!r}")
    if (large := np.abs(flat) >= 2**62).any():  # beyond int64 (and far beyond any class index)
        i = int(np.flatnonzero(large)[0])
        raise DataError(f"{path}: labels must be class indices 0, 1, 2, ...; label {i} is {float(flat[i])!r}")
    return raw.astype(np.int64)


def class_names(raw: np.ndarray, path: Path | str) -> tuple[str, ...]:
    """An .npz's ``classes`` as names: one per class (a 1-D array of text, bytes decoded as UTF-8,
    or numbers), none empty, none twice (each must name one answer)."""
    if raw.ndim != 1:
        raise DataError(f"{path}: 'classes' must hold one name per class (a 1-D array), got shape {raw.shape}")
    names = tuple(c.decode("utf-8", "replace") if isinstance(c, bytes) else str(c) for c in raw.tolist())
    if empty := [i for i, c in enumerate(names) if not c.strip()]:
        raise DataError(f"{path}: class {empty[0]} has an empty name in 'classes'; name every class")
    seen: dict[str, int] = {}
    for i, c in enumerate(names):
        if c in seen:
            raise DataError(f"{path}: the class name {c!r} is given twice in 'classes' (classes {seen[c]} and {i})")
        seen[c] = i
    return names


def read_idx_images(path: Path, name: str) -> ImageSet:
    """An IDX file of images (N, H, W), raw or gzip."""
    images = as_images(read_idx(path), str(path))
    return ImageSet(name, images, None, (), InputSpec(1, *images.shape[-2:], "fit"))


def stratified_split(labels: torch.Tensor, share: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed random (train, test) indices holding out ``share`` of every class (at least one image
    of each class with two or more), each sorted."""
    g = torch.Generator().manual_seed(seed)
    train, test = [], []
    for c in labels.unique().tolist():
        idx = (labels == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        k = max(1, round(share * len(idx))) if len(idx) >= 2 else 0
        test.append(idx[:k])
        train.append(idx[k:])
    return torch.cat(train).sort().values, torch.cat(test).sort().values


def fit_images(data: ImageSet, spec: InputSpec, warn: Warn | None = None, source: str | None = None) -> ImageSet:
    """An array set brought to ``spec``'s size and channels image by image with ``fit`` (aspect
    kept, padded, as a folder's images of other sizes are brought to one size); a set already in
    ``spec``'s shape is taken as it is. Arrays are data sets, not photos: no preparation recipe
    (inverting, trimming) is applied. ``warn`` is told in one line what was converted, as a
    folder's conversions are, naming the set as ``source`` (default: its name)."""
    if data.images.shape[1:] == spec.shape:
        return replace(data, spec=spec)
    if warn:
        n, c, h, w = data.images.shape
        was = InputSpec(c, h, w).describe() if c in (1, 3) else f"{h}×{w}, {c} channels"
        fitted = " (aspect kept, padded)" if (h, w) != (spec.height, spec.width) else ""
        warn(f"{source or data.name}: brought {n} image{'s' if n != 1 else ''} of {was} to {spec.describe()}{fitted}")
    pixels = data.images.permute(0, 2, 3, 1).numpy()
    pixels = pixels[..., 0] if pixels.shape[-1] == 1 else pixels
    images = np.stack([fit(px, spec).pixels for px in pixels])
    return replace(data, images=torch.from_numpy(images), spec=spec)
