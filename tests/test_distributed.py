"""Data-parallel training (idk.training.distributed): real torchrun runs of 2 gloo processes on the
loopback interface, one thread each, against a single process doing the same total work."""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from idk.training import checkpoint as ckpt_io
from idk.training.distributed import Replicas

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]
# Training: 4,000 MNIST images (3,200 trained on, 800 validation), 2 epochs of batches of 128 (ragged
# shares: tests/distributed_worker.py), a narrow CNN, a mixture of two posteriors, 10 posterior samples for the rule; ≈ 90% accurate.
TRAIN_ARGS = [
    "train",
    "--train-subset",
    "4000",
    "--epochs",
    "2",
    "--schedule",
    "constant",
    "--lr",
    "0.01",
    "--no-augment",
    "--no-twin",
    "--channels",
    "4",
    "8",
    "--dense",
    "32",
    "--members",
    "2",
    "--samples",
    "10",
    "--device",
    "cpu",
    "--threads",
    "1",
    "-q",
]
HELD_OUT = 2000  # MNIST test images on which the two runs' accuracies are compared
# Two runs of the same total work differ only in their random numbers (weight noise and synthetic
# outliers: each process draws its own). Single-process runs of this size with seeds 0–3 scored
# 89.4–91.8% on these 2,000 images (standard deviation ≈ 1 point, so ≈ 1.4 for a difference of two
# runs): 4 points is outside that noise yet catches an error of scaling (a likelihood counted twice
# or half as much, a KL counted W times) or of sharding. Both runs are seeded and single-threaded,
# so the outcome does not change from one test run to the next.
ACCURACY_TOLERANCE = 0.04


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo", **extra}


def _torchrun(args: list[str], env: dict[str, str], timeout: int = 240) -> subprocess.CompletedProcess:
    cmd = [*TORCHRUN, "--nproc-per-node", "2", "--master-addr", "127.0.0.1", "--master-port", str(_free_port())]
    return subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@pytest.mark.parametrize("world", [1, 2, 3, 4, 7])
def test_shares_are_disjoint_and_cover_every_batch(world):
    for m in (0, 1, 3, 7, 128, 129):
        batch = torch.randperm(1000)[:m]
        shares = [Replicas(r, world).share(batch) for r in range(world)]
        assert torch.equal(torch.cat(shares), batch)  # in order, disjoint, nothing left out
        assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_data_term_and_gradients_of_two_processes_equal_one(tmp_path):
    """2 gloo processes, each on its share of one ragged batch (6 and 7 examples) with the scale
    W·D/B, averaged: the same data term and gradients as one process on the whole batch with D/B,
    for the same weights (float64; equal to rounding). Then a value that differs by rank is refused."""
    out = tmp_path / "result.json"
    run = _torchrun([str(ROOT / "tests" / "distributed_worker.py"), str(out)], _env(), timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    r = json.loads(out.read_text())
    parallel, single = r["term"]
    assert parallel == pytest.approx(single, rel=1e-12, abs=0)
    assert r["grad_max_abs_diff"] <= 1e-12 * r["grad_max_abs"]
    # processes that read other data are stopped, each rank's value named
    said = "the training processes disagree on their data: rank 1 has '1001 images', rank 0 has '1000 images'; "
    assert r["disagreement"] == said + "check the files"
    assert (tmp_path / "result.json.rank1").read_text() == r["disagreement"]  # raised in both processes


def test_training_compares_what_each_process_read(monkeypatch, tmp_path, data_cfg):
    """train() asks the processes to agree on their package versions (first: another Pillow may
    decode the same files otherwise), their training data and their font-rendered outliers."""
    from idk.training import distributed
    from idk.training.train import TrainOptions, train

    asked = []
    monkeypatch.setattr(distributed.Replicas, "same_everywhere", lambda self, what, value, hint: asked.append(what))
    opts = TrainOptions(train_subset=300, epochs=1, samples=4, channels=(4, 8), dense=8, twin=False, members=1)
    train(tmp_path / "m.pt", None, data_cfg, opts)
    assert asked == ["package versions", "training data", "font-rendered training images"]


def test_empty_share_gives_the_kl_alone():
    """A process whose share of a last batch is empty still contributes the KL (and a gradient)."""
    import pyro

    from idk.data.named import NAMED
    from idk.nn.bnn import build_model, with_data
    from idk.training.config import get_preset
    from idk.training.fitting import ElboObjective

    mnist = NAMED["mnist"]
    preset = get_preset("tutorial")
    model = build_model(with_data(preset.model, mnist.spec.shape, 10), 100)
    with pyro.validation_enabled(False):
        loss = ElboObjective(model, preset.train)(
            torch.zeros(0, 1, 28, 28), torch.zeros(0, dtype=torch.long), None, 0.0, 3, 4
        )
        loss.backward()
    assert torch.isfinite(loss) and loss > 0  # −ELBO with no data: KL(q ‖ p) > 0
    assert all(p.grad is not None for p in model.guide.parameters())


def _shards(folder: Path, member: str, epoch: int) -> list[list[int]]:
    """The training indices each process saw in an epoch of the default mixture's ``member`` ("1of2")."""
    return [list(map(int, (folder / f"bayes-{member}-epoch{epoch}-rank{r}.txt").read_text().split())) for r in range(2)]


def _held_out_accuracy(path: Path, mnist_test) -> float:
    from idk.decision.predictive import predict

    model, _ = ckpt_io.load(path)
    pred = predict(model, mnist_test.images[:HELD_OUT], 10)
    return float((pred.mean_probs.argmax(-1) == mnist_test.labels[:HELD_OUT]).double().mean())


def test_torchrun_two_processes_train_one_model_and_resume(tmp_path, data_dir, mnist_test):
    """``torchrun --nproc-per-node 2 -m idk train``: epoch 1, then ``--resume`` to epoch 2, against
    one process training the same 2 epochs."""
    shards = tmp_path / "shards"
    env = _env(IDK_DATA_DIR=str(data_dir), IDK_SHARD_LOG=str(shards))
    out = tmp_path / "parallel" / "model.pt"
    args = ["-m", "idk", *TRAIN_ARGS, "--out", str(out)]
    first = _torchrun([*args, "--epochs", "1"], env)  # the last --epochs wins
    assert first.returncode == 0, first.stderr[-3000:]
    assert f"saved {out} (trained by 2 processes): " in first.stdout  # said once, by rank 0
    assert len(ckpt_io.read(out).history) == 1 and ckpt_io.read(out).processes == 2
    resumed = _torchrun([*args, "--resume"], env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    # one valid checkpoint, nothing else written beside it
    assert sorted(p.name for p in out.parent.iterdir()) == ["model.pt"]
    ckpt = ckpt_io.read(out)
    assert ckpt.finished and ckpt.calibrated and [h["epoch"] for h in ckpt.history] == [1, 2]
    assert [h["processes"] for _, part in ckpt.part_histories() for h in part] == [2] * 4  # 2 members, 2 epochs each
    assert ckpt.kind == "BNNMixture" and ckpt.training_state["model.1"]["epoch"] == 2  # both members
    n = ckpt.dataset_size
    # each epoch: the two processes' shards are disjoint and together every training image once
    for member, epoch in itertools.product(("1of2", "2of2"), (1, 2)):
        rank0, rank1 = _shards(shards, member, epoch)
        assert not set(rank0) & set(rank1)
        assert sorted(rank0 + rank1) == list(range(n))
        assert abs(len(rank0) - len(rank1)) <= 1 + n // 128  # at most one more per batch

    single = tmp_path / "single" / "model.pt"
    run = subprocess.run(
        [sys.executable, "-m", "idk", *TRAIN_ARGS, "--out", str(single)],
        env=_env(IDK_DATA_DIR=str(data_dir)),
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert ckpt_io.read(single).processes == 1 and f"saved {single}: " in run.stdout
    parallel_acc, single_acc = _held_out_accuracy(out, mnist_test), _held_out_accuracy(single, mnist_test)
    assert single_acc > 0.85  # it learnt something, so the comparison means something
    assert abs(parallel_acc - single_acc) <= ACCURACY_TOLERANCE, (parallel_acc, single_acc)


def test_a_usage_error_under_torchrun_is_said_once(tmp_path):
    """Every process parses the same arguments: rank 0 alone says a parsing error (it was said twice);
    other errors each process says, the others naming their process."""
    bad = _torchrun(["-m", "idk", "train", "--epochs", "0", "--out", str(tmp_path / "m.pt")], _env())
    assert bad.returncode != 0 and bad.stderr.count("--epochs: 0 must be positive") == 1, bad.stderr[-2000:]
    # an error a process finds may be its own (one machine's data missing): each says it, named
    both = _torchrun(["-m", "idk", "train", "--resume", "--resume-if-exists", "--out", str(tmp_path / "m.pt")], _env())
    lines = [line for line in both.stderr.splitlines() if line.startswith("idk: error")]
    assert sorted(lines) == [
        "idk: error (process 1 of 2): --resume and --resume-if-exists: give one",
        "idk: error: --resume and --resume-if-exists: give one",
    ], both.stderr[-2000:]


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 CUDA GPUs (nccl, one per process); none here")
def test_torchrun_two_gpus_train_one_model(tmp_path, data_dir):
    out = tmp_path / "model.pt"
    args = [a if a != "cpu" else "cuda" for a in TRAIN_ARGS]  # --device cuda: cuda:LOCAL_RANK, nccl
    run = _torchrun(["-m", "idk", *args, "--epochs", "1", "--out", str(out)], _env(IDK_DATA_DIR=str(data_dir)))
    assert run.returncode == 0, run.stderr[-3000:]
    assert ckpt_io.read(out).finished
