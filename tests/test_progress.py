"""Progress: bars only on a terminal; elsewhere one line per pass with the same figures."""

from __future__ import annotations

import re

import torch
from tqdm import tqdm

from idk.progress import LineBar, Progress


def test_off_a_terminal_a_pass_is_one_line(capsys):
    progress = Progress(tty=False)
    bar = progress.bar(total=300, desc="calibration", unit="img")
    assert isinstance(bar, LineBar)
    for _ in range(3):
        bar.update(100)
        bar.set_postfix(loss="0.25", refresh=False)
    bar.close()
    bar.close()  # closing twice logs once
    err = capsys.readouterr().err
    assert "\r" not in err and len(err.splitlines()) == 1
    assert err.startswith("calibration: 300 img in ") and "img/s" in err and err.rstrip().endswith(", loss 0.25")


def test_a_caller_with_its_own_line_gets_no_bar_off_a_terminal():
    assert Progress(tty=False).bar(total=10, desc="epoch", summary=False) is None
    assert Progress(quiet=True, tty=True).bar(total=10) is None
    assert Progress(quiet=True, tty=False).bar(total=10) is None


def test_on_a_terminal_a_tqdm_bar(capsys):
    bar = Progress(tty=True).bar(total=10, desc="predict", unit="img", summary=False)
    assert isinstance(bar, tqdm)
    bar.update(10)
    bar.close()
    assert "predict" in capsys.readouterr().err


def test_training_and_prediction_log_one_line_per_epoch_and_pass(capsys):
    """The real loops: an epoch is its own log line (no bar line), a prediction pass one line."""
    from helpers import MNIST_SPEC, for_mnist
    from idk.decision.predictive import predict
    from idk.nn.bnn import ModelConfig, build_model, with_data
    from idk.nn.networks import NetConfig
    from idk.training.config import TrainConfig
    from idk.training.fitting import fit
    from idk.training.held_out import HeldOut

    cfg = for_mnist(ModelConfig(net=NetConfig(arch="mlp", hidden=16)))
    model = build_model(with_data(cfg, cfg.input_shape, cfg.num_classes), dataset_size=64)
    images, labels = torch.rand(64, *cfg.input_shape), torch.randint(0, cfg.num_classes, (64,))
    progress = Progress(tty=False)
    held_out = HeldOut(torch.rand(8, *cfg.input_shape), torch.randint(0, cfg.num_classes, (8,)))
    fit(
        model,
        images,
        labels,
        TrainConfig(epochs=2, batch_size=32),
        spec=MNIST_SPEC,
        progress=progress,
        held_out=held_out,
    )
    predict(model, images, 4, progress=progress, desc="test set")
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(":")[0] for line in lines] == ["train epoch 1/2", "train epoch 2/2", "test set"]
    assert re.search(r": loss \d+\.\d{4}, held-out accuracy \d+\.\d\d% \(NLL \d+\.\d{4}\) \(\d", lines[0])
    assert lines[2].startswith("test set: 64 img in ")


def test_muted_says_nothing_not_even_warnings(capsys):
    muted = Progress(muted=True, tty=False)
    muted.warn("rank 1 would repeat rank 0's warning")
    muted.log("nor its log lines")
    assert muted.quiet and muted.bar(total=3) is None and capsys.readouterr().err == ""
    Progress(quiet=True).warn("said even when quiet")
    assert capsys.readouterr().err == "idk: warning: said even when quiet\n"


def test_a_duration_is_written_as_people_write_it():
    from idk.progress import duration

    assert [duration(s) for s in (3.21, 42.4, 59.6, 357, 3599.6, 3780)] == [
        "3.2 s",
        "42 s",
        "1 min 00 s",
        "5 min 57 s",
        "1 h 00 min",
        "1 h 03 min",
    ]
