"""How do models trained on splits of other sizes compare on the images none of them trained on?

Each model's training held out its validation images; a named set's split takes the last
``val_size`` of one fixed order (:func:`idk.training.splits.split_train_val`), so a smaller
validation split lies inside a larger one. On the calibration images (the validation images less
those that tuned the temperature and chose the score) common to every model given, each model's
forced accuracy, NLL and ECE, and — by its own rule's score — the images answered wrongly among
the (1 − r) most certain of them (r = ``--refusal``, the same share for each model, the threshold
set on these images themselves: how well the score ranks its errors, not a calibrated rule). No
test set is touched. Images are matched by their pixels (a duplicate image counts as the same).

Usage: python scripts/common_held_out.py runs/v50k/seed0.pt runs/v55k/seed0-ee.pt [--refusal 0.02]
"""

from __future__ import annotations

import argparse

import torch

from idk.data import DataConfig
from idk.evaluation import metrics
from idk.nn.numerics import set_flush_denormals
from idk.training import checkpoint
from idk.training.config import get_preset
from idk.training.recalibration import training_split
from idk.training.rule_fitting import calibration_predictions

DEFAULT_REFUSAL = get_preset("cnn").rule.target_refusal


def held_out(path: str, data: DataConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The images (N, C, H, W) and labels (N,) a model's rule was calibrated on (held out, not tuning)."""
    held = training_split(checkpoint.read(path), data, path)[2]  # the record only: no model built
    return held.pixels(), held.labels


def main() -> None:
    set_flush_denormals(True)  # before torch starts its worker threads (idk.nn.numerics)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+")
    p.add_argument("--refusal", type=float, default=DEFAULT_REFUSAL, help="share of the common images refused")
    args = p.parse_args()
    data = DataConfig.from_env()
    splits = [held_out(path, data) for path in args.models]
    keys = [{img.numpy().tobytes() for img in images} for images, _ in splits]
    common = set.intersection(*keys)
    images, labels = splits[0]
    keep = torch.tensor([img.numpy().tobytes() in common for img in images])
    images, labels = images[keep], labels[keep]
    if not len(labels):
        p.error("the models share no calibration image (other data, or another image size)")
    print(
        f"{len(labels)} images calibrated on by all {len(args.models)} models; {100 * args.refusal:g}% of them refused"
    )
    print(
        f"{'model':<34} {'calibrated on':>13} {'score':>17} {'accuracy':>9} {'NLL':>7} {'ECE':>6} {'wrong answered':>15}"
    )
    for path, (own, _) in zip(args.models, splits, strict=True):
        model, ckpt = checkpoint.load(path)
        rule = ckpt.decision_rule()
        pred = calibration_predictions(model, images, ckpt.rule_config, ckpt.train_config.seed)
        label = pred.mean_probs.argmax(-1)
        u = rule.refusal_score(pred)
        answered = torch.argsort(u.double(), stable=True)[: len(u) - int(args.refusal * len(u) + 1e-9)]
        wrong = int((label[answered] != labels[answered]).sum())
        score = ckpt.rule.get("score", ckpt.rule_config.score)  # the score "auto" chose
        print(
            f"{path:<34} {len(own):>13} {score:>17} {metrics.accuracy(label, labels):>9.2%} "
            f"{metrics.nll(pred.mean_probs, labels):>7.4f} {metrics.ece(pred.mean_probs, labels):>6.2%} {wrong:>15}"
        )


if __name__ == "__main__":
    main()
