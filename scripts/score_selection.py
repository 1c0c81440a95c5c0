"""Run the score choice of ``score="auto"`` again on a trained checkpoint, with today's candidates.

Training chose its score among the scores of its day, on its tuning images and synthetic outliers
(:func:`idk.training.rule_fitting.choose_score`). This script makes the same predictions with the
same seeds and prints every candidate's row, beside the choice the checkpoint stored: whether a
score with no fitted constants added since would now be chosen, and whether the stored rows are
made again to the digit. Validation data and synthetic outliers only.

Usage: python scripts/score_selection.py runs/default.pt
"""

from __future__ import annotations

import argparse

import torch

from idk.data import DataConfig
from idk.data.synthetic import families_for, synthetic_outliers
from idk.decision.predictive import predict
from idk.training import checkpoint
from idk.training.recalibration import training_split
from idk.training.rule_fitting import (
    SELECTION_NOISE,
    SELECTION_OUTLIERS,
    SELECTION_REFUSAL,
    SELECTION_SEED,
    choose_score,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    model, ckpt = checkpoint.load(args.model)  # at the temperature training fitted
    cfg, seed = ckpt.rule_config, ckpt.train_config.seed
    if cfg.score != "auto":
        raise SystemExit(f"{args.model}: its rule's score was set ({cfg.score}), not chosen")
    _, tune, _ = training_split(ckpt, DataConfig.from_env())
    tune_pred = predict(model, tune.images, cfg.samples, cfg.percentile, seed=seed + 7)  # as fit_rules
    trained, held_out = families_for(ckpt.input_spec)
    families = {**{name: trained[name] for name in SELECTION_NOISE}, **held_out}
    generated = synthetic_outliers(tune.images, tune.labels, SELECTION_OUTLIERS, SELECTION_SEED, families)
    outliers = {name: predict(model, x, cfg.samples, cfg.percentile, seed=seed + 8) for name, x in generated.items()}
    target = cfg.target_refusal if cfg.target_refusal is not None else SELECTION_REFUSAL
    chosen, info = choose_score(tune_pred, tune.labels, outliers, target)
    stored = (ckpt.score_selection or {}).get("scores", {})
    print(f"{args.model}: chosen now {chosen}; stored {(ckpt.score_selection or {}).get('chosen')}")
    print(f"{'score':<24}{'mean refused':>13}{'mean AUROC':>11}  " + "  ".join(f"refused:{k}" for k in outliers))
    for name, row in info["scores"].items():
        old = stored.get(name)
        same = (
            ""
            if old is None
            else (" (as stored)" if abs(old["mean_refused"] - row["mean_refused"]) < 1e-9 else " (stored differs)")
        )
        cells = "  ".join(f"{row[f'refused:{k}']:>{len(k) + 8}.3f}" for k in outliers)
        print(f"{name:<24}{row['mean_refused']:>13.4f}{row['mean_auroc']:>11.4f}  {cells}{same}")


if __name__ == "__main__":
    main()
