"""A user's own labelled images: folders of image files (arrays: :mod:`idk.data.arrays`; a CSV
file listing them: :mod:`idk.data.manifests`).

A folder ``DIR/CLASS/*`` is labelled by its sorted class-folder names; a flat folder of images is
unlabelled (an out-of-distribution set). Which files are read is said here; how they are decoded
and brought to one form, in :mod:`idk.data.reading`.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import torch

from idk.data.class_names import nfc
from idk.data.images import ImageSet, InputSpec, unit
from idk.data.listing import IMAGE_SUFFIXES, not_read, some_of, unsaid
from idk.data.preparation import fit
from idk.data.reading import Listed, Warn, read_listed, stacked, stored
from idk.errors import DataError


def files_of(folder: Path) -> list[Path]:
    """The files of ``folder`` (links to nothing among them, said when read), but those passed over
    unsaid (:func:`~idk.data.listing.unsaid`: hidden, Thumbs.db), sorted by name."""
    return sorted(
        f for f in folder.iterdir() if (f.is_file() or (f.is_symlink() and not f.exists())) and not unsaid(f.name)
    )


def class_folders(root: Path) -> list[Path]:
    """The sub-folders of ``root`` but those passed over unsaid (hidden, ``__MACOSX``), sorted by name."""
    return sorted(p for p in root.iterdir() if p.is_dir() and not unsaid(p.name))


def _folders_within(root: Path) -> list[Path]:
    """Every folder below ``root`` at any depth but those passed over unsaid, sorted; a link to a
    folder is read, not followed further (no loops)."""
    found: list[Path] = []
    for here, folders, _ in os.walk(root):
        folders[:] = sorted(f for f in folders if not unsaid(f))
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
    luminance_grey: bool = False,
) -> ImageSet:
    """Images of ``root`` (one sub-folder per class, or flat) in ``spec``'s form; ``unlabelled``:
    every image of ``root`` and of its sub-folders at any depth, without labels (an
    out-of-distribution set's). ``require_labels``: refused unless it holds ``least_classes`` class
    folders or more (a training set two, a test set one).

    Without ``spec`` the form comes from the images: colour when any image is, else greyscale;
    ``image_size`` (H, W), else :func:`usual_size` scaled down to at most :data:`MAX_SIDE`;
    prepared by ``fit`` (grey files read as ``luminance_grey`` says: :class:`InputSpec`). Images already of the frame's size are taken pixel for pixel: a folder of
    them is a data set in the model's form (notMNIST-459's letters, dark on light, are read so),
    where ``idk predict`` prepares a photo of the same size (inverting a light background for a
    digit model); ``prepare_all`` prepares them as ``idk predict`` does. Others are prepared as
    ``spec`` says. Images beside the class sub-folders are
    not read (one ``warn`` line names them). Files that cannot be decoded are skipped
    and named in one ``warn`` line; what was converted is said in another. Images are decoded a few
    at a time (:func:`in_threads`), never all at full size: once when ``spec`` is given, converted as
    read; else surveyed first (:func:`~idk.data.survey.survey_image`: sizes from the headers,
    colour decoded only until one image has it), then decoded once each and converted.
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
    beside = (
        [f.name for f in files_of(root) if f.suffix.lower() in IMAGE_SUFFIXES] if subdirs and not unlabelled else []
    )
    if beside and warn:
        warn(
            f"{root}: {len(beside)} image{'s' * (len(beside) != 1)} beside its sub-folders {'are' if len(beside) != 1 else 'is'} not read (only the sub-folders' images are, "
            f"one folder per class): {some_of(beside)}"
        )
    tables = [f.name for f in files_of(root) if f.suffix.lower() == ".csv"] if subdirs and not unlabelled else []
    if tables and warn:  # HAM10000 or APTOS as shipped: a table of the images' classes beside image folders
        warn(
            f"{root}: its sub-folders are read as its classes ({some_of([d.name for d in subdirs])}), the table "
            f"beside them is not: if {tables[0]} lists the images and their classes, give it (--data "
            f"{root / tables[0]})"
        )
    nested = [] if unlabelled else [f"{cls}/{d.name}" for cls, folder in groups if cls for d in class_folders(folder)]
    if nested and warn:
        warn(
            f"{root}: folders inside class folders are not read (only the images directly in each class "
            f"folder are): {some_of(nested)}"
        )
    listed: list[Listed] = []
    for label, (cls, folder) in enumerate(groups):
        files = files_of(folder)
        if require_labels and not files:
            inside = " of images (its sub-folders are not read)" if class_folders(folder) else ""
            raise DataError(f"{folder}: class folder {cls!r} is empty{inside}; give it images or remove it")
        # each shown with its class folder (a Thumbs.db of which one)
        listed += [(f"{cls}/{f.name}" if cls else f.name, f, label, not_read(f)) for f in files]

    labelled = bool(subdirs) and not unlabelled
    classes = tuple(c for c, _ in groups) if labelled else None
    return read_listed(
        root, name, listed, classes, spec, image_size, warn, require_labels, prepare_all, luminance_grey=luminance_grey
    )


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
    images = stacked([stored(fit(unit(torch.from_numpy(px)).numpy(), spec).pixels) for px in pixels])
    return replace(data, images=torch.from_numpy(images), spec=spec)
