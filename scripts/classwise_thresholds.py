"""Would a threshold per answered class rank the validation errors better than one threshold?

One threshold τ refusing 2% of the calibration images spends the refusals where the score is high,
mostly on the hard classes (4, 7, 8, 9); a digit answered with an easy class ("1") at a value that
is low overall but high *for a 1* is answered. A threshold per answered class c,

    τ_c = the smallest τ with mean(u > τ | answered c) ≤ r,

refuses the share r of every answered class instead (class-conditional, "Mondrian" calibration),
still r of the calibration images in all. Measured on validation data only, for the checkpoint's
own score and max-prob: the accuracy on the accepted calibration images (the predictions training
set the model's threshold on, so that one threshold of its own score is the model's; in-sample, and
cross-fitted: thresholds set on one half of the calibration images, measured on the other, both
ways), then, at the thresholds set on all of them, the shifted sets built from the tuning images
(% answered / % accuracy on answered) and the non-digit symbols and synthetic outliers (% refused),
as ``scripts/shift_diagnosis.py`` builds them. No test set and no real out-of-distribution set is
touched.

Usage: python scripts/classwise_thresholds.py runs/default.pt [more.pt ...] [--n 1000]
"""

from __future__ import annotations

import argparse

import torch
from torch import Tensor

from idk.data import DataConfig
from idk.data.shifted import shifted_sets, unfamiliar_sets
from idk.data.synthetic import families_for, synthetic_outliers
from idk.decision.calibration import threshold_for_refusal
from idk.decision.predictive import predict
from idk.decision.scores import make_score
from idk.nn.numerics import set_flush_denormals
from idk.training import checkpoint
from idk.training.recalibration import training_split
from idk.training.rule_fitting import calibration_predictions

TARGET = 0.02


def thresholds(u: Tensor, label: Tensor, classes: int, per_class: bool) -> Tensor:
    """τ per class, shape (classes,): one shared τ refusing ``TARGET`` of ``u`` (N,), or each class's
    own on the images answered with it (a class never answered: the shared τ)."""
    shared = threshold_for_refusal(u, TARGET)
    tau = torch.full((classes,), shared, dtype=torch.float64)
    if per_class:
        for c in range(classes):
            mine = label == c
            if mine.any():
                tau[c] = threshold_for_refusal(u[mine], TARGET)
    return tau


def accepted(u: Tensor, label: Tensor, tau: Tensor) -> Tensor:
    """True where the image is answered: u ≤ τ of its answered class, shape (N,)."""
    return u.double() <= tau[label]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+")
    p.add_argument("--samples", type=int, default=100)
    p.add_argument("--n", type=int, default=1000)
    args = p.parse_args()
    set_flush_denormals(True)
    data = DataConfig.from_env()
    for path in args.models:
        ckpt = checkpoint.read(path)
        model = ckpt.build()
        own = ckpt.decision_rule()
        _, tune, calib = training_split(ckpt, data)
        spec, k = ckpt.input_spec, len(ckpt.classes)
        shifted = shifted_sets(tune, spec, args.n, seed=1)
        unfamiliar = {name: s.images for name, s in unfamiliar_sets(ckpt.classes, spec, args.n, seed=1).items()}
        trained, held_out = families_for(spec)
        families = {"uniform-noise": trained["uniform-noise"], **held_out}
        unfamiliar.update(synthetic_outliers(tune.images, tune.labels, args.n, 11, families))

        # the calibration predictions training set the model's threshold on (its draws), so that one
        # threshold of the model's own score is the model's own; the other sets as shift_diagnosis.py
        base = calibration_predictions(model, calib.images, ckpt.rule_config, ckpt.train_config.seed)
        tuning = predict(model, tune.images, args.samples, 50.0, seed=3)
        preds = {name: predict(model, s.images, args.samples, 50.0, seed=3) for name, s in shifted.items()}
        outs = {name: predict(model, images, args.samples, 50.0, seed=3) for name, images in unfamiliar.items()}
        label = base.mean_probs.argmax(-1)
        right = label == calib.labels
        halves = torch.randperm(len(calib), generator=torch.Generator().manual_seed(0)).chunk(2)
        print(f"\n{path}: {len(calib)} calibration images, {int((~right).sum())} answered wrongly when forced")
        print(
            "calib.: errors among accepted / % accuracy on accepted (in-sample; cross-fitted over two halves); "
            "shifted: % answered / % accuracy; then % refused"
        )
        head = f"{'score, thresholds':<28}{'calib.':>14}{'cross-fit':>14}" + "".join(
            f"{n[:11]:>12}" for n in [*preds, *outs]
        )
        print(head)
        own_score = getattr(own, "score", None)  # the percentile rule has none to compare
        for name in dict.fromkeys(([own_score.name] if own_score else []) + ["max-prob"]):
            score = make_score(name).fitted(tuning)
            u = score(base)
            for per_class in (False, True):
                tau = thresholds(u, label, k, per_class)
                ok = accepted(u, label, tau)
                wrong = int((ok & ~right).sum())
                cross_wrong = cross_ok = 0
                for fit, held in (halves, halves[::-1]):
                    t = thresholds(u[fit], label[fit], k, per_class)
                    o = accepted(u[held], label[held], t)
                    cross_ok += int(o.sum())
                    cross_wrong += int((o & ~right[held]).sum())
                cells = [
                    f"{wrong:>4}/{100 * (1 - wrong / int(ok.sum())):.2f}%".rjust(14),
                    f"{cross_wrong:>4}/{100 * (1 - cross_wrong / cross_ok):.2f}%".rjust(14),
                ]
                for set_name, pred in preds.items():
                    lab = pred.mean_probs.argmax(-1)
                    o = accepted(score(pred), lab, tau)
                    acc = (lab == shifted[set_name].labels)[o].double().mean()
                    cells.append(f"{100 * float(o.double().mean()):.1f}/{100 * float(acc):.1f}".rjust(12))
                for pred in outs.values():
                    o = accepted(score(pred), pred.mean_probs.argmax(-1), tau)
                    cells.append(f"{100 * float((~o).double().mean()):>11.1f}%")
                kind = "per class" if per_class else "one"
                print(f"{name + ', ' + kind:<28}" + "".join(cells))
                if per_class:
                    shared = threshold_for_refusal(u, TARGET)
                    print(" " * 28 + "τ_c / τ: " + " ".join(f"{float(t) / shared:.2f}" for t in tau))


if __name__ == "__main__":
    main()
