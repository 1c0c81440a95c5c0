"""Short training runs: the ELBO falls, a tiny model beats chance, resumption is exact."""

from __future__ import annotations

import math
from dataclasses import replace

import pyro
import pytest
import torch
from torch.distributions import Normal

from helpers import MNIST_SPEC, SMALL_CNN, for_mnist
from idk.decision.predictive import predict
from idk.nn.bnn import BNN, DeterministicNet, build_model
from idk.training.config import TrainConfig, get_preset
from idk.training.fitting import ElboObjective, FitState, fit


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
    from idk.data.named import noise as noise_set

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
    from idk.training import batches

    seen = []

    def record(x, y, labels, share):
        seen.append((labels, share))
        return x

    monkeypatch.setattr(batches, "written_variants", record)
    model, x, y = build_model(SMALL_CNN, 64), torch.zeros(64, 1, 28, 28), torch.zeros(64, dtype=torch.long)
    with pytest.raises(ValueError, match=r"variants=0.25 .* give fit the class names \(classes=...\), or variants=0"):
        fit(model, x, y, TrainConfig(variants=0.25), spec=MNIST_SPEC)
    fit(model, x, y, TrainConfig(epochs=1, batch_size=32, variants=0.25), spec=MNIST_SPEC, classes=tuple("0123456789"))
    assert seen == [({1: "1"}, 0.25)] * 2
    seen.clear()
    photos = InputSpec(1, 28, 28, "fit", drawn=False)
    fit(model, x, y, TrainConfig(epochs=1, variants=0.25), spec=photos, classes=tuple("0123456789"))
    assert seen and all(labels == {} for labels, _ in seen)  # a photo of a 1 is no written 1


@pytest.mark.parametrize("bayesian", [True, False])
def test_the_bars_loss_is_the_epochs_loss_so_far(mnist_train, monkeypatch, bayesian):
    """The bar's loss is the epoch's loss per example so far, on the scale of the epoch's line (it
    showed one step's raw ELBO, 3.85e+05 beside a line's 601): at the last step the two agree."""
    import idk.training.fitting as fitting

    shown: list[str] = []

    class Bar:
        def update(self, n):
            pass

        def set_postfix(self, refresh=True, **values):
            shown.append(values["loss"])

        def close(self):
            pass

    class Recorder:
        lines: list[str] = []

        def bar(self, **kwargs):
            return Bar()

        def log(self, message):
            self.lines.append(message)

    monkeypatch.setattr(fitting, "POSTFIX_EVERY", 1)
    cfg = replace(SMALL_CNN, bayesian=bayesian)
    model = build_model(cfg, 60000)
    tcfg = TrainConfig(epochs=1, batch_size=64, lr=3e-3, elbo="meanfield", local_reparam=True)
    state = fit(model, mnist_train.images[:640], mnist_train.labels[:640], tcfg, spec=MNIST_SPEC, progress=Recorder())
    assert len(shown) == 10 and shown[-1] == f"{state.history[0]['loss']:.4f}"
    assert f"loss {shown[-1]} (" in Recorder.lines[-1]


def test_a_diverging_run_stops_before_keeping_its_epoch(mnist_train):
    """A NaN epoch loss stops training with the way out (it saved NaN weights every epoch, which then
    answered every image "I don't know"); the epochs before it were kept."""
    from idk.training.fitting import TrainingDiverged

    model = build_model(replace(SMALL_CNN, bayesian=False), 640)
    tcfg = TrainConfig(epochs=3, batch_size=64, lr=1e30)
    kept: list[int] = []
    with pytest.raises(
        TrainingDiverged, match=r"epoch \d: the loss is nan: training diverged; .*smaller --lr \(it was 1e\+30\)"
    ):
        fit(
            model,
            mnist_train.images[:640],
            mnist_train.labels[:640],
            tcfg,
            spec=MNIST_SPEC,
            on_epoch=lambda s: kept.append(s.epoch),
        )
    assert all(math.isfinite(h) for h in kept) and len(kept) < 3


@pytest.mark.parametrize("bayesian", [True, False])
def test_batch_normalised_convolutions_train_their_own_parameters(mnist_train, bayesian):
    """``NetConfig.norm``: the Bayesian network's batch normalisation is trained (its scale and shift
    are the network's point parameters, beside the guide's) and keeps running statistics, which the
    sampled predictive reads in eval mode; each of the S networks then sees the same normalisation."""
    cfg = replace(SMALL_CNN, bayesian=bayesian, net=replace(SMALL_CNN.net, norm=True))
    model = build_model(cfg, 512)
    norms = [m for m in model.net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(norms) == len(cfg.net.channels)
    before = [n.weight.detach().clone() for n in norms]
    tcfg = TrainConfig(epochs=1, batch_size=64, lr=3e-3, elbo="meanfield", local_reparam=True)
    fit(model, mnist_train.images[:512], mnist_train.labels[:512], tcfg, spec=MNIST_SPEC)
    assert all(not torch.equal(b, n.weight) for b, n in zip(before, norms, strict=True))  # trained
    assert all(int(n.num_batches_tracked) >= 512 // 64 for n in norms)  # running statistics kept
    model.eval()
    x = mnist_train.images[:8]
    logits = model.sample_logits(x, 4, generator=torch.Generator().manual_seed(0))
    assert logits.shape == (4 if bayesian else 1, 8, 10) and torch.isfinite(logits).all()
    again = model.sample_logits(x[:3], 4, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(again, logits[:, :3])  # eval mode: an image's answer does not depend on its batch


def test_a_long_run_says_about_25_of_its_epochs_and_always_the_first_and_the_last():
    from idk.training.fitting import SAID_EPOCHS, said_epoch

    assert all(said_epoch(e, 12) for e in range(1, 13))  # the presets' 12 and 16: every one
    said = [e for e in range(1, 201) if said_epoch(e, 200, first=e == 1)]  # a small set's 200
    assert said[:3] == [1, 8, 16] and said[-1] == 200 and len(said) <= SAID_EPOCHS + 1
    resumed = [e for e in range(51, 201) if said_epoch(e, 200, first=e == 51)]
    assert resumed[0] == 51 and resumed[1] == 56


def test_the_training_rows_are_read_in_place_and_gathered_in_chunks(monkeypatch):
    """On a CPU the training part is its rows of the set, no copy; gathered for an accelerator a chunk
    at a time, it holds the same images in the same order."""
    from idk.training import fitting
    from idk.training.fitting import DeviceData, gathered

    images, labels = torch.arange(40.0).reshape(10, 1, 2, 2), torch.arange(10)
    rows = torch.tensor([7, 2, 9, 4, 0])
    data = DeviceData(images, labels, torch.device("cpu"), rows)
    assert len(data) == 5 and data.images is images and data.resident
    x, y = data.batch(data.order(torch.tensor([4, 0, 2])))
    assert torch.equal(y, torch.tensor([0, 7, 9])) and torch.equal(x, images[[0, 7, 9]])
    levels = torch.arange(10, dtype=torch.uint8).reshape(10, 1, 1, 1).expand(-1, 1, 2, 2)  # a set held as 8-bit
    x, _ = DeviceData(levels, labels, torch.device("cpu"), rows).batch(torch.tensor([4, 0]))
    assert x.dtype == torch.float32 and torch.equal(x, levels[[0, 7]].float() / 255)  # read as floats per batch
    monkeypatch.setattr(fitting, "GATHER_CHUNK", 2)
    assert torch.equal(gathered(images, rows, torch.device("cpu")), images[rows])
    assert torch.equal(gathered(labels, None, torch.device("cpu")), labels)
