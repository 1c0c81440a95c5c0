"""End to end through the command line, on small slices so the suite stays fast."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import torch

from idk.apps.cli import main

REPORT_KEYS = {
    "mnist-test": {
        "n",
        "forced_accuracy",
        "refused",
        "accepted_accuracy",
        "accepted_wrong",
        "accepted_accuracy_interval",
    },
    "noise": {"n", "refused"},
    "notmnist-459": {"n", "refused"},
}


def test_evaluate_writes_the_report_keys(cnn_model, data_dir, tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(
        [
            "evaluate",
            "--model",
            str(cnn_model),
            "--samples",
            "10",
            "--json",
            str(out),
            "--data-dir",
            str(data_dir),
            "--ood",
            f"letters={data_dir / 'notmnist-10k' / 't10k-images-idx3-ubyte.gz'}",
            "--gaussian",
            "50",
            "-q",
        ]
    )
    assert code == 0
    report = json.loads(out.read_text())
    assert {"model", "samples", "rule", "datasets"} <= set(report)
    assert {"percentile", "threshold"} <= set(report["rule"])
    for name, keys in REPORT_KEYS.items():
        assert keys <= set(report["datasets"][name])
    assert report["datasets"]["letters"]["n"] == 10000 and "auroc" in report["datasets"]["letters"]
    assert report["datasets"]["gaussian-noise"]["n"] == 50
    mnist = report["datasets"]["mnist-test"]
    for key in ("nll", "ece", "brier", "aurc", "accuracy_at_coverage", "risk_coverage"):
        assert key in mnist
    assert set(mnist["accuracy_at_coverage"]) == {"0.99", "0.98", "0.95"}
    assert "twin" in report and "mnist-test" in report["twin"]["datasets"]
    assert report["in_distribution"] == "mnist-test" and list(report["datasets"])[0] == "mnist-test"
    assert report["datasets"]["fashion-mnist"]["n"] == 10000  # the usual near-OOD set for MNIST models
    assert report["rule"]["calibration"]["target_refusal"] == 0.02
    for d in report["datasets"].values():
        assert 0.0 <= d["refused"] <= 1.0
    assert "refused" in capsys.readouterr().out


def test_html_report(cnn_model, data_dir, tmp_path, capsys):
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(cnn_model),
                "--samples",
                "5",
                "--report",
                str(tmp_path / "rep"),
                "--json",
                str(tmp_path / "r.json"),
                "--data-dir",
                str(data_dir),
                "--noise",
                "0",
                "--ood",
                "fashion-mnist",  # a usual set asked for by its name: the one already there, not an error
                "-q",
            ]
        )
        == 0
    )
    said = capsys.readouterr().out.splitlines()[-2:]  # each file written is named
    rep = tmp_path / "rep"
    assert said == [
        f"wrote {tmp_path / 'r.json'}",
        f"wrote {rep / 'index.html'} (and {rep / 'report.json'}, its numbers)",
    ]
    page = (tmp_path / "rep" / "index.html").read_text()
    # the three figures of the test set, then the training's loss and held-out error per epoch
    assert page.count("data:image/png;base64,") == 5 and "<table>" in page
    assert page.index("Reliability diagram") < page.index("Training loss per epoch") < page.index("Held-out error per")
    shifted = page.index("<th class='group' colspan='9'>shifted: the same classes")  # grouped as the text report
    assert shifted < page.index("<td>low-res</td>") < page.index("out of distribution (to be refused)</th>")
    written = json.loads((tmp_path / "rep" / "report.json").read_text())
    datasets = written["datasets"]
    assert isinstance(written["training"]["train_config_not_applied"], list)  # as idk info --json says them
    assert datasets and "noise" not in datasets  # --noise 0: no noise set
    shift = datasets["low-res"]  # each share beside its interval
    low, high = shift["accepted_accuracy_interval"]
    assert f"{100 * shift['accepted_accuracy']:.2f}% <small>({100 * low:.2f}–{100 * high:.2f})</small>" in page
    low, high = datasets["fashion-mnist"]["refused_interval"]
    assert (
        f"<small>({100 * low:.2f}–{100 * high:.2f})</small>" in page
        and "95% Clopper–Pearson confidence interval" in page
    )
    # the test set class by class, with its confusion counts (every labelled set's in the JSON)
    test = datasets["mnist-test"]
    assert "<h3>mnist-test, class by class</h3>" in page and sum(map(sum, test["confusion"])) == test["n"]
    assert sum(test["per_class"]["n"]) == test["n"] and len(shift["per_class"]["refused"]) == 10


def test_reproduce_prints_published_beside_ours(data_dir, tmp_path, capsys):
    out = tmp_path / "rep.json"
    assert (
        main(
            [
                "reproduce",
                "--seed",
                "0",
                "--epochs",
                "1",
                "--train-subset",
                "2000",
                "--out",
                str(tmp_path / "t.pt"),
                "--json",
                str(out),
                "--data-dir",
                str(data_dir),
                "-q",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "published" in text and "89.00%" in text and "2104" in text
    assert "CHANGED to 1 epoch and 2000 training images: not the tutorial's run" in text  # said, not hidden
    report = json.loads(out.read_text())
    assert report["changed"] == {"epochs": 1, "train_subset": 2000}
    for name, keys in REPORT_KEYS.items():
        assert keys <= set(report["datasets"][name])
    assert report["datasets"]["noise"]["n"] == 100 and report["datasets"]["notmnist-459"]["n"] == 459
    # its --out given again: kept (reproduce has no --resume to offer), unless --overwrite
    again = ["reproduce", "--epochs", "1", "--train-subset", "2000", "--out", str(tmp_path / "t.pt"), "-q"]
    assert main([*again, "--data-dir", str(data_dir)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"idk: error: {tmp_path / 't.pt'}: exists; --overwrite replaces it, or give another --out"
    )


def test_a_fixed_threshold_is_said(tutorial_model):
    from idk.training import checkpoint
    from idk.training.notices import warnings

    said = warnings(checkpoint.read(tutorial_model))
    assert said == [
        "its rule's threshold is fixed (accept p50 > 0.2), not calibrated on validation images: how often it refuses "
        "images like its training images is not measured"
    ]


def test_explain_draws_the_figure(tutorial_model, data_dir, tmp_path, capsys):
    out = tmp_path / "fig.png"
    assert main(["explain", "7", "--model", str(tutorial_model), "--out", str(out), "--data-dir", str(data_dir)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert any(f"({v}: labelled " in printed for v in ("correct", "incorrect", "undecided"))


def test_info(cnn_model, capsys):
    assert main(["info", str(cnn_model), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["class"] == "BNNMixture" and info["twin"] and info["epochs"] == 3
    assert [m["epochs"] for m in info["members"]] == [3, 3]
    # each part's accuracy on its held-out images after its last epoch, at the mean weights
    assert all(0.5 < m["held_out_accuracy"] <= 1 for m in info["members"]) and 0.5 < info["twin_held_out_accuracy"] <= 1
    assert info["training_data"]["data"] == "mnist" and info["finished"] and info["calibrated"]
    assert (
        info["training_data"]["fingerprint"]["n"] == 10000 and len(info["training_data"]["fingerprint"]["sha256"]) == 64
    )
    assert info["classes"] == list("0123456789") and info["input"]["preparation"] == "mnist"
    assert "hidden" not in info["architecture"] and info["architecture"]["dense"] == 64  # the CNN's settings only
    held = info["validation_images"]
    assert {k: held[k] for k in ("held_out", "tuning", "calibration")} == {
        "held_out": 2000,
        "tuning": 400,
        "calibration": 1600,
    }
    assert len(held["sha256"]) == 16  # a digest of the cut, recorded by training
    selection = info["score_selection"]  # "auto": every candidate's figures, and why the chosen one
    assert selection["chosen"] in selection["equal"] and set(selection["equal"]) <= set(selection["scores"])
    assert main(["info", str(cnn_model)]) == 0
    text = capsys.readouterr().out
    assert f"score_selection: {selection['chosen']}, chosen because it " in text
    # each part's held-out accuracy a percentage, how it was measured said once, with the images' count
    assert f"  1: epochs 3, final_loss {info['members'][0]['final_loss']:.6g}, held_out_accuracy " in text
    assert f"twin_held_out_accuracy: {info['twin_held_out_accuracy']:.2%}\n" in text
    assert "held_out: accuracy after each part's last epoch, at its mean weights, on 2,000 validation images" in text
    # --history: every trained part's epochs, one line each in the text, a list per part in JSON
    assert main(["info", str(cnn_model), "--history"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if " epoch " in ln and ln.startswith("  - ")]
    assert [ln.split(":")[0] for ln in lines] == [
        f"  - {p} epoch {e}" for p in ("bayes 1/2", "bayes 2/2", "twin") for e in (1, 2, 3)
    ]
    assert all(
        re.search(r"loss \d+\.\d{4}, held-out accuracy \d+\.\d\d% \(NLL \d+\.\d{4}\), \d+\.\d s$", ln) for ln in lines
    )
    assert main(["info", str(cnn_model), "--history", "--json"]) == 0
    history = json.loads(capsys.readouterr().out)["history"]
    assert list(history) == ["bayes 1/2", "bayes 2/2", "twin"] and [len(h) for h in history.values()] == [3, 3, 3]
    assert history["twin"][-1]["held_out_accuracy"] == info["twin_held_out_accuracy"]
    ckpt = torch.load(cnn_model, weights_only=True)  # the command-line options reached the configuration
    assert ckpt["model_config"]["net"]["channels"] == [8, 16] and ckpt["model_config"]["net"]["dense"] == 64
    assert ckpt["train_config"]["kl_weight"] == 0.5


def test_info_json_is_strict_when_a_figure_is_not_a_number(cnn_model, tmp_path, capsys):
    ckpt = torch.load(cnn_model, weights_only=True)
    assert ckpt["history"], "the fixture's checkpoint records its losses"
    ckpt["history"][-1]["loss"] = float("nan")  # a training whose last epoch diverged
    torch.save(ckpt, tmp_path / "nan.pt")
    assert main(["info", str(tmp_path / "nan.pt"), "--json"]) == 0

    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    info = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert info["final_loss"] is None
    # --model, as every other command names its checkpoint, is taken too
    assert main(["info", "--model", str(tmp_path / "nan.pt"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["final_loss"] is None


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["train"], "required: --out"),
        (["train", "--out", "x.pt", "--epochs", "zero"], "not a whole number"),
        (["evaluate", "--model", "m.pt", "--target"], "unrecognized arguments"),
        # said by the command it was given to, whose --help lists what it takes
        (
            ["predict", "x.png", "--model", "m.pt", "--foo"],
            "idk predict: error: unrecognized arguments: --foo (see idk predict --help)",
        ),
        (
            ["--quiet", "predict", "x.png", "--model", "m.pt"],
            "idk predict: error: --quiet goes after the command: idk predict ... --quiet (see idk predict --help)",
        ),
        (
            ["--frob", "predict", "x.png", "--model", "m.pt"],
            "idk: error: unrecognized arguments: --frob (see idk --help)",
        ),
        (["info"], "give the checkpoint once: idk info MODEL (or idk info --model MODEL)"),
        (["info", "a.pt", "--model", "b.pt"], "give the checkpoint once"),
        (["frobnicate"], "invalid choice"),
        (["train", "--out", "x.pt", "--target-refusal", "2"], "not a fraction"),
        (["train", "--out", "x.pt", "--kl-weight", "0"], "must be positive"),
        (["train", "--out", "x.pt", "--channels", "8", "0"], "must be positive"),
        (["train", "--out", "x.pt", "--image-size", "0"], "'0' is not N or HxW (positive whole numbers"),
        (["train", "--out", "x.pt", "--image-size", "3x4x5"], "not N or HxW"),
        (
            ["train", "--out", "x.pt", "--image-size", "32x"],
            "'32x' is not N or HxW (positive whole numbers: 28, or 32x48)",
        ),
    ],
)
def test_nonsense_options_give_one_clear_line(argv, needle):
    proc = subprocess.run([sys.executable, "-m", "idk", *argv], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_and_foreign_checkpoints_are_one_line_errors(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"\x00" * 100)
    for path in (tmp_path / "missing.pt", tmp_path / "junk.pt", tmp_path):
        proc = subprocess.run(
            [sys.executable, "-m", "idk", "info", str(path)], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert proc.stderr.startswith("idk: error: ") and str(path) in proc.stderr


def test_missing_data_dir_is_a_one_line_error(tutorial_model, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "idk", "evaluate", "--model", str(tutorial_model), "--data-dir", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "data directory does not exist" in proc.stderr and "Traceback" not in proc.stderr
