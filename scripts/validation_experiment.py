"""Train a variant of the default model (no twin) and measure it on validation data only.

How the default preset's choices were made (docs/experiments.md): every number printed here comes
from the training split's held-out validation images and from synthetic outliers made from them;
neither a test set nor any real out-of-distribution set is touched. The default is a mixture of
posteriors since 2026-12-03: two, then three (chosen by the run m13-members3 in docs/experiments.md;
every run before it trained two, and those before the mixture one); ``'{"model": {"members": 1}}'``
trains one, at a third of the time, ``'{"model": {"members": 2}}'`` two.

With ``--all-scores`` every score is measured too, each at the threshold refusing 2% of the
calibration images (a fitted score's scales fitted on the tuning images, with this script's own
posterior draws).

Usage: python scripts/validation_experiment.py NAME '{"train": {...}, "net": {...}, "model": {...}}' [--data SET] [--measure-only] [--all-scores] [--device DEV]
e.g.   python scripts/validation_experiment.py wide '{"train": {"kl_weight": 0.1}, "net": {"channels": [32, 64]}}'
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace

import torch

from idk.data import DataConfig
from idk.data.shifted import applies, shifted_sets, symbol_set, unfamiliar_sets
from idk.data.synthetic import families_for, synthetic_outliers
from idk.decision.calibration import threshold_for_refusal
from idk.decision.predictive import predict
from idk.decision.scores import SCORES, make_score
from idk.devices import resolve_device
from idk.evaluation import metrics
from idk.nn.numerics import set_flush_denormals
from idk.training import checkpoint
from idk.training.config import PRESETS, get_preset
from idk.training.recalibration import training_split
from idk.training.train import TrainOptions, train

ALL_SCORES_REFUSAL = 0.02


def _tuples(value):
    """JSON lists as tuples, nested ones too (``[["glyphs", 3]]`` → ``(("glyphs", 3),)``)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def variant(name: str, spec: dict) -> None:
    """Register preset ``name``: the default with ``spec``'s overrides, without the twin."""
    base = get_preset("cnn")
    net = replace(base.model.net, **{k: _tuples(v) for k, v in spec.get("net", {}).items()})
    model = replace(base.model, net=net, **spec.get("model", {}))
    train = {k: _tuples(v) for k, v in spec.get("train", {}).items()}
    PRESETS[name] = replace(base, name=name, model=model, train=replace(base.train, twin=False, **train))


def main(argv: list[str] | None = None) -> None:
    """Train and measure one variant; ``argv`` the command line's arguments (default ``sys.argv[1:]``),
    so that a script that first changes a module setting (``flag_ranges.py``, ``training_fonts.py``)
    runs the same experiment."""
    set_flush_denormals(True)  # before torch starts its worker threads (idk.nn.numerics)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("spec", nargs="?", default="{}", help="JSON overrides of the default preset")
    parser.add_argument("--out", default="runs/experiments")
    parser.add_argument("--data", default="mnist", help="the training set (a name or a path)")
    parser.add_argument(
        "--measure-only", action="store_true", help="measure OUT/NAME.pt, trained before (SPEC is then not used)"
    )
    parser.add_argument("--all-scores", action="store_true", help="also measure every score at 2%% refusal")
    parser.add_argument("--device", default="auto", help="where to train and measure (idk's --device)")
    args = parser.parse_args(argv)
    variant(args.name, json.loads(args.spec))
    data = DataConfig.from_env()
    path = f"{args.out}/{args.name}.pt"
    started = time.time()
    if not args.measure_only:
        train(path, args.name, data, TrainOptions(data=args.data), device=args.device, overwrite=True)
    seconds = time.time() - started
    model, ckpt = checkpoint.load(path, resolve_device(args.device))
    if ckpt.data.data not in (args.data, os.path.abspath(args.data)):
        raise SystemExit(f"{path} was trained on {ckpt.data.data}, not {args.data}")
    rule = ckpt.decision_rule()
    _, tune, held = training_split(ckpt, data)  # the images training held out to set thresholds (--train-subset too)
    spec = ckpt.input_spec
    pred = predict(model, held.images, 100, rule.percentile, seed=1)
    decision = rule.decide(pred)
    ok = ~decision.refused
    accuracy = float((pred.mean_probs.argmax(-1) == held.labels).double().mean())
    nll = float(-torch.log(pred.mean_probs.gather(1, held.labels[:, None]).clamp_min(1e-12)).mean())
    u_in = rule.refusal_score(pred)
    outliers = {}
    trained, held_out = families_for(spec)
    sets = synthetic_outliers(held.images, held.labels, 1000, 4242, {**trained, **held_out})
    if not spec.drawn:  # printed characters, degraded as scans and pens degrade them (never trained on)
        sets["symbols"] = symbol_set(ckpt.classes, spec, 1000, seed=4242).images
        sets["figures"] = symbol_set(ckpt.classes, spec, 1000, seed=4242, chars="0123456789", name="figures").images
    preds = {family: predict(model, images, 100, rule.percentile, seed=2) for family, images in sets.items()}
    for family, p in preds.items():
        outliers[family] = (float(rule.decide(p).refused.double().mean()), metrics.auroc(u_in, rule.refusal_score(p)))
    temperature = (ckpt.temperature or {}).get("value", 1.0)
    timing = "measured only" if args.measure_only else f"train {seconds:.0f}s"
    print(f"RESULT {args.name} on {args.data}: {timing} temperature {temperature:.3f} score {ckpt.rule['score']}")
    print(
        f"  validation ({len(held)}): accuracy {accuracy:.4f} nll {nll:.4f} "
        f"refused {float(decision.refused.double().mean()):.4f} "
        f"accepted accuracy {float((decision.label[ok] == held.labels[ok]).double().mean()):.4f}"
    )
    print("  synthetic refused/AUROC: " + ", ".join(f"{k} {r:.3f}/{a:.4f}" for k, (r, a) in outliers.items()))
    if applies(spec):  # other pens, scanners, fonts and hands (seed 1: validation's, as shift_diagnosis.py)
        shifted = shifted_sets(tune, spec, 1000, seed=1)
        cells = []
        for name, s in shifted.items():
            d = rule.decide(predict(model, s.images, 100, rule.percentile, seed=3))
            answered = ~d.refused
            right = float((d.label[answered] == s.labels[answered]).double().mean())
            cells.append(f"{name} {float(answered.double().mean()):.3f}/{right:.4f}")
        print("  shifted answered/accuracy on answered: " + ", ".join(cells))
        refused = {
            k: float(rule.decide(predict(model, s.images, 100, rule.percentile, seed=3)).refused.double().mean())
            for k, s in unfamiliar_sets(ckpt.classes, spec, 1000, seed=1).items()
        }
        print("  non-classes refused: " + ", ".join(f"{k} {v:.3f}" for k, v in refused.items()))
    if args.all_scores:
        tuning = predict(model, tune.images, 100, rule.percentile, seed=1)
        for name in SCORES:
            score = make_score(name).fitted(tuning)
            u = score(pred)
            tau = threshold_for_refusal(u, ALL_SCORES_REFUSAL)
            outside = {k: score(p) for k, p in preds.items()}
            cells = [
                f"{k} {float((v > tau).double().mean()):.3f}/{metrics.auroc(u, v):.4f}" for k, v in outside.items()
            ]
            right = (pred.mean_probs.argmax(-1) == held.labels)[u <= tau]
            print(f"  {name}: validation accuracy on accepted {float(right.double().mean()):.4f}; " + ", ".join(cells))


if __name__ == "__main__":
    main()
