"""A plain CNN on a user's set, as a yardstick for idk's training: the default network's shape
(two blocks of a 5×5 convolution, 32 and 64 channels, each max-pooled by 2, then averaged down
to 6×6, a dense layer of 256; as idk.nn.networks builds "cnn" for 64×64 images), trained by Adam
(lr 3e-3, batches of 64 drawn at random) with cross-entropy alone: no prior, no synthetic
outliers, no augmentation. Prints the loss and the test accuracy every 100 steps. A measurement
for docs/experiments.md, not a test.

Usage: python scripts/plain_cnn_probe.py DATA [STEPS]   (DATA as ``idk train --data`` takes it)
"""

from __future__ import annotations

import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

from idk.data.catalog import training_data
from idk.data.sources import DataConfig


def main() -> None:
    torch.manual_seed(0)
    data = training_data(sys.argv[1], DataConfig.from_env())
    x, y, x_test, y_test = data.train.pixels(), data.train.labels, data.test.pixels(), data.test.labels
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 800
    c, classes = x.shape[1], len(data.train.classes)
    net = nn.Sequential(
        nn.Conv2d(c, 32, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(6), nn.Flatten(), nn.Linear(64 * 36, 256), nn.ReLU(), nn.Linear(256, classes),
    )  # fmt: skip
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    start = time.time()
    print(f"{len(x)} training and {len(x_test)} test images of {tuple(x.shape[1:])}, {classes} classes")
    for step in range(1, steps + 1):
        batch = torch.randint(len(x), (64,))
        loss = F.cross_entropy(net(x[batch]), y[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            with torch.no_grad():
                accuracy = (net(x_test).argmax(-1) == y_test).double().mean().item()
            print(f"step {step}: loss {loss.item():.3f}, test accuracy {accuracy:.2%} ({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
