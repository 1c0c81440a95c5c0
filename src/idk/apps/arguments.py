"""What the ``idk`` command line accepts: its commands, their options, and the checks each value
must pass while parsing (a bad value is one line, exit status 2)."""

from __future__ import annotations

import argparse

from idk.apps.option_types import (
    columns,
    device,
    family_weight,
    fraction,
    image_size,
    non_negative,
    non_negative_float,
    one_of,
    open_fraction,
    port,
    positive,
    positive_float,
)
from idk.apps.parser import CommandsHelp, Parser
from idk.choices import (
    ARCH_NAMES,
    AUTO_SCORE,
    DATA_NAMES,
    DEFAULT_DATA,
    DEFAULT_PRESET,
    DOWNLOAD_NAMES,
    GUIDE_NAMES,
    OOD_NAMES,
    OUTLIER_FAMILIES,
    PRESET_NAMES,
    PRIOR_NAMES,
    SCHEDULES,
    SCORE_NAMES,
)
from idk.devices import DEFAULT_DEVICE, DEVICE_HELP


def _common(p: argparse.ArgumentParser, threads: str = "all cores") -> None:
    p.add_argument(
        "--data-dir",
        help=f"folder holding {', '.join(n + '/' for n in DOWNLOAD_NAMES)} (default: $IDK_DATA_DIR, else download)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars or log lines")
    p.add_argument("--threads", type=positive, help=f"torch threads (default: {threads})")
    p.add_argument("--device", type=device, default=DEFAULT_DEVICE, help=f"where to compute: {DEVICE_HELP}")


def _built_in_or_plugin(names: tuple[str, ...]) -> tuple[str, ...] | None:
    """The choices of an option naming a registered part: the built-in ``names``; None (any name,
    checked against the registries once IDK_PLUGINS' modules are imported) when plugins are given."""
    from idk.apps.plugins import plugin_names

    return None if plugin_names() else names


def _score(p: argparse.ArgumentParser, default: str) -> None:
    """``--score NAME``, its help ending with ``default`` (what the command does without it)."""
    p.add_argument(
        "--score",
        choices=_built_in_or_plugin((*SCORE_NAMES, AUTO_SCORE)),
        metavar="NAME",
        help=f"the uncertainty the rule refuses on: {', '.join(SCORE_NAMES)} or {AUTO_SCORE} (chosen on validation "
        f"images), or one an IDK_PLUGINS module adds; {default}",
    )


def _columns(p: argparse.ArgumentParser, after: str) -> None:
    """``--columns FILE,CLASS``: a CSV table's columns by name, ``after`` ending its help."""
    p.add_argument(
        "--columns",
        type=columns,
        metavar="FILE,CLASS",
        help="the names of the file column and the class column of the .csv tables given (default: the usual names: "
        f"file, filename, path, image, image_id, id...; label, class, category, target, y...); {after}",
    )


def _train_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model on a data set (MNIST by default, or yours); save a checkpoint")
    p.add_argument(
        "--data",
        help=f"a named set ({', '.join(DATA_NAMES)}; default {DEFAULT_DATA}), a folder (DIR/train/CLASS/* + DIR/test/CLASS/*, "
        "or DIR/CLASS/* with a held-out test split), a folder of IDX pairs, an .npz with images and labels, or a .csv "
        "listing image files and their classes",
    )
    p.add_argument("--test-data", help="a separate labelled test set (folder, .npz or .csv) with the same classes")
    _columns(p, "recorded: the model's tables are read by them again")
    p.add_argument(
        "--image-size",
        type=image_size,
        metavar="N|HxW",
        help="bring a folder's images to this size, H×W (default: the most common where half have it, else the median "
        "height and width, at most 128 px a side)",
    )
    p.add_argument(
        "--preset",
        choices=_built_in_or_plugin(PRESET_NAMES),
        metavar="NAME",
        help=f"the model and its training: {', '.join(PRESET_NAMES)}, or one an IDK_PLUGINS module adds (default: "
        f"the one chosen for the data set, else {DEFAULT_PRESET})",
    )
    p.add_argument("--out", required=True, help="checkpoint file to write (updated every epoch)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from --out's last completed epoch (options may change only --epochs, --quiet, --device, "
        "--threads; and --data, --test-data name the same images' new place when they moved)",
    )
    p.add_argument("--resume-if-exists", action="store_true", help="--resume when --out exists, else start afresh")
    p.add_argument(
        "--overwrite", action="store_true", help="replace a file already at --out (else it is refused: a model kept)"
    )
    p.add_argument("--epochs", type=positive, help="passes over the training images (default: the preset's)")
    p.add_argument("--lr", type=positive_float, help="Adam's learning rate (default: the preset's)")
    p.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule")
    p.add_argument(
        "--prior",
        choices=_built_in_or_plugin(PRIOR_NAMES),
        help=f"the prior over the weights: {', '.join(PRIOR_NAMES)} (default: normal), or one an IDK_PLUGINS module adds",
    )
    p.add_argument(
        "--guide",
        choices=_built_in_or_plugin(GUIDE_NAMES),
        help=f"the variational posterior: {', '.join(GUIDE_NAMES)} (the default), or one an IDK_PLUGINS module adds",
    )
    p.add_argument(
        "--prior-scale", type=positive_float, help="the prior's scale: a Normal's standard deviation, a Laplace's b"
    )
    p.add_argument("--kl-weight", type=positive_float, help="β: the ELBO's KL weight (1: Bayes' rule)")
    p.add_argument(
        "--arch",
        choices=_built_in_or_plugin(ARCH_NAMES),
        metavar="NAME",
        help=f"the network: {', '.join(ARCH_NAMES)} (default: the preset's), or one an IDK_PLUGINS module adds",
    )
    p.add_argument("--channels", type=positive, nargs="+", metavar="C", help="CNN channels, one per block")
    p.add_argument("--dense", type=positive, help="CNN hidden dense units")
    p.add_argument(
        "--members",
        type=positive,
        metavar="K",
        help="an equal mixture of K posteriors, each trained in turn (K times the training; default: the preset's)",
    )
    p.add_argument("--batch-size", type=positive, help="images per training step (default: the preset's)")
    p.add_argument(
        "--seed", type=int, help="seed of the initial weights, the data order and the augmentation (default 0)"
    )
    p.add_argument("--train-subset", type=positive, help="train on a fixed random N of the training images only")
    p.add_argument(
        "--val-size",
        type=non_negative,
        metavar="N",
        help="hold out N of the training images (a fifth of them at most) to tune the rule and set its threshold; "
        "0: none, the threshold stays fixed (default: the preset's)",
    )
    p.add_argument("--samples", type=positive, help="posterior samples per image for the decision")
    _score(p, "default: the preset's")
    target = p.add_mutually_exclusive_group()
    target.add_argument(
        "--target-refusal", type=fraction, help="calibrate: share of images like the training images refused"
    )
    target.add_argument(
        "--target-error", type=open_fraction, help="calibrate: error among accepted images (upper bound)"
    )
    p.add_argument("--confidence", type=open_fraction, help="confidence of the --target-error bound (default 0.95)")
    p.add_argument("--no-twin", action="store_true", help="skip the deterministic twin")
    p.add_argument(
        "--no-augment",
        action="store_true",
        help="no augmentation: no shifts, rotations, mirror images, degradation, printed class names or "
        "written variants unless --degrade, --printed, --variants or --flip is given "
        "(default: the data set's own)",
    )
    p.add_argument(
        "--degrade",
        type=fraction,
        metavar="P",
        help="share of training images degraded: blurred, at lower resolution, thicker or thinner pen "
        "(drawn symbols only; default: the preset's)",
    )
    p.add_argument(
        "--printed",
        type=fraction,
        metavar="P",
        help="share of each batch replaced by the class names printed in Computer Modern and Noto Sans "
        "(drawn symbols named by one character only; default: the preset's)",
    )
    p.add_argument(
        "--variants",
        type=fraction,
        metavar="P",
        help="share of the images of a class with a written variant drawn as that variant: a 1 given a "
        "flag (drawn symbols with a class named 1 only; default: the preset's)",
    )
    mirror = p.add_mutually_exclusive_group()
    mirror.add_argument(
        "--flip",
        dest="flip",
        action="store_const",
        const=True,
        help="your classes keep their names in a mirror (most photos): train on mirror images too, even with "
        "--no-augment (default: the data set's own, with its augmentation: clothes yes, your images no; "
        "refused for drawn symbols, digits and letters)",
    )
    mirror.add_argument(
        "--no-flip", dest="flip", action="store_const", const=False, help="never train on mirror images"
    )
    p.add_argument(
        "--drop-outliers",
        nargs="*",
        choices=OUTLIER_FAMILIES,
        metavar="NAME",
        help=f"synthetic outlier families left out of training ({', '.join(OUTLIER_FAMILIES)}; "
        "none given: every family; default: the preset's)",
    )
    p.add_argument(
        "--outlier-weights",
        nargs="*",
        type=family_weight,
        metavar="NAME=W",
        help="relative shares of the synthetic outliers of each step: NAME=W against 1 for every family "
        "not named (e.g. glyphs=3; none given: all equal; default: the preset's)",
    )
    _common(p)


def _evaluate_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate a checkpoint: its test set, the usual outliers, your sets")
    p.add_argument("--model", required=True, help="a checkpoint written by idk train")
    p.add_argument(
        "--test-data", help="a labelled test set in place of the model's own (folder, .npz, .csv, or a named set)"
    )
    p.add_argument(
        "--ood",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help=f"another data set: a known name ({', '.join(OOD_NAMES)}) "
        "or a folder/IDX/.npy/.npz/.csv, brought to the model's input form; repeatable",
    )
    p.add_argument(
        "--noise",
        type=non_negative,
        default=100,
        help="uniform-noise images, and as many noise-3x pictures where the report has them (default 100; 0: none)",
    )
    p.add_argument(
        "--gaussian",
        type=non_negative,
        default=0,
        help="Gaussian-noise images (default 0; for your own data: as --noise)",
    )
    p.add_argument(
        "--shift",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a labelled set of the model's classes from another source (folder with one sub-folder per class, "
        ".npz with labels, .csv with a class column), reported as shifted: answered share and accuracy on answered; "
        "repeatable",
    )
    _columns(p, "for --test-data, --shift and --ood (the model's own tables are read as it recorded them)")
    p.add_argument(
        "--shifted",
        type=non_negative,
        default=1000,
        metavar="N",
        help="images per built-in shifted set (other pens, scans, printed, drawn by hand; models of drawn symbols; default 1000; 0: none)",
    )
    p.add_argument(
        "--prepare",
        action="store_true",
        help="prepare every image of your folders (--test-data, --ood, --shift) as `idk predict` prepares a photo, "
        "those of the model's frame size too (e.g. dark-on-light 28×28 digits inverted for a digit model); "
        "default: frame-sized images are taken pixel for pixel, as a data set in the model's form",
    )
    p.add_argument("--samples", type=positive, help="posterior samples per image (default: the model's)")
    p.add_argument("--json", help="write the report as JSON")
    p.add_argument("--report", help="write an HTML report with figures (and report.json) into this folder")
    _common(p)


def _reproduce_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reproduce", help="train the tutorial's model and compare with its published table")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the data order (default 0)")
    p.add_argument(
        "--out", help="checkpoint file (default runs/tutorial-seedN.pt under the current folder, made anew each time)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace a file already at the --out given")
    p.add_argument("--json", help="write the report as JSON")
    p.add_argument("--epochs", type=positive, help="shorter run (the tutorial: 5)")
    p.add_argument("--train-subset", type=positive, help="train on a fixed random N of the images only (quick checks)")
    _common(p)


def _explain_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("explain", help="the tutorial's figure for one image: sampled log-probabilities per class")
    p.add_argument("target", help="an index into the model's test set, or an image file")
    p.add_argument("--model", required=True, help="a checkpoint written by idk train")
    p.add_argument("--out", required=True, help="figure file to write (PNG, PDF, SVG: any format matplotlib writes)")
    p.add_argument("--samples", type=positive, help="posterior samples (default: the model's)")
    _common(p)


def _predict_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="answer for your own images (PNG, JPEG, BMP, GIF, WebP, TIFF; .npy/.npz arrays)")
    p.add_argument(
        "files",
        nargs="+",
        help="image files, folders or glob patterns; .npy/.npz arrays (each image answered as FILE[i]); .csv tables "
        "(each file listed answered, row by row, by its cell)",
    )
    p.add_argument("--model", required=True, help="a checkpoint written by idk train")
    _columns(p, "here only the file column is read")
    p.add_argument("--samples", type=positive, help="posterior samples per image (default: the model's)")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per file")
    _common(p)


def _serve_command(sub: argparse._SubParsersAction) -> None:
    from idk.apps.serve_batching import DEFAULT_DECODE_THREADS, DEFAULT_MAX_BATCH, DEFAULT_MAX_QUEUE, DEFAULT_WINDOW

    p = sub.add_parser(
        "serve",
        help="a web page (draw or drop images) and a JSON API for a model; no authentication",
        description="Serve a model: a web page and a JSON API (docs at /docs). The service has no authentication "
        "and no TLS: keep it on 127.0.0.1 (the default) or behind a proxy that adds them.",
    )
    p.add_argument("--model", required=True, help="a checkpoint written by idk train")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; any other address serves everyone "
        "who can reach it, with no authentication)",
    )
    p.add_argument("--port", type=port, default=8000, help="port (default 8000; 0: any free port)")
    p.add_argument("--samples", type=positive, help="posterior samples per image (default: the model's)")
    p.add_argument(
        "--batch-window",
        type=non_negative_float,
        metavar="MS",
        help=f"milliseconds a request waits for others to share its posterior pass (default {1000 * DEFAULT_WINDOW:g})",
    )
    p.add_argument("--max-batch", type=positive, help=f"images per posterior pass (default {DEFAULT_MAX_BATCH})")
    p.add_argument(
        "--max-queue", type=positive, help=f"images waiting before requests get 503 (default {DEFAULT_MAX_QUEUE})"
    )
    p.add_argument(
        "--decode-threads",
        type=positive,
        help=f"image files decoded at once, beside the model's pass (default {DEFAULT_DECODE_THREADS}; each holds "
        "its full-size pixels while it decodes)",
    )
    p.add_argument("--verbose", action="store_true", help="log every request")
    _common(p, threads="one core fewer than the machine's, for the connections")


def _info_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="what a checkpoint holds, and whether it finished training and was calibrated")
    p.add_argument("model", nargs="?", help="a checkpoint file")
    p.add_argument(
        "--model", dest="model_option", metavar="MODEL", help="the same, named as the other commands name it"
    )
    p.add_argument("--json", action="store_true", help="print it all as JSON")
    p.add_argument(
        "--history",
        action="store_true",
        help="each trained part's epochs, one line each: loss, held-out accuracy and NLL, seconds (JSON: a list per part)",
    )


def _calibrate_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate",
        help="refit a trained model's rule to a new target or score on its validation images, no retraining",
    )
    p.add_argument("--model", required=True, help="a finished checkpoint")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--target-refusal", type=fraction, help="share of images like the training images refused")
    target.add_argument("--target-error", type=open_fraction, help="error among accepted images (upper bound)")
    _score(p, "default: the model's; alone, with the model's own target")
    p.add_argument("--confidence", type=open_fraction, help="confidence of the --target-error bound (default 0.95)")
    p.add_argument("--out", help="checkpoint to write (default: replace --model, atomically)")
    p.add_argument("--samples", type=positive, help="posterior samples per image (default: the model's)")
    _common(p)


def _download_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "download",
        help="fetch the named data sets now (checksums verified), e.g. to carry to a machine offline",
        description="Fetch the named data sets, each file checked against its SHA-256: into idk's cache "
        "($IDK_CACHE_DIR, else $XDG_CACHE_HOME/idk, else ~/.cache/idk), where every command finds them, "
        "or into --to DIR, a data directory to use as --data-dir or IDK_DATA_DIR.",
    )
    p.add_argument(  # checked by its type: argparse's choices refuse nargs="*" given nothing
        "sets",
        nargs="*",
        type=one_of(DOWNLOAD_NAMES, "set idk downloads"),
        metavar="SET",
        help=f"default: all ({', '.join(DOWNLOAD_NAMES)})",
    )
    p.add_argument(
        "--to",
        metavar="DIR",
        help="fill DIR as a data directory (use it as --data-dir or IDK_DATA_DIR after): what it holds "
        "is verified, the rest copied from the data directory or the cache when they hold it, else downloaded",
    )
    p.add_argument(
        "--data-dir",
        help="a data directory checked first (default: $IDK_DATA_DIR); what it lacks goes to the cache (or --to)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command (light: imports no torch, so a bad option answers at once)."""
    from idk import __version__

    parser = Parser(
        prog="idk",
        description='Bayesian neural networks that say "I don\'t know".',
        epilog="`idk COMMAND --help` shows a command's options.",
        formatter_class=CommandsHelp,
    )

    parser.add_argument("--version", action="version", version=f"idk {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser, metavar="COMMAND", title="commands")
    _train_command(sub)
    _evaluate_command(sub)
    _reproduce_command(sub)
    _explain_command(sub)
    _predict_command(sub)
    _serve_command(sub)
    _info_command(sub)
    _calibrate_command(sub)
    _download_command(sub)
    return parser
