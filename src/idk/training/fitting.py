"""The training loop: stochastic variational inference for a BNN, maximum likelihood for its twin.

Data stay as tensors; each epoch draws a permutation from a generator seeded by (seed, epoch), so a
resumed run sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyro
import torch
import torch.nn.functional as F
from pyro import poutine
from pyro.infer import Trace_ELBO, TraceMeanField_ELBO
from torch import Tensor

from idk.data.augment import Augmentation, augmentation_for
from idk.data.images import InputSpec
from idk.data.synthetic import Family, families_for, synthetic_outliers
from idk.nn.bnn import BNN, DeterministicNet
from idk.nn.layers import local_reparameterization
from idk.nn.numerics import flush_denormals
from idk.progress import Progress
from idk.training.config import TrainConfig

ELBOS = {"trace": Trace_ELBO, "meanfield": TraceMeanField_ELBO}


class ElboObjective:
    """Negative ELBO of a :class:`BNN` (one posterior sample per step), as a differentiable loss."""

    def __init__(self, model: BNN, cfg: TrainConfig) -> None:
        if cfg.elbo not in ELBOS:
            raise ValueError(f"unknown elbo {cfg.elbo!r}; valid: {', '.join(ELBOS)}")
        if not cfg.kl_weight > 0:
            raise ValueError(f"kl_weight must be > 0, got {cfg.kl_weight}")
        self.model, self.local, self.kl_weight = model, cfg.local_reparam, cfg.kl_weight
        # β scales the KL: the model scales its weight sites, the guide all of its sites alike
        guide = model.guide if cfg.kl_weight == 1 else poutine.scale(model.guide, scale=cfg.kl_weight)
        self.elbo = ELBOS[cfg.elbo]()(model.model, guide)  # an ELBOModule

    def parameters(self) -> list[Tensor]:
        return list(self.model.guide.parameters())

    def __call__(self, x: Tensor, y: Tensor, outliers: Tensor | None = None, weight: float = 0.0) -> Tensor:
        if self.local:
            with local_reparameterization(self.model.net, self.model.guide):
                return self.elbo(x, y, outliers, weight, self.kl_weight)
        return self.elbo(x, y, outliers, weight, self.kl_weight)


class MleObjective:
    """Cross-entropy of the deterministic twin (mean over the batch)."""

    def __init__(self, model: DeterministicNet, cfg: TrainConfig) -> None:
        self.model = model

    def parameters(self) -> list[Tensor]:
        return list(self.model.parameters())

    def __call__(self, x: Tensor, y: Tensor, outliers: Tensor | None = None, weight: float = 0.0) -> Tensor:
        """Cross-entropy, plus λ times the cross-entropy to uniform labels on ``outliers``."""
        if outliers is None or not len(outliers):
            return F.cross_entropy(self.model(x), y)
        logits = self.model(torch.cat([x, outliers]))
        return F.cross_entropy(logits[: len(x)], y) - weight * torch.log_softmax(logits[len(x) :], -1).mean()


@dataclass
class FitState:
    """Everything needed to resume training exactly: epochs done, per-epoch history, optimiser,
    schedule and random-number states."""

    epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    optimizer: dict[str, Any] | None = None
    scheduler: dict[str, Any] | None = None
    rng: Tensor | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "history": self.history,
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "rng": self.rng,
        }


def training_outliers(images: Tensor, labels: Tensor, share: float, families: dict[str, Family]) -> Tensor:
    """A fresh batch of synthetic outliers (``share`` × batch), every family in equal parts,
    drawn from the global generator (resumable)."""
    n = max(len(families), round(share * len(images)))
    parts = synthetic_outliers(images, labels, -(-n // len(families)), None, families)
    return torch.cat(list(parts.values()))[:n]


def _per_example(model: BNN | DeterministicNet, total: float, n: int, steps: int) -> float:
    """An epoch's summed step losses as a loss per training example (see :func:`fit`)."""
    if isinstance(model, DeterministicNet):
        return total / steps  # cross-entropy is already a per-example mean
    size = model.likelihood.dataset_size
    return total / (size * steps) if size is not None else total / n


def fit(
    model: BNN | DeterministicNet,
    images: Tensor,
    labels: Tensor,
    cfg: TrainConfig,
    *,
    spec: InputSpec,
    state: FitState | None = None,
    on_epoch: Callable[[FitState], None] | None = None,
    progress: Progress | None = None,
    label: str = "train",
) -> FitState:
    """Train ``model`` on images (N, C, H, W) of ``spec``'s form and labels (N,) for ``cfg.epochs`` epochs.

    The reported epoch loss is per training example: for the tutorial's unscaled likelihood the sum
    of step losses over N (as the tutorial printed it); for a scaled one the mean step loss over N.
    ``on_epoch`` is called after every epoch with the state to checkpoint.
    """
    epochs = cfg.epochs if isinstance(model, BNN) else (cfg.twin_epochs or cfg.epochs)
    objective = ElboObjective(model, cfg) if isinstance(model, BNN) else MleObjective(model, cfg)
    n = images.shape[0]
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    optimizer, scheduler = make_optimizer(objective.parameters(), cfg, steps_per_epoch * epochs)
    state = state or FitState()
    if state.optimizer is not None:
        optimizer.load_state_dict(state.optimizer)
        scheduler.load_state_dict(state.scheduler)
    if state.rng is not None:
        torch.set_rng_state(state.rng)
    else:
        pyro.set_rng_seed(cfg.seed)
    model.train()
    # Pyro's argument and support checks cost as much as the step itself on 800k weights: off here.
    with pyro.validation_enabled(False), flush_denormals():
        _epochs(
            model, objective, optimizer, scheduler, images, labels, cfg, spec, epochs, state, on_epoch, progress, label
        )
    model.eval()
    return state


def make_optimizer(params: list[Tensor], cfg: TrainConfig, total_steps: int):
    """Adam (fused where the build has it) and the per-step learning-rate schedule."""
    try:
        optimizer = torch.optim.Adam(params, lr=cfg.lr, fused=True)
    except (RuntimeError, TypeError):
        optimizer = torch.optim.Adam(params, lr=cfg.lr)
    if cfg.schedule == "cosine":
        factor = lambda k: 0.5 * (1 + math.cos(math.pi * min(k, total_steps) / total_steps))  # noqa: E731
    elif cfg.schedule == "constant":
        factor = lambda k: 1.0  # noqa: E731
    else:
        raise ValueError(f"unknown schedule {cfg.schedule!r}; valid: constant, cosine")
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _epochs(
    model, objective, optimizer, scheduler, images, labels, cfg, spec, epochs, state, on_epoch, progress, label
):
    n = images.shape[0]
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    augment = augmentation_for(spec) if cfg.augment else Augmentation()
    families = families_for(spec)[0]
    for epoch in range(state.epoch, epochs):
        order = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch))
        total, started = 0.0, time.perf_counter()
        bar = progress.bar(total=n, desc=f"{label} epoch {epoch + 1}/{epochs}", unit="img") if progress else None
        for start in range(0, n, cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            x = augment(images[idx])
            outliers = (
                training_outliers(x, labels[idx], cfg.outlier_share, families) if cfg.outlier_weight > 0 else None
            )
            loss = objective(x, labels[idx], outliers, cfg.outlier_weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item()
            if bar:
                bar.update(len(idx))
                bar.set_postfix(loss=f"{loss.item():.4g}", refresh=False)
        seconds = time.perf_counter() - started
        epoch_loss = _per_example(model, total, n, steps_per_epoch)
        if bar:
            bar.close()
        state.epoch = epoch + 1
        state.history.append({"epoch": epoch + 1, "loss": epoch_loss, "seconds": seconds, "images_per_s": n / seconds})
        if progress:
            progress.log(
                f"{label} epoch {epoch + 1}/{epochs}: loss {epoch_loss:.4f} ({seconds:.1f} s, {n / seconds:.0f} img/s)"
            )
        state.optimizer, state.scheduler, state.rng = (
            optimizer.state_dict(),
            scheduler.state_dict(),
            torch.get_rng_state(),
        )
        if on_epoch:
            on_epoch(state)
