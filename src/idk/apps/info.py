"""``idk info``'s text: a checkpoint's description in words (:func:`described_in_words`) as
indented ``key: value`` lines, not Python's dict and tuple reprs; and the two lines ``idk train``
ends with (:func:`saved_summary`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from idk.training.checkpoint import Checkpoint


def saved_summary(ckpt: Checkpoint, path: str | Path, unchanged: bool = False) -> str:
    """What ``idk train`` prints of the model it saved (or found finished: ``unchanged``): its form,
    epochs, final losses and validation accuracy (measured on the images its threshold was set on),
    then its rule in words. ``print(saved_summary(train(out, opts=...), out))`` from Python."""
    from idk.decision.rules import describe_rule

    losses = ", ".join(f"{loss:.4f}" for loss in ckpt.member_losses() if loss is not None)
    accuracy = ckpt.metrics.get("validation_accuracy")  # a near-chance model shows itself here
    # measured on the validation images the threshold is set on (the others tune the rule)
    measured_on = (ckpt.rule.get("calibration") or {}).get("n") or ckpt.validation_size
    held = (
        f", validation accuracy {accuracy:.2%} ({measured_on} images)"
        if accuracy is not None and ckpt.validation_size
        else ""
    )
    together = f" (trained by {ckpt.processes} processes)" if (ckpt.processes or 1) > 1 and not unchanged else ""
    epochs = f"{len(ckpt.history)} epoch{'s' * (len(ckpt.history) != 1)}"
    its = "es of its members" if ckpt.model_config.members > 1 else ""
    return (
        f"{'unchanged' if unchanged else 'saved'} {path}{together}: preset {ckpt.preset}, {len(ckpt.classes)} classes "
        f"of {ckpt.input_spec.describe()} images, {epochs}, final loss{its} {losses}{held}\n"
        f"rule: {describe_rule(ckpt.rule)}"
    )


def calibrated_line(ckpt: Checkpoint) -> str | None:
    """What the rule did on the validation images its threshold was set on, in one line ("on its
    1,600 validation images: 2.00% refused, 99.87% of the others answered right, 100% of noise
    refused"); None for a rule set by hand."""
    cal = ckpt.rule.get("calibration") or {}
    if "validation_refused" not in cal:
        return None
    accuracy = cal.get("validation_accepted_accuracy")
    right = f", {accuracy:.2%} of the others answered right" if accuracy is not None else ", none answered"
    noise = ckpt.noise_refused()
    noise_said = f", {100 * noise:.3g}% of noise refused" if noise is not None else ""
    return f"on its {cal['n']:,} validation images: {cal['validation_refused']:.2%} refused{right}{noise_said}"


def processes_by_epoch(ckpt: Checkpoint) -> int | str:
    """How many processes trained the model: one number, or where a resumed run's sessions differed,
    each number with the epochs of each part it trained, in training order ("2 (epochs 1–6), 1
    (epochs 7–12)"; with a mixture or a twin, "2 (bayes 1/3: epochs 1–12; bayes 2/3: epoch 1), 1
    (bayes 2/3: epochs 2–12; ...)"). Epochs of older checkpoints record none: where no epoch
    does, the last session's number stands for them all."""
    from idk.training.options import whole_number

    parts = [(label, history) for label, history in ckpt.part_histories() if history]
    runs: list[tuple[int | None, list[list[Any]]]] = []  # (processes, [[part, first epoch, last epoch], ...])
    for label, history in parts:
        for i, h in enumerate(history, 1):
            k, epoch = h.get("processes"), h.get("epoch", i)
            k = k if whole_number(k) and k >= 1 else None
            if not runs or runs[-1][0] != k:
                runs.append((k, []))
            spans = runs[-1][1]
            if spans and spans[-1][0] == label:
                spans[-1][2] = epoch
            else:
                spans.append([label, epoch, epoch])
    if all(k is None for k, _ in runs):
        return ckpt.processes or "not recorded (older checkpoint)"
    if len(runs) == 1:
        return runs[0][0]

    def said(label: str, first: int, last: int) -> str:
        epochs = f"epochs {first}–{last}" if last > first else f"epoch {first}"
        return f"{label}: {epochs}" if len(parts) > 1 else epochs

    return ", ".join(f"{k or 'not recorded'} ({'; '.join(said(*span) for span in spans)})" for k, spans in runs)


def described_in_words(ckpt: Checkpoint) -> dict[str, Any]:
    """:meth:`~idk.training.checkpoint.Checkpoint.describe` with the input, the rule, the outlier
    families and the scribbles in words (for ``idk info``'s text)."""
    from idk.decision.rules import describe_rule, describe_score_choice
    from idk.training.checkpoint import DRAWN_ONLY

    families = ckpt.outlier_families
    described = ckpt.describe()
    del described["train_config_not_applied"]  # said in the settings themselves below
    if not ckpt.input_spec.drawn:  # stored with the preset, applied to drawn symbols only
        described["train_config"] = {
            k: "— (drawn symbols only)" if k in DRAWN_ONLY else v for k, v in described["train_config"].items()
        }
    settings = described["train_config"]
    if settings.get("val_size") and ckpt.validation_size < settings["val_size"]:  # a cap this data did not reach
        settings["val_size"] = (
            f"{settings['val_size']} at most (a fifth of the images: {ckpt.validation_size} held out)"
        )
    if families is not None and described["train_config"].get("outlier_weights"):  # of families it trained on
        described["train_config"]["outlier_weights"] = [
            (name, weight if name in families else "— (not one of its outlier families)")
            for name, weight in described["train_config"]["outlier_weights"]
        ]
    parts = {  # each part's held-out accuracy as a percentage; how it was measured said once, after them
        "members": [{**m, "held_out_accuracy": percent(m["held_out_accuracy"])} for m in described["members"]],
        "twin_held_out_accuracy": percent(described["twin_held_out_accuracy"]) if ckpt.has_twin else "no twin",
    }
    at = list(described).index("twin_held_out_accuracy") + 1
    described = dict(
        [*list(described.items())[:at], ("held_out", held_out_in_words(ckpt)), *list(described.items())[at:]]
    )
    return {
        **described,
        **parts,
        "processes": processes_by_epoch(ckpt),
        "input": ckpt.input_spec.describe(),
        "rule": describe_rule(ckpt.rule),
        "temperature": temperature_in_words(ckpt.temperature),
        "twin_temperature": temperature_in_words(ckpt.twin_temperature) if ckpt.has_twin else "no twin",
        "outlier_families": ", ".join(families) if families is not None else "not recorded (older checkpoint)",
        "scribbles": ckpt.scribbles.describe() if ckpt.scribbles is not None else "none recorded",
        "score_selection": (
            describe_score_choice(ckpt.score_selection)
            if ckpt.score_selection
            else "none (named by the preset or --score)"
        ),
    }


def epochs_in_words(histories: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Each trained part's epochs as ``idk info --history`` lists them, one line each:
    ``bayes 1/3 epoch 3: loss 3.3016, held-out accuracy 99.30% (NLL 0.0452), 27.3 s``."""
    from idk.training.held_out import HeldOut

    lines = []
    for part, history in histories.items():
        for i, h in enumerate(history, 1):
            seconds = f", {h['seconds']:.1f} s" if h.get("seconds") is not None else ""
            lines.append(f"{part} epoch {h.get('epoch', i)}: loss {h['loss']:.4f}{HeldOut.said(h)}{seconds}")
    return lines or ["none (no epoch trained)"]


def percent(accuracy: float | None) -> str:
    """A part's held-out accuracy after its last epoch (:mod:`idk.training.held_out`) in words."""
    return "not recorded" if accuracy is None else f"{accuracy:.2%}"


def held_out_in_words(ckpt: Checkpoint) -> str:
    """How each part's held-out accuracy was measured: after its last epoch, at its mean weights, on
    how many validation images (at most :data:`~idk.training.held_out.HELD_OUT_IMAGES`)."""
    from idk.training.checkpoint import last_held_out
    from idk.training.held_out import HELD_OUT_IMAGES

    measured = min(HELD_OUT_IMAGES, ckpt.validation_size)
    if not measured or all(last_held_out(h) is None for _, h in ckpt.part_histories()):
        return "not recorded (no validation images, or a checkpoint from before 2026-12-07)"
    return f"accuracy after each part's last epoch, at its mean weights, on {measured:,} validation images"


def temperature_in_words(fit: dict[str, Any] | None) -> str:
    """A checkpoint's temperature record (:func:`~idk.training.temperature.fitted_temperature`) in words."""
    if fit is None:
        return "none (T = 1: not fitted)"
    how = (
        f"the posterior mean, sd of log T {fit['log_sd']:.2f}"
        if "log_sd" in fit
        else "the NLL's minimum, as idk fitted it before 2026-12-07"
    )
    said = [f"{fit['value']:.3f} ({how}"]
    if "n" in fit:
        said.append(f"; on {fit['n']} tuning images")
    if "nll" in fit and "nll_at_1" in fit:
        said.append(f", their NLL {fit['nll']:.4f} at it and {fit['nll_at_1']:.4f} at T = 1")
    return "".join(said) + ")"


def format_info(info: dict[str, Any]) -> str:
    """One ``key: value`` line per field; a mapping's fields indented under its key; lists of
    mappings (a mixture's members) one line each; (name, value) pairs as ``name=value``; a list
    of sentences (the warnings) one ``- sentence`` line each."""
    lines: list[str] = []
    for key, value in info.items():
        _add(lines, str(key), value, 0)
    return "\n".join(lines)


def _add(lines: list[str], key: str, value: Any, depth: int) -> None:
    pad = "  " * depth
    if isinstance(value, dict) and value:
        lines.append(f"{pad}{key}:")
        for k, v in value.items():
            _add(lines, str(k), v, depth + 1)
    elif isinstance(value, (list, tuple)) and value and all(isinstance(v, dict) for v in value):
        lines.append(f"{pad}{key}:")
        lines += [f"{pad}  {i}: {_inline(v)}" for i, v in enumerate(value, 1)]
    elif isinstance(value, (list, tuple)) and value and all(isinstance(v, str) and " " in v for v in value):
        lines.append(f"{pad}{key}:")
        lines += [f"{pad}  - {v}" for v in value]
    else:
        lines.append(f"{pad}{key}: {_shown(value)}")


def _inline(d: dict[str, Any]) -> str:
    return ", ".join(f"{k} {_shown(v)}" for k, v in d.items())


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return "none" if not value else _inline(value)
    if isinstance(value, (list, tuple)):
        if not value:
            return "none"
        if all(isinstance(v, (list, tuple)) and len(v) == 2 for v in value):  # (name, value) pairs
            return ", ".join(f"{v[0]}={_shown(v[1])}" for v in value)
        return ", ".join(_shown(v) for v in value)
    return str(value)
