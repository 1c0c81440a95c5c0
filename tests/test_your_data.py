"""A user's own colour images end to end: train → evaluate → predict → explain → serve, and bad input."""

from __future__ import annotations

import io
import json
import shutil
import urllib.request
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from idk.apps import serve
from idk.apps.cli import main
from idk.data.augment import augmentation_for
from idk.data.synthetic import WIDE_SCRIBBLES, Scribbles
from idk.errors import CheckpointError, DataError
from idk.training import checkpoint, fitting
from shapes import CLASSES, make_shapes, shape_image

TRAIN = ["--epochs", "3", "--samples", "10", "--channels", "4", "8", "--dense", "16", "--image-size", "32", "-q"]


@pytest.fixture(scope="module")
def shapes_model(tmp_path_factory):
    root = make_shapes(tmp_path_factory.mktemp("shapes"), per_class=24)
    path = tmp_path_factory.mktemp("models") / "shapes.pt"
    assert main(["train", "--data", str(root), "--out", str(path), *TRAIN]) == 0
    return root, path


@pytest.fixture(scope="module")
def user_images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mine")
    rng = np.random.default_rng(7)
    shape_image("square", 120, rng).save(folder / "big-square.jpg", quality=95)
    shape_image("triangle", 50, rng).convert("L").save(folder / "grey-triangle.png")  # greyscale, to a colour model
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_train_records_the_form_and_class_names(shapes_model, capsys):
    _, path = shapes_model
    ckpt = checkpoint.read(path)
    assert ckpt.classes == CLASSES and ckpt.input_spec.shape == (3, 32, 32) and ckpt.input_spec.preparation == "fit"
    assert ckpt.finished and ckpt.calibrated and ckpt.data.test_indices  # a recorded held-out split
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "circle" in out and "\n  degrade: — (drawn symbols only)\n" in out  # the preset's share does not apply
    assert "\n  outlier_weights: glyphs=— (not one of its outlier families)\n" in out  # the preset's printed glyphs
    assert "{" not in out and "[" not in out and "('" not in out  # indented lines, not Python's reprs
    assert "the threshold is set on only" in out  # 72 images: too few to hold a 2% refusal
    unused = ckpt.describe()["train_config_not_applied"]  # idk info --json and /api/info say it too
    assert {"degrade", "printed", "variants", "outlier_weights:glyphs"} <= set(unused)
    assert "train_config_not_applied" not in out  # the text says it beside each setting


def test_a_folder_read_class_by_class_tunes_its_rule_on_every_class(shapes_model, tmp_path):
    """The folder's images come class by class; training tuned the rule on a share of each class
    (and recorded the cut's digest); a checkpoint from before the digest is re-cut as it was cut
    then, by the first share."""
    from idk.data import DataConfig
    from idk.training.recalibration import training_split
    from idk.training.splits import TUNING_SHARE, split_digest

    _, path = shapes_model
    ckpt = checkpoint.read(path)
    data = DataConfig(None, tmp_path / "cache")
    _, tune, held = training_split(ckpt, data)
    assert sorted(set(tune.labels.tolist())) == [0, 1, 2]  # every class, though the images come in class order
    assert ckpt.validation_split["sha256"] == split_digest(tune, held)
    n = len(tune) + len(held)
    old = replace(ckpt, validation_split={"tuning": int(n * TUNING_SHARE), "calibration": n - int(n * TUNING_SHARE)})
    _, first, _ = training_split(old, data)
    assert len(first) == int(n * TUNING_SHARE) and set(first.labels.tolist()) != {0, 1, 2}  # not every class


def test_a_folders_validation_images_are_drawn_class_by_class(shapes_model, tmp_path):
    """Training recorded a validation split drawn class by class; idk calibrate re-derives it from
    that record, and a checkpoint from before the record is re-split over all images, as then."""
    from idk.data import DataConfig
    from idk.training.recalibration import training_images

    _, path = shapes_model
    ckpt = checkpoint.read(path)
    assert ckpt.validation_by_class and ckpt.describe()["validation_images"]["drawn"] == "class by class"
    data = DataConfig(None, tmp_path / "cache")
    _, train, val = training_images(ckpt, data)
    assert len(val) == ckpt.validation_size
    per_class = torch.bincount(val.labels, minlength=3).tolist()
    assert max(per_class) - min(per_class) <= 1 and min(per_class) >= 1  # the classes' shares, each one
    _, _, old = training_images(replace(ckpt, validation_by_class=False), data)
    assert not torch.equal(old.images, val.images)  # another draw, over all images
    moved = replace(ckpt, data=replace(ckpt.data, data=str(tmp_path / "moved")))
    with pytest.raises(DataError, match="moved: the model's training data is gone .* put the data back") as gone:
        training_images(moved, data, "runs/mine.pt")  # idk calibrate's words, not "not a known data set"
    assert "`idk train --resume --out runs/mine.pt --data NEW_PLACE` records its new place" in str(gone.value)
    tested = replace(ckpt, data=replace(ckpt.data, test_data=str(tmp_path / "gone.npz")))
    with pytest.raises(DataError, match="gone.npz: the model's test data is gone .* --test-data NEW_PLACE"):
        training_images(tested, data)
    changed = replace(ckpt, data_fingerprint={**ckpt.data_fingerprint, "sha256": "0" * 64})
    with pytest.raises(CheckpointError, match=r"^runs/mine\.pt: its training data .* changed since training"):
        training_images(changed, data, "runs/mine.pt")  # named by the checkpoint's path


def test_evaluate_uses_the_models_own_test_set_and_class_names(shapes_model, tmp_path, capsys):
    _, path = shapes_model
    out = tmp_path / "r.json"
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(path),
                "--samples",
                "10",
                "--json",
                str(out),
                "--report",
                str(tmp_path / "rep"),
                "-q",
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    root, path = shapes_model
    assert report["in_distribution"] == f"{root.name}-test"
    assert list(report["datasets"]) == [f"{root.name}-test", "noise", "gaussian-noise", "noise-3x"]
    first = report["datasets"][report["in_distribution"]]
    assert first["n"] == 15 and "forced_accuracy" in first  # 20% held out of each class: 5 of 24
    assert report["model"]["classes"] == list(CLASSES) and report["model"]["input"] == "32×32 colour"
    text = capsys.readouterr().out
    assert "3 classes of 32×32 colour images" in text
    page = (tmp_path / "rep" / "index.html").read_text()
    assert "circle, square, triangle" in page and page.count("data:image/png;base64,") == 5


def test_a_set_too_small_to_hold_out_validation_images_says_its_rule_is_not_set(tmp_path, capsys):
    """No validation image, so no threshold set for the target: said, not a silent fixed rule."""
    small = [
        "--samples",
        "5",
        "--channels",
        "4",
        "8",
        "--dense",
        "8",
        "--image-size",
        "32",
        "--no-twin",
        "--epochs",
        "1",
    ]
    pairs = tmp_path / "pairs"  # eight classes of two images: the test split takes one of each, one is left
    for i in range(8):
        (pairs / f"c{i}").mkdir(parents=True)
        for j in range(2):
            Image.new("L", (32, 32), 20 * i + 5 * j).save(pairs / f"c{i}" / f"{j}.png")
    cases = [
        (make_shapes(tmp_path / "three", per_class=2), "(too few training images)"),  # 3 left: a fifth is 0
        (
            pairs,
            "(no class has a second training image (a test split is held out first))",
        ),  # 8 left: a fifth is 1, but none can be spared
        (make_shapes(tmp_path / "six", per_class=3), None),  # 6 left, two of each class: one held out
    ]
    for data, why in cases:
        assert main(["train", "--data", str(data), "--out", str(tmp_path / f"{data.name}.pt"), "-q", *small]) == 0
        err = capsys.readouterr().err
        if why:
            assert f"no validation image is held out to set the rule's threshold {why}: it keeps a fixed one" in err
        else:
            assert "no validation image" not in err and "the threshold is set on only 1 validation image" in err
    assert "1 optimiser step in --epochs 1, few to learn from; --epochs 200 gives 200" in err  # asked for, said
    twelve = make_shapes(tmp_path / "twelve", per_class=12)  # 30 training images: 6 held out, 3 of them tune
    assert main(["train", "--data", str(twelve), "--out", str(tmp_path / "t.pt"), "-q", *small]) == 0
    out, err = capsys.readouterr()
    accuracy = checkpoint.read(tmp_path / "t.pt").metrics["validation_accuracy"]
    # a near-chance model shows itself, on the 3 images the threshold is set on (the other 3 tune the rule)
    assert f", validation accuracy {accuracy:.2%} (3 images)" in out
    assert "the rule's score is chosen on only 3 validation images (those that tune the rule)" in err
    assert "too few to compare the scores at a 2% refusal; give more images, or choose the score with --score" in err
    criterion = checkpoint.read(tmp_path / "t.pt").score_selection["criterion"]  # the record says it too
    assert criterion.endswith("; on only 3 tuning images, none of them refused at 2%: too few to tell the scores apart")
    tutorial = ["--preset", "tutorial", "--target-refusal", "0.05", "--epochs", "1", "--samples", "5", "-q"]
    assert (
        main(["train", "--data", str(twelve), "--out", str(tmp_path / "tut.pt"), "--image-size", "16", *tutorial]) == 0
    )
    err = capsys.readouterr().err
    assert "(the tutorial preset holds none out): it keeps a fixed one, not set for its target; choose another" in err
    # --val-size: how many are held out (a fifth at most), or none; and what would narrow the spread
    said = {
        "0": "(--val-size 0): it keeps a fixed one, not set for its target; give --val-size N",
        "4": "; a larger --val-size narrows it (at most 6, a fifth of the images)",
        "99": "; more training images narrow it (a fifth of them, at most 99, are held out for the rule)",
    }
    for size, held in (("0", 0), ("4", 4), ("99", 6)):
        out_path = tmp_path / f"v{size}.pt"
        assert main(["train", "--data", str(twelve), "--out", str(out_path), "--val-size", size, *small]) == 0
        assert checkpoint.read(out_path).validation_size == held, size
        assert said[size] in capsys.readouterr().err, size
    # without --epochs, a small set of one's own trains for as many epochs as make 200 steps (the
    # preset's 12 made 12 steps here: after so few, a model's rule refused no noise)
    default_epochs = [a for a in small if a not in ("--epochs", "1", "-q")]
    assert main(["train", "--data", str(pairs), "--out", str(tmp_path / "d.pt"), *default_epochs]) == 0
    err = capsys.readouterr().err
    assert "8 training images make 1 optimiser step an epoch: 200 epochs (the preset's 12) make at least 200" in err
    assert "few to learn from" not in err and checkpoint.read(tmp_path / "d.pt").train_config.epochs == 200
    # classes with few training images are named (a researcher's class of 3 was answered wrongly, unsaid)
    assert "few training images for c0 (1), c1 (1), c2 (1), c3 (1), c4 (1) (+3 more), under 10" in err
    assert "the model learns little of them and may answer wrongly with confidence" in err


def test_a_test_set_of_some_of_the_classes_is_evaluated(shapes_model, tmp_path, capsys):
    root, path = shapes_model
    some = make_shapes(tmp_path / "some", per_class=4)
    shutil.rmtree(some / "circle")  # squares and triangles only
    out = tmp_path / "r.json"
    argv = ["evaluate", "--model", str(path), "--test-data", str(some), "--samples", "5", "--noise", "0", "-q"]
    assert main([*argv, "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["datasets"]["some"]["n"] == 8 and report["model"]["classes"] == list(CLASSES)
    assert f"{some}: no image of circle: its figures are of the other classes" in report["warnings"]
    (some / "square").rename(some / "box")
    _one_line_error(capsys, argv, "class box is not among the model's")


def test_predict_answers_in_class_names_and_converts_greyscale(shapes_model, user_images, capsys):
    _, path = shapes_model
    files = [str(user_images / n) for n in ("big-square.jpg", "grey-triangle.png", "notes.txt")]
    code = main(["predict", *files, "--model", str(path), "--json", "--samples", "10"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1  # notes.txt is not an image; the others are answered
    square, grey, notes = out
    for answer in (square, grey):
        assert answer["error"] is None and len(answer["probabilities"]["mean"]) == 3
        assert answer["verdict"] == "I don't know" or answer["label_name"] in CLASSES
    assert "not an image" in notes["error"]
    assert main(["predict", files[0], "--model", str(path)]) == 0
    text = capsys.readouterr().out
    assert any(c in text for c in CLASSES)


def test_explain_draws_a_colour_image_with_class_names(shapes_model, user_images, tmp_path, capsys):
    _, path = shapes_model
    for target in ("0", str(user_images / "big-square.jpg")):
        out = tmp_path / "fig.png"
        assert main(["explain", target, "--model", str(path), "--out", str(out), "--samples", "10"]) == 0
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        out.unlink()
    printed = capsys.readouterr().out
    assert any(f"({v}: labelled " in printed for v in ("correct", "incorrect", "undecided"))


def test_explain_says_once_which_characters_of_the_class_names_its_font_lacks(
    shapes_model, user_images, tmp_path, recwarn
):
    """Class names in a script DejaVu Sans lacks: one warning naming the characters (matplotlib
    warns of each while the figure is laid out and again while saved: none of those escapes)."""
    from dataclasses import replace as renamed

    from idk.apps.explain import explain

    _, path = shapes_model
    model, ckpt = checkpoint.load(path)
    ckpt = renamed(ckpt, classes=("日本", *ckpt.classes[1:]))
    said: list[str] = []
    out = tmp_path / "cjk.png"
    explain(model, ckpt, str(user_images / "big-square.jpg"), out, samples=10, warn=said.append)
    assert said == [f"{out}: the font (DejaVu Sans) has no glyph for 日本: drawn as boxes"]
    assert not [w for w in recwarn if "missing from font" in str(w.message)]


def test_serve_api_answers_with_class_names(shapes_model):
    _, path = shapes_model
    model, ckpt = checkpoint.load(path)
    from idk.apps.serve_http import BackgroundServer

    server = BackgroundServer(serve.create_app(serve.PredictionService(model, ckpt, samples=10))).start()
    base = server.url
    try:
        info = json.loads(urllib.request.urlopen(f"{base}/api/info", timeout=30).read())
        assert info["classes"] == list(CLASSES) and info["input"]["drawn"] is False and info["calibrated"]
        buf = io.BytesIO()
        shape_image("circle", 70, np.random.default_rng(1)).convert("L").save(buf, format="PNG")  # greyscale upload
        req = urllib.request.Request(
            f"{base}/api/predict", data=buf.getvalue(), method="POST", headers={"Content-Type": "image/png"}
        )
        answer = json.loads(urllib.request.urlopen(req, timeout=30).read())["images"][0]
        assert answer["error"] is None and len(answer["samples"]) == 3
        assert answer["verdict"] == "I don't know" or answer["label_name"] in CLASSES
    finally:
        server.stop()


def _one_line_error(capsys, argv, needle, out=None):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if not line.startswith("idk: warning")]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in err
    if out is not None:
        assert not out.exists() and not list(out.parent.glob(f".{out.name}.*"))


def test_bad_data_is_one_clear_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "m.pt"
    one = tmp_path / "one"
    (one / "only").mkdir(parents=True)
    Image.new("RGB", (9, 9)).save(one / "only" / "a.png")
    empty = make_shapes(tmp_path / "empty", per_class=3)
    for f in (empty / "square").iterdir():
        f.unlink()
    mixed = make_shapes(tmp_path / "mixed", per_class=8, layout="split")
    (mixed / "test" / "circle").rename(mixed / "test" / "disc")
    np.savez(tmp_path / "range.npz", images=np.zeros((4, 8, 8), np.uint8), labels=[0, 1, 2, 9], classes=["a", "b", "c"])
    np.savez(tmp_path / "short.npz", images=np.zeros((4, 8, 8), np.uint8), labels=[0, 1])
    np.savez(tmp_path / "gap.npz", images=np.zeros((4, 8, 8), np.uint8), labels=[0, 2, 0, 2], classes=["a", "b", "c"])
    np.savez(tmp_path / "from1.npz", images=np.zeros((4, 8, 8), np.uint8), labels=[1, 2, 1, 2])  # numbered from 1
    np.savez(tmp_path / "nopixels.npz", images=np.zeros((4, 0, 0), np.uint8), labels=[0, 1, 0, 1])
    cases = [
        (one, "one class folder"),
        (empty, "is empty"),
        (mixed, "differ from the training classes"),
        (tmp_path / "range.npz", "labels must lie in 0..2"),
        (tmp_path / "short.npz", "2 labels for 4 images"),
        (tmp_path / "gap.npz", "the class 'b' has no image; give it images or leave it out of 'classes'"),
        (tmp_path / "from1.npz", "no image is labelled '0'; number the classes from 0 without gaps"),
        (tmp_path / "nopixels.npz", "no pixels"),
        (tmp_path / "nowhere", "not a known data set"),
    ]
    for data, needle in cases:
        _one_line_error(capsys, ["train", "--data", str(data), "--out", str(out), "-q"], needle, out)
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--data", str(empty), "--out", str(out), "--image-size", "0"])
    assert exit_.value.code == 2 and "(positive whole numbers" in capsys.readouterr().err and not out.exists()


def test_an_ood_set_that_cannot_take_the_models_form_is_refused(shapes_model, tmp_path, capsys):
    _, path = shapes_model
    np.save(tmp_path / "two.npy", np.zeros((5, 2, 9, 9), np.float32))
    _one_line_error(
        capsys, ["evaluate", "--model", str(path), "--ood", f"x={tmp_path / 'two.npy'}", "-q"], "1 or 3 channels"
    )


def test_images_too_small_for_the_network_are_one_line(tmp_path, capsys):
    root = tmp_path / "tiny"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(4):
            Image.new("L", (8, 8), 30 * i + 5 * (cls == "b")).save(root / cls / f"{i}.png")
    out = tmp_path / "m.pt"
    _one_line_error(capsys, ["train", "--data", str(root), "--out", str(out), "-q"], "--image-size", out)


def test_duplicate_report_names_are_refused(shapes_model, tmp_path, capsys):
    root, path = shapes_model
    _one_line_error(
        capsys, ["evaluate", "--model", str(path), "--ood", "noise=gaussian-noise", "-q"], "already has a set"
    )
    out = tmp_path / "r.json"  # a usual set asked for by its name is the one already there
    assert main(["evaluate", "--model", str(path), "--ood", "noise", "--samples", "5", "-q", "--json", str(out)]) == 0
    assert list(json.loads(out.read_text())["datasets"]) == [f"{root.name}-test", "noise", "gaussian-noise", "noise-3x"]


def test_explanation_of_many_classes_draws_the_likely_ones():
    from idk.evaluation import plots

    rng = np.random.default_rng(0)
    log_probs = np.log(rng.dirichlet(np.ones(40), size=50))
    accepted = np.zeros(40, bool)
    accepted[33] = True
    fig, axes = plots.explanation(log_probs, rng.random((8, 8, 3)), accepted, np.exp(log_probs).mean(0), "x")
    assert len(axes) == plots.MAX_PANELS + 1 and any("33" in ax.get_title() for ax in axes[1:])
    plots.plt.close(fig)


def test_resume_continues_on_the_data_it_was_trained_on(tmp_path, capsys, monkeypatch):
    root = make_shapes(tmp_path / "s", per_class=10)
    out = tmp_path / "m.pt"
    small = ["--samples", "5", "--channels", "4", "8", "--dense", "8", "--image-size", "32", "--no-twin", "-q"]
    argv = ["train", "--data", str(root), "--out", str(out), "--epochs", "1", "--degrade", "0.3", "--flip", *small]
    built = []
    monkeypatch.setattr(
        fitting, "augmentation_for", lambda *a, **k: built.append(augmentation_for(*a, **k)) or built[-1]
    )
    assert main(argv) == 0  # circles, squares and triangles keep their names in a mirror
    assert built and all(a.flip for a in built)  # every model trained (the BNN; the twin is off) flips
    err = capsys.readouterr().err
    assert "--degrade applies to drawn symbols only" in err  # said, not silently ignored
    assert "the threshold is set on only 4 validation images: it will refuse between" in err  # 30 images: too few
    first = checkpoint.read(out)
    assert first.train_config.flip is True
    assert main(["train", "--resume", "--out", str(out), "--epochs", "2", "-q"]) == 0  # no --data: the stored one
    resumed = checkpoint.read(out)
    assert len(resumed.history) == 2 and resumed.data == first.data and resumed.classes == CLASSES
    assert resumed.train_config.flip is True
    # without -q, a run says how long its epochs left take, once, at the pace of its session's first
    monkeypatch.setattr("idk.training.train.PACE_NOTE_AFTER", 0.0)
    paced = tmp_path / "paced.pt"
    shutil.copy(out, paced)
    capsys.readouterr()
    assert main(["train", "--resume", "--out", str(paced), "--epochs", "4"]) == 0
    said = capsys.readouterr()
    assert (said.out + said.err).count("s an epoch, the 5 Bayesian epochs left take about") == 1  # 1 + 2 + 2
    _one_line_error(capsys, ["train", "--resume", "--out", str(out), "--epochs", "3", "--no-flip", "-q"], "--no-flip")
    other = make_shapes(tmp_path / "other", per_class=6)
    _one_line_error(
        capsys, ["train", "--resume", "--data", str(other), "--out", str(out), "--epochs", "3", "-q"], "cannot resume"
    )
    # the outlier families trained on are recorded; a run trained on one this idk no longer draws is not continued
    fitted = ("uniform-noise", "gaussian-noise", "shuffled-patches", "shrunk-noise", "inverted", "strokes")
    assert first.outlier_families == fitted
    # a run begun before shrunk noise was added goes on without it, and records that it leaves it out
    older = tuple(n for n in fitted if n != "shrunk-noise")
    checkpoint.save(replace(resumed, outlier_families=older), out)
    assert main(["train", "--resume", "--out", str(out), "--epochs", "3", "-q"]) == 0
    again = checkpoint.read(out)
    assert again.outlier_families == older and again.train_config.drop_outliers == ("shrunk-noise",)
    checkpoint.save(replace(resumed, outlier_families=("uniform-noise", "checkerboard")), out)
    _one_line_error(
        capsys, ["train", "--resume", "--out", str(out), "--epochs", "3", "-q"], "synthetic outliers uniform-noise"
    )
    # a checkpoint from before the record: photos were then trained without scribbles, and go on so
    checkpoint.save(replace(resumed, outlier_families=None), out)
    assert main(["train", "--resume", "--out", str(out), "--epochs", "3", "-q"]) == 0
    again = checkpoint.read(out)
    assert again.outlier_families == tuple(n for n in older if n != "strokes")
    assert again.train_config.drop_outliers == ("shrunk-noise", "strokes")
    # so is the style of the scribbles: photos' scribbles drawn otherwise (or unrecorded) are not continued
    assert first.scribbles == WIDE_SCRIBBLES
    earlier = Scribbles(pen=WIDE_SCRIBBLES.pen)  # the whole frame, 2–4 curves: how idk drew them before
    for drew, said in [
        (earlier, "drawn with pen σ 0.9–2.5 px, across the frame"),
        (None, "drawn in a way not recorded"),
    ]:
        checkpoint.save(replace(resumed, scribbles=drew), out)
        _one_line_error(capsys, ["train", "--resume", "--out", str(out), "--epochs", "3", "-q"], said)


def test_a_score_with_fitted_scales_travels_from_training_to_every_output(tmp_path, capsys):
    """The `vgg` preset's rule refuses on either the total or the epistemic uncertainty: its scales
    are fitted in training, stored in the checkpoint, read back by evaluate (an unfitted score
    refuses to score), said by `idk info`, and fitted alike by `idk calibrate`."""
    root = make_shapes(tmp_path / "shapes", per_class=24)
    path = tmp_path / "vgg.pt"
    small = ["--epochs", "1", "--samples", "10", "--channels", "4", "8", "--dense", "16", "--image-size", "32", "-q"]
    small += ["--members", "1"]  # the preset's rule is the point here, not its two posteriors
    assert main(["train", "--data", str(root), "--out", str(path), "--preset", "vgg", *small]) == 0
    ckpt = checkpoint.read(path)
    assert ckpt.rule["score"] == "entropy-or-mutual-info"
    scales = ckpt.rule["score_params"]["scales"]
    assert len(scales) == 2 and min(scales) > 0
    assert ckpt.decision_rule().score.scales == tuple(scales)
    out = tmp_path / "r.json"
    assert main(["evaluate", "--model", str(path), "--samples", "10", "--json", str(out), "-q"]) == 0
    report = json.loads(out.read_text())
    assert report["rule"]["score_params"]["scales"] == scales
    assert "entropy-or-mutual-info" in report["scores"] and "auroc:noise" in report["scores"]["entropy-or-mutual-info"]
    assert report["datasets"][report["in_distribution"]]["score_histogram"]["edges"][-1] == 4.0  # its own range
    capsys.readouterr()
    assert main(["info", str(path)]) == 0
    assert f"H[p̄] / {scales[0]:.3g}" in capsys.readouterr().out  # the rule in words, with its scales
    again = tmp_path / "again.pt"  # a new target: the same tuning images, so the same scales
    assert main(["calibrate", "--model", str(path), "--target-refusal", "0.1", "--out", str(again), "-q"]) == 0
    assert checkpoint.read(again).rule["score_params"]["scales"] == scales


def test_a_rule_that_answered_noise_at_training_is_said_after_training_and_by_info(tmp_path, capsys, monkeypatch):
    """The notice's path through the commands: with NOISE_REFUSED above any share, the share the
    score choice measured is said by the library's train() (a Python caller is told what `idk
    train`'s user is; it was the command's alone) and by `idk info`."""
    from idk.progress import Progress
    from idk.training import notices
    from idk.training.train import TrainOptions, train

    monkeypatch.setattr(notices, "NOISE_REFUSED", 1.01)  # any measured share is too little here
    root = make_shapes(tmp_path / "shapes", per_class=24)
    out = tmp_path / "m.pt"
    warned: list[str] = []
    progress = Progress(quiet=True)
    progress.warn = warned.append
    small = TrainOptions(data=str(root), epochs=3, samples=10, channels=(4, 8), dense=16, image_size=(32, 32))
    train(out, opts=small, progress=progress)  # as TRAIN on the command line
    measured = checkpoint.read(out).metrics["noise_refused"]
    assert set(measured) == {"noise", "gaussian-noise", "noise-3x"}  # larger noise pictures too, for one's own
    share = checkpoint.read(out).noise_refused()
    assert share == min(measured.values())
    said = f"{out}: when its rule was set, it refused only {100 * share:.2g}% of noise images"
    assert any(w.startswith(said) for w in warned)
    assert main(["info", str(out)]) == 0
    assert said in capsys.readouterr().err


def test_a_flat_colour_is_blank_to_a_model_of_shapes_and_answered_by_one_of_swatches(shapes_model, tmp_path, capsys):
    """Shapes' training images are never one colour: a red page is blank to their model. A set of
    colour swatches (one colour, a few stray pixels) is: its model answers a red page."""
    _, path = shapes_model
    red = tmp_path / "red.png"
    Image.new("RGB", (32, 32), (220, 20, 20)).save(red)
    assert not checkpoint.read(path).flat_seen
    assert main(["predict", str(red), "--model", str(path), "--json", "--samples", "4"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["blank"] is True
    rng = np.random.default_rng(0)
    swatches = tmp_path / "swatches"
    for name, colour in (("red", (220, 20, 20)), ("green", (20, 200, 40)), ("blue", (30, 40, 220))):
        (swatches / name).mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(np.array(colour) + rng.normal(0, 12, 3), 0, 255) * np.ones((32, 32, 3))
            pixels[rng.integers(0, 32, 3), rng.integers(0, 32, 3)] = rng.integers(0, 256, (3, 3))  # stray pixels
            Image.fromarray(pixels.astype(np.uint8)).save(swatches / name / f"{i}.png")
    model = tmp_path / "swatches.pt"
    tiny = ["--epochs", "1", "--members", "1", "--no-twin", "--samples", "4", "--channels", "4", "--dense", "8", "-q"]
    assert main(["train", "--data", str(swatches), "--out", str(model), *tiny]) == 0
    assert checkpoint.read(model).flat_seen
    capsys.readouterr()
    assert main(["info", str(model)]) == 0
    assert "blank_images: none: one flat colour is answered" in capsys.readouterr().out
    assert main(["predict", str(red), "--model", str(model), "--json", "--samples", "4"]) == 0
    answer = json.loads(capsys.readouterr().out)[0]
    assert answer["blank"] is False and len(answer["probabilities"]["mean"]) == 3
