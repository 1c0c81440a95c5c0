"""How much memory ``idk train`` holds for a set of one's own, against the set's own size.

Writes an ``.npz`` of ``--images`` random colour images of ``--side``² pixels (uint8, 10 classes)
to a temporary folder (``--grey-folder``: a folder of as many greyscale PNG files, one sub-folder
per class), then runs ``idk train`` on it for one epoch of a small network (the data's
reading, splits, fingerprint, training and rule fitting as a real run does them) in a process of
its own, and a second process that only imports idk and torch: the baseline, measured in the same
run. Prints each one's peak resident memory and the ratio (peak − baseline) / the set's size as
float32 (N × C × H × W × 4 bytes).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


def peak_mb(argv: list[str]) -> float:
    """The peak resident memory (MB) of a child process running ``argv`` (each run in a fresh
    process: a child's peak is the largest of its children's so far, so the runs go smallest first)."""
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def write_set(tmp: Path, n: int, side: int, grey_folder: bool, rng: np.random.Generator) -> Path:
    """``n`` random images of ``side``² pixels in 10 classes: an .npz of colour uint8, or a folder
    of greyscale PNG files (one sub-folder per class)."""
    if not grey_folder:
        images = rng.integers(0, 256, (n, side, side, 3), dtype=np.uint8)
        np.savez(tmp / "set.npz", images=images, labels=rng.integers(0, 10, n))
        return tmp / "set.npz"
    for i in range(n):
        folder = tmp / "set" / f"c{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (side, side), dtype=np.uint8), "L").save(folder / f"{i}.png")
    return tmp / "set"


def main(args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        data = write_set(Path(tmp), args.images, args.side, args.grey_folder, rng)
        idk = [sys.executable, "-m", "idk"]
        baseline = peak_mb([sys.executable, "-c", "import torch, idk.apps.cli, idk.training.train"])
        small = ["--epochs", "1", "--members", "1", "--no-twin", "--channels", "4", "8", "--dense", "16"]
        trained = peak_mb([*idk, "train", "--data", str(data), "--out", str(Path(tmp) / "m.pt"), *small])
    channels = 1 if args.grey_folder else 3
    set_mb = args.images * channels * args.side**2 * 4 / 2**20
    result = {
        "set": "greyscale PNG folder" if args.grey_folder else "colour uint8 .npz",
        "images": args.images,
        "side": args.side,
        "set_float32_mb": round(set_mb, 1),
        "baseline_peak_mb": round(baseline, 1),
        "train_peak_mb": round(trained, 1),
        "ratio_to_set": round((trained - baseline) / set_mb, 2),
    }
    kind = "greyscale PNG files" if args.grey_folder else "colour images in an .npz"
    print(f"{args.images} {kind} of {args.side}×{args.side}: {set_mb:.0f} MB as float32")
    print(f"peak resident memory: importing idk {baseline:.0f} MB, idk train (one epoch) {trained:.0f} MB")
    print(f"idk train held {result['ratio_to_set']:.2f}× the set's float32 size beyond the imports")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--side", type=int, default=64)
    parser.add_argument("--grey-folder", action="store_true", help="a folder of greyscale PNG files, not an .npz")
    parser.add_argument("--out", default="", help="write the figures as JSON here")
    main(parser.parse_args())
