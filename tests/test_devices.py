"""``--device``: where tensors live.

On every machine: the CPU paths, the one-line errors, and a device-placement check that needs no
GPU: the model is moved to PyTorch's ``meta`` device (tensors with shapes and no data), on which an
operation mixing a CPU tensor with the model's tensors fails as it would on a GPU, while a torch
function mode records every non-scalar CPU tensor that idk's own code creates during a training
step and a prediction. Where a CUDA GPU is present, the real thing: train, predict, save on the GPU,
load on the CPU, the same answers.
"""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np
import pyro
import pyro.infer.trace_elbo
import pyro.infer.trace_mean_field_elbo
import pytest
import torch
from PIL import Image
from torch.overrides import TorchFunctionMode

import idk.decision.predictive as predictive
import idk.training.fitting as fitting
from idk.apps.cli import main
from idk.data.augment import augmentation_for
from idk.data.glyphs import glyph_bank
from idk.data.named import NAMED
from idk.data.synthetic import families_for
from idk.decision.predictive import Predictions, batch_size_for, device_batches
from idk.devices import resolve_device
from idk.nn.bnn import build_model, with_data
from idk.training import checkpoint as ckpt_io
from idk.training.batches import training_outliers
from idk.training.config import get_preset
from idk.training.fitting import DeviceData, ElboObjective, MleObjective

MNIST = NAMED["mnist"]
CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA GPU on this machine: the GPU paths cannot run here")
SRC = "/src/idk/"
# CPU tensors idk makes on purpose: the predictive's networks are drawn from a seeded CPU generator
# (the same networks on every device) and copied to the model's device once per prediction.
INTENDED_CPU = {("nn/guides.py", "randn")}
TINY = ["--train-subset", "600", "--epochs", "1", "--threads", "1", "-q"]


class CpuTensors(TorchFunctionMode):
    """Records (file, function) of every torch call from idk's code that returns a CPU tensor of one
    element or more dimensions (0-d CPU tensors mix with any device, as numbers do)."""

    def __init__(self) -> None:
        super().__init__()
        self.sites: set[tuple[str, str]] = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        outs = out if isinstance(out, (tuple, list)) else (out,)
        if any(isinstance(t, torch.Tensor) and t.device.type == "cpu" and t.dim() > 0 for t in outs):
            frame = sys._getframe(1)
            while frame is not None and SRC not in frame.f_code.co_filename:
                frame = frame.f_back
            if frame is not None:
                self.sites.add((frame.f_code.co_filename.split(SRC)[1], getattr(func, "__name__", str(func))))
        return out


def _tensors(value):
    """Every tensor in nested dicts, lists and tuples."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _tensors(v)


@pytest.mark.parametrize("preset", ["cnn", "cnn-full", "tutorial"])
def test_a_training_step_and_a_prediction_stay_on_the_model_device(preset, monkeypatch):
    """Data, augmentation, synthetic outliers, priors, guide noise, Flipout signs, the ELBO and its
    gradients, the twin's loss, sampled logits and the batch size: all on the model's device."""
    # Pyro reads the loss back as a number for its NaN warning and its report: impossible on meta
    monkeypatch.setattr(pyro.infer.trace_elbo, "torch_item", lambda x: x.detach())
    monkeypatch.setattr(pyro.infer.trace_mean_field_elbo, "torch_item", lambda x: x.detach())
    monkeypatch.setattr(pyro.infer.trace_elbo, "warn_if_nan", lambda *a, **k: None)
    # mirror and turned images pick their classes with nonzero(), whose size depends on the data:
    # no meta version (on a real device it runs, waiting for the device once per step)
    spec = replace(MNIST.spec, mirror_classes=(), turns=())
    p = get_preset(preset)
    small = replace(p.model, net=replace(p.model.net, channels=(4, 8), dense=16, hidden=16), members=1)  # one network
    cfg = with_data(small, spec.shape, 10)
    meta = torch.device("meta")
    model, twin = build_model(cfg, 1000).to(meta), build_model(replace(cfg, bayesian=False), 1000).to(meta)
    images, labels = torch.rand(100, *spec.shape), torch.randint(0, 10, (100,))
    # the glyph bank is drawn once per process on the host (PIL renders the fonts), cached, and copied
    # to the device once: set-up, like loading the data, made here whatever test ran before this one
    glyph_bank(*spec.shape[1:])
    recorder = CpuTensors()
    with recorder, pyro.validation_enabled(False):
        data = DeviceData(images, labels, meta)
        x, y = data.batch(data.order(torch.randperm(100))[:32])
        x = augmentation_for(spec)(x)
        outliers = training_outliers(x, y, 0.5, families_for(spec)[0])
        loss = ElboObjective(model, p.train)(x, y, outliers, 0.5)
        loss.backward()
        twin_loss = MleObjective(twin, p.train)(x, y, outliers, 0.5)
        twin_loss.backward()
        logits = model.sample_logits(images[:10], 7, generator=torch.Generator().manual_seed(0))
        summary = Predictions.from_logits(logits, 10.0)
        batches = list(device_batches(images, 40, meta))
        assert batch_size_for(model, 7) >= 1
    # data too large to copy over whole go batch by batch, gathered on the host (by design, so
    # outside the recorder) and copied over (from pinned memory on a GPU)
    monkeypatch.setattr(predictive, "RESIDENT_BYTES", 0)
    monkeypatch.setattr(fitting, "RESIDENT_BYTES", 0)
    streamed = DeviceData(images, labels, meta)
    x_streamed, _ = streamed.batch(streamed.order(torch.randperm(100))[:32])
    batches += list(device_batches(images, 40, meta))
    assert not streamed.resident and streamed.images.device.type == "cpu" and x_streamed.device == meta
    assert {t.device.type for t in (x, y, outliers, loss, twin_loss, logits, summary.mean_probs)} == {"meta"}
    assert all(p.grad is not None and p.grad.device == meta for p in model.guide.parameters())
    assert logits.shape == (7, 10, 10) and [len(b) for b in batches] == [40, 40, 20] * 2
    assert {b.device.type for b in batches} == {"meta"}
    assert recorder.sites <= INTENDED_CPU, f"CPU tensors made in idk's code: {recorder.sites - INTENDED_CPU}"


def test_unknown_device_is_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--out", "x.pt", "--device", "tpu"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'tpu' is not a device" in err


@pytest.mark.skipif(CUDA, reason="this machine has a CUDA GPU: asking for one is no error here")
def test_cuda_without_a_gpu_is_one_line_exit_2(capsys, tmp_path):
    assert main(["train", "--out", str(tmp_path / "x.pt"), "--device", "cuda", *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no CUDA GPU" in err and "--device cpu" in err
    assert not (tmp_path / "x.pt").exists()


def test_checkpoint_trained_on_cpu_loads_under_auto(tmp_path, data_dir, mnist_test, capsys):
    path = tmp_path / "cpu.pt"
    args = ["--preset", "tutorial", "--data-dir", str(data_dir)]
    assert main(["train", "--out", str(path), "--device", "cpu", *args, *TINY]) == 0
    saved = torch.load(path, weights_only=True)  # no map_location: each tensor where it was saved
    assert {t.device.type for t in _tensors(saved)} == {"cpu"}
    model, _ = ckpt_io.load(path, device="auto")
    assert model.device == resolve_device("auto")
    image = tmp_path / "seven.png"
    Image.fromarray((255 * mnist_test.images[0, 0].numpy()).astype(np.uint8)).save(image)
    capsys.readouterr()
    assert main(["predict", str(image), "--model", str(path), "--device", "auto", "-q"]) == 0
    assert capsys.readouterr().out.startswith(f"{image}: ")


# --- where a CUDA GPU is present ------------------------------------------------------------------


@needs_cuda
@pytest.mark.parametrize("preset", ["cnn", "tutorial"])
def test_train_on_gpu_save_load_on_cpu_same_answers(preset, tmp_path, data_dir, mnist_test):
    from idk.decision.predictive import predict

    path = tmp_path / "gpu.pt"
    extra = ["--channels", "4", "8", "--dense", "32", "--samples", "10"] if preset == "cnn" else []
    assert (
        main(
            ["train", "--out", str(path), "--preset", preset, "--device", "cuda", "--data-dir", str(data_dir)]
            + extra
            + TINY
        )
        == 0
    )
    raw = torch.load(path, weights_only=True)  # no map_location: tensors come back where they were saved
    assert {t.device.type for t in _tensors(raw)} == {"cpu"}  # optimiser state included
    state = raw["training_state"]["model"]
    assert state["cuda_rng"] is not None  # resume restores the GPU's random state too
    on_gpu, _ = ckpt_io.load(path, device="cuda")
    on_cpu, _ = ckpt_io.load(path, device="cpu")
    assert on_gpu.device.type == "cuda" and on_cpu.device.type == "cpu"
    images = mnist_test.images[:500]
    a, b = predict(on_gpu, images, 20, seed=3), predict(on_cpu, images, 20, seed=3)
    assert a.mean_probs.device.type == "cpu"  # summaries come back to the host once
    torch.testing.assert_close(a.mean_probs, b.mean_probs, atol=1e-4, rtol=1e-3)
    torch.testing.assert_close(a.quantile_probs, b.quantile_probs, atol=1e-4, rtol=1e-3)


@needs_cuda
def test_gpu_training_from_pinned_batches_and_resume(tmp_path, data_dir, monkeypatch):
    """A training set too large to copy over whole is fed batch by batch from pinned memory; a
    run resumed on the GPU continues from its checkpoint."""
    import idk.training.fitting as fitting

    monkeypatch.setattr(fitting, "RESIDENT_BYTES", 0)
    path = tmp_path / "gpu.pt"
    args = ["train", "--out", str(path), "--preset", "tutorial", "--device", "cuda", "--data-dir", str(data_dir)]
    assert main([*args, *TINY]) == 0
    assert main([*args, "--resume", *TINY[:2], "--epochs", "2", "-q"]) == 0
    assert [h["epoch"] for h in ckpt_io.read(path).history] == [1, 2]


@needs_cuda
def test_8_bit_levels_read_on_the_gpu_are_the_cpus_floats():
    """A set held as 8-bit levels is read as float32 where it is used: on the GPU the same floats
    as on the CPU, bit for bit (a division by 255 there multiplies by its reciprocal)."""
    from idk.data.images import unit

    k = torch.arange(256, dtype=torch.uint8).reshape(4, 1, 8, 8)
    assert torch.equal(unit(k.cuda()).cpu(), unit(k))


@needs_cuda
def test_auto_picks_the_gpu():
    assert resolve_device("auto").type == "cuda"
