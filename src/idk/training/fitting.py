"""The training loop: stochastic variational inference for a BNN, maximum likelihood for its twin.

Data stay as tensors; each epoch draws a permutation from a generator seeded by (seed, epoch), so a
resumed run sees exactly the batches an uninterrupted one would. Training runs on the model's
device: the data are copied there once (or, when too large, batch by batch from pinned memory),
and nothing comes back to the host per step but, now and then, the loss for the progress bar.
With several processes (:mod:`idk.training.distributed`) each takes its share of every batch.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyro
import torch
import torch.nn.functional as F
from pyro import poutine
from pyro.infer import Trace_ELBO, TraceMeanField_ELBO
from torch import Tensor

from idk.data.augment import augmentation_for
from idk.data.images import InputSpec, unit
from idk.errors import IdkError
from idk.nn.bnn import BNN, DeterministicNet
from idk.nn.layers import local_reparameterization
from idk.nn.numerics import flush_denormals
from idk.progress import Progress
from idk.training.batches import NAMED_SHARES, class_images, outlier_families, training_outliers
from idk.training.config import TrainConfig
from idk.training.distributed import Replicas, epoch_seed
from idk.training.held_out import HeldOut

SHARD_LOG = "IDK_SHARD_LOG"  # a folder: each process writes the indices it trained on, per epoch (tests)
RESIDENT_BYTES = 2 << 30  # training sets up to this size are copied to an accelerator whole
POSTFIX_EVERY = 25  # steps between progress-bar loss updates (each one waits for the device)
SAID_EPOCHS = 25  # a part's epochs said one line each up to this many; of more, about this many lines

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
        """The guide's, and the network's own point parameters (batch normalisation's; the weights
        are sites of the model, their parameters the guide's)."""
        return list(self.model.guide.parameters()) + list(self.model.net.parameters())

    def __call__(
        self,
        x: Tensor,
        y: Tensor,
        outliers: Tensor | None = None,
        weight: float = 0.0,
        global_batch: int | None = None,
        world: int = 1,
    ) -> Tensor:
        """The loss on x (b, C, H, W), y (b,): with ``world`` W > 1 processes, x is this process's
        share of a global batch of ``global_batch`` B, and its likelihood is scaled by W × (D/B)
        (see :mod:`idk.training.distributed`)."""
        scale = None if world == 1 else world * self.model.likelihood.scale(global_batch or len(x))
        if self.local:
            with local_reparameterization(self.model.net, self.model.guide):
                return self.elbo(x, y, outliers, weight, self.kl_weight, scale)
        return self.elbo(x, y, outliers, weight, self.kl_weight, scale)


class MleObjective:
    """Cross-entropy of the deterministic twin (mean over the batch)."""

    def __init__(self, model: DeterministicNet, cfg: TrainConfig) -> None:
        self.model = model

    def parameters(self) -> list[Tensor]:
        return list(self.model.parameters())

    def __call__(
        self,
        x: Tensor,
        y: Tensor,
        outliers: Tensor | None = None,
        weight: float = 0.0,
        global_batch: int | None = None,
        world: int = 1,
    ) -> Tensor:
        """Cross-entropy, plus λ times the cross-entropy to uniform labels on ``outliers``. With
        ``world`` W > 1, the summed cross-entropy of this share times W/B (its mean over the W
        processes: the global batch's mean)."""
        has_outliers = outliers is not None and len(outliers) > 0
        logits = self.model(torch.cat([x, outliers]) if has_outliers else x)
        if world == 1:
            loss = F.cross_entropy(logits[: len(x)], y)
        else:
            loss = F.cross_entropy(logits[: len(x)], y, reduction="sum") * (world / (global_batch or len(x)))
        if has_outliers:
            loss = loss - weight * torch.log_softmax(logits[len(x) :], -1).mean()
        return loss


@dataclass
class FitState:
    """Everything needed to resume training exactly: epochs done, per-epoch history, optimiser,
    schedule and random-number states (the CPU's, and the CUDA device's when it trained on one)."""

    epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    optimizer: dict[str, Any] | None = None
    scheduler: dict[str, Any] | None = None
    rng: Tensor | None = None
    cuda_rng: Tensor | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "history": self.history,
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "rng": self.rng,
            "cuda_rng": self.cuda_rng,
        }


class TrainingDiverged(IdkError):
    """An epoch's loss is NaN or infinite: the weights are lost, so the epoch is not kept."""


def _per_example(model: BNN | DeterministicNet, total: float, n: int, steps: int) -> float:
    """An epoch's summed step losses as a loss per training example (see :func:`fit`)."""
    if isinstance(model, DeterministicNet):
        return total / steps  # cross-entropy is already a per-example mean
    size = model.likelihood.dataset_size
    return total / (size * steps) if size is not None else total / n


def part_epochs(model: BNN | DeterministicNet, cfg: TrainConfig) -> int:
    """The epochs ``fit`` trains ``model`` for: a Bayesian network ``cfg.epochs``, the deterministic
    twin ``cfg.twin_epochs`` where set."""
    return cfg.epochs if isinstance(model, BNN) else (cfg.twin_epochs or cfg.epochs)


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
    replicas: Replicas | None = None,
    classes: tuple[str, ...] = (),
    held_out: HeldOut | None = None,
    rows: Tensor | None = None,
) -> FitState:
    """Train ``model`` on images (N, C, H, W) of ``spec``'s form and labels (N,) for ``cfg.epochs`` epochs,
    on the model's device (the data may be anywhere). ``replicas``: this process's place among
    data-parallel processes (:mod:`idk.training.distributed`; None: alone).

    The reported epoch loss is per training example: for the tutorial's unscaled likelihood the sum
    of step losses over N (as the tutorial printed it); for a scaled one the mean step loss over N.
    ``on_epoch`` is called after every epoch with the state to checkpoint. ``classes``: the class
    names, for ``cfg.printed`` (:func:`idk.training.batches.printed_share`) and ``cfg.variants``
    (:func:`idk.data.variants.written_variants`): ValueError if either is on for drawn symbols and
    they are missing; names that are not one ASCII letter or digit print nothing, names without a
    written variant have none. ``held_out``: images measured after every epoch
    (:mod:`idk.training.held_out`), their figures in the epoch's line and its history. ``rows``
    (n,): the training images' rows of ``images`` and ``labels`` (None: all of them), read where
    they lie (:class:`DeviceData`): the validation images may share the tensors, no copy made.
    """
    if not isinstance(model, (BNN, DeterministicNet)):
        raise TypeError(f"fit trains one network, not a {type(model).__name__}: fit each of its members")
    for name, does in NAMED_SHARES.items():
        if getattr(cfg, name) > 0 and spec.drawn and not classes:
            raise ValueError(f"{name}={getattr(cfg, name)} {does}: give fit the class names (classes=...), or {name}=0")
    epochs = part_epochs(model, cfg)
    objective = ElboObjective(model, cfg) if isinstance(model, BNN) else MleObjective(model, cfg)
    n = images.shape[0] if rows is None else len(rows)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    optimizer, scheduler = make_optimizer(objective.parameters(), cfg, steps_per_epoch * epochs)
    state = state or FitState()
    if state.optimizer is not None:
        optimizer.load_state_dict(state.optimizer)
        scheduler.load_state_dict(state.scheduler)
    replicas = replicas or Replicas()
    device = model.device
    if state.rng is not None:
        torch.set_rng_state(state.rng)
        if state.cuda_rng is not None and device.type == "cuda":
            torch.cuda.set_rng_state(state.cuda_rng, device)
    else:
        pyro.set_rng_seed(cfg.seed)
    replicas.broadcast_module(model)
    model.train()
    named = class_images(cfg, spec, classes, device)
    # Pyro's argument and support checks cost as much as the step itself on 800k weights: off here.
    with pyro.validation_enabled(False), flush_denormals():
        steps = _Steps(objective, optimizer, scheduler, DeviceData(images, labels, device, rows), named)
        _epochs(model, steps, cfg, spec, state, on_epoch, progress, label, replicas, held_out)
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


class DeviceData:
    """The training images where the steps read them: ``rows`` (n,) of images (M, C, H, W) and
    labels (M,) (None: all M), read in place on a CPU (no copy of the training part); on an
    accelerator, copied there once, a chunk at a time, when they fit in ``RESIDENT_BYTES``; else
    left in host memory, each batch gathered there, pinned and copied over without blocking. Images
    stored as 8-bit levels stay so (a quarter of the bytes held and moved); each batch is read as
    float32 on the device (:func:`~idk.data.images.unit`)."""

    def __init__(self, images: Tensor, labels: Tensor, device: torch.device, rows: Tensor | None = None) -> None:
        self.device, self.rows = device, None if rows is None else rows.cpu()  # rows index host tensors
        self.n = images.shape[0] if rows is None else len(rows)
        size = self.n * math.prod(images.shape[1:]) * images.element_size()
        self.resident = device.type == "cpu" or size <= RESIDENT_BYTES
        if self.resident and device.type != "cpu":
            images, labels, self.rows = gathered(images, rows, device), gathered(labels, rows, device), None
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return self.n

    def order(self, order: Tensor) -> Tensor:
        """An epoch's permutation (N,), where :meth:`batch` wants its indices."""
        return order.to(self.device) if self.resident else order

    def batch(self, idx: Tensor) -> tuple[Tensor, Tensor]:
        """Images (b, C, H, W) and labels (b,) at ``idx`` (from :meth:`order`: positions among the n
        training images), on the device."""
        at = idx if self.rows is None else self.rows[idx]
        x, y = self.images[at], self.labels[at]
        if self.resident:
            return unit(x), y
        pin = self.device.type == "cuda"
        return (
            unit((x.pin_memory() if pin else x).to(self.device, non_blocking=True)),
            (y.pin_memory() if pin else y).to(self.device, non_blocking=True),
        )


GATHER_CHUNK = 4096  # rows copied to an accelerator at once by gathered


def gathered(values: Tensor, rows: Tensor | None, device: torch.device) -> Tensor:
    """``values[rows]`` (all of them where None) on ``device``; rows gathered and copied a chunk at a
    time, so that the host holds no copy of them all on the way."""
    if rows is None:
        return values.to(device)
    out = torch.empty((len(rows), *values.shape[1:]), dtype=values.dtype, device=device)
    for start in range(0, len(rows), GATHER_CHUNK):
        out[start : start + GATHER_CHUNK].copy_(values[rows[start : start + GATHER_CHUNK]])
    return out


def said_epoch(epoch: int, epochs: int, first: bool = False) -> bool:
    """Whether epoch ``epoch`` (1-based) of ``epochs`` gets its own line: every one of up to
    ``SAID_EPOCHS``; of more, every k-th (k = ⌈epochs / SAID_EPOCHS⌉), the last, and a session's
    ``first`` (a small set's 200 epochs a member would fill a screen many times over; the history
    keeps every epoch's figures)."""
    return first or epoch == epochs or epoch % math.ceil(epochs / SAID_EPOCHS) == 0


def _log_shard(seen: list[Tensor], name: str) -> None:
    """Write the training indices this process saw in an epoch to ``$IDK_SHARD_LOG/NAME.txt``."""
    folder = Path(os.environ[SHARD_LOG])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_text(" ".join(map(str, torch.cat(seen).tolist())) + "\n")


@dataclass
class _Steps:
    """What each optimiser step of :func:`_epochs` uses: the loss, the optimiser and its schedule,
    the training data, and what the class names make of a batch (:func:`~idk.training.batches.class_images`)."""

    objective: ElboObjective | MleObjective
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    data: DeviceData
    named: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]


def _epochs(model, steps: _Steps, cfg, spec, state, on_epoch, progress, label, replicas, held_out):
    """The epochs ``fit`` has left of ``part_epochs(model, cfg)``, each one kept in ``state``."""
    epochs = part_epochs(model, cfg)
    started_at = state.epoch  # this session's first epoch, always said
    n = len(steps.data)
    device = model.device
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    augment = augmentation_for(spec, degrade=cfg.degrade, geometric=cfg.augment, flip=cfg.flip)
    families = outlier_families(spec, cfg)  # a bad name fails here, before any step
    weights = dict(cfg.outlier_weights)
    params = steps.objective.parameters()
    for epoch in range(state.epoch, epochs):
        order = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch))
        order = steps.data.order(order)
        if replicas.active:  # each process its own noise, the same on resume (idk.training.distributed)
            torch.manual_seed(epoch_seed(cfg.seed, epoch, replicas.rank))
        total, started = torch.zeros((), device=device), time.perf_counter()
        seen: list[Tensor] | None = [] if os.environ.get(SHARD_LOG) else None
        bar = (  # off a terminal, the epoch's line below is its summary
            progress.bar(total=n, desc=f"{label} epoch {epoch + 1}/{epochs}", unit="img", summary=False)
            if progress
            else None
        )
        for step, start in enumerate(range(0, n, cfg.batch_size)):
            batch = order[start : start + cfg.batch_size]
            share = replicas.share(batch)
            if seen is not None:
                seen.append(share.cpu())
            x, y = steps.data.batch(share)
            x, y = steps.named(x, y)
            x = augment(x)
            outliers = (
                training_outliers(x, y, cfg.outlier_share, families, weights)
                if cfg.outlier_weight > 0 and len(x)
                else None
            )
            loss = steps.objective(x, y, outliers, cfg.outlier_weight, len(batch), replicas.world)
            steps.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            replicas.average_gradients(params)
            steps.optimizer.step()
            steps.scheduler.step()
            total += loss.detach()
            if bar:
                bar.update(len(batch))
                if step % POSTFIX_EVERY == 0:  # the epoch's loss so far, on the scale of its line below
                    so_far = _per_example(model, float(total) * steps_per_epoch / (step + 1), n, steps_per_epoch)
                    bar.set_postfix(loss=f"{so_far:.4f}", refresh=False)
        total = float(replicas.mean(total))
        seconds = time.perf_counter() - started
        if seen is not None:
            _log_shard(seen, f"{label.replace(' ', '-').replace('/', 'of')}-epoch{epoch + 1}-rank{replicas.rank}")
        epoch_loss = _per_example(model, total, n, steps_per_epoch)
        if bar:
            bar.close()
        if not math.isfinite(epoch_loss):  # before this epoch is kept: the last checkpoint stays a finite one
            raise TrainingDiverged(
                f"{label} epoch {epoch + 1}: the loss is {epoch_loss}: training diverged; train again with a smaller "
                f"--lr (it was {cfg.lr:g}) and a new --out"
            )
        figures = held_out.measure(model) if held_out is not None else {}  # after the epoch's seconds
        state.epoch = epoch + 1
        state.history.append(
            {
                "epoch": epoch + 1,
                "loss": epoch_loss,
                "seconds": seconds,
                "images_per_s": n / seconds,
                "processes": replicas.world,  # a resumed run's sessions may differ (idk info says each)
                **figures,
            }
        )
        if progress and said_epoch(epoch + 1, epochs, first=epoch == started_at):
            progress.log(
                f"{label} epoch {epoch + 1}/{epochs}: loss {epoch_loss:.4f}{HeldOut.said(figures)} "
                f"({seconds:.1f} s, {n / seconds:.0f} img/s)"
            )
        state.optimizer, state.scheduler, state.rng = (
            steps.optimizer.state_dict(),
            steps.scheduler.state_dict(),
            torch.get_rng_state(),
        )
        state.cuda_rng = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
        if on_epoch:
            on_epoch(state)
