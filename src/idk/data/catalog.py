"""Every data set by name or path: how to load it for training or for a report.

A name is one of the sets idk knows (:mod:`idk.data.named`), a path a user's set
(:mod:`idk.data.folders`). :func:`training_data` gives a training set and its test set, and a
:class:`DataRecord` that says how to get the same test set again (stored in the checkpoint);
:func:`load` gives any set for evaluation, brought to a model's input form.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from idk.choices import DEFAULT_DATA as DEFAULT_DATA  # re-exported: its home is idk.choices
from idk.data.arrays import LABEL_KEYS, read_array, read_idx_images
from idk.data.class_names import in_model_classes, match_classes, matched
from idk.data.fingerprints import fingerprint, same_images, shared_images
from idk.data.folders import Warn, class_folders, files_of, fit_images, read_folder, stratified_split
from idk.data.idx import read_idx
from idk.data.images import (
    ImageSet,
    InputSpec,
    check_labels,
    check_pixels,
    conform,
    unnamed_classes,
)
from idk.data.listing import IMAGE_SUFFIXES, some_of
from idk.data.manifests import is_manifest, read_manifest, unlabelled_manifest
from idk.data.named import KNOWN, NAMED, NOISE, named_split, noise, notmnist_459
from idk.data.sources import DataConfig
from idk.errors import DataError

TEST_SHARE = 0.2  # held out for testing when a set comes without a test split
SPLIT_SEED = 20_181_127  # the fixed random splits (test and validation)
# a named set's test split as a report names it; load takes the report's name back as the set's
REPORT_NAMES = {"mnist": "mnist-test"}
ALIASES = {report: named for named, report in REPORT_NAMES.items()}


@dataclass(frozen=True)
class DataRecord:
    """Where a model's training and test images came from, enough to load the same test set again."""

    data: str  # a name of NAMED or an absolute path
    test_data: str | None = None  # a separate test set (path), if one was given
    image_size: tuple[int, int] | None = None
    test_indices: list[int] | None = None  # a recorded split of ``data``: its test images
    fingerprint: dict[str, Any] = field(default_factory=dict)  # of ``data`` whole, where a split is recorded
    # of a test set of its own (--test-data, or a test/ half), so a moved one is known again; {}: none
    # (a named set's, or recorded before 2026-12-06)
    test_fingerprint: dict[str, Any] = field(default_factory=dict)
    columns: tuple[str, str | None] | None = None  # its CSV tables' file and class columns (--columns)

    def as_dict(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "test_data": self.test_data,
            "image_size": list(self.image_size) if self.image_size else None,
            "test_indices": self.test_indices,
            "fingerprint": self.fingerprint,
            "test_fingerprint": self.test_fingerprint,
            "columns": list(self.columns) if self.columns else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataRecord:
        size = d.get("image_size")
        return cls(
            d["data"],
            d.get("test_data"),
            tuple(size) if size else None,
            d.get("test_indices"),
            d.get("fingerprint", {}),
            d.get("test_fingerprint", {}),
            tuple(d["columns"]) if d.get("columns") else None,
        )


@dataclass
class TrainingData:
    """A training set, its test set, and the record that finds the test set again."""

    train: ImageSet
    test: ImageSet
    record: DataRecord
    ood: tuple[str, ...]

    @property
    def spec(self) -> InputSpec:
        assert self.train.spec is not None
        return self.train.spec


def training_data(
    data: str,
    cfg: DataConfig,
    test_data: str | None = None,
    image_size: tuple[int, int] | None = None,
    warn: Warn | None = None,
) -> TrainingData:
    """The labelled training and test sets that ``data`` (and ``test_data``) name, read as ``cfg``
    says (CSV tables by ``cfg.columns``, recorded; grey files by ``cfg.luminance_grey``).

    ``data``: a name of :data:`NAMED`; a folder ``DIR/train/CLASS/*`` + ``DIR/test/CLASS/*``, or
    ``DIR/CLASS/*``; a folder of IDX pairs (``train-images-idx3-ubyte`` ...); an ``.npz``; a ``.csv``
    listing images and their classes (:mod:`idk.data.manifests`). Without
    a test split, a stratified share :data:`TEST_SHARE` is held out and recorded.
    """
    if image_size is not None and min(image_size) < 1:
        raise DataError(f"--image-size {image_size[0]}: images need at least one pixel")
    if data in NAMED:
        if image_size is not None:
            raise DataError(
                f"--image-size applies to your own images (folders, arrays); {data}'s images are in its own form"
            )
        known = NAMED[data]
        if test_data is None and "train" in known.splits:
            return TrainingData(
                named_split(data, "train", cfg), named_split(data, "test", cfg), DataRecord(data), known.ood
            )
        full = named_split(data, known.splits[0], cfg)
        full.name = data
        ood = known.ood
        record_data = data
    else:
        path = Path(data)
        if not path.exists():
            raise DataError(f"{data}: not a known data set ({', '.join(NAMED)}) nor an existing path")
        full = _labelled(path, image_size, warn, luminance_grey=cfg.luminance_grey, columns=cfg.columns)
        record_data = str(path.resolve())
        if test_data is None and _has_test_half(path):
            spec = full.spec
            test = _labelled(path, None, warn, spec=spec, split="test")
            test = _beside_training(test, full.classes, f"{path} (test)", f"{path} (train)", warn)
            record = DataRecord(record_data, image_size=(spec.height, spec.width), test_fingerprint=fingerprint(test))
            _say_shared(full, test, f"{path} (test)", warn, "keep each image on one side")
            return TrainingData(full, test, record, NOISE)
        ood = NOISE
    if cfg.luminance_grey and full.spec.channels == 1:  # a --test-data set's grey files read as the model read them
        full.spec = replace(full.spec, luminance_grey=True)
    spec = full.spec
    size = (spec.height, spec.width)
    tables = any(is_manifest(Path(given)) for given in (data, test_data) if given is not None)
    columns = cfg.columns if tables else None  # recorded where a table was read by them
    if cfg.columns and not tables and warn:
        warn(f"--columns names a .csv table's columns: {data} is no table, and is read as it is")
    if test_data is not None:
        test = _labelled(Path(test_data), size, warn, spec=spec, split="test", columns=cfg.columns)
        test = _beside_training(test, full.classes, test_data, data, warn)
        record = DataRecord(
            record_data, str(Path(test_data).resolve()), size, test_fingerprint=fingerprint(test), columns=columns
        )
        _say_shared(full, test, test_data, warn, "keep each image on one side")
        return TrainingData(full, test, record, ood)
    train_idx, test_idx = stratified_split(full.labels, TEST_SHARE, SPLIT_SEED)
    if not len(test_idx):
        raise DataError(f"{data}: too few images to hold out a test set (two or more per class), or give --test-data")
    record = DataRecord(record_data, None, size, test_idx.tolist(), fingerprint(full), columns=columns)
    # the test images copied out first; the training images then kept in place (no copy of them)
    test = full.subset(test_idx, f"{full.name}-test")
    train = full.kept(train_idx, f"{full.name}-train")
    if data not in NAMED:  # notMNIST-10k's own copies are the set's, as published: nothing a user can do
        where = "folder" if Path(data).is_dir() and not _idx_pair(Path(data), "train") else "array"  # IDX arrays too
        where = "list" if is_manifest(Path(data)) else where
        _say_shared(train, test, f"{data} (the held-out test share)", warn, f"remove the copies from the {where}")
    return TrainingData(train, test, record, ood)


def _say_shared(train: ImageSet, test: ImageSet, source: str, warn: Warn | None, advice: str) -> None:
    """Warn where test images are training images too: the test figures would flatter the model."""
    if warn and (n := shared_images(train, test)):
        warn(
            f"{source}: {n} of its {len(test)} test images {'are' if n > 1 else 'is'} also among the training "
            f"images (the same pixels): the test figures flatter the model on them; {advice}"
        )


def _beside_training(
    test: ImageSet, classes: tuple[str, ...], source: str, train_source: str, warn: Warn | None
) -> ImageSet:
    """A test set numbered as the training ``classes``: of them all (:func:`match_classes`), or of
    some, named (a rare class without a test image: said, its figures are of the others)."""
    given_keys, known = matched(test.classes, classes)  # as match_classes meets them
    given = set(given_keys)
    if test.named and given < set(known):  # some of the classes, none other
        lacking = [c for c, one_form in zip(classes, known, strict=True) if one_form not in given]
        if warn:
            warn(f"{source}: no test image of {some_of(lacking)}: the test figures are of the other classes")
        return in_model_classes(test, classes, source)
    match_classes(test, classes, source, train_source)
    return test


def recorded_test_set(
    record: DataRecord,
    spec: InputSpec,
    cfg: DataConfig,
    classes: tuple[str, ...] | None = None,
    warn: Warn | None = None,
) -> ImageSet:
    """The test set a model was trained beside (from its checkpoint's record), in ``spec``'s form;
    with the model's ``classes``, its labels numbered as the model's (a ``test/`` folder or a
    ``--test-data`` set that lost or gained a class since training is refused, or renumbered).
    ``warn``: told when a test folder or file holds other images than at training (its recorded
    SHA-256): the figures are then of the images there now."""
    source = record.test_data or record.data
    test = _recorded_test_set(record, spec, cfg)
    if classes is not None and test.labels is not None:  # numbered as the model's, as when it was fingerprinted
        test = in_model_classes(test, classes, f"{source} (the model's test set)")
    if warn and record.test_fingerprint and same_images(fingerprint(test)) != same_images(record.test_fingerprint):
        warn(
            f"{source}: the model's test set changed since training ({record.test_fingerprint['n']} images then, "
            f"{len(test)} now, or other pixels or labels): the figures are of the images there now"
        )
    return conform(test, spec)


# what to do when a model's training folder is gone (said where its recorded test set is read)
GONE_HINT = (
    "give a test set with --test-data (moved: `idk train --resume --out MODEL --data NEW_PLACE` records "
    "its new place, and the commands read it there)"
)


def _recorded_test_set(record: DataRecord, spec: InputSpec, cfg: DataConfig) -> ImageSet:
    if record.test_indices is None and record.test_data is None:
        if record.data in NAMED:
            return named_split(record.data, "test", cfg)
        path = Path(record.data)
        if not path.exists():
            raise DataError(f"{path}: the model's training data is gone; {GONE_HINT}")
        test = _labelled(path, None, None, spec=spec, split="test")
        test.name = f"{path.name}-test"
        return test
    if record.test_data is not None:
        if not Path(record.test_data).exists():
            raise DataError(
                f"{record.test_data}: the model's test data is gone; give it with --test-data (moved: "
                "`idk train --resume --out MODEL --test-data NEW_PLACE` records its new place)"
            )
        return _labelled(Path(record.test_data), None, None, spec=spec, split="test", columns=record.columns)
    if record.data in NAMED:
        full = named_split(record.data, NAMED[record.data].splits[0], cfg)
    else:
        if not Path(record.data).exists():
            raise DataError(f"{record.data}: the model's training data is gone; {GONE_HINT}")
        full = _labelled(
            Path(record.data), record.image_size, None, luminance_grey=spec.luminance_grey, columns=record.columns
        )
    if record.fingerprint and fingerprint(full)["sha256"] != record.fingerprint.get("sha256"):
        raise DataError(
            f"{record.data}: the data changed since the model was trained, so its recorded test split no longer "
            "applies; give a test set with --test-data"
        )
    return full.subset(torch.tensor(record.test_indices, dtype=torch.long), f"{Path(record.data).name}-test")


def _has_test_half(path: Path) -> bool:
    """Whether a folder holds its own test set: ``train/`` and ``test/``, or IDX ``train`` and ``t10k`` pairs."""
    return path.is_dir() and (
        ((path / "train").is_dir() and (path / "test").is_dir())
        or (_idx_pair(path, "train") is not None and _idx_pair(path, "t10k") is not None)
    )


def _idx_pair(path: Path, prefix: str) -> Path | None:
    for name in (f"{prefix}-images-idx3-ubyte", f"{prefix}-images-idx3-ubyte.gz"):
        if (path / name).is_file():
            return path / name
    return None


def _evaluation_pair(path: Path) -> str | None:
    """The IDX pair of a folder to evaluate on: "t10k" when it holds one, else "train"; None: no pair."""
    return next((p for p in ("t10k", "train") if _idx_pair(path, p) is not None), None)


def _idx_labelled(path: Path, prefix: str) -> ImageSet:
    images = _idx_pair(path, prefix)
    labels_file = next(
        (path / n for n in (f"{prefix}-labels-idx1-ubyte", f"{prefix}-labels-idx1-ubyte.gz") if (path / n).is_file()),
        None,
    )
    if images is None or labels_file is None:
        raise DataError(f"{path}: expected {prefix}-images-idx3-ubyte[.gz] and {prefix}-labels-idx1-ubyte[.gz]")
    data = read_idx_images(images, f"{path.name}-{prefix}")
    labels = torch.from_numpy(read_idx(labels_file).astype(np.int64))
    classes = unnamed_classes(labels, str(labels_file))
    check_labels(labels, len(data), classes, str(labels_file))
    if prefix == "train" and len(classes) < 2:
        raise DataError(f"{labels_file}: a classifier needs at least two classes, found {len(classes)}")
    data.labels, data.classes, data.named = labels, classes, False
    return data


def _labelled(
    path: Path,
    image_size,
    warn: Warn | None,
    spec: InputSpec | None = None,
    split: str = "train",
    luminance_grey: bool = False,
    columns: tuple[str, str | None] | None = None,
) -> ImageSet:
    """A labelled set from a path (folder, IDX-pair folder, .npz, CSV), in ``spec``'s form when given
    (else ``image_size``'s, a folder's grey files read as ``luminance_grey`` says, a CSV's columns
    as ``columns`` names them); ``split`` picks the half of a folder holding ``train/`` and ``test/``."""
    least = 2 if split == "train" else 1  # a test set may lack classes (a rare one): one will do
    listing = {
        "require_labels": True,
        "least_classes": least,
        "luminance_grey": luminance_grey,
    }  # a folder's, a table's
    if path.is_dir():
        if (path / "train").is_dir() and (path / "test").is_dir():
            others = [d.name for d in class_folders(path) if d.name not in ("train", "test")]
            if others and warn and split == "train":  # said once, where the training half is read
                warn(f"{path}: folders beside train/ and test/ are not read: {some_of(others)}")
            path = path / split
        elif _idx_pair(path, wanted := "train" if split == "train" else "t10k"):  # never test on the train pair
            data = _idx_labelled(path, wanted)
            if spec is None and image_size is not None:
                spec = InputSpec(1, *image_size, "fit")
            return fit_images(data, spec, warn, str(path)) if spec else data
        data = read_folder(path, path.name, spec, image_size, warn, **listing)
    elif is_manifest(path):
        data = read_manifest(path, path.stem, spec, image_size, warn, columns=columns, **listing)
    elif path.suffix == ".npz":
        data = read_array(path, path.stem, warn)
        if data.labels is None:
            raise DataError(f"{path}: a training set needs 'labels' beside 'images'")
        if len(data.classes) < least:
            needs = "a classifier needs at least two classes" if least == 2 else "a test set needs a class"
            raise DataError(f"{path}: {needs}, found {len(data.classes)}")
        if split == "train":
            _every_class_has_images(data, path)
        data = fit_images(
            data, spec or InputSpec(data.spec.channels, *(image_size or data.spec.shape[1:]), "fit"), warn, str(path)
        )
    else:
        raise DataError(
            f"{path}: a training set is a folder (one sub-folder per class), an .npz with images and labels, or a .csv "
            "listing image files and their classes"
        )
    check_pixels(data.images, str(path))
    return data


def _every_class_has_images(data: ImageSet, path: Path) -> None:
    """DataError unless every class of an .npz training set has an image: one named in its ``classes``
    (or numbered by its labels, from 0) but never labelled would be trained as a class with none."""
    counts = torch.bincount(data.labels, minlength=len(data.classes)).tolist()
    empty = [name for name, k in zip(data.classes, counts, strict=True) if k == 0]
    if not empty:
        return
    listed = ", ".join(map(repr, empty))
    with np.load(path) as arrays:
        named = "classes" in arrays.files
    if not named:  # the classes are the label numbers, and some number has no image
        raise DataError(f"{path}: no image is labelled {listed}; number the classes from 0 without gaps")
    one = len(empty) == 1
    them = "it" if one else "them"
    raise DataError(
        f"{path}: the class{'' if one else 'es'} {listed} {'has' if one else 'have'} no image; give {them} images "
        f"or leave {them} out of 'classes'"
    )


def load(
    name_or_path: str,
    cfg: DataConfig,
    spec: InputSpec,
    n_noise: int = 100,
    seed: int = 0,
    prepare: bool = False,
    warn: Warn | None = None,
    labelled: bool = True,
) -> ImageSet:
    """A set for evaluation, in ``spec``'s form: a name of :data:`KNOWN` (a named set's test split),
    or a path (folder of images, labelled or flat; IDX file; ``.npy``/``.npz``). ``labelled`` False:
    an out-of-distribution set, whose folder is read whole, its own images and its sub-folders'
    (no labels to read). ``prepare``: a
    folder's images of the frame's size are prepared as user images too (:func:`read_folder`);
    ``warn``: told of a folder's files that are skipped (unreadable, not images) and of what was
    converted (a folder's images, an array's). Arrays and IDX
    files of another size are fitted into the frame, aspect kept, as training fits them
    (:func:`~idk.data.folders.fit_images`), not stretched."""
    if name_or_path in NOISE:
        return noise(name_or_path, n_noise, spec, seed)
    fitted = False
    name_or_path = ALIASES.get(name_or_path, name_or_path)
    if name_or_path == "notmnist-459":
        data = notmnist_459(cfg)
    elif name_or_path in NAMED:
        data = named_split(name_or_path, "test", cfg)
        data.name = REPORT_NAMES.get(name_or_path, name_or_path)
    else:
        path = Path(name_or_path)
        if not path.exists():
            raise DataError(f"{name_or_path}: not a known data set ({', '.join(KNOWN)}) nor an existing path")
        if path.is_dir() and (prefix := _evaluation_pair(path)):
            data, fitted = _idx_labelled(path, prefix), True
        elif path.is_dir():
            path = _evaluated_folder(path)
            data = read_folder(path, path.name, spec=spec, prepare_all=prepare, warn=warn, unlabelled=not labelled)
        elif is_manifest(path):
            data = read_manifest(
                path, path.stem, spec, warn=warn, prepare_all=prepare, labelled=labelled, columns=cfg.columns
            )
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            raise DataError(f"{path}: one image is no data set; give a folder of images (`idk predict` answers one)")
        elif path.suffix.lower() in (".npy", ".npz"):
            data, fitted = read_array(path, path.stem, warn), True
        else:
            try:
                data, fitted = read_idx_images(path, path.stem), True
            except DataError as err:
                if "not an IDX file" not in str(err):
                    raise
                raise DataError(
                    f"{path}: not a data set idk reads: give a folder of images (one sub-folder per class, or flat), "
                    "an .npz or .npy array, a .csv listing image files (and their classes), or an IDX file (MNIST's form)"
                ) from None
    check_pixels(data.images, name_or_path)
    # arrays and IDX files are fitted into the frame (aspect kept) as training fits them, not stretched
    return fit_images(data, spec, warn, name_or_path) if fitted else conform(data, spec)


def without_labels(name_or_path: str, columns: tuple[str, str | None] | None = None) -> bool:
    """Whether :func:`load` would give ``name_or_path`` without labels, told before reading its images:
    a folder of images without class sub-folders (nor an IDX pair), an array without a labels array
    (an ``.npy``, or an ``.npz`` without one), a ``.csv`` without a class column (by ``columns``'
    names where given), a noise set. False for a named set, and where it cannot
    tell so cheaply (an IDX file, a file that is no array, a path that is not there): :func:`load`
    reads or explains those."""
    path = Path(name_or_path)
    if name_or_path in (*KNOWN, *ALIASES) or not path.exists():
        return name_or_path in NOISE
    if path.is_dir():
        return _evaluation_pair(path) is None and not class_folders(_evaluated_folder(path))
    if is_manifest(path):
        return unlabelled_manifest(path, columns)
    if path.suffix.lower() not in (".npy", ".npz"):
        return False
    try:  # np.load goes by the content, as load does: an .npz renamed .npy is still read as one
        loaded = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):  # not an array file: load says so
        return False
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        return True
    with loaded:
        return not set(LABEL_KEYS) & set(loaded.files)


def _evaluated_folder(path: Path) -> Path:
    """The folder :func:`load` reads of ``path``: its ``test/`` where it holds class folders (``train/``
    and ``test/``, or ``test/`` alone) and no files of its own; else ``path`` itself."""
    if class_folders(path) and not files_of(path) and (path / "test").is_dir():
        return path / "test"
    return path
