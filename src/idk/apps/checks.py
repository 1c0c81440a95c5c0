"""Checks of a command's options before any work starts, each failing with one :class:`IdkError` line.

Output paths must be writable files (or folders) and not the other kind; figure names need a
format matplotlib writes. (A posterior sample count is checked against the model once it is
loaded: :func:`idk.decision.memory.check_samples`.) Nothing here imports torch.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from idk.errors import IdkError

# What matplotlib's Agg canvas writes (FigureCanvasBase.get_supported_filetypes(), without "raw"/"rgba").
FIGURE_FORMATS = ("png", "pdf", "svg", "svgz", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "webp", "gif", "pgf")
THREADS_PER_CORE = 4  # the most --threads may ask for


def _writable_folder(folder: Path, option: str, path: Path) -> None:
    """The nearest existing ancestor of ``folder`` is a folder this process may write into (an empty
    file is made there and removed: the check the file system itself answers; a full disk is not
    seen)."""
    ancestor = folder
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise IdkError(f"{option} {path}: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise IdkError(f"{option} {path}: cannot write into {ancestor} (permission denied)")
    try:  # what os.access cannot see: a read-only mount, /proc (root passes os.access everywhere)
        fd, probe = tempfile.mkstemp(dir=ancestor, prefix=".idk-probe-")
    except OSError as err:
        raise IdkError(
            f"{option} {path}: the file system takes no new files in {ancestor} ({err.strerror or err})"
        ) from None
    os.close(fd)
    Path(probe).unlink(missing_ok=True)


def output_file(path: str | os.PathLike, option: str, example: str = "out") -> Path:
    """``path`` as a file the command may create or replace (not a folder; its folder writable);
    ``example``: a file name to suggest inside a folder given instead."""
    raw = os.fspath(path)  # Path() drops a trailing separator, which says the user meant a folder
    path = Path(path)
    if not raw.strip() or path.is_dir() or raw.endswith(("/", os.sep)):
        raise IdkError(f"{option} {path}: is a folder; give a file name (e.g. {path / example})")
    if path.exists() and not os.access(path, os.W_OK):
        raise IdkError(f"{option} {path}: cannot overwrite it (permission denied)")
    _writable_folder(path.parent, option, path)
    return path


def output_folder(path: str | os.PathLike, option: str) -> Path:
    """``path`` as a folder the command may create or write into (not a file)."""
    if not os.fspath(path).strip():
        raise IdkError(f"{option}: an empty name; give a folder (it is created when missing)")
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise IdkError(f"{option} {path}: is a file; give a folder (it is created when missing)")
    _writable_folder(path, option, path)
    return path


def figure_file(path: str | os.PathLike, option: str = "--out") -> Path:
    """An output file whose suffix names a figure format matplotlib writes."""
    path = output_file(path, option, "figure.png")
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FIGURE_FORMATS:
        what = f"unknown figure format .{suffix}" if suffix else "no figure format"
        raise IdkError(f"{option} {path}: {what}; end the name with one of .{', .'.join(FIGURE_FORMATS[:6])}, ...")
    return path


def check_options(args: Any) -> None:
    """Checks of a parsed command line that need no model and no data (light: no torch); ``idk info
    --model M`` is taken as ``idk info M``, the spelling the command reads."""
    command = args.command
    if command == "info":
        if (args.model is None) == (args.model_option is None):
            raise IdkError("give the checkpoint once: idk info MODEL (or idk info --model MODEL)")
        args.model = args.model if args.model is not None else args.model_option
    if command == "train":
        output_file(args.out, "--out", "model.pt")
        if args.confidence is not None and args.target_error is None:
            raise IdkError("--confidence goes with --target-error")
        if args.resume and args.resume_if_exists:
            raise IdkError("--resume and --resume-if-exists: give one")
        if args.overwrite and (args.resume or args.resume_if_exists):
            resumed = "--resume" if args.resume else "--resume-if-exists"
            raise IdkError(f"{resumed} goes on with --out's model, --overwrite replaces it: give one")
    elif command == "calibrate":
        if args.out is not None:
            output_file(args.out, "--out", "model.pt")
        if args.target_refusal is None and args.target_error is None:
            if args.score is None:
                raise IdkError("give --target-refusal, --target-error or --score")
        elif args.confidence is not None and args.target_error is None:  # --score alone: the model's target decides
            raise IdkError("--confidence goes with --target-error")
    elif command == "explain":
        figure_file(args.out, "--out")
    elif command == "download" and args.to is not None:
        output_folder(args.to, "--to")
    elif command in ("evaluate", "reproduce"):
        if getattr(args, "out", None) is not None:
            output_file(args.out, "--out")
        if args.json is not None:
            output_file(args.json, "--json", "report.json")
        if getattr(args, "report", None) is not None:
            output_folder(args.report, "--report")
    _not_an_input(args)
    threads, cores = getattr(args, "threads", None), os.cpu_count() or 1
    if threads is not None and threads > THREADS_PER_CORE * cores:
        raise IdkError(f"--threads {threads}: more than {THREADS_PER_CORE} per core of this machine's {cores}")
    data_dir = getattr(args, "data_dir", None)
    if data_dir is not None and Path(data_dir).exists() and not Path(data_dir).is_dir():
        raise IdkError(f"--data-dir {data_dir}: is a file, not a folder")


def _not_an_input(args: Any) -> None:
    """No output option names a file the command reads (``evaluate --json model.pt`` would destroy
    the model); ``calibrate --out`` may name its ``--model`` (replaced atomically)."""
    outputs = [("--json", getattr(args, "json", None)), ("--report", getattr(args, "report", None))]
    if args.command != "calibrate":
        outputs.append(("--out", getattr(args, "out", None)))
    inputs = [getattr(args, name, None) for name in ("model", "data", "test_data", "target")]
    inputs += getattr(args, "files", None) or []
    existing = [Path(p) for p in inputs if isinstance(p, str) and Path(p).is_file()]
    for option, out in outputs:
        if isinstance(out, str) and Path(out).is_file() and any(Path(out).samefile(p) for p in existing):
            raise IdkError(f"{option} {out}: is one of the command's inputs; give another file name")
