"""Network architectures, built Bayesian (PyroSample weights) or deterministic (the twin)."""

from __future__ import annotations

from dataclasses import dataclass

from pyro.nn import PyroModule
from torch import Tensor, nn

from idk.nn.layers import BayesianConv2d, BayesianLinear, name_sites
from idk.nn.priors import NormalPrior

NUM_CLASSES = 10


class AddChannel(nn.Module):
    """(N, 28, 28) → (N, 1, 28, 28)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.unsqueeze(-3)


@dataclass(frozen=True)
class NetConfig:
    """Architecture: ``mlp`` (784 → hidden → 10) or ``cnn``: two blocks of ``convs`` k×k
    convolutions (``channels`` per block, ReLU after each) and a 2×2 max-pool, then one hidden
    dense layer. ``padding`` k // 2 keeps the size ("same"), 0 shrinks it ("valid"; with one 5×5
    convolution per block this is LeNet-5's 28 → 24 → 12 → 8 → 4)."""

    arch: str = "cnn"
    hidden: int = 1024  # mlp hidden units
    channels: tuple[int, int] = (32, 64)  # cnn conv channels per block
    dense: int = 256  # cnn dense units
    padding: int = 0  # cnn convolution padding: 0 or kernel // 2
    kernel: int = 5  # cnn convolution size
    convs: int = 1  # cnn convolutions per block


def build_network(cfg: NetConfig, prior: NormalPrior | None) -> nn.Sequential:
    """The network of ``cfg``: Bayesian layers under ``prior``, or plain layers when ``prior`` is None.

    Input (N, 28, 28) in [0, 1]; output logits (N, 10).
    """

    def linear(i: int, o: int) -> nn.Module:
        return BayesianLinear(i, o, prior) if prior is not None else nn.Linear(i, o)

    def conv(i: int, o: int, size: int) -> nn.Module:
        if prior is None:
            return nn.Conv2d(i, o, cfg.kernel, padding=cfg.padding)
        return BayesianConv2d(i, o, cfg.kernel, prior, padding=cfg.padding, in_size=size)

    if cfg.arch == "mlp":
        layers = [nn.Flatten(), linear(784, cfg.hidden), nn.ReLU(), linear(cfg.hidden, NUM_CLASSES)]
    elif cfg.arch == "cnn":
        if cfg.padding not in (0, cfg.kernel // 2):
            raise ValueError(f"cnn padding must be 0 (valid) or {cfg.kernel // 2} (same), got {cfg.padding}")
        layers: list[nn.Module] = [AddChannel()]
        size, width = 28, 1
        for channels in cfg.channels:
            for _ in range(cfg.convs):
                layers += [conv(width, channels, size), nn.ReLU()]
                size, width = size - cfg.kernel + 1 + 2 * cfg.padding, channels
            layers.append(nn.MaxPool2d(2))
            size //= 2
        if size < 1:
            raise ValueError(f"cnn: the feature maps shrink to nothing ({cfg})")
        layers += [nn.Flatten(), linear(width * size * size, cfg.dense), nn.ReLU(), linear(cfg.dense, NUM_CLASSES)]
    else:
        raise ValueError(f"unknown architecture {cfg.arch!r}; valid: mlp, cnn")
    if prior is None:
        return nn.Sequential(*layers)
    net = PyroModule[nn.Sequential](*layers)
    name_sites(net)
    return net
