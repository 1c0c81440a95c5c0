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
    """Architecture: ``mlp`` (784 → hidden → 10) or ``cnn`` (two 5×5 conv + pool blocks, one dense)."""

    arch: str = "cnn"
    hidden: int = 1024  # mlp hidden units
    channels: tuple[int, int] = (32, 64)  # cnn conv channels
    dense: int = 256  # cnn dense units


def build_network(cfg: NetConfig, prior: NormalPrior | None) -> nn.Sequential:
    """The network of ``cfg``: Bayesian layers under ``prior``, or plain layers when ``prior`` is None.

    Input (N, 28, 28) in [0, 1]; output logits (N, 10).
    """

    def linear(i: int, o: int) -> nn.Module:
        return BayesianLinear(i, o, prior) if prior is not None else nn.Linear(i, o)

    def conv(i: int, o: int, k: int, size: int) -> nn.Module:
        return (
            BayesianConv2d(i, o, k, prior, padding=k // 2, in_size=size)
            if prior is not None
            else nn.Conv2d(i, o, k, padding=k // 2)
        )

    if cfg.arch == "mlp":
        layers = [nn.Flatten(), linear(784, cfg.hidden), nn.ReLU(), linear(cfg.hidden, NUM_CLASSES)]
    elif cfg.arch == "cnn":
        c1, c2 = cfg.channels
        layers = [
            AddChannel(),
            conv(1, c1, 5, 28),
            nn.ReLU(),
            nn.MaxPool2d(2),
            conv(c1, c2, 5, 14),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            linear(c2 * 7 * 7, cfg.dense),
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
