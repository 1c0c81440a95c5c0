"""Would a feature-space distance refuse the non-digit symbols? Measured on validation data only.

Fits class-conditional Gaussians with one shared covariance (Lee et al., 2018, "A simple unified
framework for detecting out-of-distribution samples") to the features of the training split —
either the penultimate layer of the posterior-mean network or the convolutional features (the
input of the first dense layer) — and scores an image by its smallest squared Mahalanobis
distance to a class mean, d(x) = min_c (f(x) − μ_c)ᵀ Σ⁻¹ (f(x) − μ_c). Then refuses when either
the expected entropy or d(x) exceeds its threshold, with a share of the 2% refusal budget on the
calibration half of the validation split given to d (0: expected entropy alone), and measures the
shifted sets and the unfamiliar sets exactly as scripts/shift_diagnosis.py does (tuning half, seed 1).
No test set and no real out-of-distribution set is touched.

Usage: python scripts/feature_distance_probe.py runs/default.pt
"""

from __future__ import annotations

import argparse

import torch
from shift_diagnosis import TARGET
from torch import Tensor

from idk.data import DataConfig
from idk.data.images import unit
from idk.data.shifted import shifted_sets, symbol_set
from idk.data.synthetic import families_for, synthetic_outliers
from idk.decision.calibration import threshold_for_refusal
from idk.decision.predictive import predict
from idk.decision.scores import make_score
from idk.nn.layers import BayesianLayer
from idk.nn.numerics import set_flush_denormals
from idk.training import checkpoint
from idk.training.recalibration import training_split

SHARES = (0.0, 0.005, 0.01, 0.02)  # of the calibration images refused by the distance alone


def mean_network_features(model, x: Tensor, upto: int, batch: int = 2000) -> Tensor:
    """Activations (N, D) of the posterior-mean network entering layer ``upto``."""
    out = []
    with torch.no_grad():
        for s in range(0, len(x), batch):
            h = unit(x[s : s + batch])
            for layer in list(model.net)[:upto]:
                if isinstance(layer, BayesianLayer):
                    w_site, b_site = layer.site_names()
                    h = layer.forward_point(h, model.guide.loc_scale(w_site)[0], model.guide.loc_scale(b_site)[0])
                else:
                    h = layer(h)
            out.append(h.flatten(1))
    return torch.cat(out)


class ClassGaussians:
    """d(x) = min_c (f − μ_c)ᵀ Σ⁻¹ (f − μ_c), μ_c the class means and Σ the pooled covariance."""

    def __init__(self, features: Tensor, labels: Tensor) -> None:
        classes = int(labels.max()) + 1
        self.means = torch.stack([features[labels == c].mean(0) for c in range(classes)])
        centred = (features - self.means[labels]).double()
        cov = centred.T @ centred / len(features)
        cov += 1e-6 * cov.diagonal().mean() * torch.eye(len(cov), dtype=cov.dtype)
        self.precision = torch.linalg.inv(cov).float()

    def __call__(self, features: Tensor) -> Tensor:
        d = features[:, None, :] - self.means[None]
        return torch.einsum("ncd,de,nce->nc", d, self.precision, d).min(-1).values


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--n", type=int, default=1000)
    args = p.parse_args()
    set_flush_denormals(True)
    ckpt = checkpoint.read(args.model)
    model = ckpt.build()
    if ckpt.model_config.members > 1:
        raise SystemExit(
            f"{args.model}: a mixture of {ckpt.model_config.members} posteriors; this probe reads one network's "
            "features (train one with --members 1)"
        )
    train, tune, calib = training_split(ckpt, DataConfig.from_env())  # the images training used (--train-subset too)
    spec = ckpt.input_spec
    shifted = shifted_sets(tune, spec, args.n, seed=1)
    trained, held_out = families_for(spec)
    unfamiliar = {"symbols": symbol_set(ckpt.classes, spec, args.n, seed=1).images}
    unfamiliar.update(
        synthetic_outliers(
            tune.images, tune.labels, args.n, 11, {"uniform-noise": trained["uniform-noise"], **held_out}
        )
    )
    score = make_score("expected-entropy")

    def run(images: Tensor):
        return predict(model, images, 100, 50.0, seed=3)

    u_calib = score(run(calib.images))
    sets = {name: (s.images, s.labels, run(s.images)) for name, s in shifted.items()}
    sets.update({name: (x, None, run(x)) for name, x in unfamiliar.items()})
    layers = list(model.net)
    last = max(i for i, layer in enumerate(layers) if isinstance(layer, BayesianLayer))
    first_dense = min(i for i, layer in enumerate(layers) if type(layer).__name__ == "BayesianLinear")
    print(
        f"{args.model}: refusing {TARGET:.0%} of {len(calib)} calibration images; shifted sets: % answered / "
        "% accuracy on answered; unfamiliar sets: % refused"
    )
    for where, upto in (("penultimate", last), ("convolutional", first_dense)):
        gauss = ClassGaussians(mean_network_features(model, train.images, upto), train.labels)
        d_calib = gauss(mean_network_features(model, calib.images, upto))
        distances = {name: gauss(mean_network_features(model, x, upto)) for name, (x, _, _) in sets.items()}
        print(f"{where} features ({gauss.means.shape[1]} dimensions)")
        for share in SHARES:
            tau_d = threshold_for_refusal(d_calib, share) if share else float("inf")
            lo, hi = 0.0, TARGET  # the entropy's own share, so that the union refuses TARGET
            for _ in range(30):
                mid = (lo + hi) / 2
                either = (u_calib > threshold_for_refusal(u_calib, mid)) | (d_calib > tau_d)
                lo, hi = (mid, hi) if float(either.double().mean()) < TARGET else (lo, mid)
            tau_u = threshold_for_refusal(u_calib, lo)
            cells = []
            for name, (_, labels, pred) in sets.items():
                refused = (score(pred) > tau_u) | (distances[name] > tau_d)
                if labels is None:
                    cells.append(f"{name} {100 * float(refused.double().mean()):.1f}%")
                    continue
                ok = ~refused
                right = pred.mean_probs.argmax(-1)[ok] == labels[ok]
                cells.append(f"{name} {100 * float(ok.double().mean()):.1f}/{100 * float(right.double().mean()):.1f}")
            print(f"  distance's share {share:.3f}: " + ", ".join(cells), flush=True)


if __name__ == "__main__":
    main()
