"""What a run is told before it trains: the epochs a small set takes, and options its data does not use."""

from __future__ import annotations

import math

from idk.data.images import InputSpec
from idk.training.config import TrainConfig
from idk.training.options import TrainOptions
from idk.training.preflight import FEW_STEPS, enough_steps, epochs_for, steps_per_epoch, warn_unused_options

COLOUR = InputSpec(3, 32, 32, "fit")


def test_a_small_set_takes_epochs_enough_for_the_few_steps_and_a_large_one_its_own():
    cfg = TrainConfig(epochs=12, batch_size=128)
    assert steps_per_epoch(192, cfg) == 2 and steps_per_epoch(128, cfg) == 1 and steps_per_epoch(129, cfg) == 2
    assert epochs_for(192, cfg) == FEW_STEPS // 2  # 2 steps an epoch: 100 epochs make 200 steps
    assert epochs_for(1000, cfg) == math.ceil(FEW_STEPS / 8)  # 8 steps an epoch (the last ragged)
    assert epochs_for(50_000, cfg) == 12  # the preset's epochs make far more than FEW_STEPS
    said: list[str] = []
    assert enough_steps(cfg, 50_000, "big", said.append) is cfg and said == []
    more = enough_steps(cfg, 192, "small", said.append)
    assert more.epochs == 100 and said == [
        "small: 192 training images make 2 optimiser steps an epoch: 100 epochs (the preset's 12) make at "
        "least 200 (--epochs sets another number)"
    ]


def test_the_shares_of_drawn_symbols_are_said_unused_on_photos():
    said: list[str] = []
    opts = TrainOptions(data="photos/", degrade=0.25, printed=0.1, variants=0.1)
    warn_unused_options(opts, COLOUR, ("cat", "dog"), said.append)
    assert [line.split(":")[0] for line in said] == [
        "--degrade applies to drawn symbols only",
        "--printed applies to drawn symbols named by one letter or digit each",
        "--variants applies to drawn symbols with a class named 1, whose written variants it makes",
    ]
    said.clear()
    warn_unused_options(TrainOptions(data="photos/"), COLOUR, ("cat", "dog"), said.append)
    assert said == []  # nothing asked for, nothing said


def test_a_networks_options_its_architecture_does_not_read_are_said_unused():
    """--channels and --dense shape a CNN; the tutorial's MLP reads neither (`idk info` would not show them)."""
    from idk.nn.networks import NetConfig

    said: list[str] = []
    opts = TrainOptions(data="photos/", channels=(16,), dense=8)
    warn_unused_options(opts, COLOUR, ("cat", "dog"), said.append, NetConfig(arch="mlp"))
    assert said == [
        "--channels is not a setting of the mlp network this preset trains: it is not used",
        "--dense is not a setting of the mlp network this preset trains: it is not used",
    ]
    said.clear()
    warn_unused_options(opts, COLOUR, ("cat", "dog"), said.append, NetConfig(arch="cnn"))
    assert said == []
