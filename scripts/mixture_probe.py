"""Would a mixture of posteriors help? Validation data only.

Loads K checkpoints of the same preset and data trained with different seeds (e.g. by
``scripts/target_error_seeds.py``, whose validation split is the same for every seed) and treats
them as one model whose posterior is the equal mixture of theirs: each member's predictions (100
draws at its own fitted temperature) averaged, as :meth:`idk.decision.predictive.Predictions.combine`
averages parts. For each member alone and for every mixture of two or more: accuracy and NLL on
the 8,000 calibration images; then, for three scores at the threshold refusing 2% of them, the
accuracy on the accepted ones, the share of the validation-built non-digit symbols refused, and the
range of shares answered over the validation-built shifted sets (:mod:`idk.data.shifted`, seed 1).

Usage: python scripts/mixture_probe.py runs/target-error/seed0.pt runs/target-error/seed1.pt [...]
"""

from __future__ import annotations

import argparse
import itertools

import torch

from idk.data import DataConfig
from idk.data.shifted import shifted_sets, symbol_set
from idk.decision.calibration import threshold_for_refusal
from idk.decision.predictive import Predictions, predict
from idk.decision.scores import make_score
from idk.nn.numerics import set_flush_denormals
from idk.training import checkpoint
from idk.training.recalibration import training_split

TARGET = 0.02
SCORES = ("expected-entropy", "entropy", "max-prob")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    args = parser.parse_args()
    set_flush_denormals(True)
    loaded = [checkpoint.load(path) for path in args.models]  # each at its own fitted temperature
    first = loaded[0][1]
    for path, (_, ckpt) in zip(args.models, loaded, strict=True):
        if ckpt.validation_split != first.validation_split or ckpt.data.as_dict() != first.data.as_dict():
            raise SystemExit(f"{path}: not trained on the same data and validation split as {args.models[0]}")
    _, tune, calib = training_split(first, DataConfig.from_env())
    shifted = shifted_sets(tune, first.input_spec, 1000, seed=1)
    images = {
        "calibration": calib.images,
        "symbols": symbol_set(first.classes, first.input_spec, 1000, seed=1).images,
        **{name: s.images for name, s in shifted.items()},
    }
    preds = [{name: predict(model, x, 100, 10.0, seed=3) for name, x in images.items()} for model, _ in loaded]
    for i, path in enumerate(args.models):
        print(f"model {i}: {path}")
    print(f"calibration images: {len(calib)}; thresholds refusing {TARGET:.0%} of them")
    print(
        f"{'model':<12}{'accuracy':>9}{'NLL':>8}  "
        + "  ".join(f"{s} (acc. on accepted, symbols, shifted)" for s in SCORES)
    )
    for k in range(1, len(loaded) + 1):
        for members in itertools.combinations(range(len(loaded)), k):
            mixed = {
                name: Predictions.combine([preds[i][name] for i in members], lambda ts: torch.stack(ts).mean(0))
                for name in images
            }
            label = f"model {members[0]}" if k == 1 else "mix " + "+".join(map(str, members))
            print(f"{label:<12}" + row(mixed, calib.labels, shifted))


def row(pred: dict[str, Predictions], labels: torch.Tensor, shifted: dict) -> str:
    """One line: accuracy and NLL on the calibration images, then per score the accuracy on the
    accepted ones, % of symbols refused and the range of % answered over the shifted sets."""
    calib = pred["calibration"]
    right = calib.mean_probs.argmax(-1) == labels
    nll = -torch.log(calib.mean_probs.gather(1, labels[:, None]).clamp_min(1e-12)).mean()
    cells = [f"{100 * float(right.double().mean()):>8.2f}%{float(nll):>8.4f}"]
    for name in SCORES:
        score = make_score(name)
        u = score(calib)
        tau = threshold_for_refusal(u, TARGET)
        accepted = float(right[u <= tau].double().mean())
        symbols = float((score(pred["symbols"]) > tau).double().mean())
        answered = [float((score(pred[s]) <= tau).double().mean()) for s in shifted]
        cells.append(
            f"{100 * accepted:.2f}% {100 * symbols:.1f}% {100 * min(answered):.1f}–{100 * max(answered):.1f}%".rjust(
                len(f"{name} (acc. on accepted, symbols, shifted)")
            )
        )
    return "  ".join(cells)


if __name__ == "__main__":
    main()
