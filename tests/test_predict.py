"""``idk predict`` on a user's own files: verdicts, JSON, and bad files answered in place."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
import torch
from PIL import Image

from idk.apps.cli import main
from idk.apps.predict import FileResult, format_results, verdict_text
from idk.data.preparation import prepared_or_error
from idk.decision.rules import PercentileRule, ScoreRule
from idk.decision.scores import make_score
from idk.training import checkpoint


def test_verdict_text():
    digits = tuple("0123456789")
    assert verdict_text([], digits) == "I don't know"
    assert verdict_text([7], digits) == "7"
    assert verdict_text([4, 9], digits) == "either 4 or 9"
    assert verdict_text([1, 4, 7], digits) == "one of 1, 4 or 7"
    assert verdict_text([6, 0], ("T-shirt/top", "Trouser", "", "", "", "", "Shirt")) == "either Shirt or T-shirt/top"


def test_text_lines_show_what_the_rule_reads_and_its_test():
    classes = ("cat", "dog", "owl")
    probs = {"mean": [0.86, 0.11, 0.03], "p10": [0.5, 0.02, 0.0]}
    refused = FileResult("a.png", "I don't know", None, [], probs, score=3.1e-05, threshold=2.6673e-05)
    answered = FileResult("b.png", "cat", 0, [0], probs, score=1.2e-05, threshold=2.6673e-05)
    blank = FileResult("c.png", "I don't know", None, [], None, blank=True)
    bad = FileResult("d.png", None, None, [], None, error="d.png: not an image file idk reads")
    score_rule = ScoreRule(make_score("mutual-info"), 2.6673e-05, percentile=10)
    assert format_results([refused, answered, blank, bad], score_rule, classes).splitlines() == [
        "a.png: I don't know  [cat: 0.86, dog: 0.11, owl: 0.03]  (mean probability; mutual-info uncertainty 3.1e-05 > 2.667e-05)",
        "b.png: cat  [cat: 0.86, dog: 0.11, owl: 0.03]  (mean probability; mutual-info uncertainty 1.2e-05 ≤ 2.667e-05)",
        "c.png: I don't know  (blank image: nothing to classify found)",
        "d.png: error: not an image file idk reads",  # the file's name once
    ]
    sure = FileResult("e.png", "cat", 0, [0], {"mean": [0.996, 0.003, 0.001]}, score=0.02, threshold=0.4386)
    assert "[cat: 0.99, dog: 0.00, owl: 0.00]" in format_results(
        [sure], ScoreRule(make_score("entropy"), 0.4386), classes
    )
    answered.score = 0.43861  # a near tie is printed with the digits that tell the two apart
    assert format_results([answered], ScoreRule(make_score("entropy"), 0.4386), classes).endswith(
        "(mean probability; entropy uncertainty 0.43861 ≤ 0.4386)"
    )
    percentile = PercentileRule(10, 0.6)
    refused.score = 0.5
    assert format_results([refused], percentile, classes) == (
        "a.png: I don't know  [cat: 0.50, dog: 0.02, owl: 0.00]  (p10 probability; best p10 0.5 ≤ 0.6)"
    )
    refused.score = 0.7  # every class above t (a threshold under 1/C): refused, and said why
    assert format_results([refused], percentile, classes).endswith(
        "(p10 probability; every class's p10 > 0.6: an answer naming them all says nothing)"
    )  # it read "best p10 0.7 ≤ 0.6"
    refused.score = 0.5
    everything = "refuse every image (error ≤ 0.001 not certified)"  # not "best p10 0.5 ≤ 1.0000001"
    assert format_results([refused], percentile, classes, everything).endswith(f"(p10 probability; {everything})")


def test_predict_json_answers_every_file(cnn_model, user_files, capsys):
    files = [
        str(user_files / n)
        for n in ("seven.jpg", "blank.png", "text.png", "missing.png", "photo.png", "photo_smooth.jpg")
    ]
    code = main(["predict", *files, "--model", str(cnn_model), "--json", "--samples", "30"])
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert code == 1  # some files failed, the others were answered
    # its threshold was set at 20 samples per image: --samples 30 is said to hold it only approximately
    assert "--samples 30: its threshold was set on 20 sampled networks per image" in captured.err
    assert [r["file"] for r in out] == files
    for r in out:
        assert set(r) == {
            "file",
            "verdict",
            "label",
            "accepted",
            "probabilities",
            "error",
            "blank",
            "label_name",
            "most_probable",
            "most_probable_name",
            "samples",
            "score",
            "score_name",
            "threshold",
            "note",
        }
    seven, blank, text, missing, photo, smooth = out
    assert seven["error"] is None and seven["label"] == 7 and seven["accepted"] == [7] and seven["verdict"] == "7"
    assert seven["label_name"] == "7" and seven["samples"] is None and isinstance(seven["score"], float)
    rule = checkpoint.read(cnn_model).decision_rule()
    assert seven["threshold"] == blank["threshold"] == rule.threshold and text["threshold"] is None
    for r in (seven, photo, smooth):  # the score and threshold printed decide the answer (unrounded)
        refused = r["score"] <= r["threshold"] if isinstance(rule, PercentileRule) else r["score"] > r["threshold"]
        assert refused == (r["accepted"] == [])
    assert len(seven["probabilities"]["mean"]) == 10 and seven["score_name"] == rule.score.name
    # the percentile rule's own Q_q beside the mean; a score rule reads the mean alone
    assert set(seven["probabilities"]) == (
        {"mean", f"p{rule.percentile:g}"} if isinstance(rule, PercentileRule) else {"mean"}
    )
    # significant digits, not decimals: no probability is 0 that was not (a user's NLL takes its log)
    assert all(p > 0 for r in (seven, photo, smooth) for p in r["probabilities"]["mean"])
    assert blank["verdict"] == "I don't know" and blank["label"] is None and blank["error"] is None
    assert "not an image" in text["error"] and text["verdict"] is None
    assert "no such file" in missing["error"]
    for picture in (photo, smooth):  # photo-like colour images: not digits
        assert picture["verdict"] == "I don't know" and picture["accepted"] == [] and picture["error"] is None
        # refused: no label, but the class a forced answer would name, the argmax of the mean probabilities
        mean = picture["probabilities"]["mean"]
        assert picture["label"] is None and mean[picture["most_probable"]] == max(mean)
        assert picture["most_probable_name"] == str(picture["most_probable"])
    assert seven["most_probable"] == 7 and seven["most_probable_name"] == "7"
    assert blank["most_probable"] is None and text["most_probable"] is None  # no network was asked


def test_predict_folder_and_glob(cnn_model, user_files, capsys):
    assert main(["predict", str(user_files / "*.jpg"), "--model", str(cnn_model)]) == 0
    assert "seven.jpg" in capsys.readouterr().out
    code = main(["predict", str(user_files), "--model", str(cnn_model)])
    text = capsys.readouterr().out
    assert code == 1 and text.count("\n") >= 3 and "error" in text


def test_predict_subprocess_bad_model_is_one_line(user_files, tmp_path):
    (tmp_path / "m.pt").write_text("garbage")
    proc = subprocess.run(
        [sys.executable, "-m", "idk", "predict", str(user_files / "seven.jpg"), "--model", str(tmp_path / "m.pt")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "m.pt" in proc.stderr


def test_networks_drawn_once_answer_as_drawn_each_time(cnn_model, mnist_test):
    """predict_images samples the networks that ``seed`` draws (as one call of sample_images, which
    draws them itself, would), and the service's reuse of them (draw_networks) changes no answer."""
    import torch

    from idk.apps.predict import draw_networks, predict_images, sample_images
    from idk.data.preparation import prepare
    from idk.training import checkpoint

    model, ckpt = checkpoint.load(cnn_model)
    sources = [(f"{i}", mnist_test.images[i, 0].numpy()) for i in range(6)]
    fresh = predict_images(model, ckpt, sources, 20, seed=3, with_samples=True)
    images = torch.from_numpy(np.stack([prepare(pixels, ckpt.input_spec).pixels for _, pixels in sources]))
    log_probs, _ = sample_images(model, images, 20, ckpt.decision_rule().percentile, seed=3)
    expected = np.round(log_probs.exp().double().numpy(), 3)  # (S, N, C)
    for row, result in enumerate(fresh):
        assert result.samples == expected[:, row].T.tolist()
    other = predict_images(model, ckpt, sources, 20, seed=4, with_samples=True)
    assert [r.samples for r in other] != [r.samples for r in fresh]  # the seed reaches the networks
    draws = draw_networks(model, 20, seed=3)
    for _ in range(2):  # the drawn networks are not used up or changed by a pass
        reused = predict_images(model, ckpt, sources, 20, seed=3, with_samples=True, draws=draws)
        assert [vars(r) for r in reused] == [vars(r) for r in fresh]


def test_many_files_are_answered_a_batch_at_a_time_as_one_by_one(cnn_model, mnist_test, monkeypatch):
    """Thousands of files take one batch's memory: predict_images prepares and samples a batch at a
    time (batch_size_for), and each image's answer is the one it gets alone."""
    from idk.apps import predict
    from idk.training import checkpoint

    model, ckpt = checkpoint.load(cnn_model)
    sources = [(f"{i}", mnist_test.images[i, 0].numpy()) for i in range(7)]
    sources.insert(3, ("broken.png", b"not an image"))
    alone = [predict.predict_images(model, ckpt, [source], 20, seed=2)[0] for source in sources]
    seen = []
    sample_images = predict.sample_images
    monkeypatch.setattr(predict, "batch_size_for", lambda model, samples: 3)
    monkeypatch.setattr(
        predict, "sample_images", lambda m, x, *a, **k: seen.append(len(x)) or sample_images(m, x, *a, **k)
    )
    batched = predict.predict_images(model, ckpt, sources, 20, seed=2)
    assert seen == [3, 2, 2]  # batches of three sources; the unreadable fourth is answered with its error
    # the same answers; a score's and a probability's last bits may round otherwise for another batch size
    blind = {"score": None, "probabilities": None}
    assert [{**vars(r), **blind} for r in batched] == [{**vars(r), **blind} for r in alone]
    for b, a in zip(batched, alone, strict=True):
        if a.probabilities is not None:
            assert b.probabilities["mean"] == pytest.approx(a.probabilities["mean"], rel=1e-4, abs=1e-9)
    assert [r.score for r in batched] == [
        None if r.score is None else pytest.approx(r.score, rel=1e-5, abs=1e-7) for r in alone
    ]
    assert batched[3].error and batched[3].verdict is None


def test_an_array_that_is_no_image_is_that_results_error_not_the_calls(cnn_model, mnist_test):
    """Decoded pixels are checked as files are: a bad array is answered with its error in its place."""
    from idk.apps.predict import predict_images

    model, ckpt = checkpoint.load(cnn_model)
    seven = mnist_test.images[0, 0].numpy()
    holed = seven.copy()
    holed[5, 5] = np.nan
    sources = [
        ("seven", seven),
        ("holed", holed),
        ("empty", np.zeros((0, 0))),
        ("scaled", seven * 255),
        ("u8", (seven * 255).round().astype(np.uint8)),
        ("tensor", torch.from_numpy(seven)),
        ("pil", Image.fromarray((seven * 255).round().astype(np.uint8))),
        ("listed", seven.tolist()),
    ]
    results = predict_images(model, ckpt, [(n, s) for n, s in sources], 10)
    assert [r.file for r in results] == [n for n, _ in sources]
    errors = {r.file: r.error for r in results}
    assert errors["seven"] is None and errors["u8"] is None and errors["tensor"] is None and errors["pil"] is None
    answers = {r.file: r.verdict for r in results}
    assert answers["tensor"] == answers["seven"] and answers["pil"] == answers["u8"]  # read as the array is
    assert errors["listed"] == "listed: a list is not an image: give a path, the file's bytes, a PIL image or " + (
        "pixels (a numpy array or a tensor, (H, W), (H, W, 1), (H, W, 2), (H, W, 3) or (H, W, 4): uint8, uint16, "
        "bool, or numbers in [0, 1] or 0..255)"
    )
    assert "NaN or infinite" in errors["holed"] and "no pixels" in errors["empty"]
    assert all(errors[n].startswith(f"{n}: ") for n in ("holed", "empty"))
    assert errors["scaled"] is None and answers["scaled"] == answers["u8"]  # floats of 0..255: 8 bits, as a set's


def test_predict_takes_what_a_library_caller_gives_it(cnn_model, user_files):
    """One path alone, a generator of pairs, lists as pairs; a bare source or a list of paths is an
    IdkError saying pairs are expected; samples=0 is refused, not taken for the default."""
    from idk.apps.predict import predict_files, predict_images
    from idk.errors import IdkError

    model, ckpt = checkpoint.load(cnn_model)
    files = sorted(str(f) for f in user_files.iterdir())
    alone = predict_files(model, ckpt, files[0], 10)
    assert [r.file for r in alone] == [files[0]] and alone == predict_files(model, ckpt, [Path(files[0])], 10)
    given = predict_images(model, ckpt, ((f, f) for f in files[:2]), 10)  # a generator
    assert [r.file for r in given] == files[:2]
    assert predict_images(model, ckpt, [[files[0], files[0]]], 10)[0].file == files[0]  # a list as a pair
    for bad, needle in (
        (files[0], "not one source alone"),
        (torch.zeros(28, 28), "not one source alone"),
        ({"a": files[0]}, r"its \.items\(\)"),
        (files[:2], "got str"),
    ):
        with pytest.raises(IdkError, match=needle):
            predict_images(model, ckpt, bad, 10)
    with pytest.raises(IdkError, match="at least 1"):
        predict_images(model, ckpt, [(files[0], files[0])], 0)


def test_files_decoded_in_threads_are_answered_as_in_one(cnn_model, user_files):
    """A batch's files are decoded in torch's threads: the same results, in order, an unreadable file
    in its place; an image PIL opened, given twice, is read in the caller's thread (one object)."""
    from idk.apps.predict import predict_images

    model, ckpt = checkpoint.load(cnn_model)
    files = sorted(str(f) for f in user_files.iterdir())  # notes.txt among them
    sources = [(f, f) for f in files]
    used: set[str] = set()
    with patch(
        "idk.apps.predict.prepared_or_error",
        side_effect=lambda *a: used.add(threading.current_thread().name) or prepared_or_error(*a),
    ):
        one = predict_images(model, ckpt, sources, 10, decode_threads=1)
        assert used == {threading.current_thread().name} and any(r.error for r in one)
        used.clear()
        assert predict_images(model, ckpt, sources, 10, decode_threads=3) == one
        assert used and all(name.startswith("idk-read") for name in used)  # the pool's threads
        used.clear()
        opened = Image.open(files[0])
        twice = predict_images(model, ckpt, [("opened", opened), ("again", opened)], 10, decode_threads=3)
        assert used == {threading.current_thread().name} and twice[0].probabilities == twice[1].probabilities


def test_predict_shows_progress_over_files_that_take_more_than_one_batch(cnn_model, user_files, monkeypatch, capsys):
    from idk.apps import predict

    args = ["predict", str(user_files), "--model", str(cnn_model), "--samples", "10"]
    main(args)
    assert "predict" not in capsys.readouterr().err  # one batch: no bar
    monkeypatch.setattr(predict, "batch_size_for", lambda model, samples: 2)
    main(args)
    err = capsys.readouterr().err
    assert "predict: 5 img" in err  # off a terminal: one line when the pass ends
    main([*args, "-q"])
    assert "predict" not in capsys.readouterr().err


def test_significant_keeps_small_probabilities_and_their_digits():
    import torch

    from idk.apps.predict import significant

    got = significant(torch.tensor([0.123456789, 3.14159e-9, 0.0, 1.0, 0.999999949]), 6)
    np.testing.assert_array_equal(got, [0.123457, 3.14159e-9, 0.0, 1.0, 1.0])
    tiny = torch.tensor([[2.5e-30]], dtype=torch.float64)
    assert significant(tiny, 4).shape == (1, 1) and significant(tiny, 4)[0, 0] == pytest.approx(2.5e-30, rel=1e-12)


def test_array_files_are_answered_image_by_image_as_evaluate_reads_them(cnn_model, mnist_test, tmp_path):
    """`idk predict x.npy` answered "not an image file idk reads": each image of an .npy/.npz is
    answered as FILE[i], read as `idk evaluate` reads the file (a data set's images, not photos)."""
    from idk.apps.predict import predict_files, predict_images
    from idk.data.preparation import PreparedImage
    from idk.training import checkpoint

    model, ckpt = checkpoint.load(cnn_model)
    images = mnist_test.images[:3]  # (3, 1, 28, 28) in [0, 1]: the model's form
    np.save(tmp_path / "three.npy", (images[:, 0].numpy() * 255).round().astype(np.uint8))
    (tmp_path / "broken.npy").write_bytes(b"not numpy")
    got = predict_files(model, ckpt, [tmp_path / "three.npy", tmp_path / "broken.npy"], 10)
    assert [r.file for r in got] == [f"{tmp_path / 'three.npy'}[{i}]" for i in range(3)] + [
        str(tmp_path / "broken.npy")
    ]
    assert "not a readable .npy/.npz array file" in got[-1].error
    pixels = (images * 255).round() / 255  # as stored: uint8
    alone = predict_images(
        model, ckpt, [(str(i), PreparedImage(p.numpy(), False, False)) for i, p in enumerate(pixels)], 10
    )
    assert [(r.verdict, r.most_probable) for r in got[:3]] == [(r.verdict, r.most_probable) for r in alone]
    # one image saved alone, (H, W): answered as one image, named by its file (not as 28 rows)
    np.save(tmp_path / "one.npy", (images[0, 0].numpy() * 255).round().astype(np.uint8))
    (one,) = predict_files(model, ckpt, tmp_path / "one.npy", 10)
    assert one.file == str(tmp_path / "one.npy") and (one.verdict, one.most_probable) == (
        got[0].verdict,
        got[0].most_probable,
    )


def test_an_image_enlarged_four_times_or_more_is_answered_with_a_note(cnn_model, tmp_path, capsys):
    """What an image shows, enlarged 4× or more for the frame, rests on interpolated pixels: the text
    line, the JSON and the service say so. MNIST's way enlarges the ink's bounding box to 20 px (a
    3-pixel stroke 7×, a 2×2 dot in a large page 10×); an array is fitted whole (3×3 to 28×28: 9×);
    a digit drawn large says nothing."""
    from idk.apps.predict import ENLARGED, array_sources, predict_images

    model, ckpt = checkpoint.load(cnn_model)
    stroke = np.zeros((3, 3), np.float32)
    stroke[:, 1] = 1.0
    Image.fromarray((stroke * 255).astype(np.uint8)).save(tmp_path / "stroke.png")
    dot = np.zeros((200, 200), np.float32)
    dot[99:101, 99:101] = 1.0
    big = np.zeros((56, 56), np.float32)
    big[10:46, 25:31] = 1.0
    np.save(tmp_path / "tiny.npy", stroke)
    sources = [("stroke", stroke), ("dot", dot), ("big", big), ("file", tmp_path / "stroke.png")]
    sources += array_sources(str(tmp_path / "tiny.npy"), ckpt)
    stroked, dotted, large, framed, array = predict_images(model, ckpt, sources, 10)
    frame = "for the model's 28×28 greyscale frame (height × width): little detail to answer by"
    assert stroked.note == f"its content, 3×1 pixels, enlarged 7× {frame}" and framed.note == stroked.note
    assert dotted.note == f"its content, 2×2 pixels, enlarged 10× {frame}"
    assert array.note == f"its content, 3×3 pixels, enlarged 9× {frame}"
    assert large.note is None and 20 / 3 >= ENLARGED > 20 / 6
    assert main(["predict", str(tmp_path / "stroke.png"), "--model", str(cnn_model), "--samples", "10"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("; " + stroked.note)
    assert main(["predict", str(tmp_path / "stroke.png"), "--model", str(cnn_model), "--samples", "10", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["note"] == stroked.note


def test_a_table_of_files_is_answered_row_by_row_by_its_cells(cnn_model, user_files, tmp_path, capsys):
    """`idk predict TABLE.csv`: each file the table lists answered in its rows' order, named by its
    cell as written (relative to the table, an id without its ending), the class column left out;
    a file not there answered with its error; --columns names a file column of another name; a
    table that names no file column is that entry's error, not the call's."""
    (tmp_path / "imgs").mkdir()
    for name in ("seven.jpg", "blank.png"):
        (tmp_path / "imgs" / name).write_bytes((user_files / name).read_bytes())
    table = tmp_path / "to_answer.csv"
    table.write_text("image_id,label\nimgs/blank,x\nimgs/seven,y\nimgs/gone.png,z\nimgs/seven.jpg,y\n")
    assert main(["predict", str(table), "--model", str(cnn_model), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert [r["file"] for r in out] == ["imgs/blank", "imgs/seven", "imgs/gone.png", "imgs/seven.jpg"]
    blank, seven, gone, again = out
    assert blank["verdict"] == "I don't know" and blank["blank"] and seven["verdict"] == "7"
    assert "no such file" in gone["error"] and again["probabilities"] == seven["probabilities"]
    table.write_text("lesion,picture,age\nL1,imgs/seven.jpg,40\nL2,imgs/blank.png,50\n")
    assert main(["predict", str(table), "--model", str(cnn_model), "--json", "--columns", "picture"]) == 0
    assert [r["verdict"] for r in json.loads(capsys.readouterr().out)] == ["7", "I don't know"]
    odd = f"{tmp_path}/./to_answer.csv"  # named as given, once
    assert main(["predict", odd, str(user_files / "seven.jpg"), "--model", str(cnn_model), "--json"]) == 1
    first, answered = json.loads(capsys.readouterr().out)
    assert first["file"] == odd and first["error"].startswith(f"{odd}: its first row names no image column")
    assert "--columns" in first["error"] and answered["verdict"] == "7"
    table.write_text("file,label\nimgs/seven.jpg,7\nimgs/blank.png,\n")  # classes are not read: one may be empty
    assert main(["predict", str(table), "--model", str(cnn_model), "--json"]) == 0
    assert [r["verdict"] for r in json.loads(capsys.readouterr().out)] == ["7", "I don't know"]
    for text in ("id_code\nimgs/seven\nimgs/blank\n", "imgs/seven\nimgs/blank\n"):  # Kaggle's test.csv
        table.write_text(text)  # one column, with a header or none
        assert main(["predict", str(table), "--model", str(cnn_model), "--json"]) == 0
        assert [r["verdict"] for r in json.loads(capsys.readouterr().out)] == ["7", "I don't know"]
    table.write_text("image,lesion\nimgs/seven,L1\n,L2\nimgs/blank,L3\n")  # a row without a file: its own answer
    assert main(["predict", str(table), "--model", str(cnn_model), "--json"]) == 1
    seven, empty, blank = json.loads(capsys.readouterr().out)
    assert seven["verdict"] == "7" and blank["verdict"] == "I don't know"
    assert empty["file"] == f"{table}, line 3" and "no file in this row" in empty["error"]
    table.write_text("picture,lesion,age\nimgs/seven.jpg,L1,40\n")
    assert main(["predict", str(table), "--model", str(cnn_model), "--columns", "lesion"]) == 1
    assert "none of the files it lists is there" in capsys.readouterr().err


def test_a_python_callers_mix_ups_are_one_line_errors(tmp_path):
    """A path where a DataConfig goes, a dict for TrainOptions, a path for the checkpoint, one pair
    not in a list: each was an AttributeError or a message about its first cell; now an IdkError
    naming the parameter and what it takes."""
    from idk.apps.evaluate import evaluate_checkpoint
    from idk.apps.predict import predict_images
    from idk.errors import IdkError
    from idk.training.recalibration import recalibrate
    from idk.training.train import train

    out = tmp_path / "m.pt"
    with pytest.raises(
        IdkError, match=r"^train\(data=...\) takes a DataConfig, not a str: .*TrainOptions\(data=...\)$"
    ):
        train(out, data="data")
    with pytest.raises(IdkError, match=r"^train\(opts=...\) takes a TrainOptions, not a dict"):
        train(out, opts={"epochs": 1})
    with pytest.raises(IdkError, match=r"^evaluate_checkpoint\(data=...\) takes a DataConfig.*test_data=PATH$"):
        evaluate_checkpoint(out, data="data")
    with pytest.raises(IdkError, match=r"^recalibrate\(data=...\) takes a DataConfig"):
        recalibrate(out, target_refusal=0.02, data=tmp_path)
    with pytest.raises(IdkError, match=r"takes a Checkpoint, not a str: model, ckpt = .*load\(path\) gives both$"):
        predict_images(None, "m.pt", [])
    with pytest.raises(IdkError, match=r"takes a Checkpoint, not None"):
        predict_images(None, None, [])
    assert not out.exists()
    from idk.apps.predict import named_sources

    with pytest.raises(IdkError, match=r"one pair as \[\(name, source\)\]$"):
        named_sources(("a", "a.png"))
    assert named_sources([("a", "a.png")]) == [("a", "a.png")]
