"""``make bench``: idk's speed against the tutorial's way, measured in one run on this machine.

Cases (each: the baseline and idk, timed in the same process, same model shapes, same data):

* ``mlp_predict_100``: the tutorial MLP's 100-sample pass over 10,000 MNIST test images. Baseline:
  the tutorial's loop (for each batch of 128: for each of 100 samples, draw a network from the
  guide, copy the module, run it). idk: :func:`idk.predictive.predict`.
* ``cnn_predict_100``: the same for the default CNN; baseline: a per-sample loop over the same
  model (one guide draw and one forward pass per sample and batch of 128).
* ``mlp_train_epoch``: one epoch of the tutorial preset; baseline: the tutorial's SVI step
  (priors and guide rebuilt every step, the module deep-copied and lifted, as ``random_module``).
* ``cnn_train_step``: the default CNN's Bayesian training step against its deterministic twin's.

Prints a table and writes JSON: {CASE: {"baseline_s", "idk_s", "speedup", "images_per_s",
"gflops"}, "matmul_gflops": G, "peak_rss": {...}}. Models are freshly initialised: the cost of
these computations does not depend on the weights' values.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import pyro
import pyro.distributions as dist
import torch
import torch.nn.functional as F
from torch import nn

from idk.config import TrainConfig, get_preset
from idk.data import DataConfig, mnist
from idk.fitting import fit
from idk.nn.bnn import BNN, build_model
from idk.nn.layers import BayesianLayer
from idk.predictive import predict

ROOT = Path(__file__).resolve().parents[1]


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
    flops, h = 0, torch.zeros(1, 28, 28)
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


def functional_net(model: BNN) -> nn.Module:
    """A plain torch copy of the model's architecture, whose parameters a sampled network fills."""
    from idk.nn.networks import build_network

    return build_network(model.cfg.net, None)


def lifted(template: nn.Module, model: BNN, sample: dict[str, torch.Tensor]) -> nn.Module:
    """What ``pyro.random_module(...)()`` returned: a deep copy of the module with sampled weights."""
    net = copy.deepcopy(template)
    with torch.no_grad():
        for name, param in net.named_parameters():
            param.copy_(sample[name])
    return net


def tutorial_predict(model: BNN, images: torch.Tensor, samples: int, batch: int = 128) -> None:
    template = functional_net(model)
    for start in range(0, len(images), batch):
        x = images[start : start + batch]
        with torch.no_grad():
            nets = [lifted(template, model, model.guide()) for _ in range(samples)]
            outs = [F.log_softmax(net(x), 1).numpy() for net in nets]
        del nets, outs


def tutorial_train_epoch(images: torch.Tensor, labels: torch.Tensor, batch: int = 128, lr: float = 0.01) -> None:
    """The tutorial's SVI, step for step: priors and guide dicts rebuilt each step, module lifted."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 10))
    names = [n for n, _ in net.named_parameters()]
    params = {
        n: (torch.randn_like(p).requires_grad_(), torch.randn_like(p).requires_grad_())
        for n, p in net.named_parameters()
    }

    def sampled_module(dists: dict[str, dist.Distribution]) -> nn.Module:
        lifted_net = copy.deepcopy(net)
        values = {n: pyro.sample(f"module$$${n}", d) for n, d in dists.items()}
        for n in names:
            module_name, attr = n.rsplit(".", 1)
            module = lifted_net.get_submodule(module_name)
            delattr(module, attr)
            setattr(module, attr, values[n])
        return lifted_net

    def model_fn(x, y):
        priors = {
            n: dist.Normal(torch.zeros_like(p), torch.ones_like(p)).to_event(p.dim()) for n, p in net.named_parameters()
        }
        out = F.log_softmax(sampled_module(priors)(x), 1)
        pyro.sample("obs", dist.Categorical(logits=out).to_event(1), obs=y)

    def guide_fn(x, y):
        dists = {n: dist.Normal(mu, F.softplus(rho)).to_event(mu.dim()) for n, (mu, rho) in params.items()}
        return sampled_module(dists)

    optimizer = torch.optim.Adam([t for pair in params.values() for t in pair], lr=lr)
    elbo = pyro.infer.Trace_ELBO()
    order = torch.randperm(len(images))
    for start in range(0, len(images), batch):
        idx = order[start : start + batch]
        loss = elbo.differentiable_loss(model_fn, guide_fn, images[idx], labels[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def per_sample_loop_predict(model: BNN, images: torch.Tensor, samples: int, batch: int = 128) -> None:
    """A per-sample loop over the same model: one guide draw + one forward per sample and batch."""
    template = functional_net(model)
    sites = list(model.guide.sites)
    for start in range(0, len(images), batch):
        x = images[start : start + batch]
        with torch.no_grad():
            for _ in range(samples):
                draw = model.guide()
                net = lifted(
                    template,
                    model,
                    {n: draw[s] for n, s in zip([n for n, _ in template.named_parameters()], sites, strict=True)},
                )
                F.log_softmax(net(x), 1)


# --- memory ------------------------------------------------------------------------------------

MEMORY_SCRIPT = r"""
import json, sys, torch
from idk.nn.bnn import build_model
from idk.config import get_preset
from idk.data import DataConfig, mnist, notmnist_10k
from idk.evaluate import EvalSettings, evaluate
from idk.rules import PercentileRule
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
preset = get_preset("cnn")
model = build_model(preset.model, 55000).eval()
cfg = DataConfig.from_env()
sets = {"mnist-test": mnist("test", cfg), "notmnist-10k": notmnist_10k(cfg)}
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


def case(baseline_s: float, idk_s: float, images: int, flops: float) -> dict[str, float]:
    return {
        "baseline_s": baseline_s,
        "idk_s": idk_s,
        "speedup": baseline_s / idk_s,
        "images_per_s": images / idk_s,
        "gflops": flops / idk_s / 1e9,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "latest.json"))
    parser.add_argument("--images", type=int, default=10_000, help="test images for the predict cases")
    parser.add_argument("--quick", action="store_true", help="a small run to check the script (not for the README)")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    pyro.set_rng_seed(0)
    data = DataConfig.from_env()
    n = 1000 if args.quick else args.images
    test = mnist("test", data).images[:n]
    train = mnist("train", data)
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

    tutorial, cnn = (build_model(get_preset(p).model, 60000).eval() for p in ("tutorial", "cnn"))
    s = 100
    for name, model, baseline in (
        ("mlp_predict_100", tutorial, tutorial_predict),
        ("cnn_predict_100", cnn, per_sample_loop_predict),
    ):
        base = timed(lambda m=model, b=baseline: b(m, test, s))
        ours = timed(lambda m=model: predict(m, test, s, 50.0), repeat=2)
        results[name] = case(base, ours, n, s * n * forward_flops(model))
        print(f"{name}: baseline {base:.1f} s, idk {ours:.2f} s", flush=True)

    steps = 20 if args.quick else 469
    x, y = train.images[: steps * 128], train.labels[: steps * 128]
    base = timed(lambda: tutorial_train_epoch(x, y))
    preset = get_preset("tutorial")
    ours = timed(
        lambda: fit(
            build_model(preset.model, None), x, y, preset.train.__class__(**{**preset.train.__dict__, "epochs": 1})
        )
    )
    results["mlp_train_epoch"] = case(base, ours, len(x), 3 * len(x) * forward_flops(tutorial))
    print(f"mlp_train_epoch: baseline {base:.1f} s, idk {ours:.2f} s", flush=True)

    cnn_preset = get_preset("cnn")
    k = 10 if args.quick else 60
    xs, ys = train.images[: k * 128], train.labels[: k * 128]
    one_epoch = TrainConfig(**{**cnn_preset.train.__dict__, "epochs": 1, "twin_epochs": 1})
    twin = timed(
        lambda: fit(
            build_model(cnn_preset.model.__class__(**{**cnn_preset.model.__dict__, "bayesian": False}), len(xs)),
            xs,
            ys,
            one_epoch,
        ),
        repeat=2,
    )
    bayes = timed(lambda: fit(build_model(cnn_preset.model, len(xs)), xs, ys, one_epoch), repeat=2)
    results["cnn_train_step"] = case(twin, bayes, len(xs), 3 * len(xs) * forward_flops(cnn))
    results["cnn_train_step"]["bayes_over_twin"] = bayes / twin
    print(f"cnn_train_step: twin {1000 * twin / k:.1f} ms/step, Bayesian {1000 * bayes / k:.1f} ms/step", flush=True)

    if not args.quick:
        results["peak_rss"] = peak_memory()
    print()
    print(format_table(results))
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return results


def format_table(r: dict) -> str:
    lines = [
        f"{'case':<18}{'baseline s':>12}{'idk s':>10}{'speedup':>10}{'images/s':>12}{'GFLOP/s':>10}{'% of matmul':>13}",
        "-" * 85,
    ]
    for name in ("mlp_predict_100", "cnn_predict_100", "mlp_train_epoch", "cnn_train_step"):
        c = r[name]
        lines.append(
            f"{name:<18}{c['baseline_s']:>12.2f}{c['idk_s']:>10.2f}{c['speedup']:>9.1f}×{c['images_per_s']:>12.0f}"
            f"{c['gflops']:>10.1f}{100 * c['gflops'] / r['matmul_gflops']:>12.1f}%"
        )
    lines.append(
        f"cnn_train_step: the Bayesian step costs {r['cnn_train_step']['bayes_over_twin']:.2f}× its deterministic twin's "
        "(baseline column = twin)"
    )
    lines.append(f"torch.matmul: {r['matmul_gflops']:.0f} GFLOP/s")
    if "peak_rss" in r:
        m = r["peak_rss"]
        lines.append(
            f"idk evaluate (S=100, 10,000 MNIST + 10,000 notMNIST): peak RSS {m['peak_mib']:.0f} MiB, "
            f"{m['above_loaded_mib']:.0f} MiB above the loaded model and data"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
