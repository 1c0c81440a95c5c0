"""``idk train --resume`` says what it does: a missing file is an error (or ``--resume-if-exists``),
options that differ from the stored run are refused together, ``--epochs`` is applied and reported."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
import torch
from PIL import Image

from idk.apps.cli import main
from idk.data.synthetic import DRAWN_SCRIBBLES
from idk.training import checkpoint

TINY = ["--preset", "tutorial", "--train-subset", "500", "--samples", "4"]


def test_resume_if_exists_starts_afresh_then_resumes_longer(tmp_path, data_dir, capsys):
    out = tmp_path / "m.pt"
    base = ["train", "--out", str(out), *TINY, "--data-dir", str(data_dir)]
    assert main([*base, "--epochs", "1", "--resume-if-exists"]) == 0  # no file yet: a new run
    err = capsys.readouterr().err
    assert "resuming" not in err and re.search(
        rf"{re.escape(str(out))}: trained and its rule fitted in [\d.]+ s\n", err
    )
    first = torch.load(out, weights_only=True)
    assert len(first["history"]) == 1 and first["finished"]

    assert main([*base, "--epochs", "2", "--resume-if-exists", "--threads", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"saved {out}: ")
    assert "validation accuracy" not in captured.out  # the tutorial's preset holds no validation image out
    err = captured.err
    assert f"resuming {out} after 1 of 1 epochs; --epochs 2 applied (stored: 1)" in err  # no twin: none said
    assert "s (this session's part)\n" in err
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

    # a new run onto the model is refused, the model kept; --overwrite replaces it
    assert main([*base, "--epochs", "1"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"idk: error: {out}: holds a finished model (10 classes); --overwrite replaces it, --resume with a larger "
        "--epochs trains it longer, or give another --out"
    )
    assert out.read_bytes() == before
    assert main([*base, "--epochs", "1", "--resume", "--overwrite"]) == 2
    assert "--resume goes on with --out's model, --overwrite replaces it: give one" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert main([*base, "--epochs", "1", "--overwrite", "-q", "--threads", "1"]) == 0
    assert len(checkpoint.read(out).history) == 1


def test_a_file_that_is_not_a_model_is_not_trained_over(tmp_path, data_dir, capsys):
    mine = tmp_path / "notes.py"
    mine.write_text("print('mine')\n")
    args = ["train", "--out", str(mine), *TINY, "--data-dir", str(data_dir), "--epochs", "1", "-q"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"idk: error: {mine}: exists: not an idk checkpoint (not a file torch.save writes")
    assert err.endswith("; --overwrite replaces it, or give another --out")
    assert mine.read_text() == "print('mine')\n"


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


def test_a_stopped_run_says_what_its_checkpoint_kept(tmp_path, data_dir, monkeypatch, capsys):
    """Ctrl-C before an epoch finished: exit 130, nothing written, said so; SIGTERM (a scheduler's
    stop) after the first epoch's save: exit 143 and the line names what the file keeps and the
    command that goes on (it was a bare "idk: interrupted", and SIGTERM ended the run unsaid)."""
    import os
    import signal

    import idk.training.train as train_module
    from idk.apps import failures

    out = tmp_path / "m.pt"
    base = ["train", "--out", str(out), *TINY, "--epochs", "2", "--no-twin", "--data-dir", str(data_dir), "-q"]
    fit = train_module.fit

    def stopped(signal_at_epoch: int | None):
        def fitted(net, *a, on_epoch=None, **k):
            def saved_then_stopped(state):
                on_epoch(state)
                if state.epoch == signal_at_epoch:
                    os.kill(os.getpid(), signal.SIGTERM)  # raised as Terminated at the next bytecode

            if signal_at_epoch is None:
                raise KeyboardInterrupt
            return fit(net, *a, on_epoch=saved_then_stopped, **k)

        return fitted

    monkeypatch.setattr(train_module, "fit", stopped(None))
    assert main(base) == failures.INTERRUPTED
    assert (
        capsys.readouterr().err.splitlines()[-1] == f"idk: interrupted: {out} was not written (no epoch had finished)"
    )
    monkeypatch.setattr(train_module, "fit", stopped(1))
    assert main(base) == failures.TERMINATED
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"idk: terminated: {out} keeps 1 of 2 epochs; `idk train --resume --out {out}` goes on from there"
    )
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is the run's alone
    with monkeypatch.context() as env:  # said by a process torchrun started: resumed by the same torchrun
        from idk.apps.cli import _kept

        for name, value in (("WORLD_SIZE", "2"), ("RANK", "0"), ("LOCAL_RANK", "0")):
            env.setenv(name, value)
        assert _kept(str(out), None, True).endswith(
            f"`idk train --resume --out {out}` started by the same torchrun (2 processes) goes on from there"
        )
    monkeypatch.setattr(train_module, "fit", stopped(None))  # resumed, stopped before its next epoch
    assert main([*base, "--resume"]) == failures.INTERRUPTED
    assert f"idk: interrupted: {out} keeps 1 of 2 epochs; `idk train --resume" in capsys.readouterr().err
    monkeypatch.setattr(train_module, "fit", fit)
    assert main([*base, "--resume"]) == 0 and checkpoint.read(out).finished


def test_a_run_whose_folder_moved_resumes_from_its_new_place_and_a_changed_one_is_told_why(tmp_path, capsys):
    """The stored folder gone: resuming without --data names it and the way out (it was "not a known
    data set"); with --data at the new place and the same images it resumes (it was refused as a
    differing option) and records the new place; images removed or edited are named as the reason
    (it was "other data (or the data changed) or another architecture")."""
    import shutil

    from PIL import Image

    from shapes import make_shapes

    first = make_shapes(tmp_path / "shapes", per_class=12)
    out = tmp_path / "m.pt"
    args = ["--preset", "tutorial", "--samples", "4", "--no-twin", "--image-size", "16", "-q"]
    assert main(["train", "--data", str(first), "--out", str(out), "--epochs", "1", *args]) == 0
    capsys.readouterr()
    moved = tmp_path / "moved"
    shutil.move(first, moved)
    # evaluated on its moved folder, the model's recorded test split is read there, not all its images
    report = tmp_path / "e.json"
    assert (
        main(["evaluate", "--model", str(out), "--test-data", str(moved), "--noise", "0", "--json", str(report)]) == 0
    )
    assert f"{moved}: holds the images the model was trained on (their SHA-256)" in capsys.readouterr().err
    tested = next(iter(json.loads(report.read_text())["datasets"].values()))
    assert tested["n"] == len(checkpoint.read(out).data.test_indices) < 36
    # --prepare does not apply to them: they are read as training read them, and the warning says so
    again = [
        "evaluate",
        "--model",
        str(out),
        "--test-data",
        str(moved),
        "--noise",
        "0",
        "--prepare",
        "--json",
        str(report),
    ]
    assert main(again) == 0
    assert "read as training read them (--prepare is for other images)" in capsys.readouterr().err
    assert next(iter(json.loads(report.read_text())["datasets"].values()))["n"] == tested["n"]
    assert main(["train", "--resume", "--out", str(out), "--epochs", "2", *args]) == 2
    assert capsys.readouterr().err.strip() == (
        f"idk: error: {out}: its training data {first.resolve()} is gone (moved or deleted); give its new place "
        "with --data PATH (the images' SHA-256 is checked)"
    )
    assert main(["train", "--resume", "--data", str(moved), "--out", str(out), "--epochs", "2", *args]) == 0
    resumed = checkpoint.read(out)
    assert resumed.finished and len(resumed.history) == 2 and resumed.data.data == str(moved.resolve())

    # a finished run given its moved folder records the new place, its weights and rule as they were
    again = tmp_path / "again"
    shutil.move(moved, again)
    capsys.readouterr()
    assert main(["train", "--resume", "--data", str(again), "--out", str(out), *args[:-1]]) == 0
    assert f"{out}: already finished; it now records its data in {again.resolve()} (weights as they were)" in (
        capsys.readouterr().err
    )
    relocated = checkpoint.read(out)
    assert relocated.data.data == str(again.resolve()) and relocated.rule == resumed.rule
    assert all(torch.equal(relocated.state_dict[k], v) for k, v in resumed.state_dict.items())
    assert main(["evaluate", "--model", str(out), "--noise", "0", "-q"]) == 0  # its test split read there
    from idk.data import DataConfig
    from idk.training.recalibration import training_images

    training_images(relocated, DataConfig.from_env(), out)  # calibrate finds the same images there
    moved = again

    # a test set of its own, moved: the same images are taken, others are not
    test = make_shapes(tmp_path / "test-set", per_class=3, seed=1)
    other = make_shapes(tmp_path / "other-test", per_class=3, seed=2)
    beside = ["train", "--data", str(moved), "--test-data", str(test), "--out", str(tmp_path / "t.pt"), *args]
    assert main([*beside, "--epochs", "1"]) == 0
    shutil.move(test, tmp_path / "test-moved")
    resume = ["train", "--resume", "--out", str(tmp_path / "t.pt"), "--epochs", "2", *args]
    capsys.readouterr()
    assert main([*resume, "--test-data", str(other)]) == 2
    assert "the test set now given is not the one it was trained beside" in capsys.readouterr().err
    assert main([*resume, "--test-data", str(tmp_path / "test-moved")]) == 0
    assert checkpoint.read(tmp_path / "t.pt").data.test_data == str((tmp_path / "test-moved").resolve())
    # finished, both moved: given one place, it asks for the other; given both, it records both
    shutil.move(moved, tmp_path / "m2")
    shutil.move(tmp_path / "test-moved", tmp_path / "t2")
    finished = ["train", "--resume", "--out", str(tmp_path / "t.pt"), *args[:-1]]
    capsys.readouterr()
    assert main([*finished, "--data", str(tmp_path / "m2")]) == 2
    err = capsys.readouterr().err
    assert "its test data " in err and "is gone (moved or deleted); give its new place with --test-data PATH" in err
    assert main([*finished, "--data", str(tmp_path / "m2"), "--test-data", str(tmp_path / "t2")]) == 0
    said = capsys.readouterr().err
    assert (
        f"it now records its data in {(tmp_path / 'm2').resolve()}, its test set in {(tmp_path / 't2').resolve()}"
        in said
    )
    shutil.move(tmp_path / "m2", moved)

    changed = tmp_path / "changed"
    shutil.copytree(moved, changed)
    assert main(["train", "--data", str(changed), "--out", str(tmp_path / "c.pt"), "--epochs", "1", *args]) == 0
    capsys.readouterr()
    victim = sorted((changed / "circle").iterdir())[0]
    victim.unlink()
    resume = ["train", "--resume", "--out", str(tmp_path / "c.pt"), "--epochs", "2", *args]
    assert main(resume) == 2
    assert f"cannot resume: it trained on 30 images (its test images aside); {changed.resolve()} now gives 29" in (
        capsys.readouterr().err
    )
    # finished, with nothing left to train: left as it is, and the change said (it said only "unchanged")
    assert main(["train", "--resume", "--out", str(tmp_path / "c.pt"), *args[:-1]]) == 0
    err = capsys.readouterr().err
    assert "already finished (1 of 1 epochs); nothing to resume" in err
    assert f"{tmp_path / 'c.pt'}: its data changed since it was trained (it trained on 30 images" in err
    assert "--overwrite trains it anew" in err
    shutil.copy(sorted((changed / "square").iterdir())[0], victim.with_name("copy.png"))
    Image.open(victim.with_name("copy.png")).transpose(Image.Transpose.ROTATE_90).save(victim.with_name("copy.png"))
    assert main(resume) == 2
    assert "(or their labels) are not those it trained on" in capsys.readouterr().err
    # a folder that can no longer be read as a training set (one class left): said as a change, not an error
    for folder in sorted(p for p in changed.iterdir() if p.is_dir())[1:]:
        shutil.rmtree(folder)
    assert main(["train", "--resume", "--out", str(tmp_path / "c.pt"), *args[:-1]]) == 0
    assert "its data changed since it was trained (it can no longer be read as a training set:" in (
        capsys.readouterr().err
    )
    # an image of its held-out test split edited: said as such (it was "its test set (a split of its data) is not a split")
    split = tmp_path / "split"
    shutil.copytree(moved, split)
    assert main(["train", "--data", str(split), "--out", str(tmp_path / "s.pt"), "--epochs", "1", *args]) == 0
    held = checkpoint.read(tmp_path / "s.pt").data.test_indices
    files = [f for folder in sorted(p for p in split.iterdir() if p.is_dir()) for f in sorted(folder.iterdir())]
    Image.open(files[held[0]]).transpose(Image.Transpose.ROTATE_90).save(files[held[0]])
    capsys.readouterr()
    assert main(["train", "--resume", "--out", str(tmp_path / "s.pt"), "--epochs", "2", *args]) == 2
    assert f"cannot resume: the {len(held)} images of {split.resolve()} it held out to test on are not those it " in (
        capsys.readouterr().err
    )


def test_evaluating_a_model_on_its_own_training_folder_says_so(tmp_path, capsys):
    """A model trained beside a test set of its own, given its training folder as the test set: the
    figures are on training images, and the report says so (it was silent)."""
    import shutil

    from shapes import make_shapes

    train_on, test_on = make_shapes(tmp_path / "a", per_class=6), make_shapes(tmp_path / "t", per_class=3, seed=1)
    out = tmp_path / "m.pt"
    args = ["--preset", "tutorial", "--samples", "4", "--no-twin", "--image-size", "16", "--epochs", "1", "-q"]
    assert main(["train", "--data", str(train_on), "--test-data", str(test_on), "--out", str(out), *args]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--model", str(out), "--test-data", str(train_on), "--noise", "0", "--samples", "4"]) == 0
    # among the report's warnings (its text's first lines, its JSON, its HTML page), not said again on stderr
    said = capsys.readouterr()
    assert f"WARNING: {train_on}: is the data the model was trained on: its figures do not tell" in said.out
    assert "is the data the model was trained on" not in said.err
    # given as images from another source, or as images unlike it: said too (scored silently before)
    both = ["--shift", f"s={train_on}", "--ood", f"o={train_on}", "--noise", "0", "--samples", "4"]
    assert main(["evaluate", "--model", str(out), *both]) == 0
    said = capsys.readouterr().out
    assert f"--shift s={train_on}: is the data the model was trained on, not images from another source" in said
    assert f"--ood o={train_on}: is the data the model was trained on, scored here as images unlike it" in said
    # no report after all (a second set of the same name): the note said before the error
    assert main(["evaluate", "--model", str(out), "--ood", f"o={train_on}", "--ood", f"o={test_on}", *both[4:]]) == 2
    err = capsys.readouterr().err
    assert err.index("is the data the model was trained on") < err.index("the report already has a set named 'o'")
    # a folder that holds some of its training images beside new ones: how many, by their pixels
    mixed = tmp_path / "mixed"
    shutil.copytree(test_on, mixed)
    for cls in ("circle", "square"):
        shutil.copy(sorted((train_on / cls).iterdir())[0], mixed / cls / "from-training.png")
    shutil.copy(sorted((train_on / "circle").iterdir())[1], mixed / "circle" / "also-from-training.png")
    report = tmp_path / "mixed.json"
    given = ["--test-data", str(mixed), "--shift", f"m={mixed}", "--json", str(report), "--report", str(tmp_path / "r")]
    assert main(["evaluate", "--model", str(out), *given, *both[4:]]) == 0
    said = capsys.readouterr().out
    assert f"WARNING: {mixed}: 3 of its 12 images are among the model's training images (the same pixels)" in said
    assert f"WARNING: --shift m={mixed}: 3 of its 12 images are among the model's training images" in said
    assert sum("among the model's training images" in w for w in json.loads(report.read_text())["warnings"]) == 2
    assert "3 of its 12 images are among the model" in (tmp_path / "r" / "index.html").read_text()
    assert main(["evaluate", "--model", str(out), "--test-data", str(test_on), *both[4:]]) == 0
    assert "among the model's training images" not in capsys.readouterr().out
    # a folder of train/ and test/ halves: the folder itself is read as its test half (nothing to say), train/ is not
    halves = tmp_path / "halves"
    shutil.copytree(train_on, halves / "train")
    shutil.copytree(test_on, halves / "test")
    assert main(["train", "--data", str(halves), "--out", str(tmp_path / "h.pt"), *args]) == 0
    capsys.readouterr()
    for given, said in ((halves, False), (halves / "train", True)):
        assert main(["evaluate", "--model", str(tmp_path / "h.pt"), "--ood", f"o={given}", "--noise", "0"]) == 0
        assert ("is the data the model was trained on" in capsys.readouterr().out) is said
    # its own test set, as recorded: nothing to say; changed since (an image gone): said, and evaluated as it is now
    own = ["evaluate", "--model", str(out), "--noise", "0", "--samples", "4"]
    assert main(own) == 0 and "changed since training" not in capsys.readouterr().err
    sorted(next(test_on.iterdir()).iterdir())[0].unlink()
    assert main(own) == 0
    assert (
        f"{test_on.resolve()}: the model's test set changed since training (9 images then, 8 now, or other pixels"
        in capsys.readouterr().err
    )


def test_a_model_of_a_grey_folder_from_before_format_5_resumes_calibrates_and_evaluates(tmp_path, monkeypatch, capsys):
    """A checkpoint of format 4 trained on a folder of greyscale files read them through the
    colour-to-grey product (an ulp off in 31 levels): its data is read so again, so its SHA-256 is
    the one it recorded: it resumes, calibrates and is evaluated on its recorded test split. Read
    exactly, the same folder would be "changed" data (the check below)."""
    import idk.data.preparation as preparation
    from shapes import make_shapes

    greys = tmp_path / "greys"
    for f in make_shapes(tmp_path / "shapes", per_class=12).rglob("*.*"):
        (greys / f.parent.name).mkdir(parents=True, exist_ok=True)
        Image.open(f).convert("L").resize((16, 16)).save(greys / f.parent.name / f"{f.stem}.png")
    out, args = tmp_path / "m.pt", ["--channels", "4", "8", "--dense", "16", "--samples", "4", "--no-twin", "-q"]
    exact = preparation._one_channel
    with monkeypatch.context() as m:  # as idk before format 5 read grey files
        m.setattr(preparation, "_one_channel", lambda rgb, _: exact(rgb, True))
        assert main(["train", "--data", str(greys), "--out", str(out), "--epochs", "1", *args]) == 0
    stored = torch.load(out, weights_only=True)
    stored["format_version"] = 4
    del stored["input_spec"]["luminance_grey"]
    torch.save(stored, out)
    capsys.readouterr()
    assert main(["calibrate", "--model", str(out), "--target-refusal", "0.1", "--out", str(tmp_path / "c.pt")]) == 0
    assert main(["evaluate", "--model", str(out), "--noise", "20"]) == 0
    assert "changed" not in capsys.readouterr().err  # its recorded test split read, as recorded
    assert main(["train", "--resume", "--out", str(out), "--epochs", "2", *args]) == 0
    resumed = checkpoint.read(out)
    assert resumed.input_spec.luminance_grey and resumed.format_version == checkpoint.FORMAT_VERSION
    assert main(["calibrate", "--model", str(out), "--target-refusal", "0.1", "--out", str(tmp_path / "c.pt")]) == 0
    capsys.readouterr()
    stored = torch.load(out, weights_only=True)
    stored["input_spec"]["luminance_grey"] = False  # the same model read as if its files were read exactly
    torch.save(stored, tmp_path / "exact.pt")
    calibrate = ["calibrate", "--model", str(tmp_path / "exact.pt"), "--target-refusal", "0.1", "--out", str(out)]
    assert main(calibrate) == 2
    assert "changed since training" in capsys.readouterr().err


def test_a_model_of_before_format_5_beside_a_grey_test_folder_takes_its_new_place(tmp_path, monkeypatch, capsys):
    """A format-4 model trained on an array beside a --test-data folder of grey files: that folder,
    moved, is known again by its recorded SHA-256 (its files read as the model read them, though
    the array's own form never carried the old reading)."""
    import shutil

    import numpy as np

    import idk.data.preparation as preparation

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "train.npz", images=rng.integers(0, 256, (40, 16, 16), np.uint8), labels=np.arange(40) % 2)
    for i in range(8):
        (tmp_path / "test" / "01"[i % 2]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (16, 16), np.uint8), "L").save(
            tmp_path / "test" / "01"[i % 2] / f"{i}.png"
        )
    out = tmp_path / "m.pt"
    args = ["--channels", "4", "8", "--dense", "16", "--samples", "4", "--no-twin", "--epochs", "1", "-q"]
    exact = preparation._one_channel
    with monkeypatch.context() as m:  # as idk before format 5 read grey files
        m.setattr(preparation, "_one_channel", lambda rgb, _: exact(rgb, True))
        train = ["train", "--data", str(tmp_path / "train.npz"), "--test-data", str(tmp_path / "test"), "--out"]
        assert main([*train, str(out), *args]) == 0
    stored = torch.load(out, weights_only=True)
    stored["format_version"] = 4
    del stored["input_spec"]["luminance_grey"]
    torch.save(stored, out)
    shutil.move(tmp_path / "test", tmp_path / "moved")
    capsys.readouterr()
    assert main(["train", "--resume", "--out", str(out), "--test-data", str(tmp_path / "moved"), *args]) == 0
    assert checkpoint.read(out).data.test_data == str((tmp_path / "moved").resolve())
