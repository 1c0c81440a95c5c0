"""``idk predict`` and ``idk explain``: the model's answer on a user's own images."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from idk.data.imaging import list_images, load_for_mnist
from idk.data.sources import DataConfig, mnist
from idk.decision.predictive import Predictions
from idk.decision.rules import Rule, make_rule
from idk.errors import IdkError, ImageError
from idk.nn.bnn import BNN, DeterministicNet


@dataclass
class FileResult:
    """One file's answer (``error`` set, everything else empty, when the file could not be read)."""

    file: str
    verdict: str | None
    label: int | None
    accepted: list[int]
    probabilities: dict[str, list[float]] | None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def verdict_text(accepted: list[int], classes: tuple[str, ...] = tuple("0123456789")) -> str:
    """ "7", "I don't know", "either 4 or 9", "one of 1, 4 or 7"."""
    names = [classes[i] for i in accepted]
    if not names:
        return "I don't know"
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"either {names[0]} or {names[1]}"
    return f"one of {', '.join(names[:-1])} or {names[-1]}"


def sample_images(
    model: BNN | DeterministicNet, images: torch.Tensor, samples: int, percentile: float, seed: int = 0
) -> tuple[torch.Tensor, Predictions]:
    """Sampled log-probabilities (S, N, C) and their summaries for a few images."""
    generator = torch.Generator().manual_seed(seed)
    logits = model.sample_logits(images, samples, generator=generator)
    return torch.log_softmax(logits, -1), Predictions.from_logits(logits, percentile)


def predict_files(
    model: BNN | DeterministicNet,
    ckpt: dict[str, Any],
    paths: list[str],
    samples: int | None = None,
    seed: int = 0,
) -> list[FileResult]:
    """Answer every image among ``paths`` (files, folders, globs); unreadable files get an error."""
    sources: list[tuple[str, Path | ImageError]] = []
    for raw in paths:
        try:
            sources += [(str(f), f) for f in list_images([raw])]
        except ImageError as err:
            sources.append((raw, err))
    return predict_images(model, ckpt, sources, samples, seed)


def predict_images(
    model: BNN | DeterministicNet,
    ckpt: dict[str, Any],
    sources: list[tuple[str, str | Path | bytes | ImageError]],
    samples: int | None = None,
    seed: int = 0,
) -> list[FileResult]:
    """Answer named images, each a path or the file's bytes (an :class:`ImageError` in place of one
    is reported as that image's error): all readable ones in one batched pass."""
    rule = make_rule(ckpt["rule"])
    classes = tuple(ckpt.get("classes", "0123456789"))
    samples = samples or ckpt.get("rule_config", {}).get("samples", 100)
    results: list[FileResult] = []
    ready: list[tuple[int, np.ndarray]] = []
    for name, source in sources:
        try:
            if isinstance(source, ImageError):
                raise source
            prepared = load_for_mnist(source)
        except ImageError as err:
            results.append(FileResult(name, None, None, [], None, str(err)))
            continue
        if prepared.blank:
            results.append(FileResult(name, "I don't know", None, [], None, None))
            continue
        results.append(FileResult(name, None, None, [], None))
        ready.append((len(results) - 1, prepared.pixels))
    if ready:
        images = torch.from_numpy(np.stack([p for _, p in ready]))
        _, pred = sample_images(model, images, samples, rule.percentile, seed)
        decision = rule.decide(pred)
        for row, (i, _) in enumerate(ready):
            accepted = decision.accepted[row].nonzero().flatten().tolist()
            results[i].accepted = accepted
            results[i].verdict = verdict_text(accepted, classes)
            results[i].label = int(decision.label[row]) if accepted else None
            results[i].probabilities = {
                "mean": [round(float(v), 4) for v in pred.mean_probs[row]],
                f"p{rule.percentile:g}": [round(float(v), 4) for v in pred.quantile_probs[row]],
            }
    return results


def format_results(results: list[FileResult], percentile: float) -> str:
    lines = []
    for r in results:
        if r.error:
            lines.append(f"{r.file}: error: {r.error}")
            continue
        line = f"{r.file}: {r.verdict}"
        if r.probabilities is None:
            line += "  (blank image: no strokes found)"
        else:
            probs = r.probabilities[f"p{percentile:g}"]
            top = sorted(range(len(probs)), key=lambda c: -probs[c])[:3]
            line += "  [" + ", ".join(f"{c}: {probs[c]:.2f}" for c in top) + f"]  (p{percentile:g} probability)"
        lines.append(line)
    return "\n".join(lines)


def explain(
    model: BNN | DeterministicNet,
    ckpt: dict[str, Any],
    target: str,
    out: str | Path,
    data: DataConfig | None = None,
    samples: int | None = None,
    seed: int = 0,
) -> str:
    """Draw the tutorial's figure for an MNIST test index or an image file; return the verdict."""
    from idk.evaluation import plots

    rule: Rule = make_rule(ckpt["rule"])
    samples = samples or ckpt.get("rule_config", {}).get("samples", 100)
    label = None
    if target.isdigit() and not Path(target).exists():
        test = mnist("test", data or DataConfig.from_env())
        index = int(target)
        if index >= len(test):
            raise IdkError(f"{target}: index out of range (the MNIST test set has {len(test)} images)")
        image, label, title = (
            test.images[index],
            int(test.labels[index]),
            f"MNIST test #{index} (label {int(test.labels[index])})",
        )
    else:
        prepared = load_for_mnist(target)
        image, title = torch.from_numpy(prepared.pixels), Path(target).name
    log_probs, pred = sample_images(model, image[None], samples, rule.percentile, seed)
    decision = rule.decide(pred)
    accepted = decision.accepted[0].numpy()
    chosen = accepted.nonzero()[0].tolist()
    if label is None:
        verdict = verdict_text(chosen)
    elif not chosen:
        verdict = "Undecided"
    else:
        verdict = "Correct" if int(decision.label[0]) == label else "Incorrect"
    fig, _ = plots.explanation(
        log_probs[:, 0].numpy(),
        image.numpy(),
        accepted,
        pred.quantile_probs[0].numpy(),
        verdict,
        title=f"{title}: {verdict_text(chosen)}  (p{rule.percentile:g} > {rule.threshold:.3g})",
    )
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    return verdict
