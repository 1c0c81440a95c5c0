"""Image sets that describe themselves: named sets, the user's folders and arrays, splits, conversions."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from idk.data.arrays import read_array
from idk.data.catalog import DataRecord, load, recorded_test_set, training_data, without_labels
from idk.data.folders import fit_images, read_folder, stratified_split
from idk.data.idx import write_idx
from idk.data.images import ImageSet, InputSpec, conform
from idk.data.named import NAMED, named_split
from idk.data.reading import usual_size
from idk.data.sources import DOWNLOADS
from idk.errors import DataError
from shapes import CLASSES, make_shapes


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    return make_shapes(tmp_path_factory.mktemp("shapes"), per_class=10)


def test_named_sets_describe_themselves(data_cfg):
    fashion = named_split("fashion-mnist", "test", data_cfg)
    assert fashion.images.shape == (10000, 1, 28, 28) and fashion.classes[0] == "T-shirt/top"
    assert fashion.spec.preparation == "fashion-mnist" and fashion.spec.flip_invariant
    assert NAMED["mnist"].spec.drawn and NAMED["mnist"].classes == tuple("0123456789")
    for name, known in NAMED.items():  # each named set's files: the downloads of its name, one pair per split
        assert known.name == name and {f"{s}-{k}" for s in known.splits for k in ("images", "labels")} <= set(
            DOWNLOADS[name]
        )


def test_notmnist_10k_trains_on_a_fixed_stratified_split(data_cfg):
    a = training_data("notmnist-10k", data_cfg)
    b = training_data("notmnist-10k", data_cfg)
    assert len(a.train) == 8000 and len(a.test) == 2000 and a.train.classes == tuple("ABCDEFGHIJ")
    assert a.record.test_indices == b.record.test_indices  # fixed
    assert torch.bincount(a.test.labels).tolist() == [200] * 10  # stratified
    again = recorded_test_set(a.record, a.spec, data_cfg)
    torch.testing.assert_close(again.images, a.test.images)  # the recorded split finds the same images
    assert "mnist" in a.ood


def test_a_folder_of_mixed_sizes_and_modes_becomes_one_form(shapes):
    warnings: list[str] = []
    data = read_folder(shapes, "shapes", warn=warnings.append, require_labels=True)
    assert data.classes == CLASSES and data.images.shape == (30, 3, 64, 64)  # 64 px is the most common size
    assert data.spec == InputSpec(3, 64, 64, "fit") and 0 <= data.pixels().min() and data.pixels().max() <= 1
    assert len(warnings) == 1 and "resized" in warnings[0] and "with grey pixels only, given 3 channels" in warnings[0]
    small = read_folder(shapes, "shapes", image_size=(24, 32), require_labels=True)
    assert small.images.shape == (30, 3, 24, 32)


def test_a_folder_read_in_a_known_form_is_decoded_once(shapes, monkeypatch):
    """Given the form (a model's spec), each file is decoded once and converted as read; the images
    are those of the two passes a folder of unknown form takes (read, then converted again)."""
    from idk.data import reading

    for prepare_all in (False, True):
        said_twice: list[str] = []
        two_passes = read_folder(shapes, "shapes", warn=said_twice.append, require_labels=True, prepare_all=prepare_all)
        reads: list[str] = []
        decode = reading.read_image
        with monkeypatch.context() as m:
            m.setattr(
                reading,
                "read_image",
                lambda f, reads=reads, decode=decode, **kw: reads.append(f.name) or decode(f, **kw),
            )
            m.setattr(reading, "_converted", lambda *a, **kw: pytest.fail("decoded a second time"))
            said_once: list[str] = []
            one_pass = read_folder(
                shapes, "shapes", two_passes.spec, warn=said_once.append, require_labels=True, prepare_all=prepare_all
            )
        assert len(reads) == len(set(reads)) == 30
        assert one_pass.images.dtype == two_passes.images.dtype and torch.equal(one_pass.images, two_passes.images)
        assert one_pass.labels.tolist() == two_passes.labels.tolist() and one_pass.spec == two_passes.spec
        assert said_once == said_twice  # the same conversion line


def test_the_conversion_line_counts_transparent_deep_and_animated_files(tmp_path):
    ink = np.zeros((12, 12), np.uint8)
    ink[3:9, 5:7] = 255
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        Image.fromarray(ink).save(tmp_path / cls / "plain.png")
        dark = 255 - ink  # dark ink, opaque, on a transparent page
        Image.fromarray(np.stack([dark, dark, dark, ink], -1)).save(tmp_path / cls / "alpha.png")
    Image.fromarray(ink).save(tmp_path / "a" / "moving.gif", save_all=True, append_images=[Image.fromarray(255 - ink)])
    Image.fromarray(ink.astype(np.uint16) * 257).save(tmp_path / "b" / "deep.png")
    said: list[str] = []
    data = read_folder(tmp_path, "forms", warn=said.append, require_labels=True)
    assert len(data) == 6 and said == [
        f"{tmp_path}: brought 6 images to 12×12 greyscale (2 with transparent pixels laid on white; "
        "1 of 16-bit, 32-bit or float grey read by their range; 1 of several frames or pages, the first read)"
    ]


def test_unreadable_files_are_named_in_one_line_and_skipped(tmp_path, monkeypatch):
    root = make_shapes(tmp_path / "s", per_class=4)
    (root / "circle" / "notes.txt").write_text("hello")
    (root / "square" / "broken.png").write_bytes(b"\x89PNG not really")
    Image.new("L", (120, 100)).save(root / "square" / "huge.png")
    monkeypatch.setattr("idk.data.imaging.MAX_PIXELS", 100 * 100)  # 120 × 100 is over the limit
    (root / "square" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    for folder in ("circle", "square"):  # what Windows leaves in folders of pictures: passed over unsaid
        (root / folder / "Thumbs.db").write_bytes(b"\0" * 16)
        # as macOS' archive leaves beside them (AppleDouble files; it was taken for an empty class)
        (root / "__MACOSX" / folder).mkdir(parents=True)
        (root / "__MACOSX" / folder / "._a.png").write_bytes(b"\0\5\x16\7" + b"\0" * 60)
    warnings: list[str] = []
    data = read_folder(root, "s", warn=warnings.append, require_labels=True)
    assert len(data) == 12
    skipped = [w for w in warnings if "skipped" in w]
    assert len(skipped) == 1 and "skipped 4 unreadable or non-image files" in skipped[0]
    assert "circle/notes.txt (not an image file name)" in skipped[0]  # each with its class folder and why
    assert "square/broken.png (not an image file idk reads" in skipped[0]
    assert (
        "square/huge.png (too many pixels" in skipped[0]
        and "square/gone.png (a link to nothing, or a loop of links)" in skipped[0]
    )
    assert "Thumbs.db" not in " ".join(warnings) and "MACOSX" not in " ".join(warnings)
    # read in one thread and in three (as many as torch computes with): the same images, labels and words
    threads = torch.get_num_threads()
    try:
        for count in (1, 3):
            torch.set_num_threads(count)
            again: list[str] = []
            read = read_folder(root, "s", warn=again.append, require_labels=True)
            assert torch.equal(read.images, data.images) and torch.equal(read.labels, data.labels)
            assert again == warnings, count
    finally:
        torch.set_num_threads(threads)


def test_images_beside_the_class_folders_are_named_in_one_line(tmp_path):
    root = make_shapes(tmp_path / "s", per_class=4)
    Image.new("RGB", (40, 40), "red").save(root / "stray.png")
    (root / "README.txt").write_text("not an image, not warned about")
    warnings: list[str] = []
    data = read_folder(root, "s", warn=warnings.append, require_labels=True)
    assert len(data) == 12 and data.classes == CLASSES
    beside = [w for w in warnings if "beside its sub-folders" in w]
    assert len(beside) == 1 and "1 image beside" in beside[0] and "stray.png" in beside[0]


def test_an_out_of_distribution_folder_is_read_whole(tmp_path, data_cfg):
    """Unlabelled, a folder's own images and its sub-folders' are all read (a labelled folder's strays
    beside its class folders are not), at any depth: 4 images, a sub-folder of 1 and one of 1 inside
    it are 6, not 1; a link back to the folder reads its 4 once more, and is not followed further."""
    root = tmp_path / "circles"
    (root / "extra").mkdir(parents=True)
    for i in range(4):
        Image.new("L", (28, 28), 40 * i).save(root / f"{i}.png")
    Image.new("L", (28, 28)).save(root / "extra" / "x.png")
    (root / "extra" / "deeper").mkdir()
    Image.new("L", (28, 28)).save(root / "extra" / "deeper" / "y.png")
    (root / "extra" / "loop").symlink_to(root)  # a link to a folder is read, not followed further
    warnings: list[str] = []
    ood = load(str(root), data_cfg, InputSpec(1, 28, 28), warn=warnings.append, labelled=False)
    assert len(ood) == 10 and ood.labels is None and warnings == []
    assert len(load(str(root), data_cfg, InputSpec(1, 28, 28))) == 1  # labelled: "extra" is its one class


def test_greyscale_folders_stay_greyscale(tmp_path):
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.new("L", (20, 20), 40 * i + 10 * (cls == "b")).save(tmp_path / cls / f"{i}.png")
    assert read_folder(tmp_path, "g", require_labels=True).spec.channels == 1


def test_a_single_folder_gets_a_recorded_stratified_test_split(shapes, data_cfg):
    data = training_data(str(shapes), data_cfg)
    assert set(data.test.labels.tolist()) == {0, 1, 2} and len(data.test) == 6 and len(data.train) == 24
    assert data.record.test_indices is not None and data.record.fingerprint["n"] == 30
    again = recorded_test_set(DataRecord.from_dict(data.record.as_dict()), data.spec, data_cfg)
    torch.testing.assert_close(again.images, data.test.images)


def test_train_and_test_folders(tmp_path, data_cfg):
    root = make_shapes(tmp_path / "split", per_class=8, layout="split")
    data = training_data(str(root), data_cfg)
    assert len(data.train) == 18 and len(data.test) == 6 and data.train.classes == CLASSES
    assert data.test.spec == data.train.spec
    again = recorded_test_set(data.record, data.spec, data_cfg)
    assert again.name == "split-test" and len(again) == 6


def test_stratified_split_holds_out_a_share_of_every_class():
    labels = torch.tensor([0] * 10 + [1] * 5 + [2] * 2)
    train, test = stratified_split(labels, 0.2, seed=1)
    assert torch.bincount(labels[test]).tolist() == [2, 1, 1]
    assert sorted(train.tolist() + test.tolist()) == list(range(17))


def test_npz_and_idx_pairs(tmp_path, data_cfg):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (40, 12, 10, 3), dtype=np.uint8)
    labels = np.arange(40) % 4
    np.savez(tmp_path / "set.npz", images=images, labels=labels, classes=np.array(["w", "x", "y", "z"]))
    data = training_data(str(tmp_path / "set.npz"), data_cfg)
    assert data.train.classes == ("w", "x", "y", "z") and data.spec.shape == (3, 12, 10)
    assert len(data.train) + len(data.test) == 40
    idx = tmp_path / "idx"
    idx.mkdir()
    for prefix, n in (("train", 30), ("t10k", 10)):
        write_idx(idx / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 8, 8), dtype=np.uint8))
        write_idx(idx / f"{prefix}-labels-idx1-ubyte", (np.arange(n) % 3).astype(np.uint8))
    pair = training_data(str(idx), data_cfg)
    assert len(pair.train) == 30 and len(pair.test) == 10 and pair.spec.shape == (1, 8, 8)
    # a folder of IDX pairs as an evaluation set: its test pair, labelled; alone as --test-data
    evaluated = load(str(idx), data_cfg, pair.spec)
    assert len(evaluated) == 10 and evaluated.labels is not None and evaluated.labels.tolist()[:4] == [0, 1, 2, 0]
    alone = tmp_path / "t10k-only"
    alone.mkdir()
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (alone / name).write_bytes((idx / name).read_bytes())
    npz_train = tmp_path / "train.npz"
    np.savez(npz_train, images=rng.integers(0, 256, (30, 8, 8), dtype=np.uint8), labels=np.arange(30) % 3)
    separate = training_data(str(npz_train), data_cfg, test_data=str(alone))
    assert len(separate.train) == 30 and len(separate.test) == 10
    train_only = tmp_path / "train-only"  # never tested on its own training pair
    train_only.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (train_only / name).write_bytes((idx / name).read_bytes())
    with pytest.raises(DataError):
        training_data(str(train_only), data_cfg, test_data=str(train_only))
    with pytest.raises(DataError):  # a lone t10k pair is no training set
        training_data(str(alone), data_cfg)


def test_without_labels_says_before_reading_what_load_gives_unlabelled(tmp_path, data_cfg):
    """Every form of evaluation set: without_labels (which reads no image) agrees with load."""
    rng = np.random.default_rng(0)
    spec = InputSpec(1, 8, 8, "fit")
    images = rng.integers(0, 256, (6, 8, 8), dtype=np.uint8)
    np.savez(tmp_path / "labelled.npz", images=images, labels=np.arange(6) % 2)
    np.savez(tmp_path / "y.npz", x=images, y=np.arange(6) % 2)
    np.savez(tmp_path / "bare.npz", images=images)
    np.save(tmp_path / "bare.npy", images)
    write_idx(tmp_path / "alone-idx3-ubyte", images)
    idx = tmp_path / "idx"
    idx.mkdir()
    write_idx(idx / "t10k-images-idx3-ubyte", images)
    write_idx(idx / "t10k-labels-idx1-ubyte", (np.arange(6) % 2).astype(np.uint8))
    shutil.copy(tmp_path / "labelled.npz", tmp_path / "npz-named.npy")  # np.load goes by the content
    shutil.copy(tmp_path / "bare.npy", tmp_path / "npy-named.npz")
    folders = ("flat", "classes/a", "classes/b", "halves/train/a", "halves/test/a", "halves/test/b", "loose/test")
    for folder in folders:
        (tmp_path / folder).mkdir(parents=True)
        for k in range(2):
            Image.fromarray(images[k]).save(tmp_path / folder / f"{k}.png")
    expected = {"labelled.npz": False, "y.npz": False, "bare.npz": True, "bare.npy": True}
    expected |= {"npz-named.npy": False, "npy-named.npz": True, "idx": False, "flat": True, "classes": False}
    expected |= {"halves": False, "loose": True}  # loose: a test/ of images without class folders
    expected |= {"alone-idx3-ubyte": False}  # an IDX file: not told before reading; load gives it unlabelled
    for name, unlabelled in expected.items():
        path = str(tmp_path / name)
        assert without_labels(path) is unlabelled, name
        assert (load(path, data_cfg, spec).labels is None) is (unlabelled or name == "alone-idx3-ubyte"), name
    for name in ("mnist", "mnist-test", "notmnist-459"):
        assert without_labels(name) is False
    assert without_labels("noise") is True and without_labels("gaussian-noise") is True
    assert without_labels("noise-3x") is True
    # what is not there or no array: not told here, load says what is wrong with it
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "lone").mkdir()  # a table alone in its folder (its files are looked for in sub-folders too)
    (tmp_path / "lone" / "table.csv").write_text("a,b\n1,2\n")
    for name in ("gone", "broken.npz", "empty.npz", "lone/table.csv"):
        assert without_labels(str(tmp_path / name)) is False, name
        with pytest.raises(DataError):
            load(str(tmp_path / name), data_cfg, spec)


def test_whole_number_float_labels_are_read_as_class_indices(tmp_path, data_cfg):
    """Labels saved as floats (3.0: pandas, MATLAB) are class indices; 2.5 or NaN are refused,
    naming the first such label."""
    images = np.random.default_rng(0).integers(0, 256, (20, 8, 8), dtype=np.uint8)
    whole = (np.arange(20) % 4).astype(np.float64)
    for form in (whole, whole[:, None], np.eye(4)[np.arange(20) % 4]):  # (N,), a column, one-hot rows
        np.savez(tmp_path / "float.npz", images=images, labels=form)
        data = training_data(str(tmp_path / "float.npz"), data_cfg)
        both = torch.cat([data.train.labels, data.test.labels])
        assert both.dtype == torch.int64 and data.train.classes == ("0", "1", "2", "3")
        assert torch.bincount(both).tolist() == [5, 5, 5, 5]
    for bad, shown in ((2.5, "2.5"), (np.nan, "nan")):
        labels = (np.arange(20) % 4).astype(np.float32)
        labels[7] = bad
        np.savez(tmp_path / "bad.npz", images=images, labels=labels)
        with pytest.raises(DataError, match=rf"labels must be whole numbers \(class indices\); label 7 is {shown}$"):
            training_data(str(tmp_path / "bad.npz"), data_cfg)
    big = whole.copy()
    big[3] = 3e9  # a whole number, but no class index: refused before 3e9 class names are made
    np.savez(tmp_path / "big.npz", images=images, labels=big)
    with pytest.raises(DataError, match="a label of 3000000000 would make 3000000001 classes"):
        training_data(str(tmp_path / "big.npz"), data_cfg)
    np.savez(tmp_path / "text.npz", images=images, labels=np.array(["a"] * 20))
    with pytest.raises(DataError, match="got dtype <U1"):
        training_data(str(tmp_path / "text.npz"), data_cfg)


def _classes(root: Path, names: tuple[str, ...]) -> None:
    for name in names:
        (root / name).mkdir()
        Image.new("L", (8, 8)).save(root / name / "a.png")


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda p: (p / "only").mkdir() or Image.new("L", (8, 8)).save(p / "only" / "a.png"), "one class folder"),
        (lambda p: _classes(p, ("train",)), r"holds train/ without test/; put the test images in .*d/test, or give"),
        (lambda p: _classes(p, ("caf\u00e9", "cafe\u0301", "tea")), "are one name in two Unicode forms"),
        (
            lambda p: _classes(p, (" ", "tea")),
            "class folder ' ' has a blank name \\(its answers would name nothing\\); rename it",
        ),
        (lambda p: [(p / c).mkdir() for c in "ab"] and Image.new("L", (8, 8)).save(p / "a" / "x.png"), "is empty"),
        (lambda p: None, "no class folders"),
    ],
    ids=["one-class", "train-without-test", "unicode-forms", "blank-name", "empty-class", "no-classes"],
)
def test_bad_folders_are_clear_errors(tmp_path, data_cfg, make, message):
    root = tmp_path / "d"
    root.mkdir()
    make(root)
    with pytest.raises(DataError, match=message):
        training_data(str(root), data_cfg)


def test_train_and_test_with_different_classes(tmp_path, data_cfg):
    root = make_shapes(tmp_path / "split", per_class=8, layout="split")
    (root / "test" / "circle").rename(root / "test" / "disc")
    with pytest.raises(DataError, match="differ from the training classes"):
        training_data(str(root), data_cfg)


def test_folders_beside_train_and_test_are_said_not_read(tmp_path, data_cfg):
    root = make_shapes(tmp_path / "split", per_class=8, layout="split")
    shutil.copytree(root / "test", root / "validation")
    said: list[str] = []
    data = training_data(str(root), data_cfg, warn=said.append)
    assert said.count(f"{root}: folders beside train/ and test/ are not read: validation") == 1
    assert len(data.test) == len(load(str(root / "test"), data_cfg, data.spec))


def test_test_images_that_are_training_images_are_said(tmp_path, data_cfg):
    """A test folder copied from the training folder (or one image in both) flatters the model: said."""
    root = make_shapes(tmp_path / "split", per_class=8, layout="split")
    said: list[str] = []
    training_data(str(root), data_cfg, warn=said.append)
    assert not any("also among the training images" in line for line in said)
    copy = tmp_path / "copy"
    shutil.copytree(root / "train", copy)
    data = training_data(str(root / "train"), data_cfg, test_data=str(copy), warn=said.append)
    assert (
        f"{copy}: {len(data.test)} of its {len(data.test)} test images are also among the training images" in said[-1]
    )


def test_copies_on_both_sides_of_a_held_out_share_are_said_of_a_folder_or_an_array(tmp_path, data_cfg):
    """Each image twice, so that the held-out test share and the training images share some: the
    advice names what holds the copies."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 16, 16), dtype=np.uint8)
    labels = np.arange(20) % 2
    np.savez(tmp_path / "twice.npz", images=np.concatenate([images, images]), labels=np.concatenate([labels, labels]))
    said: list[str] = []
    training_data(str(tmp_path / "twice.npz"), data_cfg, warn=said.append)
    shared = [line for line in said if "also among the training images" in line]
    assert len(shared) == 1 and shared[0].endswith("remove the copies from the array")
    idx = tmp_path / "idx"
    idx.mkdir()
    write_idx(idx / "train-images-idx3-ubyte", np.concatenate([images, images]))
    write_idx(idx / "train-labels-idx1-ubyte", np.concatenate([labels, labels]).astype(np.uint8))
    said.clear()
    training_data(str(idx), data_cfg, warn=said.append)  # a folder of IDX arrays: the copies are in the array
    shared = [line for line in said if "also among the training images" in line]
    assert len(shared) == 1 and shared[0].endswith("remove the copies from the array")
    folder = make_shapes(tmp_path / "shapes", per_class=8)
    for f in list(folder.rglob("*.png")):
        shutil.copy(f, f.with_name(f"copy-{f.name}"))
    said.clear()
    training_data(str(folder), data_cfg, warn=said.append)
    shared = [line for line in said if "also among the training images" in line]
    assert len(shared) == 1 and shared[0].endswith("remove the copies from the folder")


def test_a_test_set_without_a_rare_class_is_taken_and_said(tmp_path, data_cfg):
    """A test folder lacking one training class (a rare class with no test image) tests the others,
    numbered as the training classes, as `idk evaluate --test-data` takes it."""
    root = make_shapes(tmp_path / "split", per_class=8, layout="split")
    shutil.rmtree(root / "test" / CLASSES[0])
    said: list[str] = []
    data = training_data(str(root), data_cfg, warn=said.append)
    assert data.test.classes == data.train.classes == CLASSES and 0 not in data.test.labels.tolist()
    assert f"{root} (test): no test image of {CLASSES[0]}: the test figures are of the other classes" in said
    for half in ("train", "test"):  # of two classes, a test folder of one will do too
        shutil.rmtree(root / half / CLASSES[1])
    data = training_data(str(root), data_cfg, warn=said.append)
    assert data.test.classes == (CLASSES[0], CLASSES[2]) and set(data.test.labels.tolist()) == {1}


@pytest.mark.parametrize(
    "arrays,message",
    [
        (
            {"images": np.zeros((4, 8, 8)), "labels": np.array([0, 1, 2, 5]), "classes": np.array(["a", "b", "c"])},
            "labels must lie in 0..2",
        ),
        ({"images": np.zeros((4, 8, 8)), "labels": np.array([-1, 0, 0, 0])}, "class indices 0, 1, 2, ...; found -1"),
        ({"images": np.zeros((4, 8, 8)), "labels": np.array([0, 1, 0])}, "3 labels for 4 images"),
        ({"images": np.zeros((4, 0, 0)), "labels": np.array([0, 1, 0, 1])}, "no pixels"),
        ({"images": np.full((4, 8, 8), np.nan), "labels": np.array([0, 1, 0, 1])}, "NaN"),
        ({"images": np.zeros((4, 8, 8))}, "needs 'labels'"),
        ({"images": np.zeros((4, 8, 8)), "labels": np.zeros(4, int)}, "at least two classes"),
        ({"x2": np.zeros(3)}, "no 'images'"),
        ({"images": np.zeros((16, 16)), "labels": np.arange(16) % 2}, r"\(1, H, W\)"),
        (
            {"images": np.zeros((4, 8, 8)), "labels": np.array([0, 1, 2, 0]), "classes": np.array(["a", "a", "b"])},
            r"the class name 'a' is given twice in 'classes' \(classes 0 and 1\)",
        ),
        (
            {"images": np.zeros((4, 8, 8)), "labels": np.array([0, 1, 0, 1]), "classes": np.array(["", "b"])},
            "class 0 has an empty name",
        ),
        (
            {"images": np.zeros((4, 8, 8)), "labels": np.array([0, 1, 0, 1]), "classes": np.array([["a", "b"]])},
            r"'classes' must hold one name per class \(a 1-D array\), got shape \(1, 2\)",
        ),
        (  # one colour image saved alone: not 32 images 3 pixels wide
            {"images": np.zeros((32, 32, 3)), "labels": np.zeros(32, int)},
            r"shape \(32, 32, 3\) read as 32 images of 32×3 pixels is too narrow: .*array\[None\], shape \(1, 32, 32, 3\)",
        ),
    ],
    ids=[
        "labels-out-of-range",
        "labels-negative",
        "labels-wrong-length",
        "no-pixels",
        "nan",
        "no-labels",
        "one-class",
        "no-images",
        "one-small-image-as-flat-rows",
        "class-named-twice",
        "class-name-empty",
        "classes-not-1d",
        "one-colour-image-as-a-set",
    ],
)
def test_bad_arrays_are_clear_errors(tmp_path, data_cfg, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=message):
        training_data(str(tmp_path / "bad.npz"), data_cfg)


def test_16_bit_arrays_are_read_by_their_full_range_and_8_bit_values_in_uint16_as_before():
    from idk.data.arrays import as_images
    from idk.data.images import unit
    from idk.data.imaging import pixels_from_array

    deep = (np.linspace(0, 1, 2 * 64).reshape(2, 8, 8) * 65535).round().astype(np.uint16)
    images = as_images(deep, "deep.npy")
    assert torch.allclose(images[:, 0], torch.from_numpy(np.stack([pixels_from_array(d) for d in deep])))
    shallow = (np.linspace(0, 1, 64).reshape(1, 8, 8) * 255).round().astype(np.uint16)  # 8-bit values
    assert torch.equal(as_images(shallow, "shallow.npy"), as_images(shallow.astype(np.uint8), "eight.npy"))
    assert torch.equal(unit(as_images(shallow, "shallow.npy"))[0, 0], torch.from_numpy(pixels_from_array(shallow[0])))
    mask = np.array([[[0, 1], [1, 0]]], np.uint16)  # 0/1 taken as they are, as before 16-bit sets
    assert as_images(mask, "mask.npy").max() == 1
    said: list[str] = []  # only the 8-bit reading of uint16 is said: a dim 16-bit set would be read so too
    for array, name in ((deep, "deep.npy"), (shallow, "shallow.npy"), (mask, "mask.npy")):
        as_images(array, name, said.append)
    assert said == [
        "shallow.npy: its uint16 pixels are all 255 or less, read as 8-bit values (255: white), as suits 8-bit "
        "images stored as uint16; if they are 16-bit values of dim images (65,535: white), give them as floats "
        "in [0, 1] (`images / 65535`)"
    ]


def test_a_uint8_mask_of_0_and_1_is_read_as_8_bits_and_said_so(tmp_path):
    """uint8 0/1 is read as 8-bit values (almost black), bool and float 0/1 as ink: the first is warned of."""
    mask = np.array([[[0, 1], [1, 0]]] * 2, np.uint8)
    np.savez(tmp_path / "m.npz", images=mask, labels=np.array([0, 1]))
    told: list[str] = []
    assert float(read_array(tmp_path / "m.npz", "m", told.append).pixels().max()) == pytest.approx(1 / 255)
    assert len(told) == 1 and "hold only 0 and 1" in told[0] and "astype(bool)" in told[0]
    for ink in (mask.astype(bool), mask.astype(np.float32), np.zeros_like(mask)):
        np.save(tmp_path / "ink.npy", ink)
        assert len(read_array(tmp_path / "ink.npy", "ink", told.append).images) == 2 and len(told) == 1


def test_class_names_given_as_bytes_are_read_as_text(tmp_path, data_cfg):
    np.savez(
        tmp_path / "b.npz",
        images=np.zeros((6, 8, 8)),
        labels=np.arange(6) % 2,
        classes=np.array([b"cat", "d\u00f6g".encode()]),
    )
    assert training_data(str(tmp_path / "b.npz"), data_cfg).train.classes == ("cat", "d\u00f6g")


def test_a_column_of_labels_is_read_as_labels(tmp_path, data_cfg):
    images = np.random.default_rng(0).random((6, 8, 8)).astype(np.float32)
    np.savez(tmp_path / "col.npz", images=images, labels=np.array([[0], [1], [2], [0], [1], [2]]))
    data = training_data(str(tmp_path / "col.npz"), data_cfg)
    assert torch.equal(torch.cat([data.train.labels, data.test.labels]).sort().values, torch.tensor([0, 0, 1, 1, 2, 2]))


def test_image_size_is_refused_for_a_named_set(data_cfg):
    with pytest.raises(DataError, match="--image-size applies to your own images"):
        training_data("mnist", data_cfg, image_size=(32, 32))


def test_image_size_zero_is_refused(shapes, data_cfg):
    with pytest.raises(DataError, match="at least one pixel"):
        training_data(str(shapes), data_cfg, image_size=(0, 0))


def test_the_recorded_test_folder_is_checked_against_the_models_classes(tmp_path, data_cfg):
    """A train/ + test/ folder: test/ lost a class since training: its images keep their names (the
    model's numbering); test/ gained one: refused, not scored as another class."""
    root = make_shapes(tmp_path / "split", per_class=8, layout="split")
    data = training_data(str(root), data_cfg)
    shutil.rmtree(root / "test" / CLASSES[0])
    fewer = recorded_test_set(data.record, data.spec, data_cfg, CLASSES)
    assert fewer.classes == CLASSES and 0 not in fewer.labels.tolist() and len(fewer) == 4
    (root / "test" / "zebra").mkdir()
    shutil.copy(next((root / "test" / CLASSES[1]).iterdir()), root / "test" / "zebra" / "z.png")
    with pytest.raises(DataError, match=r"class zebra is not among the model's"):
        recorded_test_set(data.record, data.spec, data_cfg, CLASSES)


def test_an_idx_pair_folder_of_another_size_is_fitted_too(tmp_path, data_cfg):
    wide = np.zeros((2, 20, 40), np.uint8)
    wide[:, 5:15, 5:35] = 255
    write_idx(tmp_path / "t10k-images-idx3-ubyte", wide)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([0, 1], np.uint8))
    loaded = load(str(tmp_path), data_cfg, InputSpec(1, 28, 28, "fit"))
    assert float(loaded.images[0, 0, 0].max()) == 0.0 and loaded.labels.tolist() == [0, 1]  # padded, not stretched


def test_an_array_of_another_size_is_fitted_as_training_fits_it_not_stretched(tmp_path, data_cfg):
    wide = np.zeros((2, 20, 40), np.uint8)
    wide[:, 5:15, 5:35] = 255  # a bar: fitted into 28 x 28, it keeps its proportions, padded above and below
    np.savez(tmp_path / "wide.npz", images=wide, labels=np.array([0, 1]))
    spec = InputSpec(1, 28, 28, "fit")
    said = []
    loaded = load(str(tmp_path / "wide.npz"), data_cfg, spec, warn=said.append)
    assert torch.equal(loaded.images, fit_images(read_array(tmp_path / "wide.npz", "wide"), spec).images)
    assert float(loaded.images[0, 0, 0].max()) == 0.0  # the top row is padding, not stretched bar
    # said in one line, as a folder's conversions are
    assert said == [
        f"{tmp_path / 'wide.npz'}: brought 2 images of 20×40 greyscale to 28×28 greyscale (aspect kept, padded)"
    ]
    said.clear()
    load(str(tmp_path / "wide.npz"), data_cfg, InputSpec(1, 20, 40, "fit"), warn=said.append)
    assert said == []  # already in the model's form: nothing to say
    load(str(tmp_path / "wide.npz"), data_cfg, InputSpec(3, 20, 40, "fit"), warn=said.append)
    assert said == [f"{tmp_path / 'wide.npz'}: brought 2 images of 20×40 greyscale to 20×40 colour"]  # not resized


def test_other_sets_are_brought_to_the_models_form(data_cfg, tmp_path):
    spec = InputSpec(3, 32, 32, "fit")
    mnist = load("mnist", data_cfg, spec)
    assert mnist.name == "mnist-test" and mnist.images.shape == (10000, 3, 32, 32)
    np.save(tmp_path / "rgba.npy", np.zeros((5, 40, 40, 4), np.uint8))
    rgba = load(str(tmp_path / "rgba.npy"), data_cfg, InputSpec(1, 28, 28))
    assert rgba.images.shape == (5, 1, 28, 28)
    assert torch.allclose(rgba.pixels(), torch.ones(1))  # transparent: laid on white, as an RGBA PNG is
    np.save(tmp_path / "two.npy", np.zeros((5, 2, 9, 9), np.float32))
    with pytest.raises(DataError, match="1 or 3 channels"):
        load(str(tmp_path / "two.npy"), data_cfg, spec)
    np.save(tmp_path / "last.npy", np.zeros((5, 9, 9, 2), np.float32))  # channels last: the count named is 2's axis
    with pytest.raises(
        DataError, match=r"1 or 3 channels \(or RGBA\) on the second or last axis, got shape \(5, 9, 9, 2\)"
    ):
        load(str(tmp_path / "last.npy"), data_cfg, spec)
    Image.new("L", (9, 9)).save(tmp_path / "one.png")
    with pytest.raises(DataError, match="one image is no data set; give a folder of images"):
        load(str(tmp_path / "one.png"), data_cfg, spec)
    with pytest.raises(DataError, match="2-channel"):
        conform(ImageSet("x", torch.zeros(2, 2, 4, 4), None, ()), spec)
    noise = load("noise", data_cfg, spec, n_noise=7)
    assert noise.images.shape == (7, 3, 32, 32)


def test_large_photos_are_capped_and_frame_sized_images_taken_as_they_are(tmp_path, data_cfg):
    for cls in ("a", "b"):
        (tmp_path / "big" / cls).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (300, 200), (200, 40 * i, 90)).save(tmp_path / "big" / cls / f"{i}.png")
    warnings: list[str] = []
    data = read_folder(tmp_path / "big", "big", warn=warnings.append, require_labels=True)
    assert data.spec.shape == (3, 85, 128) and "capped at 128" in warnings[0]
    # notMNIST-459's 28×28 letters are read pixel for pixel, whatever their background
    from idk.data.imaging import open_image
    from idk.data.named import notmnist_459

    letters = notmnist_459(data_cfg)
    first = sorted((data_cfg.data_dir / "notmnist-459" / "A").iterdir())[0]
    np.testing.assert_allclose(letters.pixels(0)[0].numpy(), open_image(first), atol=1e-6)


def test_too_few_images_for_a_test_split(tmp_path, data_cfg):
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        Image.new("L", (8, 8), 50).save(tmp_path / cls / "x.png")
    with pytest.raises(DataError, match="too few images"):
        training_data(str(tmp_path), data_cfg)


def test_a_test_folder_with_train_and_test_inside_gives_its_test_half(tmp_path, data_cfg):
    make_shapes(tmp_path / "flat", per_class=6)
    split = make_shapes(tmp_path / "split", per_class=8, layout="split")
    data = training_data(str(tmp_path / "flat"), data_cfg, test_data=str(split))
    assert len(data.test) == 6 and len(data.train) == 18  # split/test: 2 per class; all of flat trains


def test_unnamed_test_classes_take_the_training_names(tmp_path, data_cfg):
    root = make_shapes(tmp_path / "s", per_class=6)
    np.savez(tmp_path / "test.npz", images=np.zeros((3, 20, 20, 3), np.uint8), labels=[0, 1, 2])
    data = training_data(str(root), data_cfg, test_data=str(tmp_path / "test.npz"))
    assert data.test.classes == CLASSES and data.test.images.shape[1:] == data.spec.shape


def test_test_classes_of_the_same_names_in_another_order_are_renumbered(tmp_path, data_cfg):
    root = make_shapes(tmp_path / "s", per_class=6)
    order = CLASSES[::-1]  # the same names, reversed: label k names order[k]
    np.savez(tmp_path / "test.npz", images=np.zeros((3, 20, 20, 3), np.uint8), labels=[0, 1, 2], classes=list(order))
    data = training_data(str(root), data_cfg, test_data=str(tmp_path / "test.npz"))
    assert data.test.classes == CLASSES
    assert [CLASSES[k] for k in data.test.labels.tolist()] == list(order)  # each image keeps its class


def test_training_subset_keeps_every_class(mnist_train):
    from idk.training.splits import training_subset

    picked = training_subset(len(mnist_train), 500)
    assert len(picked) == 500 and torch.equal(picked, training_subset(len(mnist_train), 500))
    assert set(mnist_train.labels[picked].tolist()) == set(range(10))


def test_folders_inside_class_folders_are_named_not_read(tmp_path):
    for cls in ("a", "b"):
        (tmp_path / cls / "deeper").mkdir(parents=True)
        Image.new("L", (8, 8), 255).save(tmp_path / cls / "x.png")
        Image.new("L", (8, 8), 255).save(tmp_path / cls / "deeper" / "y.png")
    said: list[str] = []
    data = read_folder(tmp_path, "nested", warn=said.append, require_labels=True)
    assert len(data) == 2  # the deeper images are not read ...
    assert any("folders inside class folders are not read" in w and "a/deeper, b/deeper" in w for w in said)
    (tmp_path / "a" / "x.png").unlink()  # ... and a class folder of sub-folders only is empty of images
    with pytest.raises(DataError, match="class folder 'a' is empty of images \\(its sub-folders are not read\\)"):
        read_folder(tmp_path, "nested", require_labels=True)


def test_a_data_config_takes_text_paths(data_dir):
    from idk.data.sources import DataConfig

    assert DataConfig(str(data_dir), str(data_dir / "cache")) == DataConfig(data_dir, data_dir / "cache")
    assert DataConfig("").data_dir is None  # as from_env reads an empty IDK_DATA_DIR


def test_a_file_of_no_form_idk_reads_is_named_with_the_forms_it_reads(tmp_path, data_cfg):
    """A checkpoint or any other file given as a data set: the forms idk reads, not "bad magic number"."""
    stray = tmp_path / "model.pt"
    stray.write_bytes(b"PK\x03\x04 a zip archive")
    with pytest.raises(DataError, match=r"model\.pt: not a data set idk reads: give a folder of images .*an IDX file"):
        load(str(stray), data_cfg, InputSpec(1, 28, 28, "fit"))


def test_a_test_set_of_the_same_names_in_another_order_is_not_said_to_have_changed(tmp_path, data_cfg):
    """The recorded test set's SHA-256 is of its labels numbered as the model's: a test .npz naming
    the classes in another order than the training .npz is the same set, not "changed since training"
    (it was said every time); an image changed since is said."""
    rng = np.random.default_rng(0)
    images, labels = rng.random((12, 8, 8)).astype(np.float32), np.arange(12) % 2
    np.savez(tmp_path / "train.npz", images=images, labels=labels, classes=np.array(["b", "a"]))
    np.savez(tmp_path / "test.npz", images=images[:6], labels=1 - labels[:6], classes=np.array(["a", "b"]))
    data = training_data(str(tmp_path / "train.npz"), data_cfg, test_data=str(tmp_path / "test.npz"))
    said: list[str] = []
    test = recorded_test_set(data.record, data.train.spec, data_cfg, data.train.classes, said.append)
    assert said == [] and test.labels.tolist() == labels[:6].tolist()  # renumbered as the model's: b = 0
    images[0, 0, 0] = 1 - images[0, 0, 0]
    np.savez(tmp_path / "test.npz", images=images[:6], labels=1 - labels[:6], classes=np.array(["a", "b"]))
    recorded_test_set(data.record, data.train.spec, data_cfg, data.train.classes, said.append)
    assert len(said) == 1 and "the model's test set changed since training (6 images then, 6 now" in said[0]


def test_the_usual_size_is_the_one_most_share_else_the_median_height_and_width(tmp_path):
    assert usual_size([(28, 28)] * 5 + [(30, 40)] * 5) == (28, 28)  # half of them: a data set's size
    # photos of many sizes: three share the most common size, portrait; most are landscape
    photos = [(693, 520)] * 3 + [(300 + 7 * i, 400 + 9 * i) for i in range(20)] + [(500, 500)] * 2
    assert usual_size(photos) == (384, 500)  # the medians, not the three portrait ones' 693×520
    for i, (h, w) in enumerate([(60, 80), (62, 84), (64, 88), (80, 60)]):
        Image.new("RGB", (w, h), (40 * i, 90, 200)).save(tmp_path / f"{i}.png")
    said: list[str] = []
    data = read_folder(tmp_path, "photos", warn=said.append)
    assert data.spec.shape == (3, 63, 82) and "to 63×82 colour (height × width) (4 resized)" in said[-1]


def test_finite_pixels_are_checked_a_chunk_at_a_time(monkeypatch):
    """NaN or infinity anywhere, the last chunk's last value too, is found; a set of finite pixels passes."""
    import torch

    from idk.data import images as images_module
    from idk.data.images import all_finite

    monkeypatch.setattr(images_module, "FINITE_CHUNK", 7)
    values = torch.rand(3, 1, 5, 5)
    assert all_finite(values) and all_finite(values[:, :, 1:3])  # a view that is not contiguous too
    for bad in (float("nan"), float("inf"), -float("inf")):
        for at in (0, 37, values.numel() - 1):
            spoiled = values.clone().reshape(-1)
            spoiled[at] = bad
            assert not all_finite(spoiled.reshape(values.shape))


def test_reading_an_array_never_changes_the_callers_array():
    """A float32 array already in (N, C, H, W) order is converted as a copy: clipping a resampling's
    overshoot, or dividing 0..255 values, happens in idk's pixels, not in the array given."""
    import numpy as np

    from idk.data.arrays import as_images

    for array in (np.full((2, 1, 9, 9), 1.0000001, np.float32), np.full((2, 1, 9, 9), 200.0, np.float32)):
        before = array.copy()
        images = as_images(array, "given")
        assert np.array_equal(array, before) and float(images.max()) <= 1.0


def test_a_set_keeps_its_rows_in_place_as_a_subset_would(monkeypatch):
    """Rows moved to the front a chunk at a time (smaller than the gaps and than the runs) hold what
    ``subset`` copies out, in order; rows that do not ascend are refused."""
    import pytest
    import torch

    from idk.data import images as images_module
    from idk.data.images import ImageSet

    monkeypatch.setattr(images_module, "KEEP_CHUNK", 3)
    torch.manual_seed(0)
    pixels, labels = torch.rand(40, 1, 2, 2), torch.randint(0, 4, (40,))
    rows = torch.randperm(40)[:27].sort().values
    whole = ImageSet("s", pixels.clone(), labels.clone(), ("a", "b", "c", "d"))
    expected = whole.subset(rows, "t")
    kept = whole.kept(rows, "t")
    assert torch.equal(kept.images, expected.images) and torch.equal(kept.labels, expected.labels)
    assert kept.name == "t" and kept.images.data_ptr() == whole.images.data_ptr()  # the set's own memory
    with pytest.raises(ValueError, match="ascend"):
        ImageSet("s", pixels.clone(), labels.clone(), ("a", "b", "c", "d")).kept(torch.tensor([3, 1]))


def test_8_bit_levels_read_back_as_the_floats_of_an_8_bit_image_and_nothing_else_is_stored_so():
    """uint8 level k reads as float32(k) / 255, the very value dividing a decoded image gives (so a
    set's fingerprint and image digests are those of its floats); pixels that are not all levels
    stay float32."""
    from idk.data.images import levels, looked_up, unit

    k = np.arange(256, dtype=np.uint8)
    floats = k.astype(np.float32) / 255.0  # how a decoded 8-bit image is read
    assert np.array_equal(unit(torch.from_numpy(k)).numpy().view(np.uint32), floats.view(np.uint32))
    assert torch.equal(levels(torch.from_numpy(floats)), torch.from_numpy(k))
    looked = looked_up(torch.from_numpy(k)).numpy()  # how another device reads them (CUDA's division differs)
    assert np.array_equal(looked.view(np.uint32), floats.view(np.uint32))
    for off in (torch.tensor([0.5 / 255]), torch.tensor([1 / 255 + 1e-7]), torch.tensor([0.3]), torch.tensor([-0.0])):
        assert levels(off) is None
    plain = ImageSet("s", torch.from_numpy(floats).reshape(4, 1, 8, 8), None, ())
    stored = ImageSet("s", torch.from_numpy(k).reshape(4, 1, 8, 8), None, ())
    assert torch.equal(stored.pixels(), plain.images) and torch.equal(stored.pixels(slice(1, 3)), plain.images[1:3])
    assert stored.as_floats().images.dtype == torch.float32 and plain.as_floats() is plain


def test_sets_of_8_bit_images_are_held_as_8_bit_levels_with_the_fingerprints_of_their_floats(data_cfg, tmp_path):
    """MNIST, uint8 arrays and folders of 8-bit images in their frame are held as uint8 (a quarter
    of float32's memory); their fingerprint and digests are those of the same images as floats."""
    from idk.data.fingerprints import fingerprint, image_digests

    digits = named_split("mnist", "test", data_cfg)
    assert digits.images.dtype == torch.uint8 and digits.images.shape == (10000, 1, 28, 28)
    floats = digits.as_floats()
    assert fingerprint(digits) == fingerprint(floats)
    assert torch.equal(image_digests(digits.images[:50]), image_digests(floats.images[:50]))
    pixels = (np.random.default_rng(0).random((6, 12, 12, 3)) * 255).round().astype(np.uint8)
    np.savez(tmp_path / "c.npz", images=pixels, labels=np.arange(6) % 2)
    array = read_array(tmp_path / "c.npz", "c")
    assert array.images.dtype == torch.uint8
    assert torch.equal(array.pixels(), torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255)
    np.savez(tmp_path / "f.npz", images=pixels / 255.0, labels=np.arange(6) % 2)  # floats: kept as they are
    assert read_array(tmp_path / "f.npz", "f").images.dtype == torch.float32
    for cls in ("a", "b"):
        (tmp_path / "dir" / cls).mkdir(parents=True)
    for i, px in enumerate(pixels):
        Image.fromarray(px).save(tmp_path / "dir" / "ab"[i % 2] / f"{i}.png")
    folder = read_folder(tmp_path / "dir", "dir", require_labels=True)
    assert folder.images.dtype == torch.uint8 and folder.spec.shape == (3, 12, 12)
    known = read_folder(tmp_path / "dir", "dir", folder.spec, require_labels=True)  # the form given: read once
    assert known.images.dtype == torch.uint8 and torch.equal(known.images, folder.images)


def test_grey_files_are_held_as_their_8_bit_levels_and_read_as_an_older_model_read_them(tmp_path):
    """A folder of greyscale files in its frame is held as uint8, each pixel k/255 exactly; read as a
    model from before checkpoint format 5 read it (``luminance_grey``, which its spec carries), it
    is float32 through the colour-to-grey product: 31 of the 256 levels one float32 ulp off."""
    from idk.data.images import LUMINANCE

    rng = np.random.default_rng(0)
    files = []
    for i in range(4):  # every level in each image
        pixels = rng.permutation(256).reshape(16, 16).astype(np.uint8)
        (tmp_path / "ab"[i % 2]).mkdir(exist_ok=True)
        Image.fromarray(pixels, "L").save(tmp_path / "ab"[i % 2] / f"{i}.png")
        files.append(pixels)
    exact = torch.from_numpy(np.stack([files[0], files[2], files[1], files[3]])[:, None] / np.float32(255))
    data = read_folder(tmp_path, "d", require_labels=True)
    assert data.images.dtype == torch.uint8 and not data.spec.luminance_grey
    assert torch.equal(data.pixels(), exact)
    older = read_folder(tmp_path, "d", require_labels=True, luminance_grey=True)
    assert older.images.dtype == torch.float32 and older.spec.luminance_grey
    grey = np.repeat(files[0][..., None], 3, -1) / np.float32(255) @ np.array(LUMINANCE, np.float32)
    assert np.array_equal(older.images[0, 0].numpy(), grey)  # as idk read it before
    off = older.images != exact
    assert off.sum() == 4 * 31 and (older.images - exact).abs().max() <= torch.finfo(torch.float32).eps / 2
    again = read_folder(tmp_path, "d", older.spec, require_labels=True)  # the older model's form given: the same
    assert torch.equal(again.images, older.images)


@pytest.mark.parametrize("threads", [1, 3])
def test_a_folder_with_one_image_that_is_not_8_bit_is_held_as_floats_the_same_pixels(tmp_path, threads):
    """One 16-bit image among 8-bit colour ones: the whole set is float32 (the rows read before it
    read again as floats), every image's pixels those it has read without it, in one thread or
    several; a greyscale set is float32 too (colour made grey is not exactly 8-bit)."""
    rng = np.random.default_rng(1)
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
    for i in range(8):
        Image.fromarray((rng.random((10, 10, 3)) * 255).round().astype(np.uint8)).save(
            tmp_path / "ab"[i % 2] / f"{i}.png"
        )
    deep = (rng.random((10, 10)) * 65535).round().astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "b" / "5.png")  # a 16-bit PNG: not 8-bit levels
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        for spec in (None, InputSpec(3, 10, 10, "fit")):  # surveyed, then read in a known form
            data = read_folder(tmp_path, "d", spec, require_labels=True)
            assert data.images.dtype == torch.float32 and len(data) == 8 and data.spec.channels == 3
            ones = [read_folder(tmp_path / c, c, data.spec, unlabelled=True) for c in "ab"]  # each class alone
            assert ones[0].images.dtype == torch.uint8 and ones[1].images.dtype == torch.float32
            assert torch.equal(data.images, torch.cat([o.pixels() for o in ones]))
        grey = read_folder(tmp_path, "d", InputSpec(1, 10, 10, "fit"), require_labels=True)
        assert grey.images.dtype == torch.float32
    finally:
        torch.set_num_threads(before)


def test_noise_3x_is_a_picture_three_times_the_frame_prepared_as_a_file_is():
    """``noise-3x`` is uniform noise of 3H × 3W in 8-bit levels, prepared as ``idk predict`` prepares
    a file: for a model of one's own, shrunk into the frame with antialiasing, which averages 5 × 5
    pixels with the tent weights (1, 2, 3, 2, 1)/9 on each axis: each image's standard deviation is
    19/81 of the noise's 1/√12, and neighbours correlate by 4/19 (tolerances: 10% and 0.03, the
    spread of 100 images of 1,024 correlated pixels). Seeded: the same images again."""
    from idk.data.named import noise, noise_sets

    spec = InputSpec(3, 32, 32)
    images = noise("noise-3x", 100, spec, seed=3).images
    assert images.shape == (100, 3, 32, 32) and images.dtype == torch.float32
    torch.testing.assert_close(noise("noise-3x", 100, spec, seed=3).images, images)
    spread = images.flatten(1).std(1)
    assert ((spread / (19 / 81 / math.sqrt(12)) - 1).abs() < 0.1).all()
    pairs = torch.stack([images[..., :-1].flatten(), images[..., 1:].flatten()])
    assert abs(float(torch.corrcoef(pairs)[0, 1]) - 4 / 19) < 0.03
    # an MNIST model prepares it as MNIST's files: ink fitted into the middle 20 × 20, a blank margin
    digits = noise("noise-3x", 4, NAMED["mnist"].spec, seed=3).images
    assert digits.shape == (4, 1, 28, 28) and digits[..., :4, :].abs().max() == 0 and digits.mean() > 0.1
    assert len(noise("noise-3x", 0, spec).images) == 0
    # a model of one's own is checked on it (the rule's noise check, the report's usual sets); the named
    # sets, whose reports list their own usual sets, are not
    assert noise_sets(spec) == ("noise", "gaussian-noise", "noise-3x")
    assert noise_sets(NAMED["mnist"].spec) == noise_sets(NAMED["fashion-mnist"].spec) == ("noise", "gaussian-noise")
