"""Train the default preset with some of its training settings changed (validation experiments).

Settings that have no command-line option (the outlier weight λ, the outliers' share of a batch)
are changed here, for the experiments of docs/experiments.md; the twin is not trained.

Usage: python scripts/train_variant.py OUT.pt degrade=0.5 outlier_weight=1.0 [seed=1 ...]
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
from dataclasses import replace

from idk.data import DataConfig
from idk.nn.numerics import set_flush_denormals
from idk.training import config
from idk.training.train import TrainOptions, train


def main() -> None:
    set_flush_denormals(True)  # before torch starts its worker threads (idk.nn.numerics)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("settings", nargs="*", help="NAME=VALUE, NAME a field of TrainConfig")
    args = parser.parse_args()
    fields = [f.name for f in dataclasses.fields(config.TrainConfig)]
    changes = {}
    for pair in args.settings:
        name, _, value = pair.partition("=")
        if name not in fields:
            parser.error(f"{name!r} is not a training setting; valid: {', '.join(fields)}")
        try:
            changes[name] = ast.literal_eval(value)  # 0.5, 1, True, ("zoomed",)
        except (ValueError, SyntaxError):
            changes[name] = value  # a word: "cosine"
        if name == "drop_outliers":  # names: one word, or a tuple or list of them
            changes[name] = (changes[name],) if isinstance(changes[name], str) else tuple(changes[name])
    preset = config.PRESETS[config.DEFAULT_PRESET]
    config.PRESETS[preset.name] = replace(preset, train=replace(preset.train, **changes))
    train(args.out, preset.name, DataConfig.from_env(), TrainOptions(twin=False), overwrite=True)


if __name__ == "__main__":
    main()
