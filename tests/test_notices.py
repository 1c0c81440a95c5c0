"""What a user of a checkpoint is told about it, by every command and the web page."""

from __future__ import annotations

from idk.apps.notices import warnings
from idk.training import checkpoint


def test_a_samples_other_than_the_models_own_is_said_and_only_then(cnn_model):
    ckpt = checkpoint.read(cnn_model)
    own = ckpt.rule_config.samples
    assert ckpt.calibrated and own == 20
    quiet = [w for samples in (None, own) for w in warnings(ckpt, samples) if w.startswith("--samples")]
    assert quiet == []  # not asked for, or the model's own S
    (said,) = [w for w in warnings(ckpt, 50) if w.startswith("--samples")]
    assert said.startswith("--samples 50: its threshold was set on 20 sampled networks per image")
    assert "idk calibrate --samples 50" in said
