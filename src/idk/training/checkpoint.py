"""Self-describing checkpoints: what the model is, how it decides, where it came from.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts, so it loads with
``torch.load(weights_only=True)`` and never unpickles code. It is written to a temporary file and
renamed into place, so a crash at any moment leaves either the old file or the new one.
"""

from __future__ import annotations

import os
import platform
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pyro
import torch

import idk
from idk.errors import CheckpointError
from idk.nn.bnn import BNN, DeterministicNet, build_model
from idk.training.config import model_config_from_dict

FORMAT = "idk-checkpoint"
FORMAT_VERSION = 1
KINDS = {"BNN": BNN, "DeterministicNet": DeterministicNet}
REQUIRED = ("format", "format_version", "kind", "model_config", "state_dict", "classes", "rule", "versions")


def versions() -> dict[str, str]:
    return {
        "idk": idk.__version__,
        "torch": str(torch.__version__),
        "pyro": str(pyro.__version__),
        "python": platform.python_version(),
    }


def atomic_save(obj: dict[str, Any], path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary file in the same folder, fsync, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a process killed mid-write
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def make_checkpoint(model: BNN | DeterministicNet, **fields: Any) -> dict[str, Any]:
    """The checkpoint dict of ``model``; ``fields`` add rule, classes, metrics, history, etc."""
    from idk.training.config import to_dict

    ckpt = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": type(model).__name__,
        "model_config": to_dict(model.cfg),
        "state_dict": model.state_dict(),
        "versions": versions(),
    }
    ckpt.update(fields)
    return ckpt


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load and validate a checkpoint dict (no model built). Raises :class:`CheckpointError`."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint (train one with `idk train --out {path}`)")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (zipfile.BadZipFile, RuntimeError, EOFError, OSError) as err:
        raise CheckpointError(f"{path}: corrupted or not a checkpoint ({str(err).splitlines()[0][:120]})") from None
    except Exception as err:  # noqa: BLE001 - weights_only refuses foreign pickles with various errors
        raise CheckpointError(f"{path}: not an idk checkpoint (refused to unpickle it: {type(err).__name__})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an idk checkpoint (no '{FORMAT}' header)")
    version = ckpt.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format {version} is newer than this idk reads ({FORMAT_VERSION}); upgrade idk"
        )
    missing = [k for k in REQUIRED if k not in ckpt]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {', '.join(missing)}")
    if ckpt["kind"] not in KINDS:
        raise CheckpointError(f"{path}: unknown model class {ckpt['kind']!r}; valid: {', '.join(KINDS)}")
    return ckpt


def model_from_checkpoint(
    ckpt: dict[str, Any], path: str = "<checkpoint>", key: str = "state_dict"
) -> BNN | DeterministicNet:
    """Build the model a checkpoint describes and load its weights, with a clear error on mismatch."""
    try:
        cfg = model_config_from_dict(ckpt["model_config"])
        if key != "state_dict":
            from dataclasses import replace

            cfg = replace(cfg, bayesian=False)
        model = build_model(cfg, ckpt.get("dataset_size"))
    except (TypeError, KeyError, ValueError) as err:
        raise CheckpointError(f"{path}: model configuration not understood ({err})") from None
    expected = KINDS[ckpt["kind"]] if key == "state_dict" else DeterministicNet
    if not isinstance(model, expected):
        raise CheckpointError(f"{path}: class {ckpt['kind']} does not match its configuration")
    try:
        model.load_state_dict(ckpt[key])
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise CheckpointError(f"{path}: weights do not fit the described architecture ({first[:160]})") from None
    model.eval()
    return model


def load(path: str | os.PathLike) -> tuple[BNN | DeterministicNet, dict[str, Any]]:
    """Load a checkpoint: the model, ready for prediction, and the checkpoint dict."""
    ckpt = read_checkpoint(path)
    return model_from_checkpoint(ckpt, str(path)), ckpt


def describe(ckpt: dict[str, Any]) -> dict[str, Any]:
    """A human-readable summary of what a checkpoint holds (for ``idk info``)."""
    rule = ckpt["rule"]
    history = ckpt.get("history", [])
    n_params = sum(t.numel() for t in ckpt["state_dict"].values())
    return {
        "format": f"{ckpt['format']} v{ckpt['format_version']}",
        "class": ckpt["kind"],
        "preset": ckpt.get("preset"),
        "architecture": ckpt["model_config"]["net"],
        "model_config": {k: v for k, v in ckpt["model_config"].items() if k != "net"},
        "parameters": n_params,
        "classes": ckpt["classes"],
        "rule": {k: v for k, v in rule.items() if k != "calibration"},
        "calibration": rule.get("calibration"),
        "epochs": len(history),
        "final_loss": history[-1]["loss"] if history else None,
        "twin": "twin_state_dict" in ckpt,
        "training_data": ckpt.get("data_fingerprint"),
        "train_config": ckpt.get("train_config"),
        "metrics": ckpt.get("metrics"),
        "versions": ckpt["versions"],
    }
