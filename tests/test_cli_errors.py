"""What users actually type, command by command: each bad input is one line on stderr with the right
exit status (2: usage, 1: some items failed), no traceback, and nothing written or half-written."""

from __future__ import annotations

import os
import pickle
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from idk.apps.cli import main

BIG = "100000000"  # posterior samples: terabytes for any Bayesian model


@pytest.fixture(scope="module")
def bad(tmp_path_factory, cnn_model, tutorial_model) -> Path:
    """A folder of bad (and a few good) inputs: files of every wrong kind, models finished or not."""
    d = tmp_path_factory.mktemp("bad")
    (d / "empty.pt").write_bytes(b"")
    (d / "foreign.pt").write_bytes(pickle.dumps({"weights": [1, 2, 3]}, protocol=4))
    (d / "text.npy").write_text("not an array\n")
    (d / "afile").write_text("a file where a folder belongs\n")
    (d / "folder").mkdir()
    np.save(d / "empty.npy", np.zeros((0, 28, 28), np.float32))
    images = np.random.default_rng(0).random((20, 28, 28), dtype=np.float32)
    for name, value in (("nan", np.nan), ("inf", np.inf)):
        part = images.copy()
        part[3, 4, 5] = value
        np.save(d / f"{name}.npy", part)
    np.save(d / "allnan.npy", np.full((20, 28, 28), np.nan, np.float32))
    floats = np.full((40, 40), 0.5, np.float32)
    floats[3, 4] = np.nan
    Image.fromarray(floats, mode="F").save(d / "nan.tif")  # a floating-point TIFF with a NaN pixel
    shutil.copy(cnn_model, d / "model.pt")
    shutil.copy(tutorial_model, d / "tutorial.pt")  # trained without a validation split
    stored = torch.load(cnn_model, weights_only=True)  # as an interrupted run leaves it
    stored.update(finished=False, rule={**stored["rule"], "calibration": {"method": "fixed"}})
    stored["train_config"]["epochs"] = 12
    torch.save(stored, d / "unfinished.pt")
    return d


def _snapshot(*folders: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for folder in folders for p in sorted(folder.rglob("*"))}


M = ["--model", "{bad}/model.pt"]
CASES = [
    # info
    ("info-missing", ["info", "{bad}/missing.pt"], 2, "no such checkpoint"),
    ("info-empty", ["info", "{bad}/empty.pt"], 2, "empty file"),
    ("info-foreign", ["info", "{bad}/foreign.pt"], 2, "not an idk checkpoint"),
    ("info-folder", ["info", "{bad}/folder"], 2, "is a directory"),
    ("info-text", ["info", "{bad}/text.npy"], 2, "not an idk checkpoint"),
    # predict
    ("predict-empty-model", ["predict", "{bad}/afile", "--model", "{bad}/empty.pt"], 2, "empty file"),
    ("predict-huge-samples", ["predict", "{bad}/afile", *M, "--samples", BIG], 2, "--samples 100000000"),
    ("predict-negative-threads", ["predict", "{bad}/afile", *M, "--threads", "-1"], 2, "--threads"),
    ("predict-word-samples", ["predict", "{bad}/afile", *M, "--samples", "many"], 2, "not a whole number"),
    ("predict-device", ["predict", "{bad}/afile", *M, "--device", "gpu7"], 2, "not a device"),
    ("predict-bad-images", ["predict", "{bad}/missing.png", "{bad}/afile", *M], 1, ""),
    ("predict-nan-tiff", ["predict", "{bad}/nan.tif", "{bad}/afile", *M], 1, ""),
    # explain
    ("explain-txt", ["explain", "0", *M, "--out", "{out}/x.txt"], 2, "unknown figure format .txt"),
    ("explain-no-suffix", ["explain", "0", *M, "--out", "{out}/garbage"], 2, "no figure format"),
    ("explain-folder", ["explain", "0", *M, "--out", "{bad}/folder"], 2, "folder/figure.png)"),
    ("explain-no-target", ["explain", "abc", *M, "--out", "{out}/f.png"], 2, "abc: no such file, nor an index"),
    ("explain-file-as-folder", ["explain", "0", *M, "--out", "{bad}/afile/f.png"], 2, "is a file, not a folder"),
    ("explain-huge-samples", ["explain", "0", *M, "--out", "{out}/f.png", "--samples", BIG], 2, "--samples"),
    ("explain-foreign-model", ["explain", "0", "--model", "{bad}/foreign.pt", "--out", "{out}/f.png"], 2, "foreign"),
    # train
    ("train-out-folder", ["train", "--out", "{bad}/folder"], 2, "folder/model.pt)"),
    ("train-out-under-file", ["train", "--out", "{bad}/afile/m.pt"], 2, "is a file, not a folder"),
    ("train-out-trailing-slash", ["train", "--out", "{out}/newdir/"], 2, "is a folder"),
    ("train-out-is-data", ["train", "--out", "{bad}/nan.npy", "--data", "{bad}/nan.npy"], 2, "command's inputs"),
    ("train-resume-missing", ["train", "--out", "{out}/m.pt", "--resume"], 2, "nothing to resume"),
    ("train-resume-empty", ["train", "--out", "{bad}/empty.pt", "--resume"], 2, "empty file"),
    (
        "train-resume-conflict",
        ["train", "--out", "{bad}/model.pt", "--resume", "--no-twin", "--lr", "0.5"],
        2,
        "--lr 0.5 (stored: 0.003); --no-twin (stored: twin=True)",
    ),
    ("train-resume-fewer-epochs", ["train", "--out", "{bad}/model.pt", "--resume", "--epochs", "1"], 2, "already"),
    ("train-both-resumes", ["train", "--out", "{out}/m.pt", "--resume", "--resume-if-exists"], 2, "give one"),
    (
        "train-two-targets",
        ["train", "--out", "{out}/m.pt", "--target-refusal", "0.1", "--target-error", "0.1"],
        2,
        "not allowed with",
    ),
    ("train-lone-confidence", ["train", "--out", "{out}/m.pt", "--confidence", "0.9"], 2, "goes with --target-error"),
    ("train-data-dir-missing", ["train", "--out", "{out}/m.pt", "--data-dir", "{bad}/missing"], 2, "does not exist"),
    ("train-data-dir-file", ["train", "--out", "{out}/m.pt", "--data-dir", "{bad}/afile"], 2, "is a file"),
    ("train-data-missing", ["train", "--out", "{out}/m.pt", "--data", "{bad}/missing.npz"], 2, "nor an existing"),
    ("train-data-unlabelled", ["train", "--out", "{out}/m.pt", "--data", "{bad}/nan.npy"], 2, "a training set is"),
    ("train-data-empty-folder", ["train", "--out", "{out}/m.pt", "--data", "{bad}/folder"], 2, "no class folders"),
    ("train-preset", ["train", "--out", "{out}/m.pt", "--preset", "bogus"], 2, "invalid choice"),
    ("train-epochs", ["train", "--out", "{out}/m.pt", "--epochs", "-1"], 2, "must be positive"),
    ("train-threads", ["train", "--out", "{out}/m.pt", "--threads", "0"], 2, "must be positive"),
    # evaluate
    ("evaluate-ood-empty", ["evaluate", *M, "--ood", "x={bad}/empty.npy"], 2, "holds no images"),
    ("evaluate-ood-nan", ["evaluate", *M, "--ood", "x={bad}/nan.npy"], 2, "NaN or infinite"),
    ("evaluate-ood-all-nan", ["evaluate", *M, "--ood", "x={bad}/allnan.npy"], 2, "NaN or infinite"),
    ("evaluate-ood-inf", ["evaluate", *M, "--ood", "x={bad}/inf.npy"], 2, "NaN or infinite"),
    ("evaluate-ood-text", ["evaluate", *M, "--ood", "x={bad}/text.npy"], 2, "no numeric array"),
    ("evaluate-ood-missing", ["evaluate", *M, "--ood", "x={bad}/missing.npy"], 2, "nor an existing path"),
    ("evaluate-ood-empty-folder", ["evaluate", *M, "--ood", "x={bad}/folder"], 2, "no readable images"),
    ("evaluate-ood-no-name", ["evaluate", *M, "--ood", "=x"], 2, "expected NAME=PATH"),
    ("evaluate-json-is-model", ["evaluate", *M, "--json", "{bad}/model.pt"], 2, "is one of the command's inputs"),
    ("evaluate-json-folder", ["evaluate", *M, "--json", "{bad}/folder"], 2, "folder/report.json)"),
    ("evaluate-report-file", ["evaluate", *M, "--report", "{bad}/afile"], 2, "is a file"),
    ("evaluate-huge-samples", ["evaluate", *M, "--samples", BIG], 2, "--samples"),
    ("serve-huge-samples", ["serve", *M, "--port", "0", "--samples", BIG], 2, "--samples 100000000"),
    ("serve-small-queue", ["serve", *M, "--port", "0", "--max-queue", "10"], 2, "--max-queue 10: below the 64"),
    ("serve-port-range", ["serve", *M, "--port", "70000"], 2, "--port"),
    ("evaluate-negative-noise", ["evaluate", *M, "--noise", "-1"], 2, "must not be negative"),
    ("evaluate-test-data-missing", ["evaluate", *M, "--test-data", "{bad}/missing.npz"], 2, "nor an existing"),
    ("evaluate-model-folder", ["evaluate", "--model", "{bad}/folder"], 2, "is a directory"),
    # calibrate
    ("calibrate-unfinished", ["calibrate", "--model", "{bad}/unfinished.pt", "--target-refusal", "0.1"], 2, "finish"),
    ("calibrate-no-split", ["calibrate", "--model", "{bad}/tutorial.pt", "--target-refusal", "0.1"], 2, "validation"),
    ("calibrate-missing", ["calibrate", "--model", "{bad}/missing.pt", "--target-refusal", "0.1"], 2, "no such"),
    ("calibrate-no-target", ["calibrate", *M], 2, "give --target-refusal, --target-error or --score"),
    ("calibrate-two-targets", ["calibrate", *M, "--target-refusal", "0.1", "--target-error", "0.1"], 2, "not allowed"),
    ("calibrate-out-of-range", ["calibrate", *M, "--target-refusal", "2"], 2, "not a fraction"),
    ("calibrate-lone-confidence", ["calibrate", *M, "--target-refusal", "0.1", "--confidence", "0.9"], 2, "goes with"),
    ("calibrate-out-folder", ["calibrate", *M, "--target-refusal", "0.1", "--out", "{bad}/folder"], 2, "is a folder"),
    ("calibrate-zero-samples", ["calibrate", *M, "--target-refusal", "0.1", "--samples", "0"], 2, "must be positive"),
    ("calibrate-huge-samples", ["calibrate", *M, "--target-refusal", "0.1", "--samples", BIG], 2, "--samples 1"),
    ("train-flip-both", ["train", "--out", "{out}/m.pt", "--flip", "--no-flip"], 2, "not allowed with argument --flip"),
    (
        "train-huge-samples",
        ["train", "--out", "{out}/m.pt", "--train-subset", "100", "--samples", BIG],
        2,
        "--samples 1",
    ),
    # reproduce
    ("reproduce-json-folder", ["reproduce", "--json", "{bad}/folder"], 2, "is a folder"),
    ("reproduce-out-under-file", ["reproduce", "--out", "{bad}/afile/m.pt"], 2, "is a file"),
    ("reproduce-epochs", ["reproduce", "--epochs", "0"], 2, "must be positive"),
    ("no-command", [], 2, "required"),
    ("unknown-command", ["frobnicate"], 2, "invalid choice"),
]


@pytest.mark.parametrize("argv,code,needle", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_writes_nothing(argv, code, needle, bad, tmp_path, data_dir, capsys, monkeypatch):
    monkeypatch.setenv("IDK_DATA_DIR", str(data_dir))
    monkeypatch.setenv("IDK_LOG_DIR", str(tmp_path / "logs"))
    out = tmp_path / "out"
    out.mkdir()
    argv = [a.format(bad=bad, out=out) for a in argv]
    before = _snapshot(bad, out)
    try:
        status = main(argv)
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    assert status == code, captured.err
    assert "Traceback" not in captured.err + captured.out
    few = "the threshold is set on only"  # a warning a training on 100 images gives before its error
    lines = [
        line for line in captured.err.strip().splitlines() if not (line.startswith("idk: warning") and few in line)
    ]
    if code == 2:
        assert len(lines) == 1 and needle in lines[0], captured.err
        assert lines[0].startswith("idk"), lines[0]
    else:  # per-item failures: each item's error on its line of the answer
        assert not lines and captured.out.count(": error: ") == 2
    assert _snapshot(bad, out) == before, "a failed command wrote something"
    assert not (tmp_path / "logs").exists(), "a user error was treated as a bug"


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc, where no file can be made")
def test_a_folder_that_takes_no_files_is_refused_before_work_even_for_root(bad, capsys, monkeypatch):
    """os.access says yes to root everywhere (as here, whoever runs the test); the check makes a
    file, and the file system answers."""
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: True)
    assert main(["explain", "0", "--model", str(bad / "model.pt"), "--out", "/proc/f.png"]) == 2
    err = capsys.readouterr().err
    assert "--out /proc/f.png: the file system takes no new files in /proc" in err and "internal error" not in err


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads and writes any file")
def test_unreadable_and_unwritable_paths(bad, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    shutil.copy(bad / "model.pt", locked / "m.pt")
    (locked / "m.pt").chmod(0)
    locked.chmod(0o500)
    try:
        assert main(["info", str(locked / "m.pt")]) == 2
        assert main(["explain", "0", "--model", str(bad / "model.pt"), "--out", str(locked / "f.png")]) == 2
        assert "permission denied" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_unfinished_model_is_flagged_by_every_command(bad, tmp_path, capsys):
    from PIL import Image

    image = tmp_path / "x.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(image)
    assert main(["info", str(bad / "unfinished.pt")]) == 0
    assert "did not finish (3 and 3 of 12 epochs by its 2 members)" in capsys.readouterr().err
    assert main(["predict", str(image), "--model", str(bad / "unfinished.pt")]) == 0
    err = capsys.readouterr().err
    assert "did not finish" in err and "uncalibrated" in err
    assert main(["explain", str(image), "--model", str(bad / "unfinished.pt"), "--out", str(tmp_path / "f.png")]) == 0
    assert "did not finish" in capsys.readouterr().err and (tmp_path / "f.png").exists()


def test_a_bug_is_one_line_naming_the_log_with_its_traceback(monkeypatch, tmp_path, capsys):
    import idk.apps.cli as cli

    def broken(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli, "run", broken)
    monkeypatch.setenv("IDK_LOG_DIR", str(tmp_path / "logs"))
    assert cli.main(["info", "whatever.pt"]) == 1
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and line.startswith("idk: internal error (ZeroDivisionError: division by zero)")
    log = Path(line.split("the full traceback is in ")[1].split(";")[0])
    assert log.parent == tmp_path / "logs"
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "command: idk info whatever.pt" in text

    # without IDK_LOG_DIR, the logs go where idk's cache is (IDK_CACHE_DIR here), not always under ~/.cache
    monkeypatch.delenv("IDK_LOG_DIR")
    monkeypatch.setenv("IDK_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["info", "whatever.pt"]) == 1
    assert f"the full traceback is in {tmp_path / 'cache' / 'logs'}/" in capsys.readouterr().err


def test_a_log_holds_any_text_whatever_the_locale(tmp_path):
    """The traceback log is written in UTF-8 whatever the locale (under LC_ALL=C the locale's
    encoding is ASCII, which cannot write σ)."""
    import subprocess
    import sys

    message = "'\\u03c3 \\u2265 0.5 in \\u03c8.png'"  # σ ≥ 0.5 in ψ.png, the command line itself ASCII
    code = f"from idk.apps.failures import write_log; print(write_log(ValueError({message}), ['predict']))"
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "IDK_LOG_DIR": str(tmp_path)}
    env.pop("PYTHONIOENCODING", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (log,) = tmp_path.iterdir()
    assert "σ ≥ 0.5 in ψ.png" in log.read_text(encoding="utf-8")


def test_info_on_a_terminal_says_its_warnings_once(bad, capsys, monkeypatch):
    """Its listing ends with the warnings; on stderr too only where that is not the listing's terminal."""
    for stream in (sys.stdout, sys.stderr):  # capsys' streams, standing for one terminal
        monkeypatch.setattr(stream, "isatty", lambda: True)
    assert main(["info", str(bad / "unfinished.pt")]) == 0
    out, err = capsys.readouterr()
    assert "did not finish (3 and 3 of 12 epochs by its 2 members)" in out and "did not finish" not in err
