"""Data sets idk knows by name, and any data set a user has, as tensors.

Named sets: ``mnist-train``, ``mnist-test``, ``notmnist-459``, ``notmnist-10k``, ``noise``
(uniform pixels, like the tutorial's ``torch.rand``) and ``gaussian-noise``. Files come from
``--data-dir``/``$IDK_DATA_DIR`` when given, else from the cache, downloading when missing.
A user's own set may be a folder of images (one sub-folder per class, or flat), an IDX file,
or a ``.npy``/``.npz`` array.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from idk.data.download import (
    RemoteFile,
    RemoteFolder,
    check_folder,
    default_cache_dir,
    fetch_file,
    fetch_folder,
    verify_file,
)
from idk.data.idx import read_idx
from idk.data.imaging import IMAGE_SUFFIXES, open_image, to_mnist
from idk.data.synthetic import gaussian_pixels, uniform_pixels
from idk.errors import DataError, IdkError

DIGITS = tuple(str(d) for d in range(10))

_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)
_NOTMNIST_MIRRORS = ("https://github.com/davidflanagan/notMNIST-to-MNIST/raw/master/",)


def _remote(name: str, sha256: str, size: int, mirrors: tuple[str, ...]) -> RemoteFile:
    return RemoteFile(f"{name}.gz", sha256, size, tuple(m + f"{name}.gz" for m in mirrors))


MNIST_FILES = {
    "train-images": _remote(
        "train-images-idx3-ubyte",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        47040016,
        _MNIST_MIRRORS,
    ),
    "train-labels": _remote(
        "train-labels-idx1-ubyte",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        60008,
        _MNIST_MIRRORS,
    ),
    "test-images": _remote(
        "t10k-images-idx3-ubyte",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        7840016,
        _MNIST_MIRRORS,
    ),
    "test-labels": _remote(
        "t10k-labels-idx1-ubyte",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        10008,
        _MNIST_MIRRORS,
    ),
}
NOTMNIST_10K_FILES = {
    "test-images": _remote(
        "t10k-images-idx3-ubyte",
        "8e7f38ae95cc8f48e0986175ffc9137e5007ebcf3d8fdf6656c904eb9dab198b",
        7840016,
        _NOTMNIST_MIRRORS,
    ),
    "test-labels": _remote(
        "t10k-labels-idx1-ubyte",
        "5f8e6012f2ce730700d8d05fca098bc47f71d25b890e4bec7ac5ebfd614a4001",
        10008,
        _NOTMNIST_MIRRORS,
    ),
}
NOTMNIST_459 = RemoteFolder(
    name="notmnist-459",
    manifest_sha256="281a42d40ed88369b8362653a0660e485f890be69779c0875d791572f5f0e83c",
    count=459,
    urls=("https://github.com/paraschopra/bayesian-neural-network-mnist/archive/refs/heads/master.zip",),
    member_dir="not-mnist",
)
LETTERS = tuple("ABCDEFGHIJ")


@dataclass
class ImageSet:
    """Images as float32 in [0, 1], shape (N, 28, 28); labels (N,) int64 or None; class names."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor | None
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return self.images.shape[0]

    def subset(self, index: torch.Tensor | slice, name: str | None = None) -> ImageSet:
        labels = None if self.labels is None else self.labels[index]
        return ImageSet(name or self.name, self.images[index], labels, self.classes)


@dataclass(frozen=True)
class DataConfig:
    """Where data comes from: a local directory (checked first), else a download cache."""

    data_dir: Path | None = None
    cache_dir: Path | None = None

    @classmethod
    def from_env(
        cls, data_dir: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None
    ) -> DataConfig:
        data_dir = data_dir or os.environ.get("IDK_DATA_DIR") or None
        if data_dir is not None and not Path(data_dir).is_dir():
            raise DataError(f"{data_dir}: data directory does not exist (from --data-dir or IDK_DATA_DIR)")
        return cls(Path(data_dir) if data_dir else None, Path(cache_dir) if cache_dir else default_cache_dir())

    def file(self, subdir: str, remote: RemoteFile) -> Path:
        """A verified path to ``remote``: from the data directory when it holds it, else the cache."""
        if self.data_dir is not None:
            stem = remote.name.removesuffix(".gz")
            for candidate in (self.data_dir / subdir, self.data_dir):
                for name in (remote.name, stem):
                    if (candidate / name).is_file():
                        verify_file(candidate / name, remote)
                        return candidate / name
        return fetch_file(remote, (self.cache_dir or default_cache_dir()) / subdir)

    def folder(self, remote: RemoteFolder) -> Path:
        if self.data_dir is not None and (self.data_dir / remote.name).is_dir():
            check_folder(self.data_dir / remote.name, remote)
            return self.data_dir / remote.name
        return fetch_folder(remote, self.cache_dir or default_cache_dir())


def _as_images(array: np.ndarray, name: str) -> torch.Tensor:
    """uint8/float arrays of shape (N, 28, 28) or (N, 784) → float32 tensor in [0, 1]."""
    array = np.asarray(array)
    if array.ndim == 2 and array.shape[1] == 784:
        array = array.reshape(-1, 28, 28)
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 3 or array.shape[1:] != (28, 28):
        raise DataError(f"{name}: expected images of shape (N, 28, 28) or (N, 784), got {array.shape}")
    if array.dtype == np.uint8:
        return torch.from_numpy(array.astype(np.float32) / 255.0)
    array = array.astype(np.float32)
    if array.size and (array.min() < 0 or array.max() > 1):
        if array.min() >= 0 and array.max() <= 255:
            array = array / 255.0
        else:
            raise DataError(f"{name}: pixel values must lie in [0, 1] or [0, 255]")
    return torch.from_numpy(np.ascontiguousarray(array))


def _idx_pair(cfg: DataConfig, subdir: str, files: dict[str, RemoteFile], split: str, name: str, classes) -> ImageSet:
    images = read_idx(cfg.file(subdir, files[f"{split}-images"]))
    labels = read_idx(cfg.file(subdir, files[f"{split}-labels"]))
    return ImageSet(name, _as_images(images, name), torch.from_numpy(labels.astype(np.int64)), classes)


def mnist(split: str, cfg: DataConfig) -> ImageSet:
    """MNIST ``train`` (60,000) or ``test`` (10,000)."""
    return _idx_pair(cfg, "mnist", MNIST_FILES, split, f"mnist-{split}", DIGITS)


def notmnist_10k(cfg: DataConfig) -> ImageSet:
    """The 10,000-image notMNIST sample in IDX format (labels 0–9 stand for A–J)."""
    return _idx_pair(cfg, "notmnist-10k", NOTMNIST_10K_FILES, "test", "notmnist-10k", LETTERS)


def notmnist_459(cfg: DataConfig, transpose: bool = False) -> ImageSet:
    """The tutorial's 459 notMNIST letters. ``transpose`` mimics the notebook's loader quirk."""
    images = image_folder(cfg.folder(NOTMNIST_459), "notmnist-459")
    if transpose:
        images.images = images.images.transpose(1, 2).contiguous()
    return images


def uniform_noise(n: int = 100, seed: int = 0) -> ImageSet:
    """``n`` uniform-noise images (:func:`uniform_pixels`), seeded."""
    return ImageSet("noise", uniform_pixels(n, torch.Generator().manual_seed(seed)), None, ())


def gaussian_noise(n: int = 1000, seed: int = 0) -> ImageSet:
    """``n`` Gaussian-noise images (:func:`gaussian_pixels`), seeded."""
    return ImageSet("gaussian-noise", gaussian_pixels(n, torch.Generator().manual_seed(seed)), None, ())


def image_folder(root: Path, name: str) -> ImageSet:
    """A folder of images, one sub-folder per class (labels = sorted sub-folder names) or flat.

    Images that are already 28×28 are taken pixel for pixel (a data set in MNIST's form); others
    are brought to MNIST's form by :func:`idk.data.imaging.to_mnist`.
    """
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    groups = [(d.name, d) for d in subdirs] if subdirs else [("", root)]
    images, labels = [], []
    for label, (_cls, folder) in enumerate(groups):
        for f in sorted(folder.iterdir()):
            if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith("."):
                grey = open_image(f)
                images.append(grey if grey.shape == (28, 28) else to_mnist(grey).pixels)
                labels.append(label)
    if not images:
        raise DataError(f"{root}: directory has no images ({', '.join(IMAGE_SUFFIXES)})")
    classes = tuple(c for c, _ in groups) if subdirs else ()
    tensor_labels = torch.tensor(labels) if subdirs else None
    return ImageSet(name, torch.from_numpy(np.stack(images)), tensor_labels, classes)


def array_file(path: Path, name: str) -> ImageSet:
    """A ``.npy`` array of images, or a ``.npz`` with ``images`` (or ``x``) and optional ``labels`` (or ``y``)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable .npy/.npz file ({err})") from None
    labels = None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        keys = set(loaded.files)
        key = next((k for k in ("images", "x", "X") if k in keys), None)
        if key is None:
            raise DataError(f"{path}: .npz has no 'images' (or 'x') array; it holds {sorted(keys)}")
        images = loaded[key]
        lkey = next((k for k in ("labels", "y", "Y") if k in keys), None)
        labels = None if lkey is None else torch.from_numpy(loaded[lkey].astype(np.int64))
    else:
        images = loaded
    return ImageSet(name, _as_images(images, str(path)), labels, ())


def from_path(path: str | os.PathLike, name: str | None = None) -> ImageSet:
    """Load a user's data set from a folder of images, an IDX file or a .npy/.npz file."""
    path = Path(path)
    name = name or path.stem
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_dir():
        return image_folder(path, name)
    if path.suffix in (".npy", ".npz"):
        return array_file(path, name)
    return ImageSet(name, _as_images(read_idx(path), str(path)), None, ())


NAMED = ("mnist-train", "mnist-test", "notmnist-459", "notmnist-10k", "noise", "gaussian-noise")


def load(spec: str, cfg: DataConfig, n_noise: int | None = None, seed: int = 0) -> ImageSet:
    """Load a named data set (see ``NAMED``) or, failing that, a path."""
    if spec == "mnist-train":
        return mnist("train", cfg)
    if spec == "mnist-test":
        return mnist("test", cfg)
    if spec == "notmnist-459":
        return notmnist_459(cfg)
    if spec == "notmnist-10k":
        return notmnist_10k(cfg)
    if spec == "noise":
        return uniform_noise(n_noise or 100, seed)
    if spec == "gaussian-noise":
        return gaussian_noise(n_noise or 1000, seed)
    if Path(spec).exists():
        return from_path(spec)
    raise IdkError(f"{spec}: not a known data set ({', '.join(NAMED)}) nor an existing path")
