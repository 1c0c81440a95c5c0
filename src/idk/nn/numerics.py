"""CPU floating-point settings for the heavy loops.

Subnormal floats (|x| < 1.2e-38 in float32) are computed in microcode on x86 CPUs, many times
slower than normal ones. A trained mean-field posterior holds thousands of them (scales and
weights driven towards zero), and a training epoch was measured 2.5–3× slower once they appeared.
Flushing them to zero changes nothing a float32 model can tell apart.

The mode is a per-thread CPU flag: :func:`flush_denormals` sets it for the calling thread, and
torch's worker threads inherit it only if they are created after it is set, so the command line
sets it once at start-up, before any tensor work (a library user can do the same with
:func:`set_flush_denormals` first thing).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import torch

_thread = threading.local()  # whether idk switched flushing on in this thread (torch has no getter)


def set_flush_denormals(on: bool = True) -> bool:
    """Switch flushing of subnormals on (or off) for the calling thread; returns whether the CPU
    supports it. Use this rather than ``torch.set_flush_denormal``: :func:`flush_denormals`
    restores what was set here."""
    supported = torch.set_flush_denormal(on)
    _thread.on = on and supported
    return supported


@contextlib.contextmanager
def flush_denormals() -> Iterator[None]:
    """Within this block, subnormal floats are flushed to zero (where the CPU supports it); the
    setting made with :func:`set_flush_denormals` in this thread before the block (off when none
    was made, even in a thread that inherited flushing from its parent) is restored afterwards."""
    previous = getattr(_thread, "on", False)
    set_flush_denormals(True)
    try:
        yield
    finally:
        set_flush_denormals(previous)
