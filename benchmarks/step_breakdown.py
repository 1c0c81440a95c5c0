"""Where a training step of the default model spends its time, part by part, on one device.

A step of ``idk train`` (:func:`idk.training.fitting.fit`) is: a batch copied to the device, the
augmentation, each family of synthetic outliers drawn, the loss (the negative ELBO of one posterior
sample, or the twin's cross-entropy) with its gradients, and Adam's update (left out here: the
share of printed class names, one indexing copy, and the learning-rate schedule's step, a few
Python operations). This times each part alone, ``--steps`` times after ``--warmup`` untimed steps, waiting for the device after each, and
prints milliseconds per step and each part's share of their sum. On a GPU the parts are mostly
kernel launches and Python: their sum against the loss's own time says how much a larger batch, or
fewer and larger kernels, could win.

Usage: python benchmarks/step_breakdown.py [--device cuda] [--steps 50] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pyro
import torch

from idk.data import DataConfig, mnist
from idk.data.augment import augmentation_for
from idk.data.named import NAMED
from idk.devices import resolve_device
from idk.nn.bnn import build_model, with_data
from idk.training.batches import outlier_counts, outlier_families
from idk.training.config import get_preset
from idk.training.fitting import DeviceData, ElboObjective, MleObjective, make_optimizer


def _timed(device: torch.device, fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """``fn(*args)`` and its seconds, the device's queued work finished before and after."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    out = fn(*args)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return out, time.perf_counter() - start


def _loss_and_gradients(objective: ElboObjective | MleObjective, optimizer, x, y, outliers, weight: float) -> None:
    optimizer.zero_grad(set_to_none=True)
    objective(x, y, outliers, weight).backward()


def _step(dev, data, augment, families, counts, objective, optimizer, cfg) -> dict[str, float]:
    """One training step, each part timed alone: {PART: seconds}."""
    seconds: dict[str, float] = {}
    idx = torch.randint(0, len(data), (cfg.batch_size,))
    (x, y), seconds["batch"] = _timed(dev, data.batch, data.order(idx))
    x, seconds["augment"] = _timed(dev, augment, x)
    drawn = []
    for name, family in families.items():
        kept, n = counts[name]
        piece, seconds[f"outliers: {name}"] = _timed(dev, family, x, y, n, None)
        drawn.append(piece[:kept])
    outliers = torch.cat(drawn)
    step = (objective, optimizer, x, y, outliers, cfg.outlier_weight)
    _, seconds["loss + gradients"] = _timed(dev, _loss_and_gradients, *step)
    _, seconds["adam"] = _timed(dev, optimizer.step)
    return seconds


def breakdown(device: str = "auto", steps: int = 50, warmup: int = 5, preset: str = "cnn") -> dict[str, dict]:
    """Milliseconds per step of each part of one posterior's (``bayes``) and the twin's (``twin``)
    training step: {"bayes": {PART: ms}, "twin": {PART: ms}}."""
    dev = resolve_device(device)
    p = get_preset(preset)
    spec = NAMED["mnist"].spec
    train = mnist("train", DataConfig.from_env())
    cfg = replace(with_data(replace(p.model, members=1), spec.shape, 10), bayesian=True)
    data = DeviceData(train.images, train.labels, dev)
    augment = augmentation_for(spec, degrade=p.train.degrade, geometric=p.train.augment)
    families = outlier_families(spec, p.train)
    counts = outlier_counts(p.train.batch_size, p.train.outlier_share, families, dict(p.train.outlier_weights))
    out: dict[str, dict] = {}
    for kind in ("bayes", "twin"):
        torch.manual_seed(0)
        pyro.set_rng_seed(0)
        model = build_model(replace(cfg, bayesian=kind == "bayes"), len(train.images)).to(dev).train()
        objective = (ElboObjective if kind == "bayes" else MleObjective)(model, p.train)
        optimizer, _ = make_optimizer(objective.parameters(), p.train, 10_000)
        total: dict[str, float] = {}
        with pyro.validation_enabled(False):
            for step in range(warmup + steps):
                seconds = _step(dev, data, augment, families, counts, objective, optimizer, p.train)
                if step >= warmup:
                    total = {k: total.get(k, 0.0) + v for k, v in seconds.items()}
        out[kind] = {k: 1000 * v / steps for k, v in total.items()}
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    result = breakdown(args.device, args.steps)
    for kind, parts in result.items():
        total = sum(parts.values())
        print(f"{kind} step on {resolve_device(args.device)}: {total:.1f} ms")
        for name, ms in parts.items():
            print(f"  {name:<28} {ms:8.2f} ms  {100 * ms / total:5.1f}%")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": str(resolve_device(args.device)), "torch": torch.__version__, **result}, f, indent=2)
    return result


if __name__ == "__main__":
    main()
