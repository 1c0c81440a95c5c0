"""``idk explain``: the tutorial's figure for one image (each class's sampled log-probabilities, what
the rule reads of each class, its verdict), for an index into the model's test set or any image
:func:`~idk.apps.predict.predict_images` takes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from idk.apps.predict import sample_images, verdict_text
from idk.data.catalog import recorded_test_set
from idk.data.folders import Warn
from idk.data.imaging import Source
from idk.data.preparation import prepare
from idk.data.sources import DataConfig
from idk.decision.memory import check_samples
from idk.decision.rules import Rule
from idk.errors import IdkError
from idk.nn.bnn import Model
from idk.training.checkpoint import Checkpoint


def explain(
    model: Model,
    ckpt: Checkpoint,
    target: int | Source,
    out: str | Path,
    data: DataConfig | None = None,
    samples: int | None = None,
    seed: int = 0,
    warn: Warn | None = None,
) -> str:
    """Draw the tutorial's figure for an index into the model's test set (an int, or its digits),
    an image file, or any other source :func:`~idk.apps.predict.predict_images` takes (bytes, a PIL image, decoded
    pixels); return the answer, and for a test image whether it was right (the tutorial's verdict,
    on the most probable accepted class): ``"7 (correct: labelled 7)"``, ``"either 4 or 9 (most
    probable 9, incorrect: labelled 4)"``. ``warn``: what the figure could not draw (a class name's script)."""
    from idk.evaluation import plots

    rule: Rule = ckpt.decision_rule()
    samples = check_samples(model, samples) or ckpt.rule_config.samples  # None: the model's own
    label, blank = None, False
    is_path = isinstance(target, (str, os.PathLike))
    if (
        isinstance(target, (int, np.integer))
        and not isinstance(target, bool)
        or (isinstance(target, str) and target.isdigit() and not Path(target).exists())
    ):
        test = recorded_test_set(ckpt.data, ckpt.input_spec, data or DataConfig.from_env(), ckpt.classes, warn)
        index = int(target)
        if not 0 <= index < len(test):
            raise IdkError(f"{target}: index out of range (the model's test set {test.name} has {len(test)} images)")
        label = int(test.labels[index])
        image, title = test.pixels(index), f"{test.name} #{index} ({ckpt.classes[label]})"
    else:
        if is_path and not Path(target).exists():
            raise IdkError(f"{target}: no such file, nor an index into the model's test set (a whole number)")
        prepared = prepare(target, ckpt.input_spec, None if is_path else "image")  # errors name a file by its path
        image, title, blank = (
            torch.from_numpy(prepared.pixels),
            Path(target).name if is_path else "image",
            ckpt.is_blank(prepared),
        )
    if blank:  # as predict: no network is asked about a blank page, so there are no class panels
        _save(lambda: _blank_figure(image, title), out, warn)
        return "I don't know"
    log_probs, pred = sample_images(model, image[None], samples, rule.percentile, seed)
    decision = rule.decide(pred)
    accepted = decision.accepted[0].numpy()
    chosen = accepted.nonzero()[0].tolist()
    answer = verdict_text(chosen, ckpt.classes)
    if label is None:
        verdict = answer
    elif not chosen:
        verdict = "Undecided"
    else:
        verdict = "Correct" if int(decision.label[0]) == label else "Incorrect"
    _save(
        lambda: plots.explanation(
            log_probs[:, 0].numpy(),
            image.permute(1, 2, 0).numpy(),
            accepted,
            rule.class_statistic(pred)[0].numpy(),  # what the rule reads
            verdict,
            title=f"{title}: {answer}  ({ckpt.rule_summary()})",
            classes=ckpt.classes,
            stat_name=rule.statistic[1],
        )[0],
        out,
        warn,
    )
    if label is None:
        return answer
    judged = f"most probable {ckpt.classes[int(decision.label[0])]}, " if len(chosen) > 1 else ""
    return f"{answer} ({judged}{verdict.lower()}: labelled {ckpt.classes[label]})"


def _blank_figure(image: torch.Tensor, title: str) -> Any:
    """A blank page's figure: the image and its verdict, no class panels (no network was asked)."""
    from idk.evaluation import plots

    note = "blank: nothing to classify found\n(no network was asked)"
    fig, _ = plots.image_alone(
        image.permute(1, 2, 0).numpy(), "I don't know", title=f"{title}: I don't know", note=note
    )
    return fig


def _save(draw: Callable[[], Any], out: str | Path, warn: Warn | None = None) -> None:
    """Draw the figure (``draw()`` returns it) and write it to ``out``; characters its font lacks
    (drawn as boxes: matplotlib warns of them while laying the figure out, and while saving it) said
    once through ``warn``."""
    from idk.evaluation import plots

    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with plots.missing_glyphs(out, warn):
        fig = draw()
        fig.savefig(out, dpi=110)
    plots.plt.close(fig)
