"""Shared fixtures: Pyro state reset and seeds for every test, the shared data directory."""

from __future__ import annotations

import os
from pathlib import Path

import pyro
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
# every test starts with these threads (a CLI test's --threads 1 would otherwise slow the ones after
# it): OMP_NUM_THREADS's first level when set, else two (or the machine's one)
_OMP = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()  # OpenMP allows a list per nesting level
THREADS = int(_OMP) if _OMP.isdigit() and int(_OMP) > 0 else min(2, os.cpu_count() or 1)


@pytest.fixture(autouse=True)
def _reset_state(monkeypatch):
    monkeypatch.delenv("IDK_PLUGINS", raising=False)  # a developer's plugins would change what the commands take
    pyro.clear_param_store()
    pyro.set_rng_seed(0)
    torch.set_num_threads(THREADS)
    yield
    pyro.clear_param_store()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``$IDK_DATA_DIR``, else ``../shared/data``, else idk's cache after ``idk download`` of every
    named set (once, checksums verified): MNIST, Fashion-MNIST and notMNIST, never committed."""
    given = os.environ.get("IDK_DATA_DIR")
    path = Path(given or ROOT.parent / "shared" / "data")
    if (path / "mnist").is_dir():
        return path
    if given:
        pytest.fail(f"test data not found at {path}: IDK_DATA_DIR is not a folder holding mnist/ and notmnist-459/")
    from idk.cache import default_cache_dir
    from idk.data.sources import DataConfig, download_sets
    from idk.errors import DataError

    cache = default_cache_dir()
    try:
        download_sets(DataConfig(None, cache))  # as `idk download` does
    except DataError as err:
        pytest.fail(f"test data neither at {path} nor downloadable ({err}); set IDK_DATA_DIR")
    return cache


@pytest.fixture(scope="session")
def data_cfg(data_dir, tmp_path_factory):
    from idk.data import DataConfig

    return DataConfig(data_dir, tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def mnist_train(data_cfg):
    """MNIST's training images as float32: unit tests give these tensors to networks and outlier
    families directly (a set as read holds 8-bit levels; test_data_sets and the training paths test that)."""
    from idk.data import mnist

    return mnist("train", data_cfg).as_floats()


@pytest.fixture(scope="session")
def mnist_test(data_cfg):
    """MNIST's test images as float32 (as :func:`mnist_train`)."""
    from idk.data import mnist

    return mnist("test", data_cfg).as_floats()


@pytest.fixture(scope="session")
def cnn_model(tmp_path_factory, data_dir) -> Path:
    """The default preset (Bayesian CNN + twin, calibrated), narrower, two posteriors, trained briefly on 10,000 images."""
    from idk.apps.cli import main

    path = tmp_path_factory.mktemp("models") / "cnn.pt"
    code = main(
        [
            "train",
            "--out",
            str(path),
            "--train-subset",
            "10000",
            "--epochs",
            "3",  # 2 left a smooth colour photo answered as a digit once the glyphs took a share of the outliers
            "--samples",
            "20",
            "--channels",
            "8",
            "16",
            "--dense",
            "64",
            "--members",
            "2",  # a mixture as the default's (three): two show every mixture behaviour, in two thirds of the time
            "--kl-weight",
            "0.5",
            "--data-dir",
            str(data_dir),
            "--quiet",
        ]
    )
    assert code == 0 and path.exists()
    return path


@pytest.fixture(scope="session")
def tutorial_model(tmp_path_factory, data_dir) -> Path:
    from idk.apps.cli import main

    path = tmp_path_factory.mktemp("models") / "tutorial.pt"
    assert (
        main(
            [
                "train",
                "--preset",
                "tutorial",
                "--out",
                str(path),
                "--train-subset",
                "2000",
                "--epochs",
                "1",
                "--data-dir",
                str(data_dir),
                "-q",
            ]
        )
        == 0
    )
    return path


@pytest.fixture(scope="module")
def user_files(tmp_path_factory, mnist_test):
    """A user's files: a photographed 7 (JPEG, dark on white), noise and a smooth photo, a blank page, a text file."""
    import numpy as np
    from PIL import Image

    folder = tmp_path_factory.mktemp("user")
    digit = mnist_test.images[0, 0].numpy()  # a 7
    big = np.kron(digit, np.ones((10, 10)))
    Image.fromarray((255 * (1 - big)).astype(np.uint8)).convert("RGB").save(folder / "seven.jpg", quality=90)
    rng = np.random.default_rng(0)
    photo = (rng.random((120, 160, 3)) * 255).astype(np.uint8)
    Image.fromarray(photo).save(folder / "photo.png")
    y, x = np.mgrid[0:240, 0:320]
    smooth = np.stack([128 + 100 * np.sin(x / 30), 128 + 80 * np.cos(y / 25), 128 + 60 * np.sin((x + y) / 40)], -1)
    smooth += rng.normal(0, 20, smooth.shape)
    Image.fromarray(np.clip(smooth, 0, 255).astype(np.uint8)).save(folder / "photo_smooth.jpg")
    Image.new("RGB", (200, 300), "white").save(folder / "blank.png")
    (folder / "text.png").write_text("not an image")
    return folder
