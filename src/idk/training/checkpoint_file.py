"""A checkpoint's file: written to a temporary file renamed into place, so a crash at any moment
leaves the old file or the new; every tensor's bytes hashed on writing and checked on reading, so
a file damaged on disk or in transfer is refused by name rather than answering "I don't know" to
everything with NaN weights. Loaded with ``torch.load(weights_only=True)``: no code is unpickled.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from idk.data.download import move_into_place
from idk.errors import CheckpointError

DIGEST_KEY = "tensors_sha256"  # beside the checkpoint's fields; files written before 2026-12-06 lack it


def write_file(d: dict[str, Any], path: str | os.PathLike) -> None:
    """Write the checkpoint dict ``d`` device-free (every tensor copied to the CPU) with the digest of
    its tensors under :data:`DIGEST_KEY`. Only what ``torch.load(weights_only=True)`` reads back is
    written (:func:`plain_data`: a NumPy number becomes the Python one); anything else is a
    :class:`CheckpointError` naming its place, and the file at ``path`` is left as it was."""
    d = plain_data(on_cpu(d), f"{path} (not written)")
    atomic_save({**d, DIGEST_KEY: tensors_digest(d)}, path)


PLAIN = (str, bytes, int, float, bool, type(None), torch.Size, torch.dtype, torch.device)  # read without code


def plain_data(value: Any, source: str, name: str = "") -> Any:
    """``value`` (nested dicts, lists, tuples of tensors and :data:`PLAIN` values, by exact type;
    dict keys too) with NumPy numbers, booleans and strings made Python's (``np.float64`` passes for
    a float, but unpickling it runs NumPy's code, which ``weights_only`` refuses: the file would not
    load) and any other mapping a plain dict (an ``OrderedDict`` kept so). CheckpointError naming
    ``source`` and the value's place for anything else (an array, a date, an object)."""
    if isinstance(value, Tensor) or type(value) in PLAIN:
        return value
    if isinstance(value, (np.number, np.bool_, np.str_)) and type(item := value.item()) in PLAIN:
        return item
    if isinstance(value, dict):
        kept = OrderedDict() if type(value) is OrderedDict else {}  # a Counter or defaultdict: its items
        for k, v in value.items():
            place = f"{name}.{k}" if name else str(k)
            kept[plain_data(k, source, f"{place} (a key)")] = plain_data(v, source, place)
        return kept
    if type(value) in (list, tuple):
        return type(value)(plain_data(v, source, f"{name}[{i}]") for i, v in enumerate(value))
    raise CheckpointError(
        f"{source}: {name or 'the checkpoint'} is a {type(value).__module__}.{type(value).__qualname__}; a checkpoint "
        "holds tensors, numbers, strings and lists or dicts of them (a part of one's own: return those)"
    )


def read_file(path: str | os.PathLike) -> dict[str, Any]:
    """The dict a checkpoint file holds, its tensors checked against the digest stored with them
    (where stored) and for NaN or infinite values.

    Raises:
        CheckpointError: naming ``path``: missing, a folder, empty, not written by ``torch.save``,
            truncated, damaged, or a pickle of anything but tensors and plain data.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint (train one with `idk train --out {path}`)")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: empty file, not a checkpoint")
    with path.open("rb") as f:
        head = f.read(4)
    if not (head.startswith(b"PK") or head.startswith(b"\x80")):  # torch.save's zip, or a bare pickle
        raise CheckpointError(f"{path}: not an idk checkpoint (not a file torch.save writes: {head!r}…)")
    if head.startswith(b"PK") and not zipfile.is_zipfile(path):  # the zip's directory is at its end
        raise CheckpointError(f"{path}: truncated (its end is missing: a copy or a save cut short); copy it again")
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            names = ["archive/data.pkl"]  # a damaged directory: torch.load says what it can of it
        if not any(name.endswith("/data.pkl") for name in names):  # torch.save's archive holds NAME/data.pkl
            what = (
                "a NumPy .npz (images are data: --data, --test-data, --ood, --shift)"
                if all(name.endswith(".npy") for name in names)
                else "a zip archive"
            )
            raise CheckpointError(f"{path}: not an idk checkpoint: {what}, holding {', '.join(names[:4])}")
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickles before refusing them
            warnings.simplefilter("ignore")
            d = torch.load(path, map_location="cpu", weights_only=True)
    except (zipfile.BadZipFile, RuntimeError, EOFError, OSError) as err:
        first = (str(err).splitlines() or [type(err).__name__])[0]
        first = first if len(first) <= 120 else first[:120].rsplit(" ", 1)[0] + " …"  # whole words
        raise CheckpointError(f"{path}: corrupted or not a checkpoint ({first})") from None
    except Exception as err:  # noqa: BLE001 - weights_only refuses foreign pickles with various errors
        raise CheckpointError(f"{path}: not an idk checkpoint (refused to unpickle it: {type(err).__name__})") from None
    if isinstance(d, dict):
        _check_tensors(d, path)
    return d


def _check_tensors(d: dict[str, Any], path: Path) -> None:
    stored = d.pop(DIGEST_KEY, None)
    if stored is not None and stored != tensors_digest(d):
        raise CheckpointError(
            f"{path}: damaged: its weights are not those it was saved with (their SHA-256 differs); copy it "
            "again, or train again"
        )
    for name, tensor in _tensors(d):
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            why = "its training diverged" if stored is not None else "damaged, or its training diverged"
            raise CheckpointError(f"{path}: {name} holds NaN or infinite values ({why}); train again")


def tensors_digest(d: Any) -> str:
    """SHA-256 over every tensor in ``d`` (nested dicts, lists, tuples): each one's place, dtype,
    shape and bytes, in a fixed order; the CPU's bytes (``d``'s tensors on the CPU)."""
    digest = hashlib.sha256()
    for name, tensor in _tensors(d):
        t = tensor.detach().contiguous()
        digest.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        if t.numel():
            digest.update(t.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def _tensors(value: Any, name: str = "") -> list[tuple[str, Tensor]]:
    """Every tensor in ``value`` with its place ("state_dict.fc.weight"), dict keys in sorted order."""
    if isinstance(value, Tensor):
        return [(name, value)]
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: str(kv[0]))
        return [t for k, v in items for t in _tensors(v, f"{name}.{k}" if name else str(k))]
    if isinstance(value, (list, tuple)):
        return [t for i, v in enumerate(value) for t in _tensors(v, f"{name}[{i}]")]
    return []


def atomic_save(obj: dict[str, Any], path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary file in the same folder, fsync, then rename over ``path`` with
    the mode a file created there would have (:func:`idk.data.download.move_into_place`). An
    interruption (Ctrl-C, SIGTERM) in the middle leaves ``path`` as it was and is raised as itself,
    not as the error torch's zip writer raises when it is cut short."""
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
        move_into_place(Path(tmp), path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, Exception) and isinstance(err.__context__, KeyboardInterrupt):
            raise err.__context__ from None  # the writer's "unexpected pos" hid the interruption
        raise


def on_cpu(value: Any) -> Any:
    """``value`` (nested dicts, lists, tuples) with every tensor copied to the CPU: device-free."""
    if isinstance(value, Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: on_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(on_cpu(v) for v in value)
    return value
