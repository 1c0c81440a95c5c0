"""Posterior predictive summaries: streamed in bounded memory, equal to the unbatched computation."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import torch

from helpers import for_mnist
from idk.decision.predictive import ACTIVATION_BUDGET, Predictions, batch_size_for, predict
from idk.nn.bnn import build_model, member_samples
from idk.training.config import get_preset


def test_batched_summaries_equal_one_big_batch():
    model = build_model(for_mnist(get_preset("tutorial").model), 100).eval()
    x = torch.rand(37, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    streamed = predict(model, x, 20, 10.0, batch_size=5, seed=3)
    # the same S networks for every batch: one big batch gives the same numbers
    whole = predict(model, x, 20, 10.0, batch_size=37, seed=3)
    for field in ("mean_probs", "quantile_probs", "expected_entropy", "mean_logits"):
        # float32 matmuls of different batch sizes round differently; logits here reach ~10²
        torch.testing.assert_close(getattr(streamed, field), getattr(whole, field), rtol=1e-3, atol=1e-3)
    assert isinstance(streamed, Predictions) and streamed.mean_probs.shape == (37, 10)


def test_batch_size_keeps_activations_within_budget():
    net = get_preset("cnn").model.net  # LeNet-like, valid padding: the first feature map is c1 × 24 × 24
    first_map = net.channels[0] * 24 * 24
    # (preset, floats per image in the largest per-sample activation, in the largest shared one)
    for preset, per_sample, shared in (
        ("tutorial", 1024, 784),
        ("cnn", net.dense, first_map),
        ("cnn-full", first_map, 784),
    ):
        model = build_model(for_mnist(get_preset(preset).model), 100)
        for samples in (1, 100, 1000):
            b = batch_size_for(model, samples)
            s = max(member_samples(samples, model.cfg.members))  # a mixture runs its members in turn
            assert b == 1 or (b * s * per_sample <= ACTIVATION_BUDGET and b * shared <= ACTIVATION_BUDGET)
            assert b >= min(10_000, ACTIVATION_BUDGET // max(per_sample * s, shared))  # not needlessly small


MEMORY = r"""
import json, torch
from idk.training.config import get_preset
from idk.nn.bnn import build_model
from idk.decision.predictive import predict
from idk.nn.bnn import with_data
def rss(field):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(field)) * 1024
model = build_model(with_data(get_preset("tutorial").model, (1, 28, 28), 10), 100).eval()
x = torch.rand(NUM_IMAGES, 1, 28, 28)
predict(model, x[:100], 100)
before = rss("VmRSS:")
predict(model, x, 100)
print(json.dumps({"above": (rss("VmHWM:") - before) / 2**20}))
"""


def test_memory_does_not_grow_with_the_number_of_images():
    """Peak memory above the loaded model and data stays bounded, whatever N is (S = 100)."""
    # glibc may keep freed heap pages resident after a long pass (a few hundred MiB, at random);
    # a fixed trim threshold makes RSS show predict's working set, which is what is tested here.
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": str(1 << 20)}
    above = {}
    for n in (2_000, 20_000):
        out = subprocess.run(
            [sys.executable, "-c", MEMORY.replace("NUM_IMAGES", str(n))],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        above[n] = json.loads(out.stdout)["above"]
    assert above[20_000] < 400  # MiB; ten times the images, the same working set
    assert above[20_000] < above[2_000] + 100


def test_summaries_are_listed_once_and_combined_field_by_field():
    import dataclasses

    tensors = {f.name for f in dataclasses.fields(Predictions) if f.type == "Tensor"}
    assert set(Predictions.SUMMARIES) == tensors  # a new summary must be listed, or concat would drop it
    a = Predictions.from_logits(torch.randn(5, 3, 4), 10.0)
    b = Predictions.from_logits(torch.randn(5, 2, 4), 10.0)
    joined = Predictions.concat([a, b])
    assert len(joined) == 5 and joined.samples == 5 and joined.percentile == 10.0
    for name in Predictions.SUMMARIES:
        assert torch.equal(getattr(joined, name), torch.cat([getattr(a, name), getattr(b, name)]))
    mixed = Predictions.combine([a, a], lambda ts: torch.stack(ts).mean(0), samples=10)
    assert mixed.samples == 10 and torch.allclose(mixed.mean_probs, a.mean_probs)


def test_images_in_another_form_are_one_line_saying_what_to_change():
    """The low-level predict takes (N, C, H, W) floats in [0, 1] or uint8 levels: channels last,
    other integers, 0..255 in floats, another size or one image without its batch axis are refused
    with the change to make."""
    import pytest

    from idk.errors import IdkError

    model = build_model(for_mnist(get_preset("tutorial").model), dataset_size=100)
    good = torch.rand(2, 1, 28, 28)
    assert predict(model, good, 3).mean_probs.shape == (2, 10)
    assert predict(model, good.clone().requires_grad_(), 3).mean_probs.shape == (2, 10)
    cases = [
        (
            good.permute(0, 2, 3, 1),
            r"shape \(2, 28, 28, 1\): this model takes \(N, 1, 28, 28\).*x\.permute\(0, 3, 1, 2\)",
        ),
        (good[0], r"one image: x\[None\]"),
        (
            torch.rand(2, 1, 32, 32),
            r"shape \(2, 1, 32, 32\): this model takes \(N, 1, 28, 28\) float32 in \[0, 1\] \(or uint8 0\.\.255\)$",
        ),
        ((good * 255).to(torch.int16), r"images of torch.int16.*x\.float\(\) / 255"),
        (good.double(), r"images of torch.float64: this model takes .* \(x\.float\(\)\)"),
        (good > 0.5, r"images of torch.bool: .*\(x\.float\(\)\)"),
        (good[:, 0], r"no channel axis: x\[:, None\]"),
        (good * 255, r"pixels span .*: this model takes"),
        (torch.full((1, 1, 28, 28), float("nan")), "images hold NaN or infinite pixels"),
        (good.numpy(), "must be a torch tensor"),
    ]
    for images, needle in cases:
        with pytest.raises(IdkError, match=needle):
            predict(model, images, 3)


def test_8_bit_levels_are_answered_as_the_floats_they_stand_for():
    """uint8 images (as an image set may hold them) are read as k / 255: the same answers, bit for bit."""
    model = build_model(for_mnist(get_preset("tutorial").model), dataset_size=100)
    stored = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)
    as_floats, as_levels = predict(model, stored.float() / 255, 4, seed=1), predict(model, stored, 4, seed=1)
    assert torch.equal(as_floats.mean_probs, as_levels.mean_probs)
