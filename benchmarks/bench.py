"""``make bench``: idk's speed against the tutorial's way, measured in one run on this machine.

Cases (each: the baseline and idk, timed in the same process, same model shapes, same data):

* ``mlp_predict_100``: the tutorial MLP's 100-sample pass over 10,000 MNIST test images. Baseline:
  the tutorial's loop (for each batch of 128: for each of 100 samples, draw a network from the
  guide, copy the module, run it). idk: :func:`idk.decision.predictive.predict`.
* ``cnn_predict_100``: the same for one posterior of the default CNN; baseline: a per-sample loop
  over the same model (one guide draw and one forward pass per sample and batch of 128).
* ``mixture_predict_100``: the default's mixture of posteriors (S = 100 shared among its members,
  each running its own convolutions) against one posterior with the same S, both idk's.
* ``mlp_train_epoch``: one epoch of the tutorial preset; baseline: the notebook's SVI step
  (priors and guide rebuilt every step, the module lifted with ``pyro.random_module``).
* ``cnn_train_step``: the default CNN's Bayesian training step against its deterministic twin's.

Every measurement runs in its own fresh interpreter (no case inherits another's heap).

``--device`` (repeatable; default: the CPU, and the GPU too when ``auto`` finds one) runs every case
on each device. The tutorial's loops are CPU code and are timed on the CPU only; on another device
a case reports idk's time and images/s, and the cases against idk's own variant (``cnn_train_step``,
``mixture_predict_100``) both times.

Prints a table per device and writes JSON: {CASE: {"baseline_s", "idk_s", "speedup",
"images_per_s", "gflops"}, "matmul_gflops": G, "peak_rss": {...}, "devices": {DEVICE: {CASE: ...}}}
(the top-level cases are the first device's). Models are freshly initialised: the cost of these
computations does not depend on the weights' values.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import pyro
import pyro.distributions as dist
import torch
import torch.nn.functional as F
from torch import nn

from idk.data import DataConfig, mnist
from idk.data.named import NAMED
from idk.decision.predictive import predict
from idk.devices import resolve_device
from idk.nn.bnn import BNN, build_model, with_data
from idk.nn.layers import BayesianLayer
from idk.training.config import get_preset
from idk.training.fitting import fit

ROOT = Path(__file__).resolve().parents[1]
MNIST = NAMED["mnist"]


def mnist_model(preset: str, dataset_size: int | None, bayesian: bool = True, members: int = 1):
    """A model of ``preset`` for MNIST's input form and classes; by default one posterior (the
    default's mixture trains its members one after the other and samples them in turn, each with
    its share of the S draws: ``mixture_predict_100`` times what that costs)."""
    model = replace(get_preset(preset).model, members=members)
    cfg = replace(with_data(model, MNIST.spec.shape, len(MNIST.classes)), bayesian=bayesian)
    return build_model(cfg, dataset_size)


def timed(fn, repeat: int = 1) -> float:
    """Best wall-clock seconds of ``repeat`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def matmul_gflops(n: int = 2048, reps: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    seconds = timed(lambda: [a @ b for _ in range(reps)], repeat=3)
    return 2 * n**3 * reps / seconds / 1e9


def forward_flops(model: BNN) -> int:
    """FLOPs (2 × multiply-adds) of one deterministic forward pass of one image."""
    flops, h = 0, torch.zeros(1, *model.cfg.input_shape)
    with torch.no_grad():
        for layer in model.net:
            if isinstance(layer, BayesianLayer):
                out = layer.apply(h, torch.zeros(layer.weight_shape), None)
                per_output = int(torch.tensor(layer.weight_shape[1:]).prod())
                flops += 2 * out[0].numel() * per_output
                h = out
            else:
                h = layer(h)
    return flops


# --- the tutorial's way --------------------------------------------------------------------------
# The notebook's own code (pyro.random_module, deprecated but still in Pyro), with only the fixes
# current Pyro needs (.to_event on every distribution). idk itself never uses random_module.


def plain_net(model: BNN) -> nn.Module:
    """A plain torch copy of the model's architecture (what the notebook's ``net`` was)."""
    from idk.nn.networks import build_network

    return build_network(model.cfg.net, None, model.cfg.input_shape, model.cfg.num_classes)


def guide_priors(model: BNN, net: nn.Module) -> dict[str, dist.Distribution]:
    """The guide's distribution of every parameter of ``net`` (same names as the guide's sites)."""
    return {name: model.guide.distribution(name) for name, _ in net.named_parameters()}


def tutorial_predict(model: BNN, images: torch.Tensor, samples: int, batch: int = 128) -> None:
    """The notebook's ``give_uncertainities``: per batch, ``samples`` networks from the guide via
    ``random_module``, each run on the batch, log-softmax to numpy."""
    net = plain_net(model)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for start in range(0, len(images), batch):
            x = images[start : start + batch]
            sampled = [pyro.random_module("module", net, guide_priors(model, net))() for _ in range(samples)]
            [F.log_softmax(m(x), 1).numpy() for m in sampled]


def tutorial_train_epoch(images: torch.Tensor, labels: torch.Tensor, batch: int = 128, lr: float = 0.01) -> None:
    """The notebook's training loop: model and guide lift ``net`` with ``random_module`` every step."""
    pyro.clear_param_store()
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 10))

    def model_fn(x, y):
        priors = {
            n: dist.Normal(torch.zeros_like(p), torch.ones_like(p)).to_event(p.dim()) for n, p in net.named_parameters()
        }
        lifted = pyro.random_module("module", net, priors)()
        pyro.sample("obs", dist.Categorical(logits=F.log_softmax(lifted(x), 1)).to_event(1), obs=y)

    def guide_fn(x, y):
        priors = {}
        for n, p in net.named_parameters():
            mu = pyro.param(f"{n}_mu", torch.randn_like(p))
            sigma = F.softplus(pyro.param(f"{n}_sigma", torch.randn_like(p)))
            priors[n] = dist.Normal(mu, sigma).to_event(p.dim())
        return pyro.random_module("module", net, priors)()

    svi = pyro.infer.SVI(model_fn, guide_fn, pyro.optim.Adam({"lr": lr}), loss=pyro.infer.Trace_ELBO())
    order = torch.randperm(len(images))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for start in range(0, len(images), batch):
            idx = order[start : start + batch]
            svi.step(images[idx], labels[idx])


def per_sample_loop_predict(model: BNN, images: torch.Tensor, samples: int, batch: int = 128) -> None:
    """A per-sample loop over the same model, the notebook's way: one network from the guide
    (``random_module``) and one forward pass per sample and batch of 128."""
    tutorial_predict(model, images, samples, batch)


# --- memory ------------------------------------------------------------------------------------

MEMORY_SCRIPT = r"""
import json, sys, torch
from idk.nn.bnn import build_model, with_data
from idk.training.config import get_preset
from idk.data import DataConfig, load, mnist
from idk.evaluation.evaluate import EvalSettings, evaluate
from idk.decision.rules import PercentileRule
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
preset = get_preset("cnn")
cfg = DataConfig.from_env()
test = mnist("test", cfg)
model = build_model(with_data(preset.model, test.spec.shape, len(test.classes)), 55000).eval()
sets = {"mnist-test": test, "notmnist-10k": load("notmnist-10k", cfg, test.spec)}
loaded = rss("VmRSS:")
evaluate(model, PercentileRule(preset.rule.percentile, preset.rule.threshold), sets,
         EvalSettings(samples=100, forced_samples=100, forced_average="probs"))
print(json.dumps({"loaded": loaded, "peak": rss("VmHWM:")}))
"""


def peak_memory() -> dict[str, float]:
    """Peak resident memory of evaluating the default model (S = 100, 10,000 MNIST + 10,000 notMNIST)."""
    out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "loaded_mib": r["loaded"] / 2**20,
        "peak_mib": r["peak"] / 2**20,
        "above_loaded_mib": (r["peak"] - r["loaded"]) / 2**20,
    }


# --- the run -----------------------------------------------------------------------------------


def case(baseline_s: float | None, idk_s: float, images: int, flops: float) -> dict[str, float | None]:
    return {
        "baseline_s": baseline_s,
        "idk_s": idk_s,
        "speedup": baseline_s / idk_s if baseline_s is not None else None,
        "images_per_s": images / idk_s,
        "gflops": flops / idk_s / 1e9,
    }


CASES = ("mlp_predict_100", "cnn_predict_100", "mixture_predict_100", "mlp_train_epoch", "cnn_train_step")
AGAINST_IDK = ("mixture_predict_100", "cnn_train_step")  # cases whose baseline is idk's own cheaper variant
SAMPLES = 100


def measure(case_name: str, impl: str, quick: bool, device: str = "cpu") -> float:
    """Seconds of one implementation ("baseline" or "idk") of one case on ``device``, in this (fresh)
    process. Every timed call ends with its results on the host (a prediction's summaries, an
    epoch's loss), so the device has finished its work when the clock stops."""
    torch.manual_seed(0)
    pyro.set_rng_seed(0)
    dev = resolve_device(device)
    data = DataConfig.from_env()
    if case_name.endswith("predict_100"):
        preset = "tutorial" if case_name.startswith("mlp") else "cnn"
        members = get_preset(preset).model.members if case_name == "mixture_predict_100" and impl == "idk" else 1
        model = mnist_model(preset, 60000, members=members).eval().to(dev)
        if case_name == "mixture_predict_100":  # "baseline": one posterior, the same S draws
            impl = "idk"
        test = mnist("test", data).pixels(slice(0, 1000 if quick else 10_000))
        if impl == "baseline":
            return timed(lambda: tutorial_predict(model, test, SAMPLES))
        predict(model, test[:200], SAMPLES)  # warm-up
        return timed(lambda: predict(model, test, SAMPLES, 50.0), repeat=2)
    train = mnist("train", data).as_floats()  # as the tutorial's baseline reads them
    if case_name == "mlp_train_epoch":
        steps = 20 if quick else 469
        x, y = train.images[: steps * 128], train.labels[: steps * 128]
        if impl == "baseline":
            return timed(lambda: tutorial_train_epoch(x, y))
        preset = get_preset("tutorial")
        epoch = replace(preset.train, epochs=1)
        return timed(lambda: fit(mnist_model("tutorial", None).to(dev), x, y, epoch, spec=MNIST.spec))
    preset = get_preset("cnn")  # cnn_train_step: "baseline" = the deterministic twin's step
    steps = 10 if quick else 100
    x, y = train.images[: steps * 128], train.labels[: steps * 128]
    one_epoch = replace(preset.train, epochs=1, twin_epochs=1)
    return timed(
        lambda: fit(
            mnist_model("cnn", len(x), impl == "idk").to(dev), x, y, one_epoch, spec=MNIST.spec, classes=MNIST.classes
        ),
        repeat=2,
    )


def in_subprocess(case_name: str, impl: str, quick: bool, device: str = "cpu") -> float:
    """Run :func:`measure` in a fresh interpreter, so no case inherits another's heap or caches."""
    args = [sys.executable, __file__, "--measure", case_name, impl, "--device", device] + (["--quick"] if quick else [])
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def default_devices() -> list[str]:
    """The CPU, and the device ``auto`` picks when that is another (a GPU)."""
    auto = resolve_device("auto")
    return ["cpu"] if auto.type == "cpu" else ["cpu", str(auto)]


def run_cases(device: str, quick: bool, sizes: dict[str, tuple[int, float]]) -> dict:
    """Every case on ``device``; the tutorial's loops (CPU code) only on the CPU."""
    out: dict = {}
    for name in CASES:
        with_baseline = device == "cpu" or name in AGAINST_IDK
        base = in_subprocess(name, "baseline", quick, device) if with_baseline else None
        ours = in_subprocess(name, "idk", quick, device)
        images, flops_per_image = sizes[name]
        out[name] = case(base, ours, images, images * flops_per_image)
        shown = f"baseline {base:.2f} s, " if base is not None else ""
        print(f"[{device}] {name}: {shown}idk {ours:.2f} s", flush=True)
    out["cnn_train_step"]["bayes_over_twin"] = out["cnn_train_step"]["idk_s"] / out["cnn_train_step"]["baseline_s"]
    mixture = out["mixture_predict_100"]
    mixture["mixture_over_one"] = mixture["idk_s"] / mixture["baseline_s"]
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "latest.json"))
    parser.add_argument("--quick", action="store_true", help="a small run to check the script (not for the README)")
    parser.add_argument(
        "--device",
        action="append",
        help="a device to run every case on (repeatable: cpu, cuda, cuda:N, mps, auto); "
        "default: the CPU, and the GPU when there is one",
    )
    parser.add_argument("--measure", nargs=2, metavar=("CASE", "IMPL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(measure(*args.measure, args.quick, (args.device or ["cpu"])[-1]))
        return {}
    devices = [str(resolve_device(d)) for d in args.device] if args.device else default_devices()
    results: dict = {
        "machine": {
            "python": platform.python_version(),
            "torch": str(torch.__version__),
            "threads": torch.get_num_threads(),
            "cpu": platform.processor() or platform.machine(),
        }
    }
    results["matmul_gflops"] = matmul_gflops()
    print(f"torch.matmul: {results['matmul_gflops']:.0f} GFLOP/s ({torch.get_num_threads()} threads)", flush=True)
    tutorial, cnn = (mnist_model(p, 60000).eval() for p in ("tutorial", "cnn"))
    n_test = 1000 if args.quick else 10_000
    sizes = {
        "mlp_predict_100": (n_test, SAMPLES * forward_flops(tutorial)),
        "cnn_predict_100": (n_test, SAMPLES * forward_flops(cnn)),
        "mixture_predict_100": (n_test, SAMPLES * forward_flops(cnn)),
        "mlp_train_epoch": ((20 if args.quick else 469) * 128, 3 * forward_flops(tutorial)),
        "cnn_train_step": ((10 if args.quick else 100) * 128, 3 * forward_flops(cnn)),
    }
    results["devices"] = {device: run_cases(device, args.quick, sizes) for device in devices}
    results.update(results["devices"][devices[0]])  # the first device's cases at the top level, as before
    if not args.quick:
        results["peak_rss"] = peak_memory()
    for device, cases in results["devices"].items():
        print()
        print(f"{device}:")
        print(format_table({**results, **cases}, device))
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return results


def format_table(r: dict, device: str = "cpu") -> str:
    """One device's table (``r``: its cases, with the machine's ``matmul_gflops`` and ``peak_rss``)."""
    on_cpu = device == "cpu"
    lines = [
        f"{'case':<18}{'baseline s':>12}{'idk s':>10}{'speedup':>10}{'images/s':>12}{'GFLOP/s':>10}"
        + (f"{'% of matmul':>13}" if on_cpu else ""),
        "-" * (85 if on_cpu else 72),
    ]
    for name in CASES:
        c = r[name]
        base = f"{c['baseline_s']:>12.2f}" if c["baseline_s"] is not None else f"{'–':>12}"
        speedup = f"{c['speedup']:>9.1f}×" if c["speedup"] is not None else f"{'–':>10}"
        share = f"{100 * c['gflops'] / r['matmul_gflops']:>12.1f}%" if on_cpu else ""
        lines.append(
            f"{name:<18}{base}{c['idk_s']:>10.2f}{speedup}{c['images_per_s']:>12.0f}{c['gflops']:>10.1f}{share}"
        )
    lines.append(
        f"cnn_train_step: the Bayesian step costs {r['cnn_train_step']['bayes_over_twin']:.2f}× its deterministic twin's "
        "(baseline column = twin)"
    )
    lines.append(
        f"mixture_predict_100: the default's mixture of {get_preset('cnn').model.members} posteriors costs "
        f"{r['mixture_predict_100']['mixture_over_one']:.2f}× one posterior at the same S (baseline column = one)"
    )
    if on_cpu:
        lines.append(f"torch.matmul: {r['matmul_gflops']:.0f} GFLOP/s")
    if "peak_rss" in r and on_cpu:
        m = r["peak_rss"]
        lines.append(
            f"idk evaluate (S=100, 10,000 MNIST + 10,000 notMNIST): peak RSS {m['peak_mib']:.0f} MiB, "
            f"{m['above_loaded_mib']:.0f} MiB above the loaded model and data"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
