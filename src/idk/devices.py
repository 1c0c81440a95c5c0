"""Where tensors live: ``--device auto|cpu|cuda|cuda:N|mps`` resolved to a :class:`torch.device`.

Imported by every layer (like :mod:`idk.errors`); imports torch only when a name is resolved, so
the command line can check the spelling of ``--device`` before any heavy import.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from idk.errors import IdkError

if TYPE_CHECKING:
    import torch

DEFAULT_DEVICE = "auto"
DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
DEVICE_HELP = "auto (a GPU when one is present, else the CPU), cpu, cuda, cuda:N or mps"


def check_device_name(name: str) -> str:
    """``name`` if it is spelled as a device (no torch import); else :class:`IdkError`."""
    if not DEVICE_PATTERN.match(name):
        raise IdkError(f"--device {name!r}: unknown device; valid: {DEVICE_HELP}")
    return name


def resolve_device(name: str | torch.device | None = None) -> torch.device:
    """The device called ``name`` (None: ``auto``; a :class:`torch.device`: itself), checked to
    exist on this machine.

    ``auto`` picks CUDA device 0 when torch sees one, else Apple's MPS when present, else the CPU.
    Asking for ``cuda``/``cuda:N``/``mps`` where there is none is an :class:`IdkError` naming
    what this machine has."""
    import torch

    if isinstance(name, torch.device):
        return name
    name = check_device_name(name or DEFAULT_DEVICE)
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps and mps.is_available())
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("mps") if has_mps else torch.device("cpu")
    if name.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(name.split(":")[1]) if ":" in name else 0
        if count == 0:
            raise IdkError(f"--device {name}: this machine has no CUDA GPU that torch can use (try --device cpu)")
        if index >= count:
            raise IdkError(f"--device {name}: this machine has {count} CUDA GPU(s): cuda:0 … cuda:{count - 1}")
        return torch.device("cuda", index)
    if name == "mps" and not has_mps:
        raise IdkError("--device mps: Apple's MPS backend is not available here (try --device cpu)")
    return torch.device(name)
