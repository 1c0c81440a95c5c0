"""``idk train --resume`` says what it does: a missing file is an error (or ``--resume-if-exists``),
options that differ from the stored run are refused together, ``--epochs`` is applied and reported."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from idk.apps.cli import main
from idk.data.synthetic import DRAWN_SCRIBBLES
from idk.training import checkpoint

TINY = ["--preset", "tutorial", "--train-subset", "500", "--samples", "4"]


def test_resume_if_exists_starts_afresh_then_resumes_longer(tmp_path, data_dir, capsys):
    out = tmp_path / "m.pt"
    base = ["train", "--out", str(out), *TINY, "--data-dir", str(data_dir)]
    assert main([*base, "--epochs", "1", "--resume-if-exists"]) == 0  # no file yet: a new run
    assert "resuming" not in capsys.readouterr().err
    first = torch.load(out, weights_only=True)
    assert len(first["history"]) == 1 and first["finished"]

    assert main([*base, "--epochs", "2", "--resume-if-exists", "--threads", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"saved {out}: ")
    assert "validation accuracy" not in captured.out  # the tutorial's preset holds no validation image out
    err = captured.err
    assert f"resuming {out} after epoch 1; --epochs 2 applied (stored: 1)" in err  # no twin: none said
    assert "\r" not in err  # no bars off a terminal
    resumed = torch.load(out, weights_only=True)
    assert [h["epoch"] for h in resumed["history"]] == [1, 2] and resumed["train_config"]["epochs"] == 2

    finished = out.read_bytes()  # a finished run resumed as it is: nothing to train, the file left alone
    assert main([*base, "--resume-if-exists", "--threads", "1"]) == 0
    captured = capsys.readouterr()
    assert f"{out}: already finished (2 of 2 epochs); nothing to resume" in captured.err
    assert captured.out.startswith(f"unchanged {out}: ") and out.read_bytes() == finished

    before = out.read_bytes()
    assert main([*base, "--resume", "--seed", "3", "--preset", "cnn", "--no-augment"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--preset cnn (stored: tutorial)" in err and "--seed 3 (stored: 0)" in err
    assert out.read_bytes() == before


@pytest.mark.parametrize("family", ["glyphs", "blobs"])
def test_a_run_begun_before_a_family_was_added_goes_on_without_it(family, tmp_path, data_dir, capsys):
    """A run begun before an outlier family was added to idk (its recorded families lack it; for the
    glyphs, its training config has no printed share either) resumes, and trains on what it began
    with, whichever family it is; a run that trained on a family this version no longer draws is
    refused."""
    out = tmp_path / "d.pt"
    small = ["--train-subset", "300", "--samples", "4", "--channels", "4", "8", "--dense", "8", "--no-twin", "-q"]
    base = ["train", "--out", str(out), *small, "--data-dir", str(data_dir), "--threads", "1"]
    assert main([*base, "--epochs", "1", "--printed", "0"]) == 0
    ckpt = checkpoint.read(out)
    assert family in ckpt.outlier_families
    before = tuple(n for n in ckpt.outlier_families if n != family)
    checkpoint.save(replace(ckpt, outlier_families=before, rendered=None), out)  # as written then
    assert main([*base, "--resume", "--epochs", "2"]) == 0
    resumed = checkpoint.read(out)
    assert len(resumed.history) == 2 and resumed.outlier_families == before
    assert resumed.train_config.drop_outliers == (family,) and resumed.train_config.printed == 0.0

    checkpoint.save(replace(resumed, outlier_families=(*before, "checkerboard")), out)  # a family since removed
    assert main([*base, "--resume", "--epochs", "3"]) == 2
    assert "cannot resume: it was trained on the synthetic outliers uniform-noise" in capsys.readouterr().err


def test_a_digit_model_written_before_the_scribbles_record_resumes(tmp_path, data_dir):
    """Every MNIST checkpoint written before the scribbles' style was recorded holds None: drawn
    symbols' scribbles never changed, so those runs continue."""
    out = tmp_path / "d.pt"
    small = ["--train-subset", "300", "--samples", "4", "--channels", "4", "8", "--dense", "8", "--no-twin", "-q"]
    base = ["train", "--out", str(out), *small, "--data-dir", str(data_dir)]
    assert main([*base, "--epochs", "1"]) == 0
    ckpt = checkpoint.read(out)
    assert ckpt.scribbles == DRAWN_SCRIBBLES and "strokes" in ckpt.outlier_families
    checkpoint.save(replace(ckpt, scribbles=None), out)
    assert main([*base, "--resume", "--epochs", "2"]) == 0
    assert len(checkpoint.read(out).history) == 2


def test_the_font_rendered_images_are_fingerprinted_and_a_resume_checks_them(tmp_path, data_dir, capsys):
    """The glyph outliers and printed digits a run trains on are recorded by fingerprint; a run whose
    images this machine renders otherwise (another font or renderer) is not continued on them."""
    from idk.data.glyphs import glyph_bank, printed_classes, rendered_digest

    out = tmp_path / "d.pt"
    small = ["--train-subset", "300", "--samples", "4", "--channels", "4", "8", "--dense", "8", "--no-twin", "-q"]
    base = ["train", "--out", str(out), *small, "--data-dir", str(data_dir), "--threads", "1"]
    assert main([*base, "--epochs", "1"]) == 0
    ckpt = checkpoint.read(out)
    digits = tuple("0123456789")
    assert ckpt.rendered == {
        "glyphs": rendered_digest(glyph_bank(28, 28)),
        "printed": rendered_digest(printed_classes(digits, 28, 28)[0]),
    }
    assert all(len(v) == 16 and int(v, 16) >= 0 for v in ckpt.rendered.values())
    assert rendered_digest(glyph_bank(28, 28) + 1e-4) == ckpt.rendered["glyphs"]  # blind to float noise
    assert rendered_digest(glyph_bank(28, 28).flip(-1)) != ckpt.rendered["glyphs"]
    checkpoint.save(replace(ckpt, rendered={**ckpt.rendered, "glyphs": "0" * 16}), out)
    capsys.readouterr()
    assert main([*base, "--resume", "--epochs", "2"]) == 2
    assert "its font-rendered training images (glyphs) were drawn otherwise" in capsys.readouterr().err
    checkpoint.save(replace(ckpt, rendered=None), out)  # written before the record: continued
    assert main([*base, "--resume", "--epochs", "2"]) == 0
    assert checkpoint.read(out).rendered == ckpt.rendered
