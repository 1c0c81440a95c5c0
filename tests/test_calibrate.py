"""``idk calibrate``: a new target on the recorded validation split gives the rule training would have fitted."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
import torch

from idk.apps.cli import main
from idk.errors import CheckpointError


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_dir):
    """The same tiny model trained three times: calibrated to refuse 2% and 10% of validation images
    with the preset's score, and 2% with the maximum probability."""
    from idk.data import DataConfig
    from idk.training.train import TrainOptions, train

    folder = tmp_path_factory.mktemp("calibrate")
    cfg = DataConfig(data_dir, folder / "cache")
    common = dict(train_subset=2000, epochs=1, samples=8, channels=(4, 8), dense=16)
    paths = {}
    for target in (0.02, 0.1):
        paths[target] = folder / f"refuse-{target}.pt"
        train(paths[target], None, cfg, TrainOptions(target_refusal=target, **common))
    paths["max-prob"] = folder / "max-prob.pt"
    train(paths["max-prob"], None, cfg, TrainOptions(target_refusal=0.02, score="max-prob", **common))
    return paths


def _rule_fields(path) -> dict:
    stored = torch.load(path, weights_only=True)
    return {k: stored[k] for k in ("rule", "twin_rule", "temperature", "twin_temperature", "score_selection")}


def test_recalibrating_gives_the_rule_training_with_that_target_gives(trained, tmp_path, data_dir, capsys):
    source, wanted = trained[0.02], trained[0.1]
    before = _digest(source)
    out = tmp_path / "recalibrated.pt"
    code = main(["calibrate", "--model", str(source), "--target-refusal", "0.1", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and f"saved {out}" in printed
    assert _digest(source) == before, "the original was changed"
    got, expected = _rule_fields(out), _rule_fields(wanted)
    cal = got["rule"]["calibration"]  # what it did on them, said beside the rule
    assert (
        f"on its {cal['n']:,} validation images: {cal['validation_refused']:.2%} refused, "
        f"{cal['validation_accepted_accuracy']:.2%} of the others answered right, "
    ) in printed and "% of noise refused" in printed
    assert got["rule"]["calibration"]["target_refusal"] == 0.1
    assert got == expected  # thresholds, score choice and temperatures alike, to the bit
    a, b = torch.load(out, weights_only=True), torch.load(wanted, weights_only=True)
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in b["state_dict"])
    assert a["rule_config"] == b["rule_config"] and a["finished"]
    # a target that 320 calibration images cannot hold (0.2% of them is under one image) is said to be coarse
    assert main(["calibrate", "--model", str(source), "--target-refusal", "0.002", "--out", str(out), "-q"]) == 0
    assert "the threshold is set on only 320 validation images" in capsys.readouterr().err


def test_another_score_gives_the_rule_training_with_that_score_gives(trained, tmp_path, capsys):
    """``--score`` alone keeps the model's target (2%) and refits the rule on that score."""
    source, wanted = trained[0.02], trained["max-prob"]
    assert torch.load(source, weights_only=True)["rule"]["score"] != "max-prob"  # the preset's own: another
    out = tmp_path / "max-prob.pt"
    assert main(["calibrate", "--model", str(source), "--score", "max-prob", "--out", str(out), "-q"]) == 0
    assert "u = 1 − max_c p̄_c" in capsys.readouterr().out
    got, expected = _rule_fields(out), _rule_fields(wanted)
    assert got["rule"]["score"] == "max-prob" and got["rule"]["calibration"]["target_refusal"] == 0.02
    assert got == expected and got["score_selection"] is None  # chosen by hand: no automatic choice recorded
    assert torch.load(out, weights_only=True)["rule_config"]["score"] == "max-prob"
    assert main(["calibrate", "--model", str(source), "--out", str(out)]) == 2
    assert "give --target-refusal, --target-error or --score" in capsys.readouterr().err


def test_score_alone_fitted_automatic_and_with_an_error_target(trained, tmp_path, capsys):
    """A fitted score gets its scales, "auto" records its choice; an error target of the model's
    own is kept with --confidence; a fixed threshold (no target) is refused, naming why."""
    from dataclasses import replace

    from idk.training import checkpoint

    source, out = trained[0.02], tmp_path / "m.pt"
    assert main(["calibrate", "--model", str(source), "--score", "entropy-or-mutual-info", "--out", str(out)]) == 0
    rule = torch.load(out, weights_only=True)["rule"]
    assert rule["score"] == "entropy-or-mutual-info" and len(rule["score_params"]["scales"]) == 2
    assert main(["calibrate", "--model", str(out), "--score", "auto", "-q"]) == 0
    assert torch.load(out, weights_only=True)["score_selection"]["chosen"] == torch.load(out)["rule"]["score"]
    ckpt = checkpoint.read(source)
    error_target = replace(ckpt.rule_config, target_refusal=None, target_error=0.5)
    checkpoint.save(replace(ckpt, rule_config=error_target), out)
    assert main(["calibrate", "--model", str(out), "--score", "max-prob", "--confidence", "0.9", "-q"]) == 0
    calibration = torch.load(out, weights_only=True)["rule"]["calibration"]
    assert calibration["target_error"] == 0.5 and calibration["confidence"] == 0.9
    checkpoint.save(replace(ckpt, rule_config=replace(ckpt.rule_config, target_refusal=None)), out)
    capsys.readouterr()
    assert main(["calibrate", "--model", str(out), "--score", "max-prob", "-q"]) == 2
    assert "its rule has a fixed threshold, set for its own score" in capsys.readouterr().err


def test_calibrate_in_place_and_to_an_error_target(trained, tmp_path, capsys):
    path = tmp_path / "m.pt"
    path.write_bytes(trained[0.02].read_bytes())
    assert main(["calibrate", "--model", str(path), "--target-error", "0.5", "--confidence", "0.9", "-q"]) == 0
    err = capsys.readouterr().err.splitlines()  # quiet: no progress lines, the notices alone
    assert all(line.startswith(f"idk: warning: {path}: when its rule was set, it refused only") for line in err)
    calibration = torch.load(path, weights_only=True)["rule"]["calibration"]
    assert calibration["target_error"] == 0.5 and calibration["confidence"] == 0.9
    assert "guaranteed risk" in calibration["method"]
    assert not list(tmp_path.glob(".m.pt.*.tmp"))  # written atomically: no temporary file left
    # a target no coverage meets: an error (a script sees it) with what could be asked for, and
    # nothing written: a refuse-everything rule would replace the model's working one
    before = path.read_bytes()
    for out in (tmp_path / "strict.pt", None):
        given = [] if out is None else ["--out", str(out)]
        assert main(["calibrate", "--model", str(path), "--target-error", "0.0001", *given, "-q"]) == 2
        err = capsys.readouterr().err
        assert f"idk: error: {path}: --target-error 0.0001 could not be certified at 90% confidence" in err
        assert "the rule would refuse every image; the smallest these images certify is --target-error " in err
        assert err.rstrip().endswith(f"; {out} not written" if out else f"; {path} left as it is")
    assert not (tmp_path / "strict.pt").exists() and path.read_bytes() == before


def test_a_library_callers_targets_are_checked_and_stored_as_plain_numbers(trained, tmp_path, data_dir):
    """recalibrate() checks its targets as the command line does, and a numpy float makes a
    checkpoint that loads (weights_only refuses numpy scalars)."""
    import numpy as np

    from idk.data import DataConfig
    from idk.errors import IdkError
    from idk.training import checkpoint
    from idk.training.recalibration import recalibrate

    cfg = DataConfig(data_dir, tmp_path / "cache")
    with pytest.raises(IdkError, match=r"--target-refusal 1.5: give a fraction in \[0, 1\]"):
        recalibrate(trained[0.02], tmp_path / "bad.pt", target_refusal=1.5, data=cfg)
    with pytest.raises(IdkError, match="give one of --target-refusal and --target-error, not both"):
        recalibrate(trained[0.02], tmp_path / "bad.pt", target_refusal=0.1, target_error=0.1, data=cfg)
    recalibrate(trained[0.02], tmp_path / "np.pt", target_refusal=np.float64(0.1), data=cfg)
    assert checkpoint.read(tmp_path / "np.pt").rule_config.target_refusal == 0.1


def test_scripts_see_the_split_training_made(trained, data_dir):
    """training_split gives the images training held out, --train-subset included: as many as the
    checkpoint recorded, none of them trained on, and the calibration part is what the rule was set on."""
    from idk.data import DataConfig
    from idk.training import checkpoint
    from idk.training.recalibration import training_split
    from idk.training.splits import split_digest

    ckpt = checkpoint.read(trained[0.02])
    data = DataConfig(data_dir, trained[0.02].parent / "cache")
    train, tuning, calibration = training_split(ckpt, data)
    assert len(train) + len(tuning) + len(calibration) == 2000  # the subset, not the 60,000
    recorded = ckpt.validation_split
    assert {"tuning": len(tuning), "calibration": len(calibration)} == {
        k: recorded[k] for k in ("tuning", "calibration")
    }
    assert recorded["sha256"] == split_digest(tuning, calibration)  # the very images, recorded by training
    other = replace(ckpt, validation_split={**recorded, "sha256": "0" * 16})  # as if another idk had cut them
    with pytest.raises(CheckpointError, match="other than training did"):
        training_split(other, data, "m.pt")
    assert ckpt.rule["calibration"]["n"] == len(calibration)
    seen = {bytes(x.numpy()) for x in train.images}
    assert not any(bytes(x.numpy()) in seen for x in calibration.images[:50])


def test_calibrate_says_the_notices_of_the_rule_it_wrote(trained, tmp_path, capsys, monkeypatch):
    """What the new rule refuses of the noise is measured again, and said as `idk train` says it."""
    from idk.training import notices

    monkeypatch.setattr(notices, "NOISE_REFUSED", 1.01)  # any measured share is too little here
    out = tmp_path / "n.pt"
    assert main(["calibrate", "--model", str(trained[0.02]), "--target-refusal", "0.05", "--out", str(out), "-q"]) == 0
    share = torch.load(out, weights_only=True)["metrics"]["noise_refused"]
    said = f"idk: warning: {out}: when its rule was set, it refused only {100 * min(share.values()):.0f}% of noise"
    assert said in capsys.readouterr().err
