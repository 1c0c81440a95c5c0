"""idk from Python: train on a folder of your images, then answer image files and tensors.

Each step is the library call a command makes (``idk train``, ``idk info``, ``idk predict``):

    python examples/from_python.py my_photos/ --out mine.pt [--epochs 12] [--overwrite] [photo.jpg scan.png ...]

``my_photos/`` holds one sub-folder of images per class (or ``train/`` and ``test/``, each so).
"""

from __future__ import annotations

import argparse

import torch

from idk.apps.info import saved_summary
from idk.apps.predict import predict_images
from idk.decision.predictive import predict
from idk.errors import IdkError
from idk.progress import Progress
from idk.training import checkpoint
from idk.training.train import TrainOptions, train


def main(args: argparse.Namespace) -> None:
    # 1. Train, calibrate and save, as `idk train --data my_photos/ --out mine.pt` does (one option
    #    of TrainOptions per option of the command; None keeps the preset's value).
    #    A file already at --out is refused (named) unless overwrite=True replaces it.
    opts = TrainOptions(data=args.data, epochs=args.epochs)
    trained = train(args.out, opts=opts, progress=Progress(quiet=args.quiet), overwrite=args.overwrite)
    print(saved_summary(trained, args.out))  # the command's last two lines: validation accuracy, rule

    # 2. Load: the checkpoint says what it holds (class names, the images' form, the rule and how it
    #    was calibrated) and is checked on load (weights_only; a clear error on a mismatch).
    model, ckpt = checkpoint.load(args.out)
    rule = ckpt.decision_rule()
    print(f"classes {', '.join(ckpt.classes)}; images {ckpt.input_spec.describe()}; rule: {rule.summary()}")

    # 3. Answer images as `idk predict` does, each brought to the model's form as the training
    #    images were: (name, source) pairs, a source being a path, the file's bytes, an image PIL
    #    opened, or decoded pixels (a numpy array or a tensor, channels last: (H, W), (H, W, 3), or
    #    with alpha (H, W, 2 or 4)): uint8, uint16, bool, or numbers in [0, 1] or in 0..255 (a top
    #    above 2), as a data set's. What cannot be read (NaN, values in neither range, another shape,
    #    a list) is that result's error.
    for result in predict_images(model, ckpt, [(path, path) for path in args.images]):
        print(result.error or f"{result.file}: {result.verdict}")  # an error names its file

    # 4. Tensors already in the model's form, (N, C, H, W) float32 in [0, 1] (or uint8 0..255, as
    #    an image set may hold them: ImageSet.pixels() gives floats): the summaries of S sampled
    #    networks, then the rule, here on uniform noise (a well-trained model refuses it all; one
    #    trained for a few epochs may not, and its notices say so: idk.training.notices.warnings(ckpt)).
    noise = torch.rand(8, *ckpt.input_spec.shape, generator=torch.Generator().manual_seed(0))
    pred = predict(model, noise, ckpt.rule_config.samples, rule.percentile)
    decision = rule.decide(pred)  # accepted (N, C), label (N,), refused (N,); pred.mean_probs (N, C)
    print(f"noise: {int(decision.refused.sum())} of {len(noise)} refused")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of the usage above (files may follow the options)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="a folder: one sub-folder of images per class (or train/ and test/)")
    parser.add_argument("--out", required=True, help="the checkpoint to write")
    parser.add_argument("--epochs", type=int, help="the preset's when not given")
    parser.add_argument("--overwrite", action="store_true", help="replace a file already at --out")
    parser.add_argument("-q", "--quiet", action="store_true")
    parser.add_argument("images", nargs="*", help="image files to answer")
    return parser.parse_intermixed_args(argv)


if __name__ == "__main__":
    try:
        main(parse())
    except IdkError as err:  # the user's input or environment (a file already at --out, say): one line
        raise SystemExit(f"error: {err}") from None
