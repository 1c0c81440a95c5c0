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


def test_a_rule_that_refused_little_of_the_noise_made_at_training_is_said(cnn_model):
    """The score choice's table records what the rule's score refused of the noise sets; under
    NOISE_REFUSED it is a warning, naming the remedy; a rule's score the choice did not compare says nothing."""
    from dataclasses import replace

    from idk.apps.notices import NOISE_REFUSED

    ckpt = checkpoint.read(cnn_model)
    score = ckpt.rule["score"]

    def selection(uniform: float, gaussian: float) -> dict:
        row = {"refused:uniform-noise": uniform, "refused:gaussian-noise": gaussian, "refused:overlaid": 0.0}
        return {"chosen": score, "criterion": "a test's", "scores": {score: row}}

    def noise_warnings(sel: dict | None) -> list[str]:
        return [w for w in warnings(replace(ckpt, score_selection=sel)) if "noise images" in w]

    answering = replace(ckpt, score_selection=selection(1.0, 0.25))
    assert answering.noise_refused() == 0.25 < NOISE_REFUSED
    (said,) = noise_warnings(selection(1.0, 0.25))
    assert "refused only 25% of noise images" in said and "--epochs" in said
    assert noise_warnings(selection(1.0, 0.95)) == [] and noise_warnings(None) == []
    other = {"chosen": "x", "criterion": "a test's", "scores": {"another-score": {"refused:uniform-noise": 0.0}}}
    assert noise_warnings(other) == []
    # a rule set for an error target: the choice compared the scores at another threshold than its own
    for_error = {**ckpt.rule, "calibration": {"method": "target_error", "target_error": 0.01, "n": 100}}
    assert not [w for w in warnings(replace(answering, rule=for_error)) if "noise images" in w]
