"""Which part of the default recipe holds back a small set of one's own? Trains one network of the
default preset (one posterior, or with ``--twin`` the deterministic twin) on a user's set for a fixed
number of optimiser steps, once per variant of the recipe, and prints its validation and test
accuracy (the mean of ``--samples`` posterior draws; the twin's own answer). A measurement for
docs/experiments.md, not a test.

A variant is a name and the TrainConfig or ModelConfig fields it changes, as JSON, e.g.
``'{"default": {}, "kl0.01": {"kl_weight": 0.01}, "no-negatives": {"drop_outliers": ["inverted"]}}'``; the
field ``seed`` sets the seed of the weights, the batches and the augmentation. Besides idk's priors,
``"prior": "layerwise"`` is a prior added here as a user's own would be (``idk.nn.priors.PRIORS``):
Normal(0, s/√fan_in) on each weight (TyXe's LayerwiseNormalPrior, "radford"), Normal(0, s) on biases.

The training and validation images are split as ``idk train`` splits them; the test set is the set's own.

Usage: python scripts/small_set_recipe.py DATA VARIANTS [--steps 200] [--twin] [--samples 30]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass, fields, replace

import pyro
import torch
from validation_experiment import _tuples  # JSON lists as tuples, nested ones too (outlier_weights)

from idk.data.catalog import training_data
from idk.data.sources import DataConfig
from idk.decision.predictive import predict
from idk.nn.bnn import build_model, with_data
from idk.nn.normals import ScalarNormal
from idk.nn.priors import PRIORS
from idk.training.config import get_preset
from idk.training.fitting import fit
from idk.training.splits import by_class, split, used_images


@dataclass(frozen=True)
class LayerwisePrior:
    """Normal(0, scale/√fan_in) on a weight of shape (out, in, *kernel), fan_in = in·∏kernel;
    Normal(0, scale) on a bias (its shape alone does not say the layer's fan-in)."""

    scale: float = 1.0

    def distribution(self, shape: torch.Size | tuple[int, ...], device: torch.device | None = None):
        shape = torch.Size(shape)
        fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
        return ScalarNormal(0.0, self.scale / math.sqrt(fan_in), shape, device).to_event(len(shape))


PRIORS["layerwise"] = LayerwisePrior
# set by the script for every variant: the steps, the split, one network
FIXED = {"epochs", "twin_epochs", "val_size", "train_subset", "members", "bayesian"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="a labelled set as `idk train --data` takes it")
    parser.add_argument("variants", type=json.loads, help="JSON: {name: {field: value}}")
    parser.add_argument("--steps", type=int, default=200, help="optimiser steps (whole epochs: rounded up)")
    parser.add_argument("--twin", action="store_true", help="train the deterministic twin, not the posterior")
    parser.add_argument("--samples", type=int, default=30, help="posterior draws per image")
    args = parser.parse_args()
    source = training_data(args.data, DataConfig.from_env())
    preset = get_preset("cnn")
    full = used_images(source.train, preset.train)
    train_set, val_set = split(full, preset.train, by_class(args.data))
    print(
        f"{args.data}: {len(train_set)} training, {len(val_set)} validation, {len(source.test)} test images "
        f"of {source.spec.describe()}, {len(full.classes)} classes; {'twin' if args.twin else 'one posterior'}"
    )
    train_fields = {f.name for f in fields(preset.train)}
    for name, change in args.variants.items():
        unknown = set(change) - train_fields - {f.name for f in fields(preset.model)}
        if unknown or set(change) & FIXED:
            raise SystemExit(f"{name}: {', '.join(sorted(unknown | set(change) & FIXED))}: no field a variant may set")
        given = {k: _tuples(v) for k, v in change.items()}
        tcfg = replace(preset.train, **{k: v for k, v in given.items() if k in train_fields})
        epochs = math.ceil(args.steps / math.ceil(len(train_set) / tcfg.batch_size))
        tcfg = replace(tcfg, epochs=epochs, twin_epochs=None)
        model_cfg = with_data(preset.model, source.spec.shape, len(full.classes))
        model_changes = {k: v for k, v in given.items() if k not in train_fields}
        model_cfg = replace(model_cfg, members=1, bayesian=not args.twin, **model_changes)
        pyro.set_rng_seed(tcfg.seed)
        net = build_model(model_cfg, dataset_size=len(train_set))
        started = time.perf_counter()
        fit(net, train_set.images, train_set.labels, tcfg, spec=source.spec, classes=full.classes)
        seconds = time.perf_counter() - started
        accuracy = {}
        for split_name, part in (("val", val_set), ("test", source.test)):
            with torch.no_grad():
                probs = predict(net, part.images, 1 if args.twin else args.samples).mean_probs
            accuracy[split_name] = (probs.argmax(-1) == part.labels).double().mean().item()
        steps = epochs * math.ceil(len(train_set) / tcfg.batch_size)
        print(
            f"{name:<18} {'twin' if args.twin else f'{model_cfg.prior} β {tcfg.kl_weight:g}':<18} "
            f"seed {tcfg.seed}  {steps} steps  "
            f"val {accuracy['val']:6.1%}  test {accuracy['test']:6.1%}  ({seconds:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
