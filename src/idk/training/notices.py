"""What a user of a checkpoint must be told about it, for every command and the web page: kept
light (no evaluation code, no SciPy until a refusal spread is needed), as the service imports it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from idk.decision.calibration import few_to_calibrate, least_target, refused_count
from idk.decision.rules import infeasible_advice
from idk.training.checkpoint import Checkpoint

NOISE_REFUSED = 0.9  # a rule refusing less of the noise made at training is said to answer it


def warnings(ckpt: Checkpoint, samples: int | None = None) -> list[str]:
    """What a reader of the report must know about the checkpoint: unfinished, uncalibrated, a model
    no better than chance, a rule that answers noise (:data:`NOISE_REFUSED`); and, with ``samples`` (a command's ``--samples``),
    that its threshold was set at another S."""
    out = []
    if not ckpt.finished:
        answering = ckpt.answering_members()
        meanwhile = (
            f"; meanwhile it answers with the {len(answering)} of its {ckpt.model_config.members} members that "
            f"{'has' if len(answering) == 1 else 'have'} trained"
            if answering
            else ""
        )
        out.append(f"training did not finish ({ckpt.training_progress()}); resume it with --resume{meanwhile}")
    if not ckpt.calibrated and ckpt.rule_config.targeted:
        out.append("the rule is uncalibrated (a placeholder threshold): its refusals mean little")
    elif not ckpt.calibrated and ckpt.finished:  # the tutorial's rule: a threshold chosen by hand
        out.append(
            f"its rule's threshold is fixed ({ckpt.rule_summary()}), not calibrated on validation images: "
            "how often it refuses images like its training images is not measured"
        )
    calibration = ckpt.rule.get("calibration") or {}
    if "target_refusal" in calibration and (few := few_to_calibrate(calibration["n"], calibration["target_refusal"])):
        out.append(few)
    if advice := infeasible_advice(ckpt.rule):
        out.append(advice)
    out += measured_notices(ckpt)
    calibrated_at = ckpt.rule_config.samples
    if samples is not None and samples != calibrated_at and ckpt.calibrated:
        out.append(
            f"--samples {samples}: its threshold was set on {calibrated_at} sampled networks per image; with "
            f"{samples} the scores spread otherwise, and its refusal target or error guarantee holds only "
            f"approximately (leave --samples out, or recalibrate: idk calibrate --samples {samples})"
        )
    return out


def measured_notices(ckpt: Checkpoint) -> list[str]:
    """What the measurements made when its rule was set say of the model: no better than chance
    (:func:`chance_notice`), answers noise (:func:`noise_notice`); what ``idk train`` and ``idk
    calibrate`` say after writing it."""
    return [note for note in (chance_notice(ckpt), noise_notice(ckpt)) if note]


def say_measured(ckpt: Checkpoint, path: str | Path, warn: Callable[[str], None]) -> None:
    """Tell ``warn`` each of :func:`measured_notices`, on ``path``: what training and recalibration
    say after writing the model."""
    for note in measured_notices(ckpt):
        warn(f"{path}: {note}")


def noise_notice(ckpt: Checkpoint) -> str | None:
    """That the rule answers noise: it refused less than :data:`NOISE_REFUSED` of a noise set when
    its threshold was set (:meth:`~idk.training.checkpoint.Checkpoint.noise_refused`); else None."""
    noise = ckpt.noise_refused()
    if noise is None or noise >= NOISE_REFUSED:
        return None
    cal = ckpt.rule.get("calibration") or {}
    n = cal.get("n") or 0
    top = (  # no validation image refused: the threshold is the least certain one's score
        f"; its threshold is the least certain of its {n} validation images' score: a target refusing two of "
        f"them, `idk calibrate --target-refusal {least_target(n, 2):g}`, may refuse it (on a set of 40, "
        "0.05 refused all the noise that 2% answered)"
        if "target_refusal" in cal and n > 2 and refused_count(n, cal["target_refusal"]) == 0
        else ""
    )
    return (
        f"when its rule was set, it refused only {100 * noise:.2g}% of noise images: it will answer noise "
        "and other inputs unlike its training images; a longer training (more --epochs) usually mends it "
        f"(idk evaluate measures what it refuses){top}"
    )


# the twin's validation accuracy this far above the model's points at the prior (docs/experiments.md,
# "Shapes told by their outline alone: which part of the recipe holds it back?")
PRIOR_GAP = 0.10


def chance_notice(ckpt: Checkpoint) -> str | None:
    """That the model answers no better than always giving its most common class, of share m: its
    validation accuracy a is not clearly above m, both by its lower bound
    (:func:`~idk.training.rule_fitting.against_chance`: not above m) and by itself (not past
    (1 + m) / 2, halfway to every image right: a few images all answered right have a low bound
    too); else None (or not measured: one class, or a checkpoint from before 2026-12-06). A twin
    whose validation accuracy is :data:`PRIOR_GAP` or more above a adds a hint at the KL weight."""
    m = ckpt.metrics
    if m.get("validation_accuracy_low") is None:
        return None
    majority, accuracy = m["validation_majority"], m["validation_accuracy"]
    if m["validation_accuracy_low"] > majority or accuracy > (1.0 + majority) / 2:
        return None
    n = m.get("validation_n") or (ckpt.rule.get("calibration") or {}).get("n") or ckpt.validation_size
    twin = m.get("twin_validation_accuracy")
    its_twin = f"; its deterministic twin, without the prior: {twin:.1%}" if twin is not None else ""
    prior = (  # the twin learned where the model did not: the prior may outweigh the few images
        "; its twin learned more: the prior may outweigh so few images, try --kl-weight 0.001 with more "
        "--epochs and check with `idk evaluate` what it then refuses (it may answer noise)"
        if twin is not None and twin - accuracy >= PRIOR_GAP
        else ""
    )
    return (
        f"its validation accuracy, {accuracy:.1%} of {n} images, is not clearly above "
        f"always answering its most common class ({majority:.1%}{its_twin}): it has not learned to tell "
        "the classes apart; train longer (more --epochs), with more images, or check that the images show "
        f"their classes{prior}"
    )
