"""The ``idk`` command line. Each command parses its arguments (:mod:`idk.apps.arguments`) and calls
one library function."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from idk.apps.arguments import build_parser
from idk.errors import IdkError

if TYPE_CHECKING:  # imported when a command runs, after the arguments are checked (idk --help at once)
    import torch

    from idk.data import DataConfig
    from idk.nn.bnn import Model
    from idk.progress import Progress
    from idk.training.checkpoint import Checkpoint


@dataclass
class Session:
    """What every command shares: its progress bars and warnings, its device (None: the command
    takes none), and where named data sets are read from."""

    args: argparse.Namespace
    progress: Progress
    device: torch.device | None

    def data(self) -> DataConfig:
        from idk.data import DataConfig

        return DataConfig.from_env(
            self.args.data_dir, progress=self.progress, columns=getattr(self.args, "columns", None)
        )


def run(args: argparse.Namespace) -> int:
    """Run the parsed command (one of :data:`COMMANDS`); its exit status."""
    import torch

    from idk.nn.numerics import set_flush_denormals

    # Flush subnormal floats (see idk.nn.numerics) before torch starts its worker threads, which
    # inherit the setting only when they are created after it.
    set_flush_denormals(True)

    from idk.apps.plugins import load_plugins
    from idk.devices import resolve_device
    from idk.progress import Progress

    load_plugins()  # parts of the user's own (IDK_PLUGINS), before any model is built or loaded
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device) if hasattr(args, "device") else None
    return COMMANDS[args.command](Session(args, Progress(quiet=getattr(args, "quiet", False)), device))


def _train(s: Session) -> int:
    import dataclasses

    from idk.apps.failures import sigterm_raises
    from idk.apps.info import saved_summary
    from idk.training.distributed import from_environment
    from idk.training.train import TrainOptions, train

    args = s.args
    # every option of TrainOptions is a flag of the same name; None keeps the preset's value
    given = {f.name: getattr(args, f.name, None) for f in dataclasses.fields(TrainOptions)}
    given["channels"] = tuple(args.channels) if args.channels else None
    given["image_size"] = args.image_size
    given["twin"] = False if args.no_twin else None
    given["augment"] = False if args.no_augment else None
    given["drop_outliers"] = tuple(args.drop_outliers) if args.drop_outliers is not None else None
    given["outlier_weights"] = tuple(args.outlier_weights) if args.outlier_weights is not None else None
    opts = TrainOptions(**given)
    resume = args.resume or (args.resume_if_exists and os.path.exists(args.out))
    written_before = _modified(args.out)
    try:
        with sigterm_raises():  # a scheduler's stop, as Ctrl-C: the last checkpoint kept and said
            ckpt = train(
                args.out,
                args.preset,
                s.data(),
                opts,
                resume=resume,
                progress=s.progress,
                device=s.device,
                overwrite=args.overwrite,
            )
    except KeyboardInterrupt as stop:
        raise type(stop)(_kept(args.out, written_before, resume)) from None
    # resumed with nothing left to train: the file untouched
    finished = resume and written_before is not None and _modified(args.out) == written_before
    if from_environment().is_main:  # under torchrun, rank 0 alone reports
        print(saved_summary(ckpt, args.out, unchanged=finished))
        _say_plugin_parts(s, args.out, ckpt)
    return 0


def _say_plugin_parts(s: Session, path: str | Path, ckpt: Checkpoint) -> None:
    """Where the model names parts a plugin added (a score "auto" chose among them, say): every
    command that loads it needs IDK_PLUGINS too."""
    from idk.apps.plugins import PLUGINS_ENV, parts_of_ones_own, plugin_names

    if not plugin_names():
        return
    cfg = ckpt.model_config
    named = {"score": ckpt.rule.get("score"), "prior": cfg.prior, "guide": cfg.guide, "architecture": cfg.net.arch}
    if parts := parts_of_ones_own(named):
        s.progress.warn(
            f"{path}: names {' and '.join(parts)} of a plugin's: every command that loads it needs {PLUGINS_ENV} "
            "naming that plugin too (without it, the model is refused by name)"
        )


def _evaluate(s: Session) -> int:
    from idk.apps.evaluate import evaluate_checkpoint, parse_ood
    from idk.evaluation.report import format_report

    args = s.args
    report = evaluate_checkpoint(
        args.model,
        s.data(),
        parse_ood(args.ood),
        args.noise,
        args.gaussian,
        args.samples,
        args.json,
        s.progress,
        args.test_data,
        shift=parse_ood(args.shift, "--shift"),
        shifted_images=args.shifted,
        device=s.device,
        prepare=args.prepare,
    )
    print(format_report(report))
    if args.json:
        print(f"wrote {args.json}")
    if args.report:
        from idk.evaluation.html_report import write_html_report

        path = write_html_report(report, args.report, s.progress.warn)
        print(f"wrote {path} (and {path.with_name('report.json')}, its numbers)")
    return 0


def _reproduce(s: Session) -> int:
    from idk.apps.reproduce import format_reproduction, reproduce

    args = s.args
    report = reproduce(
        args.seed,
        s.data(),
        args.out,
        args.json,
        s.progress,
        args.epochs,
        args.train_subset,
        device=s.device,
        overwrite=args.overwrite,
    )
    print(format_reproduction(report))
    return 0


def _loaded(s: Session) -> tuple[Model, Checkpoint]:
    """The model ``--model`` names, on the session's device, its sample count checked and its notices said."""
    from idk.decision.memory import check_samples
    from idk.training import checkpoint
    from idk.training.notices import warnings

    model, ckpt = checkpoint.load(s.args.model, device=s.device)
    check_samples(model, s.args.samples)
    for warning in warnings(ckpt, s.args.samples):
        s.progress.warn(f"{s.args.model}: {warning}")
    return model, ckpt


def _explain(s: Session) -> int:
    from idk.apps.explain import explain

    args = s.args
    model, ckpt = _loaded(s)
    data = s.data() if args.target.isdigit() else None
    verdict = explain(model, ckpt, args.target, args.out, data, args.samples, warn=s.progress.warn)
    print(f"{args.target}: {verdict} (figure: {args.out})")
    return 0


def _predict(s: Session) -> int:
    from idk.apps.predict import format_results, predict_files

    model, ckpt = _loaded(s)
    results = predict_files(model, ckpt, s.args.files, s.args.samples, progress=s.progress, columns=s.args.columns)
    if s.args.json:
        from idk.evaluation.report import json_safe

        # strict JSON: a NaN (a diverged model's probabilities) is null, as the web service writes it
        print(json.dumps(json_safe([r.as_dict() for r in results]), indent=2, allow_nan=False, ensure_ascii=False))
    else:
        from idk.decision.rules import infeasible_error_target

        everything = ckpt.rule_summary() if infeasible_error_target(ckpt.rule) else None
        print(format_results(results, ckpt.decision_rule(), ckpt.classes, everything))
    return 1 if any(r.error for r in results) else 0


def _serve(s: Session) -> int:
    from idk.apps.serve import ServiceSettings, serve

    args = s.args
    window = None if args.batch_window is None else args.batch_window / 1000
    settings = ServiceSettings.given(
        window=window,
        max_batch=args.max_batch,
        max_queue=args.max_queue,
        threads=args.threads,
        decode_threads=args.decode_threads,
    )
    try:
        serve(args.model, args.host, args.port, args.samples, args.verbose, s.device, settings)
    except OSError as err:
        raise IdkError(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}") from None
    return 0


def _info(s: Session) -> int:
    from idk.apps.info import described_in_words, epochs_in_words, format_info
    from idk.evaluation.report import to_json
    from idk.training.checkpoint import read
    from idk.training.notices import warnings

    ckpt = read(s.args.model)
    info = {**(ckpt.describe() if s.args.json else described_in_words(ckpt)), "warnings": warnings(ckpt)}
    if s.args.history:  # before the warnings, which end the listing
        histories = dict(ckpt.part_histories())
        info = {k: v for k, v in info.items() if k != "warnings"} | {
            "history": histories if s.args.json else epochs_in_words(histories),
            "warnings": info["warnings"],
        }
    if s.args.json:
        sys.stdout.write(to_json(info))  # strict JSON: a NaN figure is null
    else:
        print(format_info(info))
    if not (sys.stdout.isatty() and s.progress.tty):  # on one terminal, the listing has said them
        for warning in info["warnings"]:
            s.progress.warn(f"{s.args.model}: {warning}")
    return 0


def _download(s: Session) -> int:
    from idk.data import DataConfig
    from idk.data.sources import download_sets

    def done(name: str, paths: list[Path]) -> None:
        if paths[0].is_dir():
            print(f"{name}: verified, {paths[0]}")
        else:
            folders = ", ".join(sorted({str(p.parent) for p in paths}))
            print(f"{name}: {len(paths)} file{'s' * (len(paths) != 1)} verified, {folders}")

    cfg = DataConfig.from_env(s.args.data_dir, None, s.progress)
    download_sets(cfg, s.args.sets or (), None if s.args.to is None else Path(s.args.to), done)
    return 0


def _calibrate(s: Session) -> int:
    from idk.apps.info import calibrated_line
    from idk.decision.rules import describe_rule
    from idk.training.recalibration import recalibrate

    args = s.args
    ckpt = recalibrate(
        args.model,
        args.out,
        target_refusal=args.target_refusal,
        target_error=args.target_error,
        confidence=args.confidence,
        samples=args.samples,
        score=args.score,
        data=s.data(),
        progress=s.progress,
        device=s.device,
    )
    written = args.out or args.model
    print(f"saved {written}: rule: {describe_rule(ckpt.rule)}")
    if measured := calibrated_line(ckpt):
        print(measured)
    return 0


# Each command's handler: it reads the session's arguments and calls one library function.
COMMANDS: dict[str, Callable[[Session], int]] = {
    "train": _train,
    "evaluate": _evaluate,
    "reproduce": _reproduce,
    "explain": _explain,
    "predict": _predict,
    "serve": _serve,
    "info": _info,
    "download": _download,
    "calibrate": _calibrate,
}


def _modified(path: str) -> tuple[int, int] | None:
    """Which file ``path`` is and when it was written (inode, ns: a checkpoint is saved as a new
    file renamed into place), or None when there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def _kept(out: str, before: tuple[int, int] | None, resumed: bool) -> str:
    """What a stopped ``idk train --out OUT`` left in ``out`` (``before``: :func:`_modified` at its
    start; ``resumed``: whether the run resumed ``out``)."""
    from idk.training.checkpoint import read

    now = _modified(out)
    if now is None:
        return f"{out} was not written (no epoch had finished)"
    if now == before and not resumed:  # another run's file, not yet replaced
        return f"{out} is as it was (no epoch of this run had finished)"
    try:
        ckpt = read(out)
    except IdkError:
        return f"{out} could not be read back"
    if ckpt.finished:
        return f"{out} was saved, finished"
    from idk.training.distributed import from_environment

    world = from_environment().world
    under = f" started by the same torchrun ({world} processes)" if world > 1 else ""
    return f"{out} keeps {ckpt.training_progress()}; `idk train --resume --out {out}`{under} goes on from there"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse (before any heavy import), check the options, run; every failure is one line on stderr
    (exit status: :mod:`idk.apps.failures`)."""
    from idk.apps import failures
    from idk.apps.checks import check_options

    argv = list(sys.argv[1:] if argv is None else argv)
    process = failures.torchrun_process()  # "" alone or in rank 0, else " (process R of W)"
    try:
        with contextlib.redirect_stderr(io.StringIO()) if process else contextlib.nullcontext():
            args = build_parser().parse_args(argv)  # a usage error: every process has the same one; rank 0 says it
    except SystemExit as stop:
        if process and stop.code:  # silent here: wait, so that rank 0 says it before torchrun stops every process
            time.sleep(failures.PEER_GRACE)
        raise
    try:
        check_options(args)
        return run(args)
    except IdkError as err:  # each process's own (one machine's data may be missing): said by each, named
        # one write, the newline with it: print's two would let two torchrun processes' lines interleave
        sys.stderr.write(failures.one_line(f"idk: error{process}: {err}") + "\n")
        sys.stderr.flush()
        if failures.among_peers():  # before torchrun stops the others: theirs said too
            time.sleep(failures.PEER_GRACE)
        return failures.USAGE
    except KeyboardInterrupt as stop:
        terminated = isinstance(stop, failures.Terminated)
        if not process:  # rank 0 says what the checkpoint kept
            why = f": {stop}" if str(stop) else ""
            print(failures.one_line(f"idk: {'terminated' if terminated else 'interrupted'}{why}"), file=sys.stderr)
        return failures.TERMINATED if terminated else failures.INTERRUPTED
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return failures.FAILED
    except MemoryError:
        print("idk: error: out of memory (try fewer --samples or a smaller --batch-size)", file=sys.stderr)
        return failures.FAILED
    except Exception as err:  # noqa: BLE001 - a bug: one line here, the traceback in a log file
        print(failures.unexpected(err, argv), file=sys.stderr)
        return failures.FAILED


if __name__ == "__main__":
    sys.exit(main())
