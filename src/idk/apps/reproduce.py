"""``idk reproduce``: train the tutorial's model, evaluate it, and set its published figures beside ours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from idk.data.catalog import REPORT_NAMES
from idk.data.named import mnist, noise, notmnist_459
from idk.data.sources import DataConfig
from idk.devices import resolve_device
from idk.errors import IdkError
from idk.evaluation.evaluate import EvalSettings, evaluate
from idk.evaluation.report import pct, write_json
from idk.progress import Progress
from idk.training.config import to_dict
from idk.training.train import TrainOptions, train

MNIST_TEST = REPORT_NAMES["mnist"]  # the report's name of MNIST's test set, as idk evaluate's
# The tutorial's published figures (../shared/docs/seed.md): (report path, label, value).
PUBLISHED = (
    ((MNIST_TEST, "forced_accuracy"), "forced accuracy, MNIST test (10,000)", 0.89),
    ((MNIST_TEST, "refused"), "MNIST test, refused", 0.125),
    ((MNIST_TEST, "accepted_accuracy"), "MNIST test, accuracy on accepted", 0.96),
    (("noise", "refused"), "white noise (100), refused", 0.95),
    (("notmnist-459", "refused"), "notMNIST-459, refused", 363 / 459),
    (("notmnist-459-transposed", "refused"), "notMNIST-459 as the notebook loaded it, refused", 363 / 459),
)
PUBLISHED_LOSSES = (2104, 381, 161, 112, 96)
TUTORIAL_NOISE = 100  # the tutorial's torch.rand(100, 28, 28)


def reproduce(
    seed: int = 0,
    data: DataConfig | None = None,
    out: str | Path | None = None,
    json_path: str | Path | None = None,
    progress: Progress | None = None,
    epochs: int | None = None,
    train_subset: int | None = None,
    device: torch.device | str | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Train the ``tutorial`` preset with ``seed``, evaluate it on the tutorial's sets, return the report.

    ``epochs`` and ``train_subset`` shorten the run (for tests); the published comparison needs neither.
    ``device``: where to train and evaluate (None: ``auto``). ``out``: the checkpoint (default
    ``runs/tutorial-seedN.pt``, made anew each time); a file already at a given ``out`` is replaced
    only with ``overwrite``.
    """
    data = data or DataConfig.from_env()
    device = resolve_device(device)
    overwrite = overwrite or out is None  # the default file is the reproduction's own
    out = Path(out or f"runs/tutorial-seed{seed}.pt")
    if out.exists() and not overwrite:  # (train's own refusal would offer --resume, which reproduce has not)
        raise IdkError(f"{out}: exists; --overwrite replaces it, or give another --out")
    ckpt = train(
        out,
        "tutorial",
        data,
        TrainOptions(data="mnist", seed=seed, epochs=epochs, train_subset=train_subset),
        progress=progress,
        device=device,
        overwrite=overwrite,
    )
    model = ckpt.build(path=str(out), device=device)
    rule = ckpt.decision_rule()
    sets = {
        MNIST_TEST: mnist("test", data),
        "noise": noise("noise", TUTORIAL_NOISE, ckpt.input_spec, seed),
        "notmnist-459": notmnist_459(data),
        "notmnist-459-transposed": notmnist_459(data, transpose=True),
    }
    rc = ckpt.rule_config
    settings = EvalSettings(rc.samples, rc.forced_samples, rc.forced_average, ood_score=rule.score, seed=seed)
    datasets, _ = evaluate(model, rule, sets, settings, progress)
    report = {
        "model": {"preset": "tutorial", "kind": ckpt.kind, **to_dict(ckpt.model_config)},
        "samples": settings.samples,
        "rule": ckpt.rule,
        "datasets": datasets,
        "training": {"history": ckpt.history, "published_losses": list(PUBLISHED_LOSSES)},
        "seed": seed,
        "changed": {"epochs": epochs, "train_subset": train_subset} if epochs or train_subset else None,
        "published": {".".join(path): value for path, _, value in PUBLISHED},
    }
    if json_path:
        write_json(report, json_path)
    return report


def format_reproduction(report: dict[str, Any]) -> str:
    """The tutorial's published table beside ours, row by row."""
    width = 52
    lines = [f"Reproduction of the tutorial (seed {report['seed']}), {report['samples']} samples, median > 0.2"]
    if short := report.get("changed"):  # not comparable with the published figures
        given = [f"{v} epoch{'s' * (v != 1)}" for v in [short["epochs"]] if v] + [
            f"{v} training images" for v in [short["train_subset"]] if v
        ]
        lines.append(f"CHANGED to {' and '.join(given)}: not the tutorial's run, not comparable with its figures")
    lines += [
        "",
        f"{'experiment':<{width}}{'published':>12}{'idk':>12}",
        "-" * (width + 24),
    ]
    for (name, key), label, value in PUBLISHED:
        ours = report["datasets"].get(name, {}).get(key)
        lines.append(f"{label:<{width}}{pct(value):>12}{pct(ours):>12}")
    lines += ["", f"{'training loss per epoch':<{width}}{'published':>12}{'idk':>12}", "-" * (width + 24)]
    for i, entry in enumerate(report["training"]["history"]):
        pub = f"{PUBLISHED_LOSSES[i]}" if i < len(PUBLISHED_LOSSES) else "–"
        lines.append(f"{'epoch ' + str(i + 1):<{width}}{pub:>12}{entry['loss']:>12.1f}")
    total = sum(e["seconds"] for e in report["training"]["history"])
    lines.append(f"{'training time':<{width}}{'':>12}{total:>11.1f}s")
    return "\n".join(lines)
