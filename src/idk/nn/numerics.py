"""CPU floating-point settings for the heavy loops.

Subnormal floats (|x| < 1.2e-38 in float32) are computed in microcode on x86 CPUs, many times
slower than normal ones. A trained mean-field posterior holds thousands of them (scales and
weights driven towards zero), and a training epoch was measured 2.5–3× slower once they appeared.
Flushing them to zero changes nothing a float32 model can tell apart.

The mode is a per-thread CPU flag: :func:`flush_denormals` sets it for the calling thread, and
torch's worker threads inherit it only if they are created after it is set, so the command line
sets it once at start-up, before any tensor work (a library user can do the same with
``torch.set_flush_denormal(True)`` first thing).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def flush_denormals() -> Iterator[None]:
    """Within this block, subnormal floats are flushed to zero (where the CPU supports it);
    the previous setting is restored afterwards."""
    previous = torch.set_flush_denormal(True)  # returns whether the CPU supports it
    try:
        yield
    finally:
        if previous:
            torch.set_flush_denormal(False)
