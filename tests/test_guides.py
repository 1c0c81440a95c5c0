"""Guides: the registry, and a guide of one's own in another parameterisation of the mean-field Normal."""

from __future__ import annotations

import math

import pytest
import torch

from idk.nn.bnn import BNN, ModelConfig
from idk.nn.guides import GUIDES, MeanFieldNormalGuide, make_guide
from idk.nn.networks import NetConfig

CFG = ModelConfig(net=NetConfig(arch="mlp", hidden=8), input_shape=(1, 4, 4), num_classes=3)


class ExpScaleGuide(MeanFieldNormalGuide):
    """q(w) = Π_i Normal(w_i; μ_i, exp(ρ_i)): the scale's other usual parameterisation."""

    def scale_of(self, rho):
        return torch.exp(rho)

    def rho_of(self, scale):
        return math.log(scale)


def test_the_registry_names_its_guides():
    with pytest.raises(ValueError, match=r"unknown guide 'full-rank'; valid: mean-field-normal .*idk\.nn\.guides"):
        make_guide("full-rank", torch.nn.Linear(2, 2), "net", 1e-3, ())


def test_a_guide_of_ones_own_is_built_sampled_and_trained(monkeypatch):
    monkeypatch.setitem(GUIDES, "exp-scale", ExpScaleGuide)
    model = BNN(ModelConfig(**{**CFG.__dict__, "guide": "exp-scale"}), dataset_size=10)
    assert isinstance(model.guide, ExpScaleGuide)
    site = next(s for s in model.guide.sites if s not in model.guide.point)
    loc, scale = model.guide.loc_scale(site)
    # ρ starts at log 0.001 ≈ −6.91 (rho_of), its scale exp(ρ) = 0.001 (scale_of)
    rho = model.guide.rhos[site.replace(".", "__")]
    torch.testing.assert_close(rho, torch.full_like(rho, math.log(1e-3)))
    torch.testing.assert_close(scale, torch.exp(rho))
    torch.testing.assert_close(scale, torch.full_like(rho, 1e-3))
    logits = model.sample_logits(torch.rand(5, 1, 4, 4), 7, generator=torch.Generator().manual_seed(0))
    assert logits.shape == (7, 5, 3) and torch.isfinite(logits).all()


def test_a_model_is_trained_and_loaded_with_a_guide_of_ones_own(monkeypatch, tmp_path, data_dir):
    """TrainOptions(guide=...) (``idk train --guide`` with IDK_PLUGINS): the checkpoint names it, and
    loading builds it again (the scales it trained, read through exp, not softplus)."""
    from idk.data import DataConfig
    from idk.training import checkpoint
    from idk.training.train import TrainOptions, train

    monkeypatch.setitem(GUIDES, "exp-scale", ExpScaleGuide)
    out = tmp_path / "g.pt"
    opts = TrainOptions(guide="exp-scale", train_subset=300, epochs=1, members=1, twin=False, samples=4)
    trained = train(out, data=DataConfig(data_dir, tmp_path / "cache"), opts=opts)
    assert trained.model_config.guide == "exp-scale"
    model, ckpt = checkpoint.load(out)
    assert ckpt.model_config.guide == "exp-scale" and isinstance(model.guide, ExpScaleGuide)
