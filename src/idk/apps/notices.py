"""What a user of a checkpoint must be told about it, for every command and the web page: kept
light (no evaluation code, no SciPy until a refusal spread is needed), as the service imports it."""

from __future__ import annotations

from idk.decision.calibration import few_to_calibrate
from idk.decision.rules import infeasible_advice
from idk.training.checkpoint import Checkpoint

NOISE_REFUSED = 0.9  # a rule refusing less of the noise made at training is said to answer it


def warnings(ckpt: Checkpoint, samples: int | None = None) -> list[str]:
    """What a reader of the report must know about the checkpoint: unfinished, uncalibrated, a rule
    that answers noise (:data:`NOISE_REFUSED`); and, with ``samples`` (a command's ``--samples``),
    that its threshold was set at another S."""
    out = []
    if not ckpt.finished:
        out.append(f"training did not finish ({ckpt.training_progress()}); resume it with --resume")
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
    if note := noise_notice(ckpt):
        out.append(note)
    calibrated_at = ckpt.rule_config.samples
    if samples is not None and samples != calibrated_at and ckpt.calibrated:
        out.append(
            f"--samples {samples}: its threshold was set on {calibrated_at} sampled networks per image; with "
            f"{samples} the scores spread otherwise, and its refusal target or error guarantee holds only "
            f"approximately (leave --samples out, or recalibrate: idk calibrate --samples {samples})"
        )
    return out


def noise_notice(ckpt: Checkpoint) -> str | None:
    """That the rule answers noise, where the score choice (at training, or at ``idk calibrate``)
    measured it refusing less than :data:`NOISE_REFUSED` of the noise made from the validation
    images at the rule's refusal target; else None (a rule set for an error target was compared at
    another threshold than its own: not said)."""
    noise = ckpt.noise_refused()
    if noise is None or noise >= NOISE_REFUSED or "target_refusal" not in (ckpt.rule.get("calibration") or {}):
        return None
    return (
        f"when it was trained, its rule refused only {100 * noise:.0f}% of noise images (made from its "
        "validation images): it will answer noise and other inputs unlike its training images; a longer "
        "training (more --epochs) usually mends it (idk evaluate measures what it refuses)"
    )
