"""Short training runs: the ELBO falls, a tiny model beats chance, resumption is exact."""

from __future__ import annotations

from dataclasses import replace

import pyro
import pytest
import torch
from torch.distributions import Normal

from helpers import MNIST_SPEC, for_mnist
from idk.decision.predictive import predict
from idk.nn.bnn import BNN, DeterministicNet, ModelConfig, build_model
from idk.nn.networks import NetConfig
from idk.training.config import TrainConfig, get_preset
from idk.training.fitting import ElboObjective, FitState, fit

SMALL_CNN = for_mnist(ModelConfig(net=NetConfig(arch="cnn", channels=(4, 8), dense=32), init_scale=1e-3))


def test_tutorial_preset_elbo_falls(mnist_train):
    preset = get_preset("tutorial")
    model = build_model(for_mnist(preset.model), 60000)
    x, y = mnist_train.images[:2560], mnist_train.labels[:2560]
    state = fit(model, x, y, replace(preset.train, epochs=3), spec=MNIST_SPEC)
    losses = [h["loss"] for h in state.history]
    assert losses[0] > losses[1] > losses[2]


@pytest.mark.parametrize("bayesian", [True, False])
def test_tiny_data_training_beats_chance(mnist_train, mnist_test, bayesian):
    cfg = replace(SMALL_CNN, bayesian=bayesian)
    n = 3000
    model = build_model(cfg, n)
    tcfg = TrainConfig(epochs=3, batch_size=64, lr=3e-3, elbo="meanfield", local_reparam=True)
    state = fit(model, mnist_train.images[:n], mnist_train.labels[:n], tcfg, spec=MNIST_SPEC)
    assert isinstance(model, BNN if bayesian else DeterministicNet)
    assert state.history[-1]["loss"] < state.history[0]["loss"]
    pred = predict(model, mnist_test.images[:1000], 10)
    accuracy = (pred.mean_probs.argmax(-1) == mnist_test.labels[:1000]).double().mean().item()
    assert accuracy > 0.8  # chance is 0.1


@pytest.mark.parametrize(
    "augmented",
    [{}, {"augment": True, "degrade": 0.5, "outlier_weight": 0.5, "drop_outliers": ("zoomed", "strokes")}],
    ids=["plain", "degraded-with-outliers"],
)
def test_resumed_training_equals_uninterrupted(mnist_train, augmented):
    x, y = mnist_train.images[:1024], mnist_train.labels[:1024]
    tcfg = TrainConfig(
        epochs=3, batch_size=128, lr=1e-3, schedule="cosine", elbo="meanfield", local_reparam=True, seed=3, **augmented
    )

    def fresh() -> BNN:
        torch.manual_seed(0)
        return BNN(SMALL_CNN, 1024)

    full = fresh()
    fit(full, x, y, tcfg, spec=MNIST_SPEC)

    saved: dict = {}
    first = fresh()

    def stop_after_two(state: FitState) -> None:
        if state.epoch == 2:
            saved["state"] = {k: v for k, v in state.as_dict().items()}
            saved["weights"] = {k: v.clone() for k, v in first.state_dict().items()}
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(first, x, y, tcfg, spec=MNIST_SPEC, on_epoch=stop_after_two)
    resumed = fresh()
    resumed.load_state_dict(saved["weights"])
    state = fit(resumed, x, y, tcfg, spec=MNIST_SPEC, state=FitState(**saved["state"]))
    assert state.epoch == 3 and len(state.history) == 3
    for key, value in full.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("bayesian", [True, False])
def test_outlier_exposure_makes_noise_uncertain(mnist_train, bayesian):
    from idk.data.catalog import noise as noise_set

    x, y = mnist_train.images[:2000], mnist_train.labels[:2000]
    noise = noise_set("noise", 200, MNIST_SPEC, seed=5).images
    confidence = {}
    for weight in (0.0, 0.5):
        torch.manual_seed(0)
        model = build_model(replace(SMALL_CNN, bayesian=bayesian), 2000)
        cfg = TrainConfig(epochs=2, batch_size=64, lr=3e-3, elbo="meanfield", local_reparam=True, outlier_weight=weight)
        fit(model, x, y, cfg, spec=MNIST_SPEC)
        confidence[weight] = predict(model, noise, 10).mean_probs.max(-1).values.mean().item()
    assert confidence[0.5] < 0.3 < confidence[0.0] or confidence[0.5] < confidence[0.0] - 0.2


def test_kl_weight_scales_exactly_the_closed_form_kl(mnist_train):
    """−ELBO_β = NLL + β KL with the KL in closed form: with the same noise, the loss is affine in β
    and its slope is Σ_sites KL(Normal(μ, σ) ‖ Normal(0, 1))."""
    x, y = mnist_train.images[:64], mnist_train.labels[:64]
    model = BNN(SMALL_CNN, 1024)
    losses = {}
    for beta in (0.25, 0.5, 1.0):
        objective = ElboObjective(model, TrainConfig(elbo="meanfield", local_reparam=True, kl_weight=beta))
        pyro.set_rng_seed(3)
        losses[beta] = objective(x, y).item()
    kl = 0.0
    for site in model.guide.sites:
        loc, scale = model.guide.loc_scale(site)
        kl += torch.distributions.kl_divergence(Normal(loc, scale), Normal(0.0, 1.0)).sum().item()
    assert (losses[1.0] - losses[0.25]) / 0.75 == pytest.approx(kl, rel=1e-4)
    assert losses[0.5] - losses[0.25] == pytest.approx(0.25 * kl, rel=1e-4)


def test_dropped_outlier_families_are_left_out_and_unknown_names_refused():
    from idk.data.images import InputSpec
    from idk.training.fitting import OUTLIER_FAMILIES, outlier_families

    every = outlier_families(MNIST_SPEC, TrainConfig())
    assert set(every) <= set(OUTLIER_FAMILIES) and "zoomed" in every
    kept = outlier_families(MNIST_SPEC, TrainConfig(drop_outliers=("zoomed", "blobs")))
    assert set(kept) == set(every) - {"zoomed", "blobs"}
    photos = InputSpec(3, 32, 32, "fit")  # a valid name that does not apply to photos drops nothing
    assert set(outlier_families(photos, TrainConfig(drop_outliers=("zoomed",)))) == set(
        outlier_families(photos, TrainConfig())
    )
    with pytest.raises(ValueError, match="unknown synthetic outlier family to drop: zoom; valid: uniform-noise, "):
        outlier_families(MNIST_SPEC, TrainConfig(drop_outliers=("zoom",)))
    everything = TrainConfig(drop_outliers=OUTLIER_FAMILIES, outlier_weight=0.5)
    with pytest.raises(ValueError, match="leaves no synthetic outlier family"):
        outlier_families(MNIST_SPEC, everything)
    assert outlier_families(MNIST_SPEC, replace(everything, outlier_weight=0.0)) == {}
    model = build_model(SMALL_CNN, 64)
    with pytest.raises(ValueError, match="unknown synthetic outlier family"):  # before any step
        fit(
            model,
            torch.zeros(64, 1, 28, 28),
            torch.zeros(64, dtype=torch.long),
            TrainConfig(drop_outliers=("x",)),
            spec=MNIST_SPEC,
        )


def test_printed_class_names_need_the_class_names():
    """A printed share without the class names would silently print nothing: an error, before any
    step; photos (not drawn) print none, and need none."""
    from idk.data.images import InputSpec

    model, x, y = build_model(SMALL_CNN, 64), torch.zeros(64, 1, 28, 28), torch.zeros(64, dtype=torch.long)
    with pytest.raises(ValueError, match=r"printed=0.05 .* give fit the class names \(classes=...\), or printed=0"):
        fit(model, x, y, TrainConfig(printed=0.05), spec=MNIST_SPEC)
    photos = InputSpec(1, 28, 28, "fit", drawn=False)
    assert fit(model, x, y, TrainConfig(epochs=1, printed=0.05), spec=photos).epoch == 1


def test_written_variants_reach_each_batch_of_drawn_digits_only(monkeypatch):
    """variants=P: each batch of drawn symbols goes through written_variants with the labels of the
    classes that have one and that share; without class names an error, as for printed names."""
    from idk.data.images import InputSpec
    from idk.training import fitting

    seen = []

    def record(x, y, labels, share):
        seen.append((labels, share))
        return x

    monkeypatch.setattr(fitting, "written_variants", record)
    model, x, y = build_model(SMALL_CNN, 64), torch.zeros(64, 1, 28, 28), torch.zeros(64, dtype=torch.long)
    with pytest.raises(ValueError, match=r"variants=0.25 .* give fit the class names \(classes=...\), or variants=0"):
        fit(model, x, y, TrainConfig(variants=0.25), spec=MNIST_SPEC)
    fit(model, x, y, TrainConfig(epochs=1, batch_size=32, variants=0.25), spec=MNIST_SPEC, classes=tuple("0123456789"))
    assert seen == [({1: "1"}, 0.25)] * 2
    seen.clear()
    photos = InputSpec(1, 28, 28, "fit", drawn=False)
    fit(model, x, y, TrainConfig(epochs=1, variants=0.25), spec=photos, classes=tuple("0123456789"))
    assert seen and all(labels == {} for labels, _ in seen)  # a photo of a 1 is no written 1


@pytest.mark.parametrize("batch", [128, 64, 32, 80])
def test_every_outlier_family_gets_its_equal_part(batch):
    """n = share × batch outliers: each of the F families n // F or one more (before, the families
    were cut in order: at 64 images per process the last two of ten got none)."""
    from idk.data.synthetic import families_for
    from idk.training.fitting import training_outliers

    families = families_for(MNIST_SPEC)[0]
    counts: dict[str, int] = {}
    images = torch.rand(batch, 1, 28, 28)
    labels = torch.arange(batch) % 10
    tagged = {  # the default's ten families, each one's images marked by a constant value
        name: (lambda images, labels, n, g, i=i: torch.full((n, 1, 28, 28), float(i)))
        for i, name in enumerate(families)
    }
    out = training_outliers(images, labels, 0.5, tagged)
    n = round(0.5 * batch)
    assert len(out) == n
    for i, name in enumerate(families):
        counts[name] = int((out[:, 0, 0, 0] == i).sum())
    assert min(counts.values()) >= n // len(families) and max(counts.values()) - min(counts.values()) <= 1


def test_family_counts_split_by_weight_and_sum_to_n():
    from idk.training.fitting import family_counts

    assert family_counts(10, [1, 1, 1]) == [(4, 4), (3, 4), (3, 4)]  # equal parts: the first one more
    assert family_counts(12, [1, 1, 1]) == [(4, 4)] * 3
    weighed = family_counts(64, [1.0] * 10 + [3.0])  # 64 × 3/13 = 14.8 for the weighed family
    assert sum(k for k, _ in weighed) == 64 and all(d >= k for k, d in weighed)
    assert weighed[-1] == (14, 15) and {k for k, _ in weighed[:-1]} == {5}
    assert family_counts(5, [1.0, 0.5, 0.5]) == [(3, 3), (1, 2), (1, 2)]


def test_a_weighed_family_gets_its_share_of_each_step():
    from idk.training.fitting import training_outliers

    tagged = {
        name: (lambda images, labels, n, g, i=i: torch.full((n, 1, 28, 28), float(i)))
        for i, name in enumerate(["strokes", "blobs", "glyphs"])
    }
    out = training_outliers(torch.rand(80, 1, 28, 28), torch.zeros(80, dtype=torch.long), 0.5, tagged, {"glyphs": 2.0})
    counts = [int((out[:, 0, 0, 0] == i).sum()) for i in range(3)]
    assert counts == [10, 10, 20]


def test_outlier_weights_must_name_families_and_be_positive():
    from idk.training.fitting import outlier_families

    assert set(outlier_families(MNIST_SPEC, TrainConfig(outlier_weights=(("glyphs", 3.0),)))) == set(
        outlier_families(MNIST_SPEC, TrainConfig())
    )
    with pytest.raises(ValueError, match="unknown synthetic outlier family to weigh: glyph; valid: uniform-noise, "):
        outlier_families(MNIST_SPEC, TrainConfig(outlier_weights=(("glyph", 3.0),)))
    with pytest.raises(ValueError, match="must be > 0"):
        outlier_families(MNIST_SPEC, TrainConfig(outlier_weights=(("glyphs", 0.0),)))
