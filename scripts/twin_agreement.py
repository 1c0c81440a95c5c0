"""Would refusing where the deterministic twin disagrees catch the digits answered wrongly?

Every default checkpoint carries a deterministic twin (the same CNN trained by maximum likelihood),
a second model at no extra training. The rule probed here answers only where the twin's class
(argmax of its softmax) is the Bayesian model's,

    answer  iff  u(x) ≤ τ'  and  argmax p_twin(x) = argmax p̄(x),

with τ' set anew so that 2% of the calibration images are refused in all (the twin's disagreements
first), against the one threshold τ of each score alone. Measured on the calibration images only
(the predictions training set the model's threshold on); no test set is touched.

Usage: python scripts/twin_agreement.py runs/default.pt [more.pt ...]
"""

from __future__ import annotations

import argparse

import torch

from idk.data import DataConfig
from idk.decision.calibration import threshold_for_refusal
from idk.decision.predictive import predict
from idk.decision.scores import make_score
from idk.nn.numerics import set_flush_denormals
from idk.training import checkpoint
from idk.training.recalibration import training_split
from idk.training.rule_fitting import calibration_predictions

TARGET = 0.02
SCORES = ("max-prob", "entropy", "expected-entropy")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+")
    args = p.parse_args()
    set_flush_denormals(True)
    data = DataConfig.from_env()
    for path in args.models:
        ckpt = checkpoint.read(path)
        if not ckpt.has_twin:
            raise SystemExit(f"{path}: has no deterministic twin")
        model = ckpt.build()
        _, tune, calib = training_split(ckpt, data)
        base = calibration_predictions(model, calib.images, ckpt.rule_config, ckpt.train_config.seed)
        label = base.mean_probs.argmax(-1)
        right = label == calib.labels
        twin = predict(ckpt.build(twin=True), calib.images, 1, 50.0, seed=0).mean_probs.argmax(-1)
        agree = twin == label
        print(
            f"{path}: {len(calib)} calibration images, {int((~right).sum())} answered wrongly when forced; "
            f"the twin answers another class on {int((~agree).sum())}, {int((~agree & ~right).sum())} of them wrong"
        )
        tuning = predict(model, tune.images, ckpt.rule_config.samples, 50.0, seed=3)
        print(f"{'score':<20}{'alone: refused, wrong':>24}{'+ twin agrees: refused, wrong':>32}")
        for name in SCORES:
            u = make_score(name).fitted(tuning)(base).double()
            ok = u <= threshold_for_refusal(u, TARGET)
            both = torch.where(agree, u, torch.full_like(u, float("inf")))
            ok2 = both <= threshold_for_refusal(both, TARGET)
            cells = [
                f"{100 * float((~o).double().mean()):.2f}%, {int((o & ~right).sum()):>3}".rjust(w)
                for o, w in ((ok, 24), (ok2, 32))
            ]
            print(f"{name:<20}" + "".join(cells))


if __name__ == "__main__":
    main()
