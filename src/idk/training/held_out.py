"""What training shows of its held-out images after each epoch: accuracy and NLL at the mean weights.

The loss alone says little of whether a model is learning: on a small set of one's own the KL part,
shared out over few images, is most of it, and with outlier exposure most of the rest is a floor the
outliers' term cannot go below. After each epoch :func:`idk.training.fitting.fit` measures a fixed
sample of the validation images (never trained on) with one deterministic pass of the network at
its guide's locations (a Bayesian network's mean weights; the twin's own): no posterior draw, so
no random numbers are used and training goes on exactly as it would without it. The figures are a
progress gauge, not the model's: the rule's accuracy, measured with many posterior draws once
training ends, is the saved line's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from idk.data.images import unit
from idk.decision.predictive import batch_size_for
from idk.nn.bnn import BNN, DeterministicNet

HELD_OUT_IMAGES = 2000  # at most this many validation images measured after each epoch


@dataclass(frozen=True)
class HeldOut:
    """Labelled images (M, C, H, W), labels (M,) that training does not see, and which of them are
    measured: ``chosen`` (N,) indices (None: all). The images are read where they lie, batch by
    batch: no copy of them is made."""

    images: Tensor
    labels: Tensor
    chosen: Tensor | None = None

    @classmethod
    def sample(cls, images: Tensor, labels: Tensor, seed: int, at_most: int = HELD_OUT_IMAGES) -> HeldOut | None:
        """At most ``at_most`` of the images, drawn without replacement by a generator of their own seeded
        by ``seed`` (the global random numbers untouched), in their order; None where there are none."""
        n = len(labels)
        if n == 0:
            return None
        if n <= at_most:
            return cls(images, labels)
        chosen = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:at_most].sort().values
        return cls(images, labels, chosen)

    def __len__(self) -> int:
        return len(self.labels) if self.chosen is None else len(self.chosen)

    def batch(self, start: int, size: int) -> tuple[Tensor, Tensor]:
        """The measured images [start, start + size) (b, C, H, W) float32 and their labels (b,)."""
        if self.chosen is None:
            return unit(self.images[start : start + size]), self.labels[start : start + size]
        at = self.chosen[start : start + size]
        return unit(self.images[at]), self.labels[at]

    @torch.no_grad()
    def measure(self, model: BNN | DeterministicNet) -> dict[str, float]:
        """``{"held_out_accuracy": a, "held_out_nll": l}`` of ``model`` at its mean weights and T = 1
        (:meth:`~idk.nn.bnn.BNN.mean_logits`), none where no image is measured: a = (1/N) Σ 1[argmax_c z_nc = y_n], l = −(1/N) Σ log
        softmax(z_n)[y_n], over the N measured images, in batches the device's activation budget
        holds (:func:`~idk.decision.predictive.batch_size_for` with one draw), in eval mode (batch
        normalisation's running statistics), the mode it was in restored."""
        if not len(self):
            return {}
        was_training = model.training
        model.eval()
        right, nll, size = 0, 0.0, batch_size_for(model, 1)
        try:
            for start in range(0, len(self), size):
                x, y = self.batch(start, size)
                logits = model.mean_logits(x).float()
                y = y.to(logits.device)
                right += int((logits.argmax(-1) == y).sum())
                nll += float(F.cross_entropy(logits, y, reduction="sum"))
        finally:
            model.train(was_training)
        n = len(self)
        return {"held_out_accuracy": right / n, "held_out_nll": nll / n if math.isfinite(nll) else math.inf}

    @staticmethod
    def said(figures: dict[str, float]) -> str:
        """The figures of :meth:`measure` as an epoch's line (and ``idk info --history``) gives them; ""
        where an epoch has none (or, in a damaged file, not numbers)."""
        if not all(isinstance(figures.get(k), (int, float)) for k in ("held_out_accuracy", "held_out_nll")):
            return ""
        return f", held-out accuracy {figures['held_out_accuracy']:.2%} (NLL {figures['held_out_nll']:.4f})"
