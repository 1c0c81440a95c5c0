"""What a user of a checkpoint is told about it, by every command and the web page."""

from __future__ import annotations

import torch

from idk.training import checkpoint
from idk.training.notices import warnings


def test_a_samples_other_than_the_models_own_is_said_and_only_then(cnn_model):
    ckpt = checkpoint.read(cnn_model)
    own = ckpt.rule_config.samples
    assert ckpt.calibrated and own == 20
    quiet = [w for samples in (None, own) for w in warnings(ckpt, samples) if w.startswith("--samples")]
    assert quiet == []  # not asked for, or the model's own S
    (said,) = [w for w in warnings(ckpt, 50) if w.startswith("--samples")]
    assert said.startswith("--samples 50: its threshold was set on 20 sampled networks per image")
    assert "idk calibrate --samples 50" in said


def test_a_rule_that_refused_little_of_the_noise_is_said(cnn_model):
    """What the rule refused of the noise sets once its threshold was set (the checkpoint's
    metrics) is a warning under NOISE_REFUSED, naming the remedy. A checkpoint from before that
    measurement falls back on the score choice's table, for a rule set for a refusal target only
    (an error target's threshold is not the one the choice compared at)."""
    from dataclasses import replace

    from idk.data.named import noise_sets
    from idk.training.notices import NOISE_REFUSED

    ckpt = checkpoint.read(cnn_model)
    assert set(ckpt.metrics["noise_refused"]) == set(noise_sets(ckpt.input_spec))  # measured at training
    score = ckpt.rule["score"]

    def noise_warnings(c) -> list[str]:
        return [w for w in warnings(c) if "noise images" in w]

    def measured(uniform: float, gaussian: float):
        return replace(ckpt, metrics={**ckpt.metrics, "noise_refused": {"noise": uniform, "gaussian-noise": gaussian}})

    answering = measured(1.0, 0.25)
    assert answering.noise_refused() == 0.25 < NOISE_REFUSED
    (said,) = noise_warnings(answering)
    assert said.startswith("when its rule was set, it refused only 25% of noise images") and "--epochs" in said
    assert noise_warnings(measured(1.0, 0.95)) == []
    for_error = {**ckpt.rule, "calibration": {"method": "target_error", "target_error": 0.01, "n": 100}}
    assert noise_warnings(replace(answering, rule=for_error)) == [said]  # measured at its own threshold
    assert "--target-refusal" not in said  # its threshold refused some of its validation images
    for n, named in ((40, "0.05"), (24, "0.0834"), (3, "0.6667")):  # none refused: a target refusing two is named
        at_top = {**ckpt.rule, "calibration": {"method": "refusal quantile", "target_refusal": 0.02, "n": n}}
        (top,) = noise_warnings(replace(answering, rule=at_top))
        assert top.startswith(said) and top.endswith(
            f"; its threshold is the least certain of its {n} validation images' score: a target refusing two of "
            f"them, `idk calibrate --target-refusal {named}`, may refuse it (on a set of 40, 0.05 refused all the "
            "noise that 2% answered)"
        )

    older = {k: v for k, v in ckpt.metrics.items() if k != "noise_refused"}

    def selection(uniform: float, gaussian: float) -> dict:
        row = {"refused:uniform-noise": uniform, "refused:gaussian-noise": gaussian, "refused:overlaid": 0.0}
        return {"chosen": score, "criterion": "a test's", "scores": {score: row}}

    chosen = replace(ckpt, metrics=older, score_selection=selection(1.0, 0.25))
    assert chosen.noise_refused() == 0.25 and len(noise_warnings(chosen)) == 1
    assert noise_warnings(replace(chosen, score_selection=selection(1.0, 0.95))) == []
    assert noise_warnings(replace(chosen, score_selection=None)) == []
    assert noise_warnings(replace(chosen, rule=for_error)) == []


def test_a_model_no_better_than_its_most_common_class_is_said(cnn_model):
    """A model whose validation accuracy's lower bound is not above the most common class's share
    learned nothing: every command says so; a model that learned, or one not measured, says nothing."""
    from dataclasses import replace

    from idk.training.rule_fitting import against_chance

    ckpt = checkpoint.read(cnn_model)
    assert ckpt.metrics["validation_accuracy_low"] > ckpt.metrics["validation_majority"]  # it learned
    assert not [w for w in warnings(ckpt) if "most common class" in w]

    def said(accuracy: float, low: float, majority: float, **twin: float) -> list[str]:
        m = {"validation_accuracy": accuracy, "validation_accuracy_low": low, "validation_majority": majority}
        m |= {"twin_validation_accuracy": twin["twin"]} if twin else {}
        return [w for w in warnings(replace(ckpt, metrics={**ckpt.metrics, **m})) if "most common class" in w]

    n = ckpt.rule["calibration"]["n"]
    (line,) = said(0.3, 0.186, 0.25)
    assert line.startswith(f"its validation accuracy, 30.0% of {n} images, is not clearly above always answering")
    twin = ckpt.metrics["twin_validation_accuracy"]  # this model's twin learned: a hint at the prior
    assert f"most common class (25.0%; its deterministic twin, without the prior: {twin:.1%}): it has not" in line
    assert line.endswith(
        "try --kl-weight 0.001 with more --epochs and check with `idk evaluate` what it then refuses (it may answer noise)"
    )
    no_twin = {k: v for k, v in ckpt.metrics.items() if k != "twin_validation_accuracy"}
    (plain,) = [
        w
        for w in warnings(
            replace(
                ckpt,
                metrics={
                    **no_twin,
                    "validation_accuracy": 0.3,
                    "validation_accuracy_low": 0.186,
                    "validation_majority": 0.25,
                },
            )
        )
        if "most common class" in w
    ]
    assert "(25.0%): it has not learned" in plain and "--kl-weight" not in plain
    (close,) = said(0.3, 0.186, 0.25, twin=0.35)  # a twin no better: nothing points at the prior
    assert "without the prior: 35.0%" in close and "--kl-weight" not in close
    assert said(0.45, 0.315, 0.25) == []
    # a few images, all or most right, have a low bound too: not said of a model past halfway to 100%
    assert said(1.0, 0.473, 0.5) == [] and said(0.8, 0.493, 0.5) == [] and said(0.975, 0.887, 0.9) == []
    assert said(0.7, 0.493, 0.5) != []  # 7 of 10 with two classes of five
    older = {k: v for k, v in ckpt.metrics.items() if not k.startswith("validation_")}
    assert not [w for w in warnings(replace(ckpt, metrics=older)) if "most common class" in w]
    # the bound itself: 12 of 40 right, one-sided 95% Clopper–Pearson (scipy's beta quantile)
    labels = torch.arange(40) % 4
    found = against_chance(torch.arange(40) < 12, labels)
    assert found["validation_majority"] == 0.25 and found["validation_n"] == 40
    one_class = torch.zeros(5, dtype=torch.long)  # nothing to compare: not measured
    assert against_chance(torch.ones(5, dtype=torch.bool), one_class) == {}
    assert abs(found["validation_accuracy_low"] - 0.1831) < 5e-4  # 1 − B(0.95; 29, 12)
