"""Is the temperature fitted on the tuning fifth of the validation images as good as one fitted on more?

Cross-fitting on a trained checkpoint's validation split (tuning and calibration images together,
its recorded split): the N images are dealt into five folds; for each fold, the temperature is
fitted on the other four (4N/5 images) and on the next fold alone (N/5, as many as the tuning share
holds), and both are scored by the predictive's NLL on the fold itself, which neither saw. Also
printed: the temperature training stored (fitted on its tuning images) and one fitted on all N.
Validation data only, unless ``--test``: then the predictive's NLL on the model's test set at the
stored temperature, at the one fitted on all N, at a few fixed ones and at the test set's own
fit (the posterior mean on those images): a diagnosis of what a fit on the validation images gets
right, never a choice.

Usage: python scripts/temperature_folds.py runs/default.pt [more checkpoints] [--test]
"""

from __future__ import annotations

import argparse

import torch

from idk.data import DataConfig
from idk.data.catalog import recorded_test_set
from idk.nn.numerics import set_flush_denormals
from idk.training import checkpoint
from idk.training.recalibration import training_split
from idk.training.temperature import fit_temperature, predictive_nll, validation_logits

FOLDS = 5
TRIED = (0.25, 0.5, 1.0)  # fixed temperatures whose test NLL --test prints (0.25: the prior's lower end)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--test", action="store_true", help="also the NLL on the model's test set (diagnosis)")
    args = parser.parse_args()
    set_flush_denormals(True)
    data = DataConfig.from_env()
    for path in args.models:
        model, ckpt = checkpoint.load(path)
        _, tune, held = training_split(ckpt, data)
        labels = torch.cat([tune.labels, held.labels])
        logits = validation_logits(  # at temperature 1, drawn as training drew them
            model, torch.cat([tune.images, held.images]), ckpt.rule_config.samples, ckpt.train_config.seed + 6
        )
        fold = torch.arange(len(labels)) % FOLDS
        stored = (ckpt.temperature or {}).get("value")  # None: the preset fits none
        said = "none" if stored is None else f"{stored:.3f}"
        print(
            f"{path}: {len(labels)} validation images; temperature stored {said} (on {len(tune)} tuning images), "
            f"fitted on all {fit_temperature(logits, labels):.3f}"
        )
        few_nll, many_nll = [], []
        for k in range(FOLDS):
            here, nxt = fold == k, fold == (k + 1) % FOLDS
            t_many, t_few = (
                fit_temperature(logits[:, ~here], labels[~here]),
                fit_temperature(logits[:, nxt], labels[nxt]),
            )
            many_nll.append(predictive_nll(logits[:, here], labels[here], t_many))
            few_nll.append(predictive_nll(logits[:, here], labels[here], t_few))
            print(
                f"  fold {k}: T on the other {int((~here).sum())} {t_many:.3f} → NLL {many_nll[-1]:.5f}; "
                f"T on fold {(k + 1) % FOLDS} ({int(nxt.sum())}) {t_few:.3f} → NLL {few_nll[-1]:.5f}; "
                f"at T = 1 {predictive_nll(logits[:, here], labels[here], 1.0):.5f}"
            )
        print(
            f"  mean NLL on the held-out folds: T on {FOLDS - 1} folds {sum(many_nll) / FOLDS:.5f}, "
            f"T on one fold {sum(few_nll) / FOLDS:.5f}"
        )
        if args.test:
            test = recorded_test_set(ckpt.data, ckpt.input_spec, data, ckpt.classes)
            test_logits = validation_logits(model, test.images, ckpt.rule_config.samples, ckpt.train_config.seed + 10)
            at = {"stored": stored} if stored is not None else {}
            at.update({"on all validation": fit_temperature(logits, labels), **{f"{t:g}": t for t in TRIED}})
            at["the test's own fit"] = fit_temperature(test_logits, test.labels)
            cells = "; ".join(
                f"{name} ({t:.3f}) {predictive_nll(test_logits, test.labels, t):.4f}" for name, t in at.items()
            )
            print(f"  test NLL ({len(test.labels)} images) at T: {cells}")


if __name__ == "__main__":
    main()
