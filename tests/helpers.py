"""Small helpers shared by tests: models for MNIST's input form built without the data."""

from __future__ import annotations

from idk.data.named import NAMED
from idk.nn.bnn import ModelConfig, with_data
from idk.nn.networks import NetConfig

MNIST_SPEC = NAMED["mnist"].spec
MNIST_SHAPE = MNIST_SPEC.shape  # (1, 28, 28)


def for_mnist(cfg: ModelConfig) -> ModelConfig:
    """``cfg`` for MNIST's 28×28 greyscale images and ten classes."""
    return with_data(cfg, MNIST_SHAPE, len(NAMED["mnist"].classes))


# a narrow CNN for short training runs on MNIST
SMALL_CNN = for_mnist(ModelConfig(net=NetConfig(arch="cnn", channels=(4, 8), dense=32), init_scale=1e-3))


# A score of one's own, as a user writes it (in a plugin file: tests/test_plugins.py), without its
# registration: u = −log Σ_c exp(z̄_c), negative, with its own histogram range.
ENERGY_SCORE = '''
import torch

from idk.decision.scores import SCORES, Score


class Energy(Score):
    """u = −log Σ_c exp(z̄_c)  (the free energy of the mean logits)."""

    name = "energy"

    def bounds(self, num_classes):
        return -60.0, 10.0

    def __call__(self, pred):
        return -torch.logsumexp(pred.mean_logits, -1)
'''


def energy_score() -> type:
    """:data:`ENERGY_SCORE`'s class, not registered."""
    namespace: dict = {}
    exec(ENERGY_SCORE, namespace)
    return namespace["Energy"]
