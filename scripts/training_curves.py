"""A trained model's loss and held-out error per epoch, every trained part's (a mixture's members, the twin).

The figures ``idk evaluate --report`` puts in its page, side by side in one image, read from the
checkpoint alone (no data needed): each epoch's training loss per example, and the error of its
network at its mean weights on up to 2,000 validation images (``idk.training.held_out``). Epochs
trained before idk recorded the held-out figures (2026-12-07) have none.

Usage: python scripts/training_curves.py runs/default.pt docs/training-curves.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

from idk.evaluation import plots
from idk.training.checkpoint import read


def main(args: argparse.Namespace) -> None:
    ckpt = read(args.model)
    histories = dict(ckpt.part_histories())
    fig, (loss, error) = plots.plt.subplots(1, 2, figsize=(10, 4))
    plots.training_curves(histories, "loss", ax=loss)
    plots.training_curves(histories, "held_out_accuracy", ax=error)
    fig.suptitle(f"{args.model}: {ckpt.preset} preset on {ckpt.data.data}")
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=100)
    for name, history in histories.items():
        last = history[-1] if history else {}
        held = f", held-out accuracy {last['held_out_accuracy']:.2%}" if "held_out_accuracy" in last else ""
        print(f"{name}: {len(history)} epochs, final loss {last.get('loss', float('nan')):.4f}{held}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a checkpoint written by idk train")
    parser.add_argument("out", help="the image to write (.png, .pdf, .svg)")
    main(parser.parse_args())
