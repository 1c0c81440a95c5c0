"""Which score tells "unfamiliar" from "harder to read"? Measured on validation data only.

For a trained checkpoint of drawn symbols: every score's threshold is set to refuse 2% of the
calibration half of the validation split (as training calibrates it); then, at that threshold, the
share answered and the accuracy on answered of shifted sets built from the *tuning* part of the
validation split (:mod:`idk.data.shifted`, seed 1), and the share refused of the non-symbol
counterpart (seed 1) and of synthetic outliers (noise, overlaid). No test set and no real
out-of-distribution set is touched.

With ``--test-time-shifts``, every image is also predicted moved by one pixel up, down, left and
right (empty pixels black), each with its own posterior draws, and the five predictions are
combined as one mixture over shifts and draws: its mean probabilities, expected entropy and mean
logits are the averages of the five; its per-class quantile is approximated by their average.

Each score's row begins with the accuracy on the calibration images it accepts at its threshold
(how well it ranks the errors in distribution). With ``--by-character K``, the K non-symbol
characters the model's own rule answers most often, each rendered ``--per-character`` times.

Usage: python scripts/shift_diagnosis.py runs/default.pt [--samples 100] [--n 1000] [--test-time-shifts]
       [--by-character 30] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
from statistics import fmean

import torch
import torch.nn.functional as F

from idk.data import DataConfig
from idk.data.glyphs import TRAINED_RELATIVES
from idk.data.images import unit
from idk.data.shifted import shifted_sets, symbol_chars, symbol_set, unfamiliar_sets
from idk.data.synthetic import families_for, synthetic_outliers
from idk.decision.calibration import threshold_for_refusal
from idk.decision.predictive import Predictions, predict
from idk.decision.scores import SCORES, Score, make_score
from idk.nn.numerics import set_flush_denormals
from idk.training import checkpoint
from idk.training.recalibration import training_split

TARGET = 0.02
SHIFTS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))  # test-time moves (rows, columns)


def moved(images: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``images`` (N, C, H, W) moved by ``dy`` rows and ``dx`` columns, the uncovered pixels black."""
    h, w = images.shape[-2:]
    padded = F.pad(images, (1, 1, 1, 1))
    return padded[..., 1 - dy : 1 - dy + h, 1 - dx : 1 - dx + w]


def main(argv: list[str] | None = None, extra_scores: dict[str, Score] | None = None) -> None:
    """The diagnosis of the command line ``argv`` (default: ``sys.argv``), with ``extra_scores``
    (unfitted, by name) measured after the package's own (``scripts/score_combinations.py``)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--samples", type=int, default=100)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--twin", action="store_true", help="the deterministic twin instead")
    p.add_argument("--test-time-shifts", action="store_true", help="average each prediction over 1-pixel moves")
    p.add_argument("--by-character", type=int, default=0, metavar="K", help="the K characters answered most")
    p.add_argument("--per-character", type=int, default=60, metavar="N", help="images of each character")
    p.add_argument("--json")
    args = p.parse_args(argv)
    set_flush_denormals(True)
    ckpt = checkpoint.read(args.model)
    model = ckpt.build(twin=args.twin)
    samples = 1 if args.twin else args.samples
    _, tune, calib = training_split(ckpt, DataConfig.from_env())
    if not len(tune):
        raise SystemExit(f"{args.model}: its rule tunes nothing, so training kept no tuning images to build sets from")
    spec = ckpt.input_spec
    shifted = shifted_sets(tune, spec, args.n, seed=1)
    unfamiliar = {k: s.images for k, s in unfamiliar_sets(ckpt.classes, spec, args.n, seed=1).items()}
    _, held_out = families_for(spec)
    trained, _ = families_for(spec)
    families = {"uniform-noise": trained["uniform-noise"], **held_out}
    unfamiliar.update(synthetic_outliers(tune.images, tune.labels, args.n, 11, families))

    def run(images):
        images = unit(images)  # a set's 8-bit levels as floats (the one-pixel moves work on them)
        if not args.test_time_shifts:
            return predict(model, images, samples, 50.0, seed=3)
        parts = [predict(model, moved(images, dy, dx), samples, 50.0, seed=3 + k) for k, (dy, dx) in enumerate(SHIFTS)]
        return Predictions.combine(parts, lambda ts: torch.stack(ts).mean(0), samples=samples * len(parts))

    base = run(calib.images)
    tuning = run(tune.images)  # fitted scores' scales, from the tuning images as in training
    nll = -torch.log(base.mean_probs.gather(1, calib.labels[:, None]).clamp_min(1e-12)).mean()
    accuracy = (base.mean_probs.argmax(-1) == calib.labels).double().mean()
    preds = {name: run(s.images) for name, s in shifted.items()}
    outs = {name: run(images) for name, images in unfamiliar.items()}
    table = {}
    clash = set(SCORES) & set(extra_scores or {})
    if clash:
        raise SystemExit(f"extra scores named like the package's: {', '.join(sorted(clash))}")
    for name, unfitted in ({name: make_score(name) for name in SCORES} | (extra_scores or {})).items():
        score = unfitted.fitted(tuning)
        tau = threshold_for_refusal(score(base), TARGET)
        ok = score(base) <= tau
        row = {
            "threshold": tau,
            "accepted_accuracy": float((base.mean_probs.argmax(-1) == calib.labels)[ok].double().mean()),
        }
        for set_name, pred in preds.items():
            ok = score(pred) <= tau
            right = pred.mean_probs.argmax(-1) == shifted[set_name].labels
            row[f"answered:{set_name}"] = float(ok.double().mean())
            row[f"accuracy:{set_name}"] = float(right[ok].double().mean()) if ok.any() else float("nan")
        for set_name, pred in outs.items():
            row[f"refused:{set_name}"] = float((score(pred) > tau).double().mean())
        table[name] = row
    forced = {n: float((p.mean_probs.argmax(-1) == shifted[n].labels).double().mean()) for n, p in preds.items()}
    head = f"{'score':<24}{'calib.':>8}" + "".join(f"{n[:11]:>12}" for n in [*preds, *outs])
    print(
        f"{args.model} ({'twin' if args.twin else 'Bayesian'}), thresholds refusing {TARGET:.0%} of {len(calib)} "
        f"validation images; shifted sets from {len(tune)} tuning images"
    )
    print(
        f"calibration images{' (test-time shifts)' if args.test_time_shifts else ''}: accuracy {100 * float(accuracy):.2f}% "
        f"NLL {float(nll):.4f} (at its fitted temperature, {float(model.temperature):.3f})"
    )
    print("forced accuracy                 " + "".join(f"{100 * forced[n]:>11.1f}%" for n in preds))
    print(
        "calib.: % accuracy on the accepted calibration images; shifted sets: % answered / % accuracy on "
        "answered; then % refused of the unfamiliar sets"
    )
    print(head)
    for name, row in table.items():
        cells = [f"{100 * row[f'answered:{n}']:.1f}/{100 * row[f'accuracy:{n}']:.1f}".rjust(12) for n in preds]
        cells += [f"{100 * row[f'refused:{n}']:>11.1f}%" for n in outs]
        print(f"{name:<24}{100 * row['accepted_accuracy']:>7.2f}%" + "".join(cells))
    characters = by_character(model, ckpt, run, args.per_character) if args.by_character else []
    if characters:
        print(f"\nthe {args.by_character} characters its own rule answers most ({args.per_character} images each)")
        for char, share, answer in characters[: args.by_character]:
            print(f"  {char}  {100 * share:5.1f}% answered, most often as {answer}")
        print_relatives(characters)
    if args.json:
        with open(args.json, "w") as f:
            calibration = {"accuracy": float(accuracy), "nll": float(nll), "test_time_shifts": args.test_time_shifts}
            json.dump({"calibration": calibration, "forced_accuracy": forced, "scores": table}, f, indent=2)


def print_relatives(characters: list[tuple[str, float, str]]) -> None:
    """The average character's share answered, over all of ``characters`` and apart for those with a
    relative among the trained glyphs (:data:`idk.data.glyphs.TRAINED_RELATIVES`), and the refused
    share of the average character with and without them."""
    related = [share for char, share, _ in characters if char in TRAINED_RELATIVES]
    others = [share for char, share, _ in characters if char not in TRAINED_RELATIVES]
    every = related + others
    print(f"\nanswered, the average character: all {len(every)} {100 * fmean(every):.1f}%", end="")
    if related:
        print(f"; the {len(related)} with a relative among the trained glyphs {100 * fmean(related):.1f}%", end="")
    if others:
        print(f"; the other {len(others)} {100 * fmean(others):.1f}%", end="")
    print(f"\nrefused, the average character: {100 * (1 - fmean(every)):.1f}%", end="")
    print(f"; without those {len(related)}: {100 * (1 - fmean(others)):.1f}%" if related and others else "")


def by_character(model, ckpt, run, n: int) -> list[tuple[str, float, str]]:
    """(character, share answered by the checkpoint's own rule, its most common answer) for every
    non-symbol character, each printed ``n`` times (:func:`idk.data.shifted.symbol_set`, seed 1),
    most answered first."""
    rule = ckpt.decision_rule()
    rows = []
    for char in symbol_chars(ckpt.classes):
        decision = rule.decide(run(symbol_set(ckpt.classes, ckpt.input_spec, n, seed=1, chars=char).images))
        answered = decision.label[~decision.refused]
        answer = ckpt.classes[int(answered.mode().values)] if len(answered) else "-"
        rows.append((char, float((~decision.refused).double().mean()), answer))
    return sorted(rows, key=lambda r: -r[1])


if __name__ == "__main__":
    main()
