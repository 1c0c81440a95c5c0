"""Does ``--target-error`` hold its promise on the test set? Train the default model with several
seeds, each calibrated for an error rate among accepted images of at most E with confidence C on
its validation split, and measure the error among accepted MNIST test images.

Usage: python scripts/target_error_seeds.py [--target 0.005] [--confidence 0.95] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from idk import checkpoint
from idk.data import DataConfig, mnist
from idk.predictive import predict
from idk.rules import make_rule
from idk.train import TrainOptions, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=0.005)
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="runs/target-error")
    args = parser.parse_args()
    data = DataConfig.from_env()
    test = mnist("test", data)
    print(f"target: error among accepted ≤ {args.target:g} with confidence {args.confidence:g}")
    print(
        f"{'seed':>4} {'bound (val)':>12} {'coverage (val)':>15} {'coverage (test)':>16} {'error (test)':>13} {'held':>5}"
    )
    for seed in args.seeds:
        path = Path(args.out) / f"seed{seed}.pt"
        opts = TrainOptions(seed=seed, twin=False, target_error=args.target, confidence=args.confidence)
        train(path, "cnn", data, opts)
        model, ckpt = checkpoint.load(path)
        rule = make_rule(ckpt["rule"])
        cal = ckpt["rule"]["calibration"]
        decision = rule.decide(predict(model, test.images, ckpt["rule_config"]["samples"], rule.percentile, seed=seed))
        ok = ~decision.refused
        error = float((decision.label[ok] != test.labels[ok]).double().mean()) if ok.any() else 0.0
        print(
            f"{seed:>4} {cal['bound']:>12.4f} {cal['validation_coverage']:>15.4f} {float(ok.double().mean()):>16.4f} "
            f"{error:>13.4f} {'yes' if error <= args.target else 'no':>5}"
        )


if __name__ == "__main__":
    main()
