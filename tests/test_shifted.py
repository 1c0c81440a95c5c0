"""Shifted sets (other pens, scanners, fonts) and their non-symbol counterpart; the report's shifted rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from idk.apps.cli import main
from idk.data import DataConfig, hershey, shifted
from idk.data.glyphs import FONT_FILES, SYMBOLS, has_glyph, render
from idk.data.handwriting import ALPHABET
from idk.data.images import InputSpec

SPEC = InputSpec(1, 28, 28, preparation="mnist", drawn=True)


@pytest.fixture(scope="module")
def digits(mnist_test):
    return mnist_test.subset(torch.arange(60))


def test_every_family_keeps_labels_and_form_and_is_seeded(digits):
    sets = shifted.shifted_sets(digits, SPEC, n=40, seed=3)
    assert list(sets) == [*shifted.SHIFTS, "printed", "drawn", "hershey"]
    again = shifted.shifted_sets(digits, SPEC, n=40, seed=3)
    for name, s in sets.items():
        assert s.images.shape == (40, 1, 28, 28) and s.images.dtype == torch.float32, name
        assert 0.0 <= float(s.images.min()) and float(s.images.max()) <= 1.0, name
        assert s.labels is not None and len(s.labels) == 40 and s.classes == digits.classes, name
        assert torch.equal(s.images, again[name].images), name
        assert (s.images.flatten(1).amax(1) > 0.5).all(), f"{name}: an image lost its ink"
    for name in shifted.SHIFTS:  # each set is drawn from the source: its labels are the source's labels
        assert set(sets[name].labels.tolist()) <= set(digits.labels.tolist())


def test_symbols_exclude_the_classes_and_printed_needs_one_character_names():
    assert not shifted.applies(InputSpec(1, 28, 28, preparation="fashion-mnist", drawn=False))
    assert shifted.applies(SPEC)
    letters = tuple("ABCDEFGHIJ")
    sym = shifted.symbol_set(letters, SPEC, n=30, seed=1)
    assert sym.images.shape == (30, 1, 28, 28) and sym.labels is None
    assert not set(shifted.symbol_chars(letters)) & set("ABCDEFGHIJabcdefghij")
    # nor what looks like a class (as the trained glyphs are kept apart): ! like I, Λ like A, Γ like F
    assert not set(shifted.symbol_chars(letters)) & set("!ΛΓrσ")
    assert shifted.symbol_chars(tuple("0123456789")) == list(SYMBOLS)  # chosen unlike a digit
    assert shifted.printed_set(("cat", "dog"), SPEC) is None
    # chosen characters: printed figures for a model of clothes; never a class of the model
    clothes = ("Coat", "Bag")
    figures = shifted.symbol_set(clothes, SPEC, n=20, seed=1, chars="0123456789", name="figures")
    assert figures.name == "figures" and figures.images.shape == (20, 1, 28, 28)
    assert not torch.equal(figures.images, shifted.symbol_set(clothes, SPEC, n=20, seed=1).images)
    for chars, said in [("", "no characters"), ("0123", "class names"), ("\U000e0001", "no font")]:
        with pytest.raises(ValueError, match=said):
            shifted.symbol_set(tuple("0123456789"), SPEC, n=5, chars=chars)
    with pytest.raises(ValueError, match=r"a: class names of the model \(in either case\)"):
        shifted.symbol_set(tuple("ABCDEFGHIJ"), SPEC, n=5, chars="a+")  # as symbol_chars leaves a out
    assert has_glyph("7", FONT_FILES[0]) and not has_glyph("\U000e0001", FONT_FILES[0])
    page = render("8", FONT_FILES[0])
    assert page.max() == 1.0 and page.min() < 0.2  # black ink on white paper


def test_drawn_sets_need_strokes_for_every_class_and_leave_the_classes_out():
    digits = tuple("0123456789")
    drawn = shifted.drawn_set(digits, SPEC, n=50, seed=2)
    assert drawn.images.shape == (50, 1, 28, 28) and drawn.classes == digits
    assert set(drawn.labels.tolist()) == set(range(10)) and (drawn.images.flatten(1).amax(1) > 0.5).all()
    assert torch.equal(drawn.images, shifted.drawn_set(digits, SPEC, n=50, seed=2).images)  # seeded
    assert shifted.drawn_set(tuple("ABZ"), SPEC) is None  # no strokes for Z (a 2)
    assert shifted.drawn_set(tuple("ABCDEFGHIJ"), SPEC, n=10).classes == tuple("ABCDEFGHIJ")  # notMNIST's
    unlike = shifted.drawn_symbol_set(digits, SPEC, n=20, seed=2)
    assert unlike.labels is None and unlike.images.shape == (20, 1, 28, 28)
    every = tuple(c for c in ALPHABET if c not in digits)  # a model of every drawn non-digit: none is left
    assert shifted.drawn_symbol_set(every, SPEC) is None
    # the report leaves drawn-symbols out; Hershey still draws symbols the hand-drawn alphabet has not
    assert list(shifted.unfamiliar_sets(every, SPEC, n=5)) == ["symbols", "hershey-symbols"]
    assert list(shifted.unfamiliar_sets(digits, SPEC, n=5)) == ["symbols", "drawn-symbols", "hershey-symbols"]
    for spec in (InputSpec(3, 20, 36, preparation="mnist", drawn=True), InputSpec(1, 36, 20, preparation="mnist")):
        assert shifted.drawn_set(digits, spec, n=4).images.shape == (4, spec.channels, spec.height, spec.width)
    assert shifted.drawn_set(digits, SPEC, n=0).images.shape == (0, 1, 28, 28)


def test_hershey_sets_draw_the_class_names_and_leave_them_out_of_the_symbols():
    digits = tuple("0123456789")
    drawn = shifted.hershey_set(digits, SPEC, n=60, seed=2)
    assert drawn.name == "hershey" and drawn.images.shape == (60, 1, 28, 28) and drawn.classes == digits
    assert set(drawn.labels.tolist()) == set(range(10)) and (drawn.images.flatten(1).amax(1) > 0.5).all()
    assert torch.equal(drawn.images, shifted.hershey_set(digits, SPEC, n=60, seed=2).images)  # seeded
    assert not torch.equal(drawn.images, shifted.hershey_set(digits, SPEC, n=60, seed=3).images)
    assert shifted.hershey_set(("cat", "dog"), SPEC) is None and shifted.hershey_set(("1", "∞"), SPEC) is None
    letters = shifted.hershey_set(tuple("ABCDEFGHIJ"), SPEC, n=10)  # notMNIST's classes, in Hershey's faces
    assert letters.classes == tuple("ABCDEFGHIJ")
    assert shifted.hershey_set(digits, SPEC, n=0).images.shape == (0, 1, 28, 28)
    unlike = shifted.hershey_symbol_set(digits, SPEC, n=20, seed=2)
    assert unlike.name == "hershey-symbols" and unlike.labels is None and unlike.images.shape == (20, 1, 28, 28)
    assert shifted.hershey_symbol_set(tuple(c for c in SYMBOLS if hershey.has_strokes(c)), SPEC) is None
    colour = InputSpec(3, 20, 36, preparation="mnist", drawn=True)
    assert shifted.hershey_set(digits, colour, n=4).images.shape == (4, 3, 20, 36)


def test_every_set_may_be_empty(digits):
    for s in [
        *shifted.shifted_sets(digits, SPEC, n=0).values(),
        *shifted.unfamiliar_sets(digits.classes, SPEC, n=0).values(),
    ]:
        assert s.images.shape == (0, 1, 28, 28), s.name


def test_evaluate_reports_shifted_sets_beside_the_rest(cnn_model, data_dir, tmp_path, capsys):
    folder = tmp_path / "mine"
    for digit in ("3", "7"):
        (folder / digit).mkdir(parents=True)
        page = render(digit, FONT_FILES[4], size=60)
        for k in range(3):
            Image.fromarray((page * 255).astype(np.uint8)).save(folder / digit / f"{k}.png")
    out = tmp_path / "r.json"
    args = ["evaluate", "--model", str(cnn_model), "--samples", "10", "--shifted", "30", "--noise", "20"]
    args += ["--shift", f"mine={folder}", "--json", str(out), "--data-dir", str(data_dir), "-q"]
    assert main(args) == 0
    report = json.loads(out.read_text())
    names = list(report["datasets"])
    assert names[0] == "mnist-test" and names[1 : 1 + len(shifted.SHIFTS)] == list(shifted.SHIFTS)
    assert report["shifted"] == [*shifted.SHIFTS, "printed", "drawn", "hershey", "mine"]
    for name in report["shifted"]:
        d = report["datasets"][name]
        assert d["kind"] == "shifted" and d["answered"] + d["refused"] == pytest.approx(1.0)
        assert 0.0 <= d["forced_accuracy"] <= 1.0 and "auroc" not in d
    assert report["datasets"]["mine"]["n"] == 6
    assert report["datasets"]["mine"]["given"] and report["twin"]["datasets"]["mine"]["given"]
    assert not any(report["datasets"][name].get("given") for name in shifted.SHIFTS)  # built here
    for name in ("symbols", "drawn-symbols", "hershey-symbols"):
        assert report["datasets"][name]["kind"] == "ood" and report["datasets"][name]["n"] == 30
    assert "shifted" in report["twin"]["datasets"]["canvas"]["kind"]
    text = capsys.readouterr().out
    assert "shifted: the same classes" in text and "out of distribution (to be refused)" in text


def test_shift_sets_need_labels_said_before_any_set_is_read(cnn_model, data_dir, tmp_path, capsys, monkeypatch):
    np.save(tmp_path / "x.npy", np.zeros((4, 28, 28), np.float32))
    (tmp_path / "flat").mkdir()
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "flat" / "a.png")

    def unread(*args, **kwargs):
        raise AssertionError("a set was read before the unlabelled --shift set was refused")

    monkeypatch.setattr("idk.apps.evaluate.load", unread)
    monkeypatch.setattr("idk.apps.evaluate.load_sets", unread)
    for given in ("x.npy", "flat"):
        code = main(["evaluate", "--model", str(cnn_model), "--shift", f"x={tmp_path / given}", "--shifted", "0", "-q"])
        assert code == 2
        assert f"--shift x={tmp_path / given}: a shifted set needs labels" in capsys.readouterr().err


def test_a_shift_set_may_not_take_another_sets_name(cnn_model, data_dir, tmp_path, capsys):
    folder = tmp_path / "noise" / "7"
    folder.mkdir(parents=True)
    Image.fromarray((render("7", FONT_FILES[0]) * 255).astype(np.uint8)).save(folder / "a.png")
    args = ["evaluate", "--model", str(cnn_model), "--shift", f"noise={folder.parent}", "--shifted", "0", "-q"]
    assert main([*args, "--data-dir", str(data_dir)]) == 2
    assert "two sets named 'noise'" in capsys.readouterr().err


def test_prepare_reads_dark_on_light_frame_sized_digits_as_predict_does(
    cnn_model, data_dir, mnist_test, tmp_path, capsys
):
    """A folder of 28×28 MNIST digits written dark on white: taken pixel for pixel (the default,
    a data set in the model's form) they are inverted digits and mostly misread; with ``--prepare``
    each is prepared as ``idk predict`` prepares a photo (light background inverted, fitted and
    centred), and they are read as MNIST's own. A set that is no folder is taken as it is, and
    ``--prepare`` says so."""
    from idk.apps.evaluate import evaluate_checkpoint

    folder = tmp_path / "paper"
    for digit in (0, 1):
        (folder / str(digit)).mkdir(parents=True)
        chosen = mnist_test.images[mnist_test.labels == digit][:20, 0]
        for k, img in enumerate(chosen):
            Image.fromarray((255 * (1 - img.numpy())).astype(np.uint8)).save(folder / str(digit) / f"{k}.png")
    args = {"shift": [("paper", str(folder))], "noise": 0, "samples": 10, "shifted_images": 0}
    as_data = evaluate_checkpoint(cnn_model, DataConfig(data_dir), **args)
    assert as_data["prepared"] is False
    as_data = as_data["datasets"]["paper"]
    out = tmp_path / "prepared.json"
    cli = ["evaluate", "--model", str(cnn_model), "--shift", f"paper={folder}", "--noise", "0", "--samples", "10"]
    array = tmp_path / "blank.npy"  # an array, no folder: taken as it is
    np.save(array, np.zeros((5, 28, 28), np.uint8))
    capsys.readouterr()
    argv = [*cli, "--shifted", "0", "--prepare", "--ood", str(array), "--json", str(out), "--data-dir", str(data_dir)]
    assert main([*argv, "-q"]) == 0
    assert f"--prepare prepares folders of images: {array} is not one" in capsys.readouterr().err
    report = json.loads(out.read_text())
    assert report["prepared"] is True and report["model"]["members"] == 2
    prepared = report["datasets"]["paper"]
    assert as_data["n"] == prepared["n"] == 40
    assert prepared["forced_accuracy"] >= 0.9 and as_data["forced_accuracy"] <= prepared["forced_accuracy"] - 0.3


def test_printed_images_are_the_printed_sets_renderings():
    """printed_set draws its labels and fonts, then prints with printed_images (every angle, then every
    size, from the same generator): the two give the same pixels."""
    classes = tuple("0123456789")
    whole = shifted.printed_set(classes, SPEC, n=12, seed=3)
    rng = np.random.default_rng([3, 101])
    labels = rng.integers(0, 10, 12)
    fonts = [f for f in FONT_FILES if all(has_glyph(c, f) for c in classes)]
    chosen = [fonts[i] for i in rng.integers(0, len(fonts), 12)]
    again = shifted.printed_images([classes[i] for i in labels], chosen, SPEC, rng)
    assert torch.equal(whole.images, again) and whole.labels.tolist() == labels.tolist()


def test_evaluate_checkpoint_takes_sets_as_a_library_caller_gives_them(cnn_model, data_dir, mnist_test, tmp_path):
    """{NAME: PATH}, (NAME, PATH) pairs or the command line's strings; counts checked before any
    work; a noise set asked for with --noise 0 is an error, not an empty row."""
    from idk.apps.evaluate import as_pairs, evaluate_checkpoint
    from idk.errors import IdkError

    np.save(tmp_path / "few.npy", np.zeros((3, 28, 28), np.uint8))
    few = str(tmp_path / "few.npy")
    assert as_pairs({"a": few}, "--ood") == as_pairs([("a", few)], "--ood") == as_pairs([f"a={few}"], "--ood")
    assert as_pairs(few, "--ood") == [("few", few)] and as_pairs(None, "--ood") == []
    with pytest.raises(IdkError, match=r"--shift: \['a', 'b', 'c'\] is no set; give \{NAME: PATH\}"):
        as_pairs([["a", "b", "c"]], "--shift")
    assert as_pairs([["a", few]], "--ood") == [("a", few)]  # a list as a pair
    with pytest.raises(IdkError, match=r"one \(NAME, PATH\) or two sets\?"):
        as_pairs(("a", few), "--ood")
    assert as_pairs(("a", Path(few)), "--ood") == [("a", few)]  # a name and a Path: one set
    assert as_pairs((f"a={few}", f"b={few}"), "--ood") == [("a", few), ("b", few)]
    for bad in ({"noise": -5}, {"gaussian": 1.5}, {"shifted_images": -1}):
        with pytest.raises(IdkError, match="give a whole number of images, 0 or more"):
            evaluate_checkpoint(tmp_path / "not-read.pt", **bad)
    with pytest.raises(IdkError, match=r"--ood noise=noise: holds no image \(--noise 0"):
        evaluate_checkpoint(cnn_model, DataConfig(data_dir), ood=["noise"], noise=0, shifted_images=0, samples=10)
    report = evaluate_checkpoint(
        cnn_model, DataConfig(data_dir), ood={"few": few}, noise=0, shifted_images=0, samples=10
    )
    assert report["datasets"]["few"]["n"] == 3
