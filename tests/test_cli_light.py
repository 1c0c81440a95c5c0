"""The command line answers before any heavy import: parsing and ``--help`` never import torch."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from idk import choices

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
PROBE = """
import sys
from idk.apps.checks import check_options
from idk.apps.arguments import build_parser
from idk.errors import IdkError
try:
    check_options(build_parser().parse_args(sys.argv[1:]))
except (SystemExit, IdkError):
    pass
heavy = sorted(m for m in ("torch", "pyro", "numpy", "matplotlib") if m in sys.modules)
print(",".join(heavy) or "light")
"""


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["train", "--help"], ["train", "--bogus"], ["evaluate", "--model"], ["calibrate", "--model", "m.pt"]],
)
def test_parsing_and_help_import_no_torch(argv):
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=60, env=ENV)
    assert proc.stdout.strip().splitlines()[-1] == "light", proc.stdout + proc.stderr


def test_help_lists_every_command_on_a_line_of_its_own():
    proc = subprocess.run([sys.executable, "-m", "idk", "--help"], capture_output=True, text=True, timeout=60, env=ENV)
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    from idk.apps.arguments import build_parser
    from idk.apps.cli import COMMANDS

    commands = build_parser()._subparsers._group_actions[0].choices
    assert "calibrate" in commands and set(COMMANDS) == set(commands)  # every command has its handler
    for name in commands:
        line = next(line for line in lines if line.split()[:1] == [name])
        assert len(line.split()) > 3, f"{name}: its help is not on its line"
        following = lines[lines.index(line) + 1].split()
        assert not following or following[0] in commands, f"{name}: its help wraps"


def test_the_light_names_are_those_of_the_catalog_and_the_presets():
    from idk.data.catalog import DEFAULT_DATA
    from idk.data.named import KNOWN, NAMED
    from idk.data.sources import DOWNLOADS
    from idk.training.config import PRESETS, preset_for

    assert choices.DATA_NAMES == tuple(NAMED) and DEFAULT_DATA == choices.DEFAULT_DATA
    assert set(choices.OOD_NAMES) == set(KNOWN)
    assert set(choices.PRESET_NAMES) == set(PRESETS) and preset_for(None) == choices.DEFAULT_PRESET
    assert choices.DOWNLOAD_NAMES == tuple(DOWNLOADS) and set(DOWNLOADS) <= set(KNOWN)


def test_figure_formats_are_those_matplotlib_writes():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backend_bases import FigureCanvasBase

    from idk.apps.checks import FIGURE_FORMATS

    assert set(FIGURE_FORMATS) <= set(FigureCanvasBase.get_supported_filetypes())


def test_the_outlier_families_scores_and_priors_offered_are_those_the_library_knows():
    from idk.decision.scores import SCORES
    from idk.nn.guides import GUIDES
    from idk.nn.networks import ARCHITECTURES
    from idk.nn.priors import PRIORS
    from idk.training.batches import OUTLIER_FAMILIES

    assert choices.PRIOR_NAMES == tuple(PRIORS), "a prior was added or renamed: copy it into idk/choices.py"
    assert choices.GUIDE_NAMES == tuple(GUIDES), "a guide was added or renamed: copy it into idk/choices.py"
    assert choices.ARCH_NAMES == tuple(ARCHITECTURES), "a network was added or renamed: copy it into idk/choices.py"

    assert choices.OUTLIER_FAMILIES == OUTLIER_FAMILIES, "a family was added or renamed: copy it into idk/choices.py"
    assert choices.SCORE_NAMES == tuple(SCORES), "a score was added or renamed: copy it into idk/choices.py"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--degrade", "1.5"], "argument --degrade: 1.5 is not a fraction in [0, 1]"),
        (["--degrade", "x"], "argument --degrade: 'x' is not a number"),
        (["--printed", "-0.1"], "argument --printed: -0.1 is not a fraction in [0, 1]"),
        (["--variants", "1.5"], "argument --variants: 1.5 is not a fraction in [0, 1]"),
        (["--drop-outliers", "zoom"], "argument --drop-outliers: invalid choice: 'zoom' (choose from 'uniform-noise'"),
        (
            ["--score", "no-such-score"],
            "argument --score: invalid choice: 'no-such-score' (choose from 'max-prob', 'entropy'",
        ),
    ],
)
def test_bad_degradation_options_exit_2_with_one_line(argv, message, tmp_path, capsys):
    from idk.apps.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["train", "--out", str(tmp_path / "m.pt"), *argv])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1 and message in err
    assert not (tmp_path / "m.pt").exists()


def test_degradation_options_reach_training_as_given(monkeypatch, tmp_path):
    import idk.training.train as training
    from idk.apps.cli import main

    seen = {}

    def record(out, preset, data, opts, **kwargs):
        seen["opts"] = opts
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "train", record)
    out = str(tmp_path / "m.pt")
    argv = ["train", "--out", out, "--degrade", "0.25", "--printed", "0.1", "--variants", "0.3"]
    assert main([*argv, "--drop-outliers", "zoomed", "blobs"]) == 130
    assert seen["opts"].degrade == 0.25 and seen["opts"].drop_outliers == ("zoomed", "blobs")
    assert seen["opts"].printed == 0.1 and seen["opts"].variants == 0.3
    main(["train", "--out", out, "--drop-outliers"])  # none named: every family, whatever the preset says
    assert seen["opts"].drop_outliers == ()
    main(["train", "--out", out])
    assert seen["opts"].degrade is None and seen["opts"].drop_outliers is None  # the preset's
    assert seen["opts"].printed is None and seen["opts"].variants is None and seen["opts"].flip is None
    main(["train", "--out", out, "--flip"])
    assert seen["opts"].flip is True
    main(["train", "--out", out, "--no-flip"])
    assert seen["opts"].flip is False
    main(["train", "--out", out, "--score", "mutual-info"])
    assert seen["opts"].score == "mutual-info" and seen["opts"].flip is None


def test_every_training_option_is_a_flag_of_idk_train():
    """TrainOptions is one field per option of ``idk train`` (its errors name ``flag(field)``): each
    field is a flag, or ``--no-`` one for the booleans whose default is on."""
    import dataclasses

    from idk.apps.arguments import build_parser
    from idk.training.options import TrainOptions, flag

    train = build_parser()._subparsers._group_actions[0].choices["train"]
    flags = {option for action in train._actions for option in action.option_strings}
    for field in dataclasses.fields(TrainOptions):
        assert flag(field.name) in flags or flag(f"no_{field.name}") in flags, field.name


def test_a_score_for_a_fixed_threshold_is_refused_before_training(tmp_path, capsys):
    """The tutorial's rule has a threshold set for its own score and no target to set another by."""
    from idk.apps.cli import main

    out = tmp_path / "m.pt"
    assert main(["train", "--out", str(out), "--preset", "tutorial", "--score", "entropy", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--score entropy: the tutorial preset's rule has a fixed threshold" in err
    assert not out.exists()


@pytest.mark.parametrize("data", ["mnist", "notmnist-10k"])
def test_mirror_images_of_digits_and_letters_are_refused_before_training(data, data_dir, tmp_path, capsys):
    from idk.apps.cli import main

    out = tmp_path / "m.pt"
    argv = ["train", "--out", str(out), "--data", data, "--data-dir", str(data_dir), "--train-subset", "500", "-q"]
    assert main([*argv, "--threads", "1", "--flip"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{data}: --flip: its images are drawn symbols" in err
    assert not out.exists()


def test_dropping_every_outlier_family_is_refused_before_training(data_dir, tmp_path, capsys):
    from idk.apps.cli import main
    from idk.training.batches import OUTLIER_FAMILIES

    out = tmp_path / "m.pt"
    argv = ["train", "--out", str(out), "--data-dir", str(data_dir), "--train-subset", "500", "-q", "--threads", "1"]
    assert main([*argv, "--drop-outliers", *OUTLIER_FAMILIES]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--drop-outliers: dropping uniform-noise" in err and "keep one" in err
    assert not out.exists()


def test_the_package_offers_its_main_calls_each_imported_when_first_used():
    """``idk.train``, ``idk.load``, ``idk.predict_images``, ... are the library's calls, imported on
    first use: ``import idk`` alone loads no torch; a name it lacks says what it offers."""
    import importlib

    import idk

    probe = "import sys, idk; print('torch' in sys.modules, 'train' in dir(idk))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=ENV, check=True)
    assert out.stdout.split() == ["False", "True"]
    for name, home in idk.API.items():
        assert getattr(idk, name) is getattr(importlib.import_module(home), name)
    with pytest.raises(AttributeError, match=r"no attribute 'fit'; it offers train, TrainOptions, "):
        idk.fit  # noqa: B018
