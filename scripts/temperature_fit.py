"""The temperature's fit: the NLL's minimum against the posterior mean, judged on images no fit saw.

For each checkpoint: the predictive's logits on its tuning images (drawn as training drew them),
the temperature at the NLL's minimum on the posterior's grid (the fit before 2026-12-07, found
then by a golden-section search) and the posterior mean of log T
that idk fits since (:mod:`idk.training.temperature`), with the posterior's spread and the tuning
images' errors. A model trained on a ``--train-subset`` is then judged on ``--unused`` of the
training images its subset left out (the same distribution as its validation images; neither
training nor the fit saw them): its NLL at each fit, at T = 1 and at those images' own optimum.
``--test`` adds the same on the model's test set, as a diagnosis, never a choice.

Usage: python scripts/temperature_fit.py runs/small-t/s0.pt [more checkpoints] [--unused 5000] [--test]
"""

from __future__ import annotations

import argparse
import math

import torch

from idk.data import DataConfig
from idk.data.catalog import recorded_test_set
from idk.nn.numerics import set_flush_denormals
from idk.training import checkpoint
from idk.training.recalibration import training_images, training_split
from idk.training.splits import training_subset
from idk.training.temperature import (
    fit_temperature,
    posterior_mean_sd,
    predictive_nll,
    temperature_posterior,
    validation_logits,
)


def wrong_count(logits: torch.Tensor, labels: torch.Tensor) -> int:
    """The images (logits (S, N, C) at T = 1, labels (N,)) whose predictive mean's answer is wrong."""
    return int((logits.softmax(-1).mean(0).argmax(-1) != labels).sum())


def nll_row(name: str, logits: torch.Tensor, labels: torch.Tensor, fits: dict[str, float]) -> str:
    """One line: the images' count and errors, then their NLL at each temperature and at their own optimum."""
    wrong = wrong_count(logits, labels)
    own = fit_temperature(logits, labels)
    cells = "; ".join(f"{k} {predictive_nll(logits, labels, t):.4f}" for k, t in fits.items())
    mine = f"its own posterior mean ({own:.3f}) {predictive_nll(logits, labels, own):.4f}"
    return f"  {name} ({len(labels)}, {wrong} wrong): NLL at {cells}; {mine}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--unused", type=int, default=5000, help="unused training images to judge on (0: none)")
    parser.add_argument("--test", action="store_true", help="also the NLL on the model's test set (diagnosis)")
    args = parser.parse_args()
    set_flush_denormals(True)
    data = DataConfig.from_env()
    for path in args.models:
        model, ckpt = checkpoint.load(path)
        samples, seed = ckpt.rule_config.samples, ckpt.train_config.seed
        _, tune, _ = training_split(ckpt, data, path)
        logits = validation_logits(model, tune.images, samples, seed + 6)  # as fit_rules drew them
        log_t, weights = temperature_posterior(logits, tune.labels)
        mean, sd = posterior_mean_sd(log_t, weights)
        fits = {
            "NLL minimum": math.exp(float(log_t[weights.argmax()])),
            "posterior mean": math.exp(mean),
            "T = 1": 1.0,
        }
        wrong = wrong_count(logits, tune.labels)
        print(
            f"{path}: {len(tune)} tuning images, {wrong} wrong; T at the NLL minimum {fits['NLL minimum']:.3f}, "
            f"posterior mean {fits['posterior mean']:.3f} (sd of log T {sd:.3f})",
            flush=True,
        )
        fits = {f"{k} ({t:.3f})" if k != "T = 1" else k: t for k, t in fits.items()}
        subset = ckpt.train_config.train_subset
        if args.unused and subset:
            source = training_images(ckpt, data, path)[0]
            used = torch.zeros(len(source.train), dtype=torch.bool)
            used[training_subset(len(source.train), subset)] = True
            pool = (~used).nonzero().flatten()[: args.unused]
            unused = validation_logits(model, source.train.images[pool], samples, seed + 11)
            print(nll_row("unused training images", unused, source.train.labels[pool], fits), flush=True)
        elif args.unused:
            print("  no unused training images (trained on the whole set)")
        if args.test:
            test = recorded_test_set(ckpt.data, ckpt.input_spec, data, ckpt.classes)
            test_logits = validation_logits(model, test.images, samples, seed + 10)
            print(nll_row("test images", test_logits, test.labels, fits), flush=True)


if __name__ == "__main__":
    main()
