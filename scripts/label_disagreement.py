"""How many validation images two checkpoints trained on the same data label differently.

A difference of k correct answers between two runs is within seed noise when k is small against
√(disagreements): each image they disagree on could have gone either way (docs/experiments.md).

Usage: python scripts/label_disagreement.py A.pt B.pt [--data SET]
"""

from __future__ import annotations

import argparse

from idk.data import DataConfig, training_data
from idk.decision.predictive import predict
from idk.training import checkpoint
from idk.training.splits import calibration_images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs=2)
    parser.add_argument("--data", default="mnist", help="the training set both were trained on (a name or a path)")
    args = parser.parse_args()
    source = training_data(args.data, DataConfig.from_env())
    labels, correct = [], []
    for path in args.models:
        model, ckpt = checkpoint.load(path)
        held = calibration_images(source.train, ckpt.train_config)
        label = predict(model, held.images, 100, ckpt.decision_rule().percentile, seed=1).mean_probs.argmax(-1)
        labels.append(label)
        correct.append(int((label == held.labels).sum()))
    differ = int((labels[0] != labels[1]).sum())
    print(
        f"{len(labels[0])} validation images: {differ} labelled differently (√ = {differ**0.5:.1f}); "
        f"correct {correct[0]} vs {correct[1]} (difference {correct[0] - correct[1]:+d})"
    )


if __name__ == "__main__":
    main()
