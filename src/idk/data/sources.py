"""Where the files of the data sets idk knows by name come from: mirrors, checksums, local copies.

Files of ``mnist`` and ``fashion-mnist`` (train and test IDX pairs), ``notmnist-10k`` (one IDX
pair) and ``notmnist-459`` (a folder inside the tutorial's repository archive). They come from
``--data-dir``/``$IDK_DATA_DIR`` when it holds them, else from the cache, downloading
(checksum-verified) when missing. What each set is lives in :mod:`idk.data.catalog`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from idk.cache import default_cache_dir
from idk.data.download import (
    RemoteFile,
    RemoteFolder,
    check_folder,
    fetch_file,
    fetch_folder,
    verify_file,
)
from idk.errors import DataError
from idk.progress import Progress

_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)
_FASHION_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
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
FASHION_MNIST_FILES = {
    "train-images": _remote(
        "train-images-idx3-ubyte",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        47040016,
        _FASHION_MIRRORS,
    ),
    "train-labels": _remote(
        "train-labels-idx1-ubyte",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        60008,
        _FASHION_MIRRORS,
    ),
    "test-images": _remote(
        "t10k-images-idx3-ubyte",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        7840016,
        _FASHION_MIRRORS,
    ),
    "test-labels": _remote(
        "t10k-labels-idx1-ubyte",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        10008,
        _FASHION_MIRRORS,
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
# Every set idk can download, by name (``idk download``): its files, or a folder from an archive;
# each lies in a folder of its name, in a data directory and in the cache alike.
DOWNLOADS: dict[str, dict[str, RemoteFile] | RemoteFolder] = {
    "mnist": MNIST_FILES,
    "fashion-mnist": FASHION_MNIST_FILES,
    "notmnist-10k": NOTMNIST_10K_FILES,
    "notmnist-459": NOTMNIST_459,
}
# what a library caller who gave a path where a DataConfig goes is told (:func:`idk.errors.expect`)
DATA_CONFIG_HINT = "a DataConfig says where the named sets live and how tables are read, DataConfig.from_env(data_dir)"


@dataclass(frozen=True)
class DataConfig:
    """Where data comes from: a local directory (checked first), else a download cache;
    ``progress``: bars while files download (none when None); how a user's files are read:
    ``columns``, the file and class columns of the command's own CSV tables by name (``--columns``;
    None: found by their usual names, :mod:`idk.data.manifests`), and ``luminance_grey``, grey files
    read as a model from before checkpoint format 5 read them (:class:`~idk.data.images.InputSpec`);
    a model's own data is read as it was (:meth:`~idk.training.checkpoint.Checkpoint.reading`)."""

    data_dir: Path | None = None
    cache_dir: Path | None = None
    progress: Progress | None = field(default=None, compare=False, repr=False)
    columns: tuple[str, str | None] | None = None
    luminance_grey: bool = False

    def __post_init__(self) -> None:  # a caller's text paths as Paths, "" as none (as from_env reads it)
        for name in ("data_dir", "cache_dir"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value) if value != "" else None)

    @classmethod
    def from_env(
        cls,
        data_dir: str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        progress: Progress | None = None,
        columns: tuple[str, str | None] | None = None,
    ) -> DataConfig:
        data_dir = data_dir or os.environ.get("IDK_DATA_DIR") or None
        if data_dir is not None and not Path(data_dir).is_dir():
            raise DataError(f"{data_dir}: data directory does not exist (from --data-dir or IDK_DATA_DIR)")
        cache = Path(cache_dir) if cache_dir else default_cache_dir()
        return cls(Path(data_dir) if data_dir else None, cache, progress, columns)

    def file(self, subdir: str, remote: RemoteFile) -> Path:
        """A verified path to ``remote``: from the data directory when it holds it, else the cache."""
        return self._held(subdir, remote) or fetch_file(remote, self._cache / subdir, progress=self.progress)

    @property
    def _cache(self) -> Path:
        return self.cache_dir or default_cache_dir()

    def _held(self, subdir: str, remote: RemoteFile) -> Path | None:
        """``remote`` from the data directory, verified, or None when it does not hold it."""
        if self.data_dir is not None:
            stem = remote.name.removesuffix(".gz")
            for name in (remote.name, stem):
                if (self.data_dir / subdir / name).is_file():
                    verify_file(self.data_dir / subdir / name, remote)
                    return self.data_dir / subdir / name
            for name in (remote.name, stem):  # files laid directly in the data directory
                if (self.data_dir / name).is_file():
                    try:
                        verify_file(self.data_dir / name, remote)
                        return self.data_dir / name
                    except DataError:
                        pass  # another set's file of the same name (MNIST and Fashion-MNIST share names)
        return None

    def folder(self, remote: RemoteFolder) -> Path:
        if self.data_dir is not None and (self.data_dir / remote.name).is_dir():
            check_folder(self.data_dir / remote.name, remote)
            return self.data_dir / remote.name
        return fetch_folder(remote, self._cache, progress=self.progress)

    def fetch(self, name: str) -> list[Path]:
        """The verified local copies of the set ``name`` (a key of :data:`DOWNLOADS`): its files, or
        its folder; each from the data directory when it holds it, else the cache, downloaded
        when missing."""
        return [self._get(name, part) for part in _parts(name)]

    def fill(self, name: str, into: Path) -> list[Path]:
        """Make ``into`` a data directory holding the set ``name`` and return its copies there, as
        :meth:`fetch` there would: what it holds is verified; what it lacks is copied from a verified
        copy in this config's data directory or cache when there is one (written under a temporary
        name, then renamed), else downloaded into it."""
        there = DataConfig(into, into, self.progress)
        paths = []
        for part in _parts(name):
            path = there._local(name, part)
            if path is None and (local := self._local(name, part)) is not None:
                path = into / part.name if isinstance(part, RemoteFolder) else into / name / local.name
                _copy(local, path)
            paths.append(path or there._get(name, part))
        return paths

    def _get(self, name: str, part: RemoteFile | RemoteFolder) -> Path:
        """A verified local copy of one part of the set ``name``, downloaded when missing."""
        return self.folder(part) if isinstance(part, RemoteFolder) else self.file(name, part)

    def _local(self, name: str, part: RemoteFile | RemoteFolder) -> Path | None:
        """A verified copy of one part of the set ``name`` already here, in the data directory or
        else the cache; None when neither holds it (nothing is downloaded)."""
        if isinstance(part, RemoteFolder):
            for root in (self.data_dir, self._cache):
                if root is not None and (root / part.name).is_dir():
                    check_folder(root / part.name, part)
                    return root / part.name
            return None
        if (held := self._held(name, part)) is not None:
            return held
        cached = self._cache / name / part.name
        if not cached.is_file():
            return None
        verify_file(cached, part)
        return cached


def download_sets(
    cfg: DataConfig,
    names: Sequence[str] = (),
    to: Path | None = None,
    done: Callable[[str, list[Path]], None] | None = None,
) -> dict[str, list[Path]]:
    """``idk download``: the sets ``names`` (keys of :data:`DOWNLOADS`; none: all), each once in the
    order given, as verified local copies (:meth:`DataConfig.fetch`), or with ``to`` copied into
    the data directory ``to`` (:meth:`DataConfig.fill`). A set that fails does not stop the others:
    ``done(name, paths)`` is called as each is ready, and then one :class:`DataError` names every
    set that failed and why. Returns the copies of each set."""
    names = list(dict.fromkeys(names or DOWNLOADS))
    copies, failed = {}, []
    for name in names:
        try:
            copies[name] = cfg.fetch(name) if to is None else cfg.fill(name, to)
        except (DataError, OSError) as err:  # OSError: --to a file, a full disk ...
            failed.append(f"{name}: {err}")
            continue
        if done is not None:
            done(name, copies[name])
    if failed:
        raise DataError(f"{len(failed)} of {len(names)} sets not fetched: " + " | ".join(failed))
    return copies


def _parts(name: str) -> list[RemoteFile | RemoteFolder]:
    """What the set ``name`` is made of: its files, or its one folder."""
    if name not in DOWNLOADS:
        raise DataError(f"{name}: not a set idk downloads ({', '.join(DOWNLOADS)})")
    remote = DOWNLOADS[name]
    return [remote] if isinstance(remote, RemoteFolder) else list(remote.values())


def _copy(source: Path, target: Path) -> None:
    """Copy a file or folder to ``target`` under a temporary name, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".part-"))
    try:
        copy = staging / target.name
        if source.is_dir():
            shutil.copytree(source, copy)
        else:
            shutil.copyfile(source, copy)
        os.replace(copy, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
