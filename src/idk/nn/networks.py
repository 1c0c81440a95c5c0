"""Network architectures, built Bayesian (PyroSample weights) or deterministic (the twin)."""

from __future__ import annotations

from dataclasses import dataclass

from pyro.nn import PyroModule
from torch import nn

from idk.nn.layers import BayesianConv2d, BayesianLinear, name_sites
from idk.nn.priors import Prior


@dataclass(frozen=True)
class NetConfig:
    """Architecture: ``mlp`` (C·H·W → hidden → classes) or ``cnn``: one block per entry of
    ``channels``, each ``convs`` k×k convolutions (ReLU after each) and a 2×2 max-pool, then one
    hidden dense layer. ``padding`` k // 2 keeps the size ("same"), 0 shrinks it ("valid"; with
    one 5×5 convolution per block on 28×28 this is LeNet-5's 28 → 24 → 12 → 8 → 4). Feature maps
    still larger than ``pool_to`` × ``pool_to`` (large images) are average-pooled down to it.
    ``norm``: batch normalisation after each convolution, before its ReLU (point parameters and
    running statistics, in the Bayesian network as in the twin)."""

    arch: str = "cnn"
    hidden: int = 1024  # mlp hidden units
    channels: tuple[int, ...] = (32, 64)  # cnn conv channels per block
    dense: int = 256  # cnn dense units
    padding: int = 0  # cnn convolution padding: 0 or kernel // 2
    kernel: int = 5  # cnn convolution size
    convs: int = 1  # cnn convolutions per block
    pool_to: int = 6  # cnn: larger final feature maps are average-pooled to this size
    # cnn: batch normalisation after each convolution; under torchrun each process normalises by its
    # share's statistics and rank 0's running statistics are saved (DDP's default, without SyncBatchNorm)
    norm: bool = False


def build_network(cfg: NetConfig, prior: Prior | None, input_shape: tuple[int, ...], num_classes: int) -> nn.Sequential:
    """The network of ``cfg``: Bayesian layers under ``prior``, or plain layers when ``prior`` is None.

    Input (N, C, H, W) in [0, 1] with (C, H, W) = ``input_shape``; output logits (N, num_classes).
    """
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"input_shape must be (channels, height, width), got {tuple(input_shape)}")
    if num_classes < 2:
        raise ValueError(f"a classifier needs at least two classes, got {num_classes}")

    def linear(i: int, o: int) -> nn.Module:
        return BayesianLinear(i, o, prior) if prior is not None else nn.Linear(i, o)

    def conv(i: int, o: int, size: tuple[int, int]) -> nn.Module:
        if prior is None:
            return nn.Conv2d(i, o, cfg.kernel, padding=cfg.padding)
        return BayesianConv2d(i, o, cfg.kernel, prior, padding=cfg.padding, in_size=size)

    c, h, w = input_shape
    if cfg.arch == "mlp":
        layers = [nn.Flatten(), linear(c * h * w, cfg.hidden), nn.ReLU(), linear(cfg.hidden, num_classes)]
    elif cfg.arch == "cnn":
        if cfg.padding not in (0, cfg.kernel // 2):
            raise ValueError(f"cnn padding must be 0 (valid) or {cfg.kernel // 2} (same), got {cfg.padding}")
        layers: list[nn.Module] = []
        size, width = (h, w), c
        for channels in cfg.channels:
            for _ in range(cfg.convs):
                layers += [conv(width, channels, size), *([nn.BatchNorm2d(channels)] if cfg.norm else []), nn.ReLU()]
                size, width = tuple(s - cfg.kernel + 1 + 2 * cfg.padding for s in size), channels
                if min(size) < 1:
                    raise ValueError(
                        f"cnn: {h}×{w} images are too small for {len(cfg.channels)} blocks of {cfg.kernel}×{cfg.kernel} convolutions"
                    )
            layers.append(nn.MaxPool2d(2))
            size = tuple(s // 2 for s in size)
        if min(size) < 1:
            raise ValueError(
                f"cnn: {h}×{w} images are too small for {len(cfg.channels)} blocks of {cfg.kernel}×{cfg.kernel} convolutions"
            )
        if max(size) > cfg.pool_to:
            size = tuple(min(s, cfg.pool_to) for s in size)
            layers.append(nn.AdaptiveAvgPool2d(size))
        layers += [
            nn.Flatten(),
            linear(width * size[0] * size[1], cfg.dense),
            nn.ReLU(),
            linear(cfg.dense, num_classes),
        ]
    else:
        raise ValueError(f"unknown architecture {cfg.arch!r}; valid: mlp, cnn")
    if prior is None:
        return nn.Sequential(*layers)
    net = PyroModule[nn.Sequential](*layers)
    name_sites(net)
    return net
