"""A library caller's TrainOptions are checked as the command line checks its options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from idk.errors import IdkError
from idk.training.options import TrainOptions, checked, image_size
from idk.training.train import train


@pytest.mark.parametrize(
    ("given", "needle"),
    [
        ({"epochs": 0}, "--epochs 0: give a whole number, at least 1"),
        ({"epochs": -1}, "--epochs -1: give a whole number, at least 1"),
        ({"batch_size": 0}, "--batch-size 0"),
        ({"samples": 0}, "--samples 0"),
        ({"members": 1.5}, "--members 1.5"),
        ({"val_size": -1}, "--val-size -1: give a whole number, 0 or more"),
        ({"lr": 0}, "--lr 0: give a positive number"),
        ({"degrade": 1.5}, r"--degrade 1.5: give a fraction in \[0, 1\]"),
        ({"target_refusal": 5.0}, r"--target-refusal 5.0: give a fraction in \[0, 1\]"),
        ({"target_error": 0}, "--target-error 0: give a number strictly between 0 and 1"),
        ({"target_refusal": 0.1, "target_error": 0.1}, "give one of --target-refusal and --target-error, not both"),
        ({"channels": (4, 0)}, "--channels"),
        ({"channels": ()}, "--channels"),
        ({"schedule": "linear"}, "--schedule 'linear': give one of constant, cosine"),
        ({"image_size": 0}, "--image-size 0"),
        ({"image_size": "24y"}, "--image-size"),
        ({"data": 3}, "--data: an int was given; give a data set's name or a path"),
        ({"data": (np.zeros((9, 8, 8)), np.zeros(9))}, r"--data: a tuple was given; .*np\.savez\(path, images=X"),
        ({"seed": -3}, "--seed -3: give a whole number, 0 or more"),
        ({"seed": 5_000_000_000}, r"--seed 5000000000: give a whole number, 0 or more \(at most 2147483647\)"),
        ({"score": "bogus"}, "--score 'bogus': give one of max-prob, .*, auto"),
        ({"prior": "cauchy"}, "--prior 'cauchy': give one of normal, laplace"),
        ({"drop_outliers": ("glyph",)}, "--drop-outliers 'glyph': not a synthetic outlier family"),
        ({"outlier_weights": (("blobs", 0),)}, r"--outlier-weights .*: give \(family, weight > 0\) pairs"),
        ({"flip": "no"}, "--flip 'no': give True, False or None"),
        ({"channels": "48"}, "--channels '48'"),
    ],
)
def test_options_the_command_line_refuses_are_refused(given, needle):
    with pytest.raises(IdkError, match=needle):
        checked(TrainOptions(**given))


def test_options_are_brought_to_one_form():
    opts = checked(TrainOptions(data=Path("my_photos"), image_size=32, channels=[4, 8], epochs=3))
    assert opts.data == "my_photos" and opts.image_size == (32, 32) and opts.channels == (4, 8) and opts.epochs == 3
    assert image_size("24x32") == image_size((24, 32)) == (24, 32) and image_size("28") == (28, 28)
    assert checked(TrainOptions()) == TrainOptions()  # nothing given: the preset's values
    import numpy as np

    plain = checked(TrainOptions(epochs=np.int64(2), lr=np.float64(0.01), channels=np.array([4, 8]), seed=np.int32(1)))
    assert type(plain.epochs) is int and type(plain.lr) is float and type(plain.seed) is int  # checkpoint values
    assert plain.channels == (4, 8) and all(type(c) is int for c in plain.channels)
    named = checked(TrainOptions(drop_outliers="glyphs", outlier_weights={"blobs": 2}))
    assert named.drop_outliers == ("glyphs",) and named.outlier_weights == (("blobs", 2.0),)


def test_a_score_or_prior_added_to_the_library_is_an_option(monkeypatch):
    """Options are checked against the registries themselves, not the command line's copy of their names."""
    from idk.decision.scores import SCORES, MaxProbability
    from idk.nn.priors import PRIORS, NormalPrior

    monkeypatch.setitem(SCORES, "my-score", MaxProbability)
    monkeypatch.setitem(PRIORS, "my-prior", lambda scale: NormalPrior(0.0, scale))
    assert checked(TrainOptions(score="my-score", prior="my-prior")) == TrainOptions(score="my-score", prior="my-prior")


def test_the_training_data_is_no_test_set(tmp_path):
    (tmp_path / "photos").mkdir()
    with pytest.raises(IdkError, match="--test-data .*: is the training data \\(--data\\): its figures would be on"):
        checked(TrainOptions(data=tmp_path / "photos", test_data=f"{tmp_path}/photos/"))
    with pytest.raises(IdkError, match="--test-data fashion-mnist: is the training data"):
        checked(TrainOptions(data="fashion-mnist", test_data="fashion-mnist"))
    (tmp_path / "held").mkdir()
    assert checked(TrainOptions(data=tmp_path / "photos", test_data=tmp_path / "held")).test_data == str(
        tmp_path / "held"
    )


def test_train_refuses_before_any_work(tmp_path):
    with pytest.raises(IdkError, match="--epochs 0"):
        train(tmp_path / "m.pt", opts=TrainOptions(epochs=0))
    with pytest.raises(IdkError, match="is a folder; give the checkpoint's file path"):
        train(tmp_path, opts=TrainOptions(epochs=1))
    assert list(tmp_path.iterdir()) == []
