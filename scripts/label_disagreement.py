"""Is a difference in validation accuracy between two checkpoints more than sampling noise?

Both checkpoints must have been trained on the same data with the same validation split; each labels
the calibration images (the split's second part). Of the images exactly one of them labels right,
under "equally accurate" each is as likely to favour either: the difference in correct answers then
has a standard deviation of √(those images) (McNemar's test). This measures the noise of the 8,000
validation images, not that of training with another seed (docs/experiments.md).

Usage: python scripts/label_disagreement.py A.pt B.pt
"""

from __future__ import annotations

import argparse

import torch

from idk.data import DataConfig
from idk.decision.predictive import predict
from idk.nn.numerics import set_flush_denormals
from idk.training import checkpoint
from idk.training.recalibration import training_split


def main() -> None:
    set_flush_denormals(True)  # before torch starts its worker threads (idk.nn.numerics)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs=2)
    args = parser.parse_args()
    ckpts = [checkpoint.read(path) for path in args.models]
    a, b = ckpts
    if a.data.as_dict() != b.data.as_dict():
        raise SystemExit("the two checkpoints were trained on different data")
    data = DataConfig.from_env()
    held, other = (training_split(ckpt, data)[2] for ckpt in ckpts)  # as training held them out (--train-subset too)
    if not torch.equal(held.images, other.images):
        raise SystemExit("the two checkpoints hold out different validation images")
    right = []
    for ckpt in ckpts:
        probs = predict(ckpt.build(), held.images, 100, ckpt.decision_rule().percentile, seed=1).mean_probs
        right.append(probs.argmax(-1) == held.labels)
    only_a, only_b = int((right[0] & ~right[1]).sum()), int((right[1] & ~right[0]).sum())
    print(
        f"{len(held)} validation images: correct {int(right[0].sum())} vs {int(right[1].sum())} "
        f"(difference {only_a - only_b:+d}); right by one model only: {only_a} + {only_b} = {only_a + only_b} "
        f"(standard deviation of the difference if equally accurate: {(only_a + only_b) ** 0.5:.1f})"
    )


if __name__ == "__main__":
    main()
