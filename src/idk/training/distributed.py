"""Data-parallel training on PyTorch's own engine: one model, W processes (``torchrun``).

``torchrun --nproc-per-node W -m idk train ...`` starts W copies of ``idk train`` with RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT set; :func:`setup` joins them into one process
group (gloo on CPUs, nccl on CUDA GPUs, one GPU per process: ``cuda:LOCAL_RANK``). Without those
variables (a plain ``idk train``) nothing here is used: W = 1.

**Who sees what.** Every process draws the same permutation of the training set for an epoch
(seeded by (seed, epoch), as a single process does) and cuts each global batch G of B examples
(``--batch-size``) into W contiguous shares, process r taking share G_r (:meth:`Replicas.share`).
So the W processes together see exactly the batches one process would, every example once per
epoch, disjoint across processes; a resumed run sees the same shares.

**The objective.** One process minimises, per step, the negative ELBO estimate

    L(G) = β KL(q ‖ p) − (D/B) Σ_{i∈G} log p(y_i | x_i, w),   w ~ q.

Process r computes the same estimate from its share, its likelihood scaled as if the share were
the whole batch (``data_scale`` = D·W/B, :meth:`idk.nn.bnn.BNN.model`):

    L_r = β KL(q ‖ p) − (D·W/B) Σ_{i∈G_r} log p(y_i | x_i, w_r),

and the gradients of all variational parameters are *averaged* (one all-reduce after backward,
:meth:`Replicas.average_gradients`):

    (1/W) Σ_r ∇L_r = ∇ β KL(q ‖ p) − (D/B) Σ_{i∈G} ∇ log p(y_i | x_i, w_{r(i)}),

the gradient of L(G): the likelihood is scaled to the full data set once and the KL counted once
(each process holds all of it; the average keeps it once). It holds for any split, also a ragged
last batch whose shares differ in size or are empty. The deterministic twin does the same with
L_r = (W/B) Σ_{i∈G_r} CE_i, whose average is the batch's mean cross-entropy. The reported loss is
the mean of the W estimates.

**Randomness.** The initial weights are broadcast from rank 0. Each process draws its own weight
noise, augmentation and synthetic outliers: at the start of every epoch its global generators are
seeded from (seed, epoch, rank) (:func:`epoch_seed`), so a killed run resumed with ``--resume``
draws what the uninterrupted one would have.

**Agreement.** Before training, the processes check that they read the same training images
(their fingerprint), drew the same font-rendered outliers and run the same package versions
(:meth:`Replicas.same_everywhere`): on several machines each reads its own files, and a
machine with other data would otherwise train the one model on a mixture.

**Side effects.** Only rank 0 writes checkpoints, logs and progress bars; it fits the decision rule
on the whole validation split while the others wait, then sends them the result.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from idk.errors import IdkError

ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class Replicas:
    """This process's place among the W data-parallel processes (W = 1: training alone)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        """Whether this process writes checkpoints, logs and progress bars (rank 0)."""
        return self.rank == 0

    def share(self, batch: Tensor) -> Tensor:
        """This process's contiguous share of a global batch of indices (m,): shares of ⌊m/W⌋ or
        ⌈m/W⌉, disjoint, together the whole batch in order."""
        m = len(batch)
        return batch[self.rank * m // self.world : (self.rank + 1) * m // self.world]

    def average_gradients(self, params: list[Tensor]) -> None:
        """Replace every parameter's gradient by its mean over the processes: one all-reduce of all
        gradients flattened together (a parameter without a gradient counts as zero)."""
        if not self.active:
            return
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat /= self.world
        offset = 0
        for p, g in zip(params, grads, strict=True):
            p.grad = flat[offset : offset + g.numel()].view_as(g)
            offset += g.numel()

    def mean(self, value: Tensor) -> Tensor:
        """The mean of ``value`` over the processes (itself when alone)."""
        if not self.active:
            return value
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        return value / self.world

    def broadcast_module(self, module: nn.Module) -> None:
        """Make every parameter and buffer of ``module`` rank 0's."""
        if self.active:
            for tensor in [*module.parameters(), *module.buffers()]:
                dist.broadcast(tensor.data, src=0)

    def from_main(self, value: Any) -> Any:
        """Rank 0's ``value`` (any picklable object) in every process; the others wait for it."""
        if not self.active:
            return value
        box = [value if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def same_everywhere(self, what: str, value: Any, hint: str) -> None:
        """Raise :class:`IdkError` in every process unless ``value`` (any picklable object, compared
        with ``==``) is the same in all of them: one all-gather per call, which every process must
        make. ``what`` names it in the message, ``hint`` says what to check (several machines: each
        reads its own files)."""
        if not self.active:
            return
        values: list[Any] = [None] * self.world
        dist.all_gather_object(values, value)
        if differ := [r for r, v in enumerate(values) if v != values[0]]:
            ranks = ", ".join(map(str, differ))
            raise IdkError(
                f"the training processes disagree on their {what}: rank{'s' if len(differ) > 1 else ''} {ranks} "
                f"{'have' if len(differ) > 1 else 'has'} {values[differ[0]]!r}, rank 0 has {values[0]!r}; {hint}"
            )

    def barrier(self) -> None:
        if self.active:
            dist.barrier()


def epoch_seed(seed: int, epoch: int, rank: int) -> int:
    """The seed of process ``rank``'s global generators for ``epoch`` of a data-parallel run."""
    return ((seed * 1_000_003 + epoch) * 10_007 + rank) % (2**63 - 1)


def from_environment() -> Replicas:
    """This process's place from torchrun's variables (none set: alone)."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        raise IdkError("RANK, WORLD_SIZE and LOCAL_RANK must be whole numbers (torchrun sets them)") from None
    if world < 1 or not 0 <= rank < world:
        raise IdkError(f"RANK {rank} is not in 0 … WORLD_SIZE−1 = {world - 1}")
    return Replicas(rank, world, local)


def backend() -> str:
    """The process group's backend ("gloo", "nccl"), or "alone" outside one."""
    return str(dist.get_backend()) if dist.is_available() and dist.is_initialized() else "alone"


def setup(device: torch.device) -> tuple[Replicas, torch.device]:
    """Join the process group torchrun describes (if any) and return this process's place and
    device: ``cuda:LOCAL_RANK`` for a CUDA device (one GPU per process), else ``device``.
    The backend is nccl on CUDA, gloo otherwise."""
    replicas = from_environment()
    if not replicas.active:
        return replicas, device
    if device.type == "cuda":
        if replicas.local_rank >= torch.cuda.device_count():
            raise IdkError(
                f"LOCAL_RANK {replicas.local_rank}: this machine has {torch.cuda.device_count()} CUDA GPU(s); "
                "start at most that many processes per node"
            )
        device = torch.device("cuda", replicas.local_rank)
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        raise IdkError(f"--device {device}: data-parallel training runs on CPUs (gloo) or CUDA GPUs (nccl)")
    if not dist.is_initialized():
        missing = [v for v in ENV if v not in os.environ]
        if missing:
            raise IdkError(f"WORLD_SIZE is {replicas.world} but {', '.join(missing)} is not set: start with torchrun")
        backend = "nccl" if device.type == "cuda" else "gloo"
        kwargs = {"device_id": device} if device.type == "cuda" else {}
        dist.init_process_group(backend, rank=replicas.rank, world_size=replicas.world, **kwargs)
    return replicas, device


def teardown(replicas: Replicas) -> None:
    """Leave the process group (after the last collective call)."""
    if replicas.active and dist.is_initialized():
        dist.destroy_process_group()
