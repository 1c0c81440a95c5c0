"""Network architectures, built Bayesian (PyroSample weights) or deterministic (the twin)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from pyro.nn import PyroModule
from torch import Tensor, nn

from idk.errors import IdkError
from idk.nn.layers import BayesianConv2d, BayesianLayer, BayesianLinear, name_sites
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

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NetConfig:
        """The config of its dict form (a checkpoint's: lists where tuples were)."""
        return cls(**{**d, "channels": tuple(d.get("channels", cls.channels))})


@dataclass(frozen=True)
class Layers:
    """The layers an architecture is built of: Bayesian under ``prior`` (PyroSample weights), plain
    (the deterministic twin) when ``prior`` is None."""

    cfg: NetConfig
    prior: Prior | None

    def linear(self, i: int, o: int) -> nn.Module:
        return BayesianLinear(i, o, self.prior) if self.prior is not None else nn.Linear(i, o)

    def conv(self, i: int, o: int, size: tuple[int, int]) -> nn.Module:
        """A k×k convolution of ``size`` (H, W) inputs."""
        if self.prior is None:
            return nn.Conv2d(i, o, self.cfg.kernel, padding=self.cfg.padding)
        return BayesianConv2d(i, o, self.cfg.kernel, self.prior, padding=self.cfg.padding, in_size=size)


def _mlp(layers: Layers, input_shape: tuple[int, int, int], num_classes: int) -> list[nn.Module]:
    c, h, w = input_shape
    hidden = layers.cfg.hidden
    return [nn.Flatten(), layers.linear(c * h * w, hidden), nn.ReLU(), layers.linear(hidden, num_classes)]


def _after_conv(side: int, cfg: NetConfig) -> int:
    """An image side after one of the cnn's convolutions (``cfg.kernel``, ``cfg.padding``, stride 1)."""
    return side - cfg.kernel + 1 + 2 * cfg.padding


def _side_after(cfg: NetConfig, side: int) -> int:
    """An image side after the cnn's blocks (each ``convs`` convolutions, then a 2×2 pool); 0 or
    less where a convolution has nothing left to cover."""
    for _ in cfg.channels:
        for _ in range(cfg.convs):
            side = _after_conv(side, cfg)
            if side < 1:
                return side
        side //= 2
    return side


def smallest_side(cfg: NetConfig) -> int:
    """The smallest image side the cnn of ``cfg`` takes: 16 for two blocks of one 5×5 "valid"
    convolution (16 → 12 → 6 → 2 → 1)."""
    side = 1
    while _side_after(cfg, side) < 1:
        side += 1
    return side


def _cnn(layers: Layers, input_shape: tuple[int, int, int], num_classes: int) -> list[nn.Module]:
    cfg, (c, h, w) = layers.cfg, input_shape
    if cfg.padding not in (0, cfg.kernel // 2):
        raise ValueError(f"cnn padding must be 0 (valid) or {cfg.kernel // 2} (same), got {cfg.padding}")

    def too_small() -> ValueError:
        side = smallest_side(cfg)
        return ValueError(
            f"cnn: {h}×{w} images are too small for {len(cfg.channels)} blocks of {cfg.kernel}×{cfg.kernel} "
            f"convolutions ({side}×{side} at least)"
        )

    built: list[nn.Module] = []
    size, width = (h, w), c
    for channels in cfg.channels:
        for _ in range(cfg.convs):
            built += [layers.conv(width, channels, size), *([nn.BatchNorm2d(channels)] if cfg.norm else []), nn.ReLU()]
            size, width = tuple(_after_conv(s, cfg) for s in size), channels
            if min(size) < 1:
                raise too_small()
        built.append(nn.MaxPool2d(2))
        size = tuple(s // 2 for s in size)
    if min(size) < 1:
        raise too_small()
    if max(size) > cfg.pool_to:
        size = tuple(min(s, cfg.pool_to) for s in size)
        built.append(nn.AdaptiveAvgPool2d(size))
    return [
        *built,
        nn.Flatten(),
        layers.linear(width * size[0] * size[1], cfg.dense),
        nn.ReLU(),
        layers.linear(cfg.dense, num_classes),
    ]


Builder = Callable[[Layers, tuple[int, int, int], int], list[nn.Module]]
# Every architecture by name: its builder (layers in order, input (C, H, W) and the class count
# given) and the NetConfig fields it reads (the others are left out of `idk info`). A network is one
# flat sequence of layers (no branches): BNN.sample_logits runs them in turn for all S sampled
# networks at once, Bayesian layers by their batched code, any other layer on the S·N activations.
ARCHITECTURES: dict[str, tuple[Builder, tuple[str, ...]]] = {
    "mlp": (_mlp, ("hidden",)),
    "cnn": (_cnn, ("channels", "dense", "padding", "kernel", "convs", "pool_to", "norm")),
}


def settings_read(cfg: NetConfig) -> dict[str, Any]:
    """``cfg``'s fields that its architecture reads, with ``arch`` (for ``idk info``)."""
    read = ARCHITECTURES[cfg.arch][1] if cfg.arch in ARCHITECTURES else tuple(f.name for f in fields(cfg))
    return {"arch": cfg.arch, **{k: v for k, v in asdict(cfg).items() if k in read}}


def check_flat(layers: list[nn.Module], arch: str) -> None:
    """IdkError where a builder's layers hold a Bayesian layer inside another module (an
    ``nn.Sequential`` block): a network is one flat sequence (:data:`ARCHITECTURES`), and a nested
    Bayesian layer would be neither sampled nor trained (Pyro stops at the first step)."""
    for i, layer in enumerate(layers):
        inner = [name for name, m in layer.named_modules() if name and isinstance(m, BayesianLayer)]
        if inner and not isinstance(layer, BayesianLayer):
            raise IdkError(
                f"network {arch!r}: its layer {i} ({type(layer).__name__}) holds Bayesian layers ({', '.join(inner)}); "
                "a network is one flat list of layers: give the block's layers in the list itself"
            )


def _one_line(layer: nn.Module) -> str:
    """A layer as PyTorch writes it where that is one line ("Linear(in_features=100, ...)"), else its class."""
    text = repr(layer)
    return text if "\n" not in text else type(layer).__name__


def _through(layer: nn.Module, x: Tensor) -> Tensor:
    """What ``layer`` gives for ``x``; a Bayesian layer's input checked against the shape it was
    made for (a convolution reshapes by it), its output made without its weights (a linear layer of
    a large image's pixels would take hundreds of MB)."""
    if not isinstance(layer, BayesianLayer):
        return layer(x)
    if tuple(x.shape[1:]) != tuple(layer.in_shape):
        raise ValueError(f"it was made for {tuple(layer.in_shape)} per image")
    if isinstance(layer, BayesianLinear):
        return x.new_zeros(len(x), layer.out_features)
    return layer.apply(x, torch.zeros(layer.weight_shape), torch.zeros(layer.bias_shape))


def check_shapes(layers: list[nn.Module], input_shape: tuple[int, int, int], num_classes: int, arch: str) -> None:
    """IdkError where ``layers`` do not take (C, H, W) = ``input_shape`` images to ``num_classes``
    class scores: a network of one's own whose sizes do not fit the data (it was a bare
    "mat1 and mat2 shapes cannot be multiplied" at the first prediction). Two blank images are
    passed through, the Bayesian layers with zero weights, every layer in eval mode (no statistics
    updated), the random state left as it was."""
    x = torch.zeros(2, *input_shape)
    modes = [layer.training for layer in layers]
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            for i, layer in enumerate(layers):
                layer.eval()
                try:
                    x = _through(layer, x)
                except (RuntimeError, ValueError) as err:
                    raise IdkError(
                        f"network {arch!r}: its layer {i} ({_one_line(layer)}) does not take what comes to it, "
                        f"{tuple(x.shape[1:])} per image of {'×'.join(map(str, input_shape))}: "
                        f"{str(err).splitlines()[0]}"
                    ) from None
    finally:
        for layer, mode in zip(layers, modes, strict=True):
            layer.train(mode)
    if tuple(x.shape) != (2, num_classes):
        raise IdkError(
            f"network {arch!r}: gives {tuple(x.shape[1:])} per image of {'×'.join(map(str, input_shape))}, "
            f"not its {num_classes} class scores: its last layer must give (N, {num_classes}) "
            "(the builder is given the class count)"
        )


def check_bayesian(model: nn.Module, arch: str) -> None:
    """IdkError where a model to train as Bayesian holds no Bayesian layer (one's own builder making
    nn.Linear itself): its samples would all be one network. Said before training, not on loading
    (a model trained so before this check is still read)."""
    if not any(isinstance(m, BayesianLayer) for m in model.modules()):
        raise IdkError(
            f"network {arch!r} has no Bayesian layer: its samples would all be one network, which never "
            "disagrees with itself; make its weighted layers with the maker it is given, layers.linear(i, o) and "
            "layers.conv(i, o, size) (Bayesian here, plain in the deterministic twin), not nn.Linear or nn.Conv2d"
        )


def build_network(cfg: NetConfig, prior: Prior | None, input_shape: tuple[int, ...], num_classes: int) -> nn.Sequential:
    """The network of ``cfg`` (one of :data:`ARCHITECTURES`): Bayesian layers under ``prior``, or
    plain layers when ``prior`` is None.

    Input (N, C, H, W) in [0, 1] with (C, H, W) = ``input_shape``; output logits (N, num_classes).
    """
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"input_shape must be (channels, height, width), got {tuple(input_shape)}")
    if num_classes < 2:
        raise ValueError(f"a classifier needs at least two classes, got {num_classes}")
    if cfg.arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {cfg.arch!r}; valid: {', '.join(ARCHITECTURES)}")
    c, h, w = input_shape
    layers = ARCHITECTURES[cfg.arch][0](Layers(cfg, prior), (c, h, w), num_classes)
    check_flat(layers, cfg.arch)
    check_shapes(layers, (c, h, w), num_classes, cfg.arch)
    if prior is None:
        return nn.Sequential(*layers)
    net = PyroModule[nn.Sequential](*layers)
    name_sites(net)
    return net
