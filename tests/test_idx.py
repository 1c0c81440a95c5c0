import gzip
import hashlib

import numpy as np
import pytest

from idk.data.idx import parse_idx, read_bytes, read_idx, write_idx
from idk.data.sources import FASHION_MNIST_FILES, MNIST_FILES, NOTMNIST_10K_FILES
from idk.errors import DataError


@pytest.mark.parametrize(
    "subdir,files,key,shape",
    [
        ("mnist", MNIST_FILES, "train-images", (60000, 28, 28)),
        ("mnist", MNIST_FILES, "train-labels", (60000,)),
        ("mnist", MNIST_FILES, "test-images", (10000, 28, 28)),
        ("mnist", MNIST_FILES, "test-labels", (10000,)),
        ("fashion-mnist", FASHION_MNIST_FILES, "train-images", (60000, 28, 28)),
        ("fashion-mnist", FASHION_MNIST_FILES, "train-labels", (60000,)),
        ("fashion-mnist", FASHION_MNIST_FILES, "test-images", (10000, 28, 28)),
        ("fashion-mnist", FASHION_MNIST_FILES, "test-labels", (10000,)),
        ("notmnist-10k", NOTMNIST_10K_FILES, "test-images", (10000, 28, 28)),
        ("notmnist-10k", NOTMNIST_10K_FILES, "test-labels", (10000,)),
    ],
)
def test_shared_files_match_checksums_and_parse(data_dir, subdir, files, key, shape):
    remote = files[key]
    path = data_dir / subdir / remote.name
    raw = read_bytes(path)
    assert len(raw) == remote.size
    assert hashlib.sha256(raw).hexdigest() == remote.sha256
    array = read_idx(path)
    assert array.shape == shape and array.dtype == np.uint8
    if key.endswith("labels"):
        assert set(np.unique(array)) == set(range(10))


def test_roundtrip_raw_and_gzip(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a", a)
    np.testing.assert_array_equal(read_idx(tmp_path / "a"), a)
    (tmp_path / "a.gz").write_bytes(gzip.compress((tmp_path / "a").read_bytes()))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), a)


def test_truncated_payload_is_a_clear_error(tmp_path):
    a = np.zeros((5, 28, 28), np.uint8)
    write_idx(tmp_path / "a", a)
    data = (tmp_path / "a").read_bytes()[:-10]
    with pytest.raises(DataError, match="truncated or corrupted"):
        parse_idx(data, "a")


def test_bad_magic_and_truncated_gzip(tmp_path):
    with pytest.raises(DataError, match="not an IDX file"):
        parse_idx(b"\x01\x02\x08\x01", "x")
    (tmp_path / "x.gz").write_bytes(gzip.compress(b"\x00" * 1000)[:20])
    with pytest.raises(DataError, match="corrupted or truncated gzip"):
        read_bytes(tmp_path / "x.gz")
    with pytest.raises(DataError, match="file not found"):
        read_bytes(tmp_path / "missing")
