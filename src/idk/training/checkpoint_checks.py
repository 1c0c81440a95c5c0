"""What a stored checkpoint's parts must be before :class:`~idk.training.checkpoint.Checkpoint` is
built from them: the weights tensors, every part's history numbers, the training images' digests,
the flags true or false, the score's choice named with its reason. Each check raises TypeError naming the part; the checkpoint
says it as a :class:`~idk.errors.CheckpointError` with the file's path. A file is data, never code
(it is loaded with ``weights_only=True``): what idk reads of it is checked here, once, so that
``idk info``, the reports and a resumed run read numbers where they expect them.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from idk.training.options import real_number, whole_number

# what a part's training state holds (idk.training.fitting.FitState's fields: a resumed run is made of them)
FIT_STATE = ("epoch", "history", "optimizer", "scheduler", "rng", "cuda_rng")
# an epoch's figures in a part's history (idk.training.fitting): its loss, and where recorded the rest
EPOCH_FIGURES = ("epoch", "seconds", "images_per_s", "processes", "held_out_accuracy", "held_out_nll")


def check_stored_parts(d: dict[str, Any]) -> None:
    """TypeError unless the stored form ``d`` holds its weights as tensors, every part's history
    (:func:`check_history`), its training images' digests as a 1-D int64 tensor, a whole number of
    processes, its flags true or false, and its score's choice with the reason for it."""
    for key in ("state_dict", "twin_state_dict"):  # the twin's may be None (trained without one)
        if (key == "state_dict" or d.get(key) is not None) and not is_weights(d.get(key)):
            raise TypeError(f"{key} is not a mapping of parameter names to tensors")
    check_histories(d)
    digests = d.get("training_digests")
    if digests is not None and not (
        isinstance(digests, Tensor) and digests.dtype == torch.int64 and digests.dim() == 1
    ):
        raise TypeError("training_digests is not a list of 64-bit image digests")
    processes = d.get("processes")
    if processes is not None and not (whole_number(processes) and processes >= 1):
        raise TypeError("processes is not a whole number of processes")
    for key in ("validation_by_class", "flat_seen"):
        if not isinstance(d.get(key, False), bool):
            raise TypeError(f"{key} is not true or false")
    selection = d.get("score_selection")
    if selection is not None and not (
        isinstance(selection, dict) and all(isinstance(selection.get(k), str) for k in ("chosen", "criterion"))
    ):
        raise TypeError("score_selection does not name the chosen score and why")


def is_weights(value: Any) -> bool:
    """Whether ``value`` is a state dict: parameter names → tensors."""
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, Tensor) for k, v in value.items())


def check_history(history: Any, name: str) -> None:
    """TypeError unless ``history`` is a part's per-epoch history: a list of mappings, each with its
    loss a number and each of :data:`EPOCH_FIGURES` it holds a number too (or None)."""
    if not isinstance(history, list) or not all(
        isinstance(h, dict)
        and real_number(h.get("loss"))
        and all(real_number(h[key]) or h[key] is None for key in EPOCH_FIGURES if key in h)
        for h in history
    ):
        raise TypeError(f"{name} is not a list of epochs with their loss and figures")


def check_histories(d: dict[str, Any]) -> None:
    """Every part's history in a checkpoint's stored form ``d``: the first member's (``history``), the
    twin's, and each member's training state's (a mapping of parts to mappings), its epoch whole."""
    check_history(d.get("history", []), "history")
    check_history(d.get("twin_history", []), "twin_history")
    states = d.get("training_state", {})
    if not isinstance(states, dict) or not all(isinstance(state, dict) for state in states.values()):
        raise TypeError("training_state is not a mapping of parts to their training states")
    for part, state in states.items():
        if odd := sorted(map(str, set(state) - set(FIT_STATE))):
            raise TypeError(f"training_state[{part!r}] holds what no training state does: {', '.join(odd)}")
        if "history" in state:
            check_history(state["history"], f"training_state[{part!r}]'s history")
        if not (whole_number(state.get("epoch", 0)) and state.get("epoch", 0) >= 0):
            raise TypeError(f"training_state[{part!r}]'s epoch is not a whole number of epochs")
