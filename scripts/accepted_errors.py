"""Which digits does a model answer wrongly, and do people read them as the model does?

For each checkpoint: its decision on the MNIST test set (or, with ``--set validation``, on the
8,000 calibration images training held out) by its own rule, or with ``--refusal R`` by its rule
recalibrated to refuse a share R of those calibration images (as ``scripts/target_error_seeds.py``
recalibrates the seeds); the images it answers and gets wrong by the data set's label; and, on the
test set, which of them are among the 15 MNIST test images whose label people judged wrong (*)
(Northcutt, Athalye and Mueller, 2021, "Pervasive label errors in test sets destabilize ML
benchmarks": of five Mechanical Turk workers shown the image with its given label and the label a
model guessed, fewer than three chose the given label; github.com/cleanlab/label-errors,
``mturk/mnist_mturk.json``), and which among the 8 where two of the five did not choose it (~). The accuracy on answered test images is given against the data set's
labels and without those 15 images. An analysis of a trained model: nothing here feeds back into a
choice.

Usage: python scripts/accepted_errors.py runs/default.pt [more.pt ...] [--refusal 0.02]
       [--set test|validation] [--figure docs/accepted-errors.png]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace

import matplotlib
import torch
from torch import Tensor

from idk.data import DataConfig, mnist
from idk.data.images import ImageSet
from idk.decision.predictive import predict
from idk.nn.numerics import set_flush_denormals
from idk.training import checkpoint
from idk.training.recalibration import training_split
from idk.training.rule_fitting import calibrate, calibration_predictions

# MNIST test index: (given label, [given, guessed, neither] votes of five workers) for the images
# whose label fewer than three of five chose (cleanlab/label-errors, mturk/mnist_mturk.json).
LABEL_ERRORS: dict[int, tuple[int, tuple[int, int, int]]] = {
    947: (8, (0, 5, 0)),
    1621: (0, (2, 3, 0)),
    1901: (9, (2, 3, 0)),
    2130: (4, (2, 2, 1)),
    2462: (2, (0, 4, 1)),
    2597: (5, (0, 4, 1)),
    2654: (6, (0, 2, 3)),
    3520: (6, (2, 0, 3)),
    3558: (5, (1, 4, 0)),
    5937: (5, (1, 3, 1)),
    6651: (0, (0, 5, 0)),
    6783: (1, (2, 3, 0)),
    8527: (4, (2, 2, 1)),
    9679: (6, (2, 0, 3)),
    9729: (5, (2, 3, 0)),
}
# Those where three of five chose the given label and two did not (people split; kept in every figure).
SPLIT: dict[int, tuple[int, tuple[int, int, int]]] = {
    1232: (9, (3, 2, 0)),
    1393: (5, (3, 0, 2)),
    2035: (5, (3, 2, 0)),
    3422: (6, (3, 2, 0)),
    4201: (1, (3, 2, 0)),
    4823: (9, (3, 2, 0)),
    4956: (8, (3, 0, 2)),
    9664: (2, (3, 2, 0)),
}


@dataclass
class AnsweredWrongly:
    """One model's answers: refused (N,) bool, label (N,) int64, top probability (N,), the indices it
    answers wrongly, and its accuracy on answered images with and without ``excluded`` indices."""

    refused: Tensor
    label: Tensor
    top: Tensor
    wrong: list[int]
    accuracy: float
    accuracy_without_excluded: float
    excluded_answered: int


def answered_wrongly(refused: Tensor, label: Tensor, top: Tensor, truth: Tensor, excluded: set[int]) -> AnsweredWrongly:
    """The summary of a model's decisions (see :class:`AnsweredWrongly`)."""
    answered = ~refused
    wrong = answered & (label != truth)
    keep = torch.ones_like(answered)
    keep[list(excluded)] = False
    rest = answered & keep
    return AnsweredWrongly(
        refused,
        label,
        top,
        wrong.nonzero().flatten().tolist(),
        1 - float(wrong.sum()) / float(answered.sum()),
        1 - float((wrong & keep).sum()) / float(rest.sum()),
        int((answered & ~keep).sum()),
    )


def decide(path: str, test: ImageSet | None, refusal: float | None, data: DataConfig):
    """(the images, and the checkpoint's refused, label and top probability on them) for the ``test``
    images, or for the calibration images when ``test`` is None."""
    model, ckpt = checkpoint.load(path)
    seed = ckpt.train_config.seed
    rule, samples = ckpt.decision_rule(), ckpt.rule_config.samples
    held = training_split(ckpt, data)[2]
    # the predictions training set the threshold on (its seed), and those recalibration sets it on
    val_pred = calibration_predictions(model, held.images, ckpt.rule_config, seed)
    if refusal is not None:  # as scripts/target_error_seeds.py recalibrates its seeds
        cfg = replace(ckpt.rule_config, target_refusal=refusal, target_error=None)
        rule = calibrate(rule, val_pred, held.labels, cfg)[0]
    if test is None:
        images, pred = held, val_pred
    else:  # idk evaluate's seed (0); the seeds script's (the training seed) when recalibrated
        images = test
        pred = predict(model, images.images, samples, rule.percentile, seed=seed if refusal is not None else 0)
    decision = rule.decide(pred)
    return images, decision.refused, decision.label, pred.mean_probs.max(-1).values


def draw(images: Tensor, rows: list[tuple[int, int, list[int], str]], ax_grid=None):
    """The images answered wrongly: (index, label, answers of the models that answered it wrongly,
    a mark: "*", "~" or ""), one panel each; returns (fig, axes)."""
    import matplotlib.pyplot as plt

    cols = 8
    n_rows = max(1, -(-len(rows) // cols))
    if ax_grid is None:
        fig, ax_grid = plt.subplots(n_rows, cols, figsize=(1.5 * cols, 1.75 * n_rows), squeeze=False)
    else:
        fig = ax_grid.flat[0].figure
    for ax in ax_grid.flat:
        ax.set_axis_off()
    for ax, (index, label, answers, mark) in zip(ax_grid.flat, rows, strict=False):
        ax.imshow(images[index].permute(1, 2, 0).squeeze(-1), cmap="gray", vmin=0, vmax=1)
        answer = "/".join(str(a) for a in sorted(set(answers)))
        ax.set_title(f"#{index} {mark}\nlabel {label}, said {answer}", fontsize=8)
    fig.tight_layout()
    return fig, ax_grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--refusal", type=float, help="recalibrate each rule to refuse this share of validation images")
    parser.add_argument("--set", choices=("test", "validation"), default="test")
    parser.add_argument("--figure", help="draw the images answered wrongly into this PNG")
    args = parser.parse_args()
    set_flush_denormals(True)
    data = DataConfig.from_env()
    excluded = set(LABEL_ERRORS) if args.set == "test" else set()
    results = []
    test = mnist("test", data) if args.set == "test" else None
    first = None
    for path in args.models:
        images, refused, label, top = decide(path, test, args.refusal, data)
        first = images if first is None else first
        if not torch.equal(images.images, first.images):
            raise SystemExit(f"{path}: holds out other validation images than {args.models[0]}")
        truth = images.labels
        results.append(answered_wrongly(refused, label, top, truth, excluded))
    print(
        f"MNIST {args.set} images ({len(truth)}); * = label judged wrong by people, ~ = people split "
        "(Northcutt et al., 2021)"
    )
    head = f"{'model':<32}{'refused':>8}{'answered wrongly':>17}{'of them *':>10}{'~':>4}{'acc. on answered':>17}"
    print(head + (f"{'without the 15 *':>17}" if excluded else ""))
    for path, r in zip(args.models, results, strict=True):
        line = f"{path:<32}{100 * float(r.refused.double().mean()):>7.2f}%{len(r.wrong):>17}"
        split = sum(i in SPLIT for i in r.wrong) if excluded else 0
        line += f"{sum(i in excluded for i in r.wrong):>10}{split:>4}{100 * r.accuracy:>16.2f}%"
        print(line + (f"{100 * r.accuracy_without_excluded:>16.2f}%" if excluded else ""))
    union = sorted({i for r in results for i in r.wrong})
    print(f"\n{'index':>6}{'label':>6}  answers (top probability) of each model; - = right, R = refused")
    for i in union:
        cells = []
        for r in results:
            if r.refused[i]:
                cells.append("R")
            else:
                cells.append("-" if r.label[i] == truth[i] else f"{int(r.label[i])} ({float(r.top[i]):.2f})")
        listed = LABEL_ERRORS if i in LABEL_ERRORS else SPLIT if i in SPLIT else None
        mark = "*" if i in LABEL_ERRORS else "~"
        note = f"  {mark} votes given/other/neither {listed[i][1]}" if excluded and listed else ""
        print(f"{i:>6}{int(truth[i]):>6}  " + "  ".join(f"{c:>9}" for c in cells) + note)
    if excluded:
        refused = [sum(bool(r.refused[i]) for i in excluded) for r in results]
        print(f"\nof the 15 *, refused by each model: {', '.join(map(str, refused))}")
    if args.figure:
        matplotlib.use("Agg")
        marks = {**dict.fromkeys(SPLIT, "~"), **dict.fromkeys(LABEL_ERRORS, "*")} if excluded else {}
        rows = [(i, int(truth[i]), [int(r.label[i]) for r in results if i in r.wrong], marks.get(i, "")) for i in union]
        fig, _ = draw(images.pixels(), rows)
        fig.savefig(args.figure, dpi=100)
        print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
