"""The ``idk`` command line. Each command parses its arguments and calls one library function."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from idk.devices import DEFAULT_DEVICE, DEVICE_HELP, check_device_name
from idk.errors import IdkError


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line (and the hint to ``--help``)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        help="folder holding mnist/, fashion-mnist/, notmnist-459/, notmnist-10k/ (default: $IDK_DATA_DIR, else download)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars or log lines")
    p.add_argument("--threads", type=int, help="torch threads (default: all cores)")
    p.add_argument("--device", type=_device, default=DEFAULT_DEVICE, help=f"where to compute: {DEVICE_HELP}")


def _checked(text: str, convert: Callable[[str], float], kind: str, ok: Callable[[float], bool], requirement: str):
    """``convert(text)``, or an argparse error naming what was expected."""
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"{text} {requirement}")
    return value


def _device(text: str) -> str:
    try:
        return check_device_name(text)
    except IdkError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a device ({DEVICE_HELP})") from None


def _fraction(text: str) -> float:
    return _checked(text, float, "a number", lambda v: 0.0 <= v <= 1.0, "is not a fraction in [0, 1]")


def _open_fraction(text: str) -> float:
    return _checked(text, float, "a number", lambda v: 0.0 < v < 1.0, "is not a number strictly between 0 and 1")


def _non_negative(text: str) -> int:
    return _checked(text, int, "a whole number", lambda v: v >= 0, "must not be negative")


def _positive_float(text: str) -> float:
    return _checked(text, float, "a number", lambda v: v > 0, "must be positive")


def _positive(text: str) -> int:
    return _checked(text, int, "a whole number", lambda v: v > 0, "must be positive")


def _image_size(text: str) -> tuple[int, int]:
    """``N`` (square) or ``HxW``."""
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) > 2:
        raise argparse.ArgumentTypeError(f"{text!r} is not N or HxW")
    sizes = [_checked(p, int, "a whole number", lambda v: v > 0, "must be positive") for p in parts]
    return (sizes[0], sizes[-1])


def build_parser() -> argparse.ArgumentParser:
    from idk.data.catalog import DEFAULT_DATA, NAMED
    from idk.training.config import DEFAULT_PRESET, PRESETS

    parser = Parser(prog="idk", description='Bayesian neural networks that say "I don\'t know".')
    from idk import __version__

    parser.add_argument("--version", action="version", version=f"idk {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("train", help="train a model on a data set (MNIST by default, or yours) and save a checkpoint")
    p.add_argument(
        "--data",
        help=f"a named set ({', '.join(NAMED)}; default {DEFAULT_DATA}), a folder (DIR/train/CLASS/* + DIR/test/CLASS/*, "
        "or DIR/CLASS/* with a held-out test split), a folder of IDX pairs, or an .npz with images and labels",
    )
    p.add_argument("--test-data", help="a separate labelled test set (folder or .npz) with the same classes")
    p.add_argument(
        "--image-size",
        type=_image_size,
        metavar="N|HxW",
        help="bring a folder's images to this size (default: the most common)",
    )
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help=f"the model and its training (default: the one chosen for the data set, else {DEFAULT_PRESET})",
    )
    p.add_argument("--out", required=True, help="checkpoint file to write (updated every epoch)")
    p.add_argument("--resume", action="store_true", help="continue from --out's last completed epoch")
    p.add_argument("--epochs", type=_positive)
    p.add_argument("--lr", type=_positive_float)
    p.add_argument("--schedule", choices=("constant", "cosine"), help="learning-rate schedule")
    p.add_argument("--prior-scale", type=_positive_float, help="standard deviation of the Normal prior")
    p.add_argument("--kl-weight", type=_positive_float, help="β: the ELBO's KL weight (1: Bayes' rule)")
    p.add_argument("--channels", type=_positive, nargs="+", metavar="C", help="CNN channels, one per block")
    p.add_argument("--dense", type=_positive, help="CNN hidden dense units")
    p.add_argument("--batch-size", type=_positive)
    p.add_argument("--seed", type=int)
    p.add_argument("--train-subset", type=_positive, help="train on a fixed random N of the training images only")
    p.add_argument("--samples", type=_positive, help="posterior samples per image for the decision")
    p.add_argument(
        "--target-refusal", type=_fraction, help="calibrate: share of images like the training images refused"
    )
    p.add_argument("--target-error", type=_open_fraction, help="calibrate: error among accepted images (upper bound)")
    p.add_argument("--confidence", type=_open_fraction, help="confidence of the --target-error bound (default 0.95)")
    p.add_argument("--no-twin", action="store_true", help="skip the deterministic twin")
    p.add_argument("--no-augment", action="store_true", help="no augmentation (default: the data set's own)")
    _common(p)

    p = sub.add_parser("evaluate", help="evaluate a checkpoint: its test set, the usual outliers, your sets")
    p.add_argument("--model", required=True)
    p.add_argument("--test-data", help="a labelled test set in place of the model's own (folder, .npz, or a named set)")
    p.add_argument(
        "--ood",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="another data set: a known name (mnist, fashion-mnist, notmnist-10k, notmnist-459, noise, gaussian-noise) "
        "or a folder/IDX/.npy/.npz, brought to the model's input form; repeatable",
    )
    p.add_argument("--noise", type=_positive, default=100, help="uniform-noise images (default 100)")
    p.add_argument(
        "--gaussian",
        type=_non_negative,
        default=0,
        help="Gaussian-noise images (default 0; for your own data: as --noise)",
    )
    p.add_argument("--samples", type=_positive)
    p.add_argument("--json", help="write the report as JSON")
    p.add_argument("--report", help="write an HTML report with figures (and report.json) into this folder")
    _common(p)

    p = sub.add_parser("reproduce", help="train the tutorial's model and compare with its published table")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="checkpoint file (default runs/tutorial-seedN.pt)")
    p.add_argument("--json", help="write the report as JSON")
    p.add_argument("--epochs", type=_positive, help="shorter run (the tutorial: 5)")
    p.add_argument("--train-subset", type=_positive, help="train on a fixed random N of the images only (quick checks)")
    _common(p)

    p = sub.add_parser("explain", help="the tutorial's figure for one image: sampled log-probabilities per class")
    p.add_argument("target", help="an index into the model's test set, or an image file")
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--samples", type=_positive)
    _common(p)

    p = sub.add_parser("predict", help="answer for your own images (PNG, JPEG, BMP, GIF, WebP)")
    p.add_argument("files", nargs="+", help="image files, folders or glob patterns")
    p.add_argument("--model", required=True)
    p.add_argument("--samples", type=_positive)
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per file")
    _common(p)

    p = sub.add_parser("serve", help="a web page (draw or drop images) and a JSON API for a model")
    p.add_argument("--model", required=True)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free port)")
    p.add_argument("--samples", type=_positive)
    p.add_argument("--verbose", action="store_true", help="log every request")
    _common(p)

    p = sub.add_parser("info", help="what a checkpoint holds")
    p.add_argument("model")
    p.add_argument("--json", action="store_true")
    return parser


def run(args: argparse.Namespace) -> int:
    import torch

    # Flush subnormal floats (see idk.nn.numerics) before torch starts its worker threads, which
    # inherit the setting only when they are created after it.
    torch.set_flush_denormal(True)

    from idk.progress import Progress

    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    progress = Progress(quiet=getattr(args, "quiet", False))
    from idk.devices import resolve_device

    device = resolve_device(args.device) if hasattr(args, "device") else None  # noqa: F841 - wired per command

    def data():
        from idk.data import DataConfig

        return DataConfig.from_env(args.data_dir)

    if args.command == "train":
        import dataclasses

        from idk.training.train import TrainOptions, train

        # every option of TrainOptions is a flag of the same name; None keeps the preset's value
        given = {f.name: getattr(args, f.name, None) for f in dataclasses.fields(TrainOptions)}
        given["channels"] = tuple(args.channels) if args.channels else None
        given["image_size"] = args.image_size
        given["twin"] = False if args.no_twin else None
        given["augment"] = False if args.no_augment else None
        opts = TrainOptions(**given)
        ckpt = train(args.out, args.preset, data(), opts, resume=args.resume, progress=progress)
        from idk.decision.rules import describe_rule

        print(
            f"saved {args.out}: preset {ckpt.preset}, {len(ckpt.classes)} classes of {ckpt.input_spec.describe()} images, "
            f"{len(ckpt.history)} epochs, final loss {ckpt.history[-1]['loss']:.4f}"
        )
        print(f"rule: {describe_rule(ckpt.rule)}")
        return 0
    if args.command == "evaluate":
        from idk.apps.evaluate import evaluate_checkpoint, parse_ood
        from idk.evaluation.report import format_report

        report = evaluate_checkpoint(
            args.model,
            data(),
            parse_ood(args.ood),
            args.noise,
            args.gaussian,
            args.samples,
            args.json,
            progress,
            args.test_data,
        )
        print(format_report(report))
        if args.report:
            from idk.evaluation.html_report import write_html_report

            path = write_html_report(report, args.report)
            print(f"wrote {path}")
        return 0
    if args.command == "reproduce":
        from idk.apps.reproduce import format_reproduction, reproduce

        report = reproduce(args.seed, data(), args.out, args.json, progress, args.epochs, args.train_subset)
        print(format_reproduction(report))
        return 0
    if args.command in ("explain", "predict"):
        from idk.apps.predict import explain, format_results, predict_files
        from idk.training import checkpoint

        model, ckpt = checkpoint.load(args.model)
        if args.command == "explain":
            verdict = explain(
                model, ckpt, args.target, args.out, data() if args.target.isdigit() else None, args.samples
            )
            print(f"{args.target}: {verdict} (figure: {args.out})")
            return 0
        results = predict_files(model, ckpt, args.files, args.samples)
        if args.json:
            print(json.dumps([r.as_dict() for r in results], indent=2))
        else:
            print(format_results(results, ckpt.decision_rule().percentile, ckpt.classes))
        return 1 if any(r.error for r in results) else 0
    if args.command == "serve":
        from idk.apps.serve import serve

        try:
            serve(args.model, args.host, args.port, args.samples, args.verbose)
        except OSError as err:
            raise IdkError(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}") from None
        return 0
    if args.command == "info":
        from idk.training.checkpoint import read

        info = read(args.model).describe()
        print(json.dumps(info, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in info.items()))
        return 0
    raise AssertionError(args.command)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except IdkError as err:
        print(f"idk: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("idk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
