"""Models compared at the same refusal on MNIST test: the digits answered wrongly among the most certain.

A calibrated threshold refuses a slightly different share of test digits for each model (its
validation images set it), and the accuracy on accepted digits moves with that share. Here each
model refuses exactly the same share r of the test digits, the least certain by its own rule's
score, and the digits it answers wrongly among the rest are counted: a measurement of models
already chosen, never a choice (the test set chooses nothing).

Usage: python scripts/equal_refusal.py runs/v50k/seed0.pt runs/v55k/seed0-ee.pt [--shares 0.02 0.03]
"""

from __future__ import annotations

import argparse

import torch

from idk.data import DataConfig, mnist
from idk.decision.calibration import refused_count
from idk.decision.predictive import predict
from idk.nn.numerics import set_flush_denormals
from idk.training import checkpoint


def main() -> None:
    set_flush_denormals(True)  # before torch starts its worker threads (idk.nn.numerics)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+")
    p.add_argument("--shares", type=float, nargs="+", default=[0.02, 0.03], help="shares of test digits refused")
    args = p.parse_args()
    test = mnist("test", DataConfig.from_env())
    print(f"{'model':<34} {'refused':>8} {'answered':>9} {'wrong':>6} {'acc. on answered':>17}")
    for path in args.models:
        model, ckpt = checkpoint.load(path)
        rule = ckpt.decision_rule()
        pred = predict(model, test.images, ckpt.rule_config.samples, rule.percentile, seed=0)  # as idk evaluate draws
        u, label = rule.refusal_score(pred), rule.decide(pred).label
        for share in args.shares:
            kept = torch.argsort(u.double(), stable=True)[: len(u) - refused_count(len(u), share)]
            wrong = int((label[kept] != test.labels[kept]).sum())
            print(f"{path:<34} {share:>8.1%} {len(kept):>9} {wrong:>6} {1 - wrong / len(kept):>17.2%}")


if __name__ == "__main__":
    main()
