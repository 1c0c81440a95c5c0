"""Data-parallel speed-up on this machine: the same training (same images, epochs, global batch) by
one process and by W processes under ``torchrun`` (gloo on the CPU, or nccl with ``--device cuda``).

Configurations, each a fresh ``idk train`` of one posterior (``--members 1 --no-twin``, ``--samples 10`` so that the rule's fitting
after training stays short; it is not timed):

* 1 process × T threads (T = the cores, the usual single-process run),
* 1 process × 1 thread (the work of one core),
* W processes × T/W threads each (the same cores, split between processes).

The time is the training loop's own (the epochs' seconds recorded in the checkpoint: no start-up,
data loading or rule fitting). Prints a table and the speed-up of W processes over one process
on the same cores, and writes JSON. About a minute with the defaults on a 2-core machine.

    .venv/bin/python benchmarks/distributed.py            # 2 processes against 1, on the CPU
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from idk.training import checkpoint

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(processes: int, threads: int, args: argparse.Namespace, folder: Path) -> dict[str, float]:
    """Train once with ``processes`` × ``threads``; the training seconds and images per second."""
    out = folder / f"p{processes}-t{threads}.pt"
    train = ["-m", "idk", "train", "--out", str(out), "--preset", args.preset, "--train-subset", str(args.images)]
    train += ["--epochs", str(args.epochs), "--no-twin", "--samples", "10", "--device", args.device]
    train += ["--members", "1"]  # one posterior: a mixture's members train one after the other, each the same way
    train += ["--threads", str(threads), "--overwrite", "-q"]
    if processes == 1:
        cmd = [sys.executable, *train]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(processes)]
        cmd += ["--master-addr", "127.0.0.1", "--master-port", str(_free_port()), *train]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "GLOO_SOCKET_IFNAME": "lo"}
    subprocess.run(cmd, env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    ckpt = checkpoint.read(out)
    seconds = sum(h["seconds"] for h in ckpt.history)
    images = ckpt.dataset_size * len(ckpt.history)
    return {"processes": processes, "threads": threads, "seconds": seconds, "images_per_s": images / seconds}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2, help="W (default 2)")
    parser.add_argument("--images", type=int, default=12000, help="training subset (4/5 trained on; default 12000)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--preset", default="cnn")
    parser.add_argument("--device", default="cpu", help="cpu (gloo) or cuda (nccl, one GPU per process)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "distributed.json"))
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    per_process = max(1, cores // args.processes) if args.device == "cpu" else 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = [run(1, cores, args, folder), run(1, 1, args, folder), run(args.processes, per_process, args, folder)]
    base = rows[0]["seconds"]
    print(f"{'processes × threads':<22}{'training s':>12}{'images/s':>12}{'speed-up':>10}")
    for r in rows:
        label = f"{r['processes']} × {r['threads']}"
        print(f"{label:<22}{r['seconds']:>12.1f}{r['images_per_s']:>12.0f}{base / r['seconds']:>9.2f}×")
    speedup = base / rows[-1]["seconds"]
    print(
        f"{args.processes} processes against 1 on the same {cores} cores ({args.device}): {speedup:.2f}× "
        f"({args.images} images, {args.epochs} epochs, preset {args.preset})"
    )
    result = {"cores": cores, "device": args.device, "rows": rows, "speedup": speedup, **vars(args)}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
