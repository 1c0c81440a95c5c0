"""How fast a folder of one's own photos is read for training: ``read_folder`` in one thread and in
as many as torch computes with, in one run on this machine; and against reading it in a known form.

Writes ``--images`` JPEGs of ``--size`` (gradients with noise, two class folders) to a temporary
folder, then reads them as ``idk train --data FOLDER`` does (sizes and colours surveyed first, then
each image fitted into the most common size, at most 128 px a side), once per thread count; checks
that every count reads the same pixels. Prints seconds and images/s per count, and the ratio. Then,
with as many threads, reads them in the form just chosen, as ``idk evaluate`` reads a model's
folder (each file decoded once and converted: the floor for reading these files here), and prints
how many times as long reading them without a form took.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from idk.data.folders import read_folder


def write_photos(root: Path, count: int, size: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width]
    for i in range(count):
        folder = root / ("a" if i % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        base = np.stack([(xx + i) % 256, (2 * yy) % 256, (xx * yy // 97) % 256], -1)
        noise = rng.integers(0, 40, (height, width, 3))
        Image.fromarray((base + noise).clip(0, 255).astype(np.uint8)).save(folder / f"{i}.jpg", quality=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, nargs=2, default=(480, 360), metavar=("W", "H"))
    parser.add_argument("--out", help="write the results as JSON")
    args = parser.parse_args()
    most = torch.get_num_threads()
    counts = sorted({1, most})
    result: dict = {"images": args.images, "size": list(args.size), "seconds": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_photos(root, args.images, tuple(args.size))
        read_folder(root / "a", "warm-up")  # the first imports and allocations, once
        first = None
        for count in counts:
            torch.set_num_threads(count)
            start = time.perf_counter()
            data = read_folder(root, "photos", require_labels=True)
            result["seconds"][count] = time.perf_counter() - start
            if first is None:
                first = data.images
            elif not torch.equal(first, data.images):
                raise SystemExit(f"{count} threads read other pixels than 1")
        torch.set_num_threads(most)
        start = time.perf_counter()
        known = read_folder(root, "photos", spec=data.spec, require_labels=True)
        result["known_form_seconds"] = time.perf_counter() - start
        if not torch.equal(first, known.images):
            raise SystemExit("read in a known form, other pixels")
    print(f"read_folder: {args.images} JPEGs of {args.size[0]}×{args.size[1]}, read as idk train reads them")
    for count, seconds in result["seconds"].items():
        print(f"  {count} thread{'s' * (count != 1)}: {seconds:.1f} s, {args.images / seconds:.0f} images/s")
    if len(counts) > 1:
        ratio = result["seconds"][1] / result["seconds"][most]
        result["speedup"] = ratio
        print(f"  {most} threads read {ratio:.2f}× as fast as 1 (the same pixels)")
    known = result["known_form_seconds"]
    result["to_known_form"] = result["seconds"][most] / known
    print(
        f"  in a known form ({most} thread{'s' * (most != 1)}; each file decoded once): {known:.1f} s; without one, "
        f"{result['to_known_form']:.2f}× as long"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
