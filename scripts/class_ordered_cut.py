"""A user's array whose images come class by class: the rule tuned on the validation split's first
fifth (idk before 2026-12-05) against a fifth of every class (now).

Writes 1,000 MNIST training digits of each class, class by class, as ``OUT/by-class.npz``; trains a
small model on it (one posterior, 3 epochs, no twin: the new cut), refits the same model's rule with
the old cut (the first fifth of the validation split) into ``OUT/old.pt``, and prints for each the
classes the rule was tuned on, the fitted temperature, the rule, and the share of the recorded test
split refused, overall and class by class (target 2%).

Usage: python scripts/class_ordered_cut.py [--out /tmp/class-ordered]
"""

from __future__ import annotations

import argparse
import functools
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from idk.data import DataConfig, mnist
from idk.data.catalog import training_data
from idk.decision.predictive import predict
from idk.training import checkpoint, rule_fitting, splits
from idk.training.recalibration import recalibrate, training_images
from idk.training.train import TrainOptions, train


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="/tmp/class-ordered")
    args = p.parse_args()
    out, data = Path(args.out), DataConfig.from_env()
    out.mkdir(parents=True, exist_ok=True)
    digits = mnist("train", data)
    labels = digits.labels.numpy()
    order = np.concatenate([np.nonzero(labels == c)[0][:1000] for c in range(10)])  # class by class
    pixels = (digits.pixels(torch.from_numpy(order))[:, 0] * 255).round().to(torch.uint8).numpy()
    array = out / "by-class.npz"
    np.savez(array, images=pixels, labels=labels[order], classes=np.array([str(c) for c in range(10)]))
    new, old = out / "new.pt", out / "old.pt"
    train(new, opts=TrainOptions(data=str(array), members=1, epochs=3, twin=False), overwrite=True)
    rule_fitting.tuning_split = functools.partial(splits.tuning_split, by_class=False)  # the old cut
    try:
        recalibrate(new, old, target_refusal=0.02, data=data)
    finally:
        rule_fitting.tuning_split = splits.tuning_split
    refit = checkpoint.read(old)  # as a checkpoint of before the digest: re-cut by its first fifth
    checkpoint.save(
        replace(refit, validation_split={k: v for k, v in refit.validation_split.items() if k != "sha256"}), old
    )
    for path, by_class in ((old, False), (new, None)):
        model, ckpt = checkpoint.load(path)
        _, _, val = training_images(ckpt, data)
        tune, _ = splits.tuning_split(val, ckpt.rule_config, ckpt.data.data, by_class=by_class)
        rule = ckpt.decision_rule()
        test = training_data(ckpt.data.data, data).test
        decision = rule.decide(predict(model, test.images, ckpt.rule_config.samples, rule.percentile))
        by_label = [float(decision.refused[test.labels == c].double().mean()) for c in range(10)]
        print(
            f"{'old cut (first fifth)' if by_class is False else 'new cut (a fifth of each class)'}: tuned on classes "
            f"{sorted(set(tune.labels.tolist()))}, temperature {float(model.temperature):.3f}, {rule.summary()}"
        )
        print(f"  test split ({len(test)}): {100 * float(decision.refused.double().mean()):.2f}% refused (target 2%)")
        print("  refused, class 0-9: " + " ".join(f"{100 * r:.1f}%" for r in by_label))


if __name__ == "__main__":
    main()
