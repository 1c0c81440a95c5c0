import pytest
import torch

from idk.nn.layers import BayesianLayer
from idk.nn.networks import NetConfig, build_network, check_bayesian, check_shapes, smallest_side
from idk.nn.priors import NormalPrior


@pytest.mark.parametrize(
    "cfg",
    [
        NetConfig(arch="mlp", hidden=8),
        NetConfig(channels=(4, 8), dense=16),  # LeNet-like, valid
        NetConfig(channels=(4, 8), dense=16, padding=2),  # LeNet-like, same
        NetConfig(channels=(4, 8), dense=16, kernel=3, convs=2),  # VGG-like, valid: 28→24→12→8→4
        NetConfig(channels=(4, 8), dense=16, kernel=3, convs=2, padding=1),  # VGG-like, same
    ],
)
@pytest.mark.parametrize("bayesian", [True, False])
def test_networks_map_images_to_ten_logits(cfg, bayesian):
    net = build_network(cfg, NormalPrior(1.0) if bayesian else None, (1, 28, 28), 10)
    assert net(torch.rand(3, 1, 28, 28)).shape == (3, 10)


@pytest.mark.parametrize(
    "shape,arch",
    [(shape, arch) for shape in [(3, 32, 32), (3, 64, 64), (1, 40, 24)] for arch in ("mlp", "cnn")]
    + [((3, 224, 224), "cnn")],
)
def test_networks_follow_the_input_shape_and_classes(shape, arch):
    net = build_network(NetConfig(arch=arch, hidden=8, channels=(4, 8), dense=16), NormalPrior(1.0), shape, 3)
    assert net(torch.rand(2, *shape)).shape == (2, 3)
    # large inputs are pooled down before the dense layer, so its size does not grow with the image
    dense = [m for m in net if hasattr(m, "in_features")][0]
    assert dense.in_features <= 8 * 6 * 6 or arch == "mlp"


def test_lenet_sites_keep_their_names():
    """Checkpoints name sites by position: the one-convolution-per-block CNN must not move them."""
    net = build_network(NetConfig(channels=(4, 8), dense=16), NormalPrior(1.0), (1, 28, 28), 10)
    names = [layer.site_names()[0] for layer in net if isinstance(layer, BayesianLayer)]
    assert names == ["0.weight", "3.weight", "7.weight", "9.weight"]


def test_bad_architectures_say_what_is_valid():
    with pytest.raises(ValueError, match="padding must be 0 .* or 1"):
        build_network(NetConfig(kernel=3, padding=2), None, (1, 28, 28), 10)
    with pytest.raises(ValueError, match="valid: mlp, cnn"):
        build_network(NetConfig(arch="resnet"), None, (1, 28, 28), 10)
    with pytest.raises(ValueError, match="too small"):
        build_network(NetConfig(kernel=7, convs=3), None, (1, 28, 28), 10)
    with pytest.raises(
        ValueError, match=r"8×8 images are too small for 2 blocks of 5×5 convolutions \(16×16 at least\)"
    ):
        build_network(NetConfig(), None, (1, 8, 8), 10)
    with pytest.raises(ValueError, match="at least two classes"):
        build_network(NetConfig(), None, (1, 28, 28), 1)
    with pytest.raises(ValueError, match="input_shape"):
        build_network(NetConfig(), None, (), 10)


def test_a_builder_that_nests_its_bayesian_layers_in_a_block_is_refused_by_name(monkeypatch):
    """A network is one flat list: a block holding Bayesian layers (its sites never sampled: Pyro's
    KeyError at the first step) is said when the network is built, naming the layer; a plain block is fine."""
    from torch import nn

    from idk.errors import IdkError
    from idk.nn import networks

    def nested(layers, shape, n):
        c, h, w = shape
        return [nn.Flatten(), nn.Sequential(layers.linear(c * h * w, 8), nn.ReLU()), layers.linear(8, n)]

    def plain_block(layers, shape, n):
        c, h, w = shape
        return [nn.Sequential(nn.Flatten(), nn.Identity()), layers.linear(c * h * w, n)]

    monkeypatch.setitem(networks.ARCHITECTURES, "nested", (nested, ()))
    monkeypatch.setitem(networks.ARCHITECTURES, "block", (plain_block, ()))
    with pytest.raises(IdkError, match=r"network 'nested': its layer 1 \(Sequential\) holds Bayesian layers \(0\)"):
        build_network(NetConfig(arch="nested"), NormalPrior(), (1, 28, 28), 10)
    assert build_network(NetConfig(arch="block"), NormalPrior(), (1, 28, 28), 10)(torch.rand(2, 1, 28, 28)).shape == (
        2,
        10,
    )


@pytest.mark.parametrize(
    "cfg",
    [
        NetConfig(),
        NetConfig(padding=2),
        NetConfig(channels=(8, 8, 8), kernel=3, convs=2, padding=1),
        NetConfig(channels=(8,), kernel=7, convs=3),
    ],
    ids=["default", "same", "vgg-like", "one-block"],
)
def test_the_smallest_side_said_is_the_smallest_the_cnn_builds(cfg):
    side = smallest_side(cfg)
    build_network(cfg, None, (1, side, side), 3)
    with pytest.raises(ValueError, match=rf"\({side}×{side} at least\)"):
        build_network(cfg, None, (1, side - 1, side - 1), 3)


def test_an_architecture_of_ones_own_is_built_sampled_and_described(monkeypatch):
    """Registered in ARCHITECTURES (a builder and the NetConfig fields it reads), an MLP of two
    hidden layers is built Bayesian and plain, sampled in one batched pass, and described by its fields."""
    from torch import nn

    from idk.nn.bnn import BNN, ModelConfig, with_data
    from idk.nn.networks import ARCHITECTURES, settings_read

    def deep_mlp(layers, input_shape, num_classes):
        c, h, w = input_shape
        n = layers.cfg.hidden
        return [
            nn.Flatten(),
            layers.linear(c * h * w, n),
            nn.ReLU(),
            layers.linear(n, n),
            nn.ReLU(),
            layers.linear(n, num_classes),
        ]

    monkeypatch.setitem(ARCHITECTURES, "deep-mlp", (deep_mlp, ("hidden",)))
    cfg = NetConfig(arch="deep-mlp", hidden=16)
    assert settings_read(cfg) == {"arch": "deep-mlp", "hidden": 16}
    assert settings_read(NetConfig(arch="mlp", hidden=8)) == {"arch": "mlp", "hidden": 8}
    assert "hidden" not in settings_read(NetConfig()) and settings_read(NetConfig())["channels"] == (32, 64)
    assert sum(isinstance(m, nn.Linear) for m in build_network(cfg, None, (1, 8, 8), 3)) == 3
    model = BNN(with_data(ModelConfig(net=cfg), (1, 8, 8), 3))
    logits = model.sample_logits(torch.rand(4, 1, 8, 8), 5)
    assert logits.shape == (5, 4, 3) and torch.isfinite(logits).all()
    assert len({tuple(s.flatten().tolist()) for s in logits[:, 0]}) == 5  # five sampled networks, five answers


def test_a_network_whose_sizes_do_not_fit_the_images_is_said_by_its_layer(monkeypatch):
    """A builder that ignores the input shape (a Linear of 100 after 3×32×32 flattened) or the class
    count was a bare "mat1 and mat2 shapes cannot be multiplied" at the first prediction; now an
    IdkError names the network, the layer and the size it got. Checking draws no random number
    and updates no statistic (batch normalisation's running variance stays 1)."""
    from torch import nn

    from idk.errors import IdkError
    from idk.nn.networks import ARCHITECTURES

    def fixed(layers, input_shape, num_classes):
        return [nn.Flatten(), layers.linear(100, 16), nn.ReLU(), layers.linear(16, num_classes)]

    class Noisy(nn.Module):  # draws random numbers in any mode
        def forward(self, x):
            return x + 0 * torch.rand_like(x)

    def four_scores(layers, input_shape, num_classes):
        flat = int(torch.tensor(input_shape).prod())
        return [nn.Flatten(), nn.BatchNorm1d(flat), Noisy(), layers.linear(flat, 4)]

    def conv_of_28(layers, input_shape, num_classes):  # made for 28 × 28 whatever the images
        return [layers.conv(input_shape[0], 2, (28, 28)), nn.Flatten(), layers.linear(2 * 24 * 24, num_classes)]

    monkeypatch.setitem(ARCHITECTURES, "fixed", (fixed, ()))
    monkeypatch.setitem(ARCHITECTURES, "four", (four_scores, ()))
    monkeypatch.setitem(ARCHITECTURES, "conv28", (conv_of_28, ()))
    with pytest.raises(
        IdkError, match=r"its layer 0 \(.*\) does not take what comes to it, \(1, 32, 32\) .*made for \(1, 28, 28\)"
    ):
        build_network(NetConfig(arch="conv28"), NormalPrior(1.0), (1, 32, 32), 3)
    with pytest.raises(IdkError, match=r"its layer 1 \(BatchNorm1d.*\) does not take what comes to it, \(3, 32, 32\)"):
        check_shapes([nn.Identity(), nn.BatchNorm1d(3)], (3, 32, 32), 3, "bn")  # a ValueError of PyTorch's
    for prior in (None, NormalPrior(1.0)):
        with pytest.raises(
            IdkError,
            match=r"^network 'fixed': its layer 1 \(.*\) does not take what comes to it, \(3072,\) per image of 3×32×32: "
            r"(mat1 and mat2|it was made for \(100,\))",
        ):
            build_network(NetConfig(arch="fixed"), prior, (3, 32, 32), 3)
        with pytest.raises(
            IdkError, match=r"^network 'four': gives \(4,\) per image of 3×32×32, not its 3 class scores"
        ):
            build_network(NetConfig(arch="four"), prior, (3, 32, 32), 3)
    net = build_network(NetConfig(arch="four"), None, (3, 32, 32), 4)
    assert net[1].training and int(net[1].num_batches_tracked) == 0 and bool((net[1].running_var == 1).all())
    state = torch.random.get_rng_state()
    check_shapes(list(net), (3, 32, 32), 4, "four")
    assert torch.equal(torch.random.get_rng_state(), state)


def test_a_network_of_plain_layers_alone_is_refused_as_bayesian_and_built_as_a_twin(monkeypatch):
    """A builder making nn.Linear itself trained a point estimate under a Bayesian preset, without a
    word; training now refuses it, saying to use the maker it is given (built, as a model trained
    before is loaded, it still is); plain it is built."""
    from torch import nn

    from idk.errors import IdkError
    from idk.nn.networks import ARCHITECTURES

    def plain(layers, input_shape, num_classes):
        c, h, w = input_shape
        return [nn.Flatten(), nn.Linear(c * h * w, num_classes)]

    monkeypatch.setitem(ARCHITECTURES, "plain", (plain, ()))
    built = build_network(NetConfig(arch="plain"), NormalPrior(1.0), (1, 8, 8), 3)  # as a model of before is loaded
    with pytest.raises(IdkError, match=r"^network 'plain' has no Bayesian layer: .* layers.linear\(i, o\)"):
        check_bayesian(built, "plain")  # what training checks before it starts
    check_bayesian(build_network(NetConfig(arch="mlp", hidden=4), NormalPrior(1.0), (1, 8, 8), 3), "mlp")
    assert isinstance(build_network(NetConfig(arch="plain"), None, (1, 8, 8), 3)[1], nn.Linear)
