import pytest
import torch

from idk.nn.layers import BayesianLayer
from idk.nn.networks import NetConfig, build_network
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
    net = build_network(cfg, NormalPrior(1.0) if bayesian else None)
    assert net(torch.rand(3, 28, 28)).shape == (3, 10)


def test_lenet_sites_keep_their_names():
    """Checkpoints name sites by position: the one-convolution-per-block CNN must not move them."""
    net = build_network(NetConfig(channels=(4, 8), dense=16), NormalPrior(1.0))
    names = [layer.site_names()[0] for layer in net if isinstance(layer, BayesianLayer)]
    assert names == ["1.weight", "4.weight", "8.weight", "10.weight"]


def test_bad_architectures_say_what_is_valid():
    with pytest.raises(ValueError, match="padding must be 0 .* or 1"):
        build_network(NetConfig(kernel=3, padding=2), None)
    with pytest.raises(ValueError, match="valid: mlp, cnn"):
        build_network(NetConfig(arch="resnet"), None)
    with pytest.raises(ValueError, match="shrink to nothing"):
        build_network(NetConfig(kernel=7, convs=3), None)
