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
    """Architecture: ``mlp`` (784 → hidden → 10) or ``cnn`` (two 5×5 conv + 2×2 max-pool blocks,
    then one hidden dense layer). ``padding`` 2 keeps the size ("same"), 0 shrinks it ("valid",
    LeNet-5's way: 28 → 24 → 12 → 8 → 4)."""

    arch: str = "cnn"
    hidden: int = 1024  # mlp hidden units
    channels: tuple[int, int] = (32, 64)  # cnn conv channels
    dense: int = 256  # cnn dense units
    padding: int = 0  # cnn convolution padding


def build_network(cfg: NetConfig, prior: NormalPrior | None) -> nn.Sequential:
    """The network of ``cfg``: Bayesian layers under ``prior``, or plain layers when ``prior`` is None.

    Input (N, 28, 28) in [0, 1]; output logits (N, 10).
    """

    def linear(i: int, o: int) -> nn.Module:
        return BayesianLinear(i, o, prior) if prior is not None else nn.Linear(i, o)

    def conv(i: int, o: int, k: int, size: int) -> nn.Module:
        if prior is None:
            return nn.Conv2d(i, o, k, padding=cfg.padding)
        return BayesianConv2d(i, o, k, prior, padding=cfg.padding, in_size=size)

    if cfg.arch == "mlp":
        layers = [nn.Flatten(), linear(784, cfg.hidden), nn.ReLU(), linear(cfg.hidden, NUM_CLASSES)]
    elif cfg.arch == "cnn":
        c1, c2 = cfg.channels
        if cfg.padding not in (0, 2):
            raise ValueError(f"cnn padding must be 0 (valid) or 2 (same), got {cfg.padding}")
        size1 = 28 - 4 + 2 * cfg.padding  # after the first 5×5 convolution
        size2 = (size1 // 2 - 4 + 2 * cfg.padding) // 2  # after the second block
        layers = [
            AddChannel(),
            conv(1, c1, 5, 28),
            nn.ReLU(),
            nn.MaxPool2d(2),
            conv(c1, c2, 5, size1 // 2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            linear(c2 * size2 * size2, cfg.dense),
            nn.ReLU(),
            linear(cfg.dense, NUM_CLASSES),
        ]
    else:
        raise ValueError(f"unknown architecture {cfg.arch!r}; valid: mlp, cnn")
    if prior is None:
        return nn.Sequential(*layers)
    net = PyroModule[nn.Sequential](*layers)
    name_sites(net)
    return net
