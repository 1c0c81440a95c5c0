"""Run by ``torchrun --nproc-per-node W`` from tests/test_distributed.py: the ELBO's data term and its
gradients computed by W gloo processes (each on its share of one batch, then averaged over the
processes as training does) against one process on the whole batch, for the same weights.

Then checks :meth:`Replicas.same_everywhere` on a value every process shares and on one that
differs by rank. Writes ``{"term": [parallel, single], "grad_max_abs_diff": d, "grad_max_abs": g,
"disagreement": message}`` to argv[1] (rank 0), and the other process's message to argv[1].rank1.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import torch
from pyro import poutine

from idk.data.images import InputSpec
from idk.errors import IdkError
from idk.nn.bnn import BNN, build_model, with_data
from idk.training import distributed
from idk.training.config import get_preset

D, B, CLASSES = 1000, 13, 10  # a ragged batch: shares of 6 and 7


def data_term(model: BNN, x: torch.Tensor, y: torch.Tensor, scale: float | None) -> torch.Tensor:
    """The likelihood part of the ELBO, Σ_i scale · log p(y_i | x_i, w), with the weights w fixed at
    the guide's means (so every process uses the same weights, differentiably)."""
    weights = {site: model.guide.loc_scale(site)[0] for site in model.guide.sites}
    trace = poutine.trace(poutine.condition(model.model, data=weights)).get_trace(x, y, None, 0.0, 1.0, scale)
    trace.compute_log_prob()
    return trace.nodes["obs"]["log_prob_sum"]


def main(out: str) -> None:
    replicas, _ = distributed.setup(torch.device("cpu"))
    torch.manual_seed(0)
    spec = InputSpec(1, 12, 12)
    preset = get_preset("cnn")
    one = replace(preset.model, net=replace(preset.model.net, channels=(3,), dense=8), members=1)  # one network
    cfg = with_data(one, spec.shape, CLASSES)
    model = build_model(cfg, D).double()
    replicas.broadcast_module(model)
    x = torch.rand(B, *spec.shape, dtype=torch.float64)
    y = torch.randint(0, CLASSES, (B,))
    share = replicas.share(torch.arange(B))
    params = list(model.guide.locs.parameters())  # the weights are the means: only they get gradients
    # each process: its share, scaled W·D/B; then the mean over the processes (as training does)
    term = data_term(model, x[share], y[share], replicas.world * D / B)
    term.backward()
    replicas.average_gradients(params)
    parallel = replicas.mean(term.detach())
    parallel_grads = [p.grad.clone() for p in params]
    if replicas.is_main:  # one process, the whole batch, the likelihood's own D/B scale
        for p in params:
            p.grad = None
        single = data_term(model, x, y, None)
        single.backward()
        diff = max(float((a - p.grad).abs().max()) for a, p in zip(parallel_grads, params, strict=True))
        biggest = max(float(p.grad.abs().max()) for p in params)
        result = {"term": [float(parallel), float(single.detach())], "grad_max_abs_diff": diff, "grad_max_abs": biggest}
    replicas.same_everywhere("answer", 42, "no hint")  # the same everywhere: nothing raised
    try:
        replicas.same_everywhere("data", f"{1000 + replicas.rank} images", "check the files")
        disagreement = None
    except IdkError as err:  # raised in every process, the same message
        disagreement = str(err)
    if replicas.is_main:
        result["disagreement"] = disagreement
        with open(out, "w") as f:
            json.dump(result, f)
    else:  # the other process raised too, with the same message
        Path(f"{out}.rank{replicas.rank}").write_text(disagreement or "")
    distributed.teardown(replicas)


if __name__ == "__main__":
    main(sys.argv[1])
