"""Run the score choice of ``score="auto"`` again on a trained checkpoint, with today's candidates.

Training chose its score among the scores of its day, on its tuning images and synthetic outliers
(:func:`idk.training.rule_fitting.choose_score`). This script makes the same predictions with the
same seeds and prints every candidate's row, beside the choice the checkpoint stored: whether a
score with no fitted constants added since would now be chosen, and whether the stored rows are
made again to the digit. Each row shows the bootstrapped standard error of its difference from the
most refusing score's mean refusal; "=" marks the scores that count as equal to it. With
``--seeds``, the errors again with other resampling seeds: the one used (half the central 68% of
the resampled differences) beside the plain standard deviation, to see which is steady. Validation
data and synthetic outliers only.

Usage: python scripts/score_selection.py runs/default.pt [--seeds 1 2 3]
"""

from __future__ import annotations

import argparse

from idk.data import DataConfig
from idk.decision.predictive import predict
from idk.decision.scores import make_score
from idk.nn.numerics import set_flush_denormals
from idk.training import checkpoint
from idk.training.recalibration import training_split
from idk.training.rule_fitting import (
    SELECTION_BOOTSTRAP,
    central_half_width,
    resampled_differences,
    select_score,
    selection_outliers,
    selection_target,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--seeds", type=int, nargs="*", default=[], help="other resampling seeds to show")
    args = parser.parse_args()
    set_flush_denormals(True)
    model, ckpt = checkpoint.load(args.model)  # at the temperature training fitted
    cfg, seed = ckpt.rule_config, ckpt.train_config.seed
    if cfg.score != "auto":
        raise SystemExit(f"{args.model}: its rule's score was set ({cfg.score}), not chosen")
    _, tune, _ = training_split(ckpt, DataConfig.from_env())
    tune_pred = predict(model, tune.images, cfg.samples, cfg.percentile, seed=seed + 7)  # as fit_rules
    outlier_pred = selection_outliers(model, tune, ckpt.input_spec, cfg, seed)
    chosen, info = select_score(model, tune, tune_pred, ckpt.input_spec, cfg, seed, outliers=outlier_pred)
    first_row = next(iter(info["scores"].values()))
    outliers = [key.removeprefix("refused:") for key in first_row if key.startswith("refused:")]  # the sets' names
    stored = (ckpt.score_selection or {}).get("scores", {})
    print(f"{args.model}: chosen now {chosen}; stored {(ckpt.score_selection or {}).get('chosen')}")
    print(f"  now: {info['criterion']}")
    print(f"  stored: {(ckpt.score_selection or {}).get('criterion')}")
    errors = info["standard_errors"]  # of each score's difference from the most refusing
    print(
        f"{'score':<24}{'mean refused':>13}{'± diff.':>8}{'mean AUROC':>11}  "
        + "  ".join(f"refused:{k}" for k in outliers)
    )
    for name, row in info["scores"].items():
        old = stored.get(name)
        same = (
            ""
            if old is None
            else (" (as stored)" if abs(old["mean_refused"] - row["mean_refused"]) < 1e-9 else " (stored differs)")
        )
        cells = "  ".join(f"{row[f'refused:{k}']:>{len(k) + 8}.3f}" for k in outliers)
        mark = "=" if name in info["equal"] else " "
        print(
            f"{mark}{name:<23}{row['mean_refused']:>13.4f}{errors[name]:>8.4f}{row['mean_auroc']:>11.4f}  {cells}{same}"
        )

    leader = max(info["scores"], key=lambda n: info["scores"][n]["mean_refused"])
    u_val = {name: make_score(name)(tune_pred) for name in info["scores"]}
    u_out = {name: {k: make_score(name)(pred) for k, pred in outlier_pred.items()} for name in info["scores"]}
    for other in args.seeds:
        d = resampled_differences(u_val, u_out, selection_target(cfg), leader, SELECTION_BOOTSTRAP, other)
        cells = "  ".join(
            f"{name} {central_half_width(x):.4f}/{float(x.std()):.4f}" for name, x in d.items() if name != leader
        )
        print(f"  resampling seed {other} (error used / standard deviation): {cells}")


if __name__ == "__main__":
    main()
