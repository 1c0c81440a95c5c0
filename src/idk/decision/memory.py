"""How much memory posterior samples take, and a budget they must fit in.

A Bayesian model's prediction draws S weight sets (or, for a layer done by local
reparameterisation, S noise vectors) and runs S networks per image; :func:`check_samples` refuses
a count S whose draws for a single image would not fit in :data:`MEMORY_SHARE` of the memory
available now, before any work starts.
"""

from __future__ import annotations

import numbers
import os

import torch

from idk.decision.predictive import activation_budget, batch_size_for
from idk.errors import IdkError
from idk.nn.bnn import BNN, BNNMixture, Model, sampling_pass

MEMORY_SHARE = 0.5  # of the memory available now: the most that one command's posterior samples may take


def available_memory(device: torch.device | None = None) -> int:
    """Bytes of memory available now on ``device`` (default: the CPU's; physical memory where the
    system cannot tell)."""
    if device is not None and device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a modest machine
        return 4 << 30


def bytes_per_sample(model: Model) -> int:
    """Memory one posterior sample takes for one image: its drawn weights plus its largest activation
    (float32); a mixture's, one of its members'. A deterministic network draws nothing and is run
    once, whatever the count."""
    model, _ = sampling_pass(model, 1)
    if not isinstance(model, BNN):
        return 0
    generator = torch.Generator()  # a CPU generator serves every device; the global random state stays untouched
    drawn = sum(t.numel() for t in model.draw(1, generator=generator).values())
    activation = -(-activation_budget(model.device) // batch_size_for(model, 1))  # floats per sample and image
    return 4 * (drawn + activation)


def check_sample_count(samples: object, option: str = "--samples") -> int:
    """``samples`` as an int, refused unless a whole number ≥ 1 (a numpy integer will do): the
    cheap part of :func:`check_samples`, for a caller whose networks are already drawn."""
    if isinstance(samples, bool) or not isinstance(samples, numbers.Integral) or samples < 1:
        raise IdkError(f"{option} {samples!r}: give a whole number of samples, at least 1")
    return int(samples)


def check_samples(model: Model, samples: object, option: str = "--samples", budget: int | None = None) -> int | None:
    """``samples`` as an int (None stays None: the model's own), refused when it is not a whole
    number ≥ 1 or when its draws for a single image exceed the memory budget (:data:`MEMORY_SHARE`
    of the available memory, or ``budget`` bytes)."""
    if samples is None:
        return None
    samples = check_sample_count(samples, option)
    if isinstance(model, BNNMixture) and samples < len(model.members):
        k = len(model.members)
        raise IdkError(
            f"{option} {samples}: a mixture of {k} posteriors draws at least one network from each; use at least {k}"
        )
    per_sample = bytes_per_sample(model)
    given = budget is not None
    budget = int(MEMORY_SHARE * available_memory(model.temperature.device)) if budget is None else budget
    if per_sample * samples > budget:
        most = budget // max(per_sample, 1)
        advice = (
            f"use at most {most}" if most >= 1 else "even one sample does not fit: free memory or use a smaller model"
        )
        allowed = "" if given else f" ({MEMORY_SHARE:.0%} of the free memory)"
        raise IdkError(
            f"{option} {samples}: needs about {_size(per_sample * samples)} for this model "
            f"({_size(per_sample)} per sample), more than the {_size(budget)} allowed{allowed}; {advice}"
        )
    return samples


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError
