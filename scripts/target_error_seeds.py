"""Do the default model's numbers, and ``--target-error``'s promise, hold across seeds?

Trains the default model (without its twin) once per seed, calibrated for an error rate among
accepted images of at most E with confidence C on its validation split, and measures on the MNIST
test set the error among accepted images. The same model is then calibrated to refuse a share of
its validation digits (``--refusal``; the default's 2%, on the same validation predictions) and its
main figures are measured:
forced accuracy, NLL, test refusal and accuracy on accepted, notMNIST-10k AUROC and refusal,
Fashion-MNIST AUROC, uniform noise refused, and on the shifted digits and non-digit symbols that
``idk evaluate`` reports (built from MNIST test, :mod:`idk.data.shifted`): each set's share
answered and accuracy on answered, and the share refused of the symbols, printed and drawn.
Nothing measured here feeds back into any choice.

Usage: python scripts/target_error_seeds.py [--target 0.005] [--confidence 0.95] [--refusal 0.02] [--seeds 0 1 2]
       [--val-size N] [--out DIR] [--measure-only]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import torch

from idk.data import DataConfig, load, mnist
from idk.data.shifted import shifted_sets, unfamiliar_sets
from idk.decision.predictive import predict
from idk.evaluation import metrics
from idk.evaluation.evaluate import INTERVAL_LEVEL, accepted_metrics
from idk.evaluation.report import interval_text
from idk.nn.numerics import set_flush_denormals
from idk.training import checkpoint
from idk.training.config import get_preset
from idk.training.recalibration import training_split
from idk.training.rule_fitting import calibrate, calibration_predictions
from idk.training.train import TrainOptions, train

DEFAULT_REFUSAL = get_preset("cnn").rule.target_refusal  # the default model's target


def accepted_error(decision, labels) -> tuple[float, float]:
    """(coverage, error among accepted)."""
    ok = ~decision.refused
    error = float((decision.label[ok] != labels[ok]).double().mean()) if ok.any() else 0.0
    return float(ok.double().mean()), error


def main() -> None:
    set_flush_denormals(True)  # before torch starts its worker threads (idk.nn.numerics)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=0.005)
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--refusal", type=float, default=DEFAULT_REFUSAL, help="the calibration's target refusal")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="runs/target-error")
    parser.add_argument("--epochs", type=int, help="shorter runs (quick checks of this script)")
    parser.add_argument("--train-subset", type=int, help="train on the first N images only (quick checks)")
    parser.add_argument("--val-size", type=int, help="training images held out for the rule (default: the preset's)")
    parser.add_argument(
        "--measure-only", action="store_true", help="measure OUT/seedN.pt, trained before by this script (no training)"
    )
    args = parser.parse_args()
    data = DataConfig.from_env()
    test = mnist("test", data)
    letters = load("notmnist-10k", data, test.spec)
    fashion = load("fashion-mnist", data, test.spec)
    noise = torch.rand(1000, *test.spec.shape, generator=torch.Generator().manual_seed(0))
    shifted = shifted_sets(test, test.spec, 1000, seed=0)  # as idk evaluate builds them
    symbols = {k: s.images for k, s in unfamiliar_sets(test.classes, test.spec, 1000, seed=0).items()}  # as evaluate
    rows = []
    for seed in args.seeds:
        path = Path(args.out) / f"seed{seed}.pt"
        opts = TrainOptions(
            seed=seed,
            twin=False,
            target_error=args.target,
            confidence=args.confidence,
            epochs=args.epochs,
            train_subset=args.train_subset,
            val_size=args.val_size,
        )
        if not args.measure_only:
            train(path, "cnn", data, opts, overwrite=True)
        model, ckpt = checkpoint.load(path)
        samples, rule = ckpt.rule_config.samples, ckpt.decision_rule()
        pred = predict(model, test.images, samples, rule.percentile, seed=seed)
        coverage, error = accepted_error(rule.decide(pred), test.labels)
        # the same model, calibrated instead to refuse a share of the same validation images
        held = training_split(ckpt, data)[2]  # the images training set its threshold on
        refusal_cfg = replace(ckpt.rule_config, target_refusal=args.refusal, target_error=None)
        val_pred = calibration_predictions(model, held.images, ckpt.rule_config, seed)
        by_refusal, _ = calibrate(rule, val_pred, held.labels, refusal_cfg)
        decision = by_refusal.decide(pred)
        test_coverage = accepted_error(decision, test.labels)[0]
        on_accepted = accepted_metrics(decision.label, test.labels, ~decision.refused)
        letters_pred = predict(model, letters.images, samples, rule.percentile, seed=seed)
        u_in, u_out = by_refusal.refusal_score(pred), by_refusal.refusal_score(letters_pred)
        decide = by_refusal.decide
        shifted_rows = {}
        for name, images in shifted.items():
            shifted_pred = predict(model, images.images, samples, rule.percentile, seed=seed)
            answered = ~decide(shifted_pred).refused
            right = shifted_pred.mean_probs.argmax(-1) == images.labels
            shifted_rows[name] = (float(answered.double().mean()), float(right[answered].double().mean()))
        fashion_pred = predict(model, fashion.images, samples, rule.percentile, seed=seed)
        rows.append(
            {
                "shifted": shifted_rows,
                "symbols_refused": {
                    name: float(
                        decide(predict(model, images, samples, rule.percentile, seed=seed)).refused.double().mean()
                    )
                    for name, images in symbols.items()
                },
                "noise_refused": float(
                    decide(predict(model, noise, samples, rule.percentile, seed=seed)).refused.double().mean()
                ),
                "fashion_auroc": metrics.auroc(u_in, by_refusal.refusal_score(fashion_pred)),
                "seed": seed,
                "bound": ckpt.rule["calibration"]["bound"],
                "val_coverage": ckpt.rule["calibration"]["validation_coverage"],
                "coverage": coverage,
                "error": error,
                "accuracy": metrics.accuracy(pred.mean_probs.argmax(-1), test.labels),
                "nll": metrics.nll(pred.mean_probs, test.labels),
                "refused": 1 - test_coverage,
                **on_accepted,
                "letters_auroc": metrics.auroc(u_in, u_out),
                "letters_refused": float(by_refusal.decide(letters_pred).refused.double().mean()),
            }
        )
    print(f"--target-error {args.target:g} --confidence {args.confidence:g}: error among accepted MNIST test images")
    print(
        f"{'seed':>4} {'bound (val)':>12} {'coverage (val)':>15} {'coverage (test)':>16} {'error (test)':>13} {'held':>5}"
    )
    for r in rows:
        held_ = "yes" if r["error"] <= args.target else "no"
        print(
            f"{r['seed']:>4} {r['bound']:>12.4f} {r['val_coverage']:>15.4f} {r['coverage']:>16.4f} {r['error']:>13.4f} {held_:>5}"
        )
    default = " (the default)" if args.refusal == DEFAULT_REFUSAL else ""
    print(f"\nthe same models calibrated to refuse {args.refusal:g} of validation digits{default}")
    print(
        f"{'seed':>4} {'accuracy':>9} {'NLL':>7} {'refused':>8} {'acc. on accepted':>17} {f'its {INTERVAL_LEVEL:.0%} interval':>17} "
        f"{'wrong':>6} {'notMNIST-10k AUROC':>19} {'refused':>8}"
    )
    for r in rows:
        print(
            f"{r['seed']:>4} {r['accuracy']:>9.2%} {r['nll']:>7.4f} {r['refused']:>8.2%} {r['accepted_accuracy']:>17.2%} "
            f"{interval_text(r['accepted_accuracy_interval']) + '%':>17} {r['accepted_wrong']:>6} "
            f"{r['letters_auroc']:>19.4f} {r['letters_refused']:>8.2%}"
        )

    print(
        f"\n{'seed':>4} {'noise refused':>14} {'Fashion AUROC':>14} "
        + " ".join(f"{n + ' refused':>22}" for n in symbols)
    )
    for r in rows:
        cells = " ".join(f"{r['symbols_refused'][n]:>22.1%}" for n in symbols)
        print(f"{r['seed']:>4} {r['noise_refused']:>14.1%} {r['fashion_auroc']:>14.4f} {cells}")
    names = list(rows[0]["shifted"]) if rows else []
    print("\nshifted digits: % answered / % accuracy on answered")
    print(f"{'seed':>4} " + " ".join(f"{n:>12}" for n in names))
    for r in rows:
        cells = [f"{100 * a:.1f}/{100 * acc:.1f}" for a, acc in (r["shifted"][n] for n in names)]
        print(f"{r['seed']:>4} " + " ".join(f"{c:>12}" for c in cells))


if __name__ == "__main__":
    main()
