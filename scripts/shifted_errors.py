"""Which shifted digits does a model answer wrongly, and how does it answer their sources? For each
built-in shifted set made from the test set (``idk evaluate``'s sets, seed 0), every image answered
wrongly, its test index and label, the answer, and the model's answer to the test digit it was made
from (R: refused). With ``--figure``, each such source beside its shifted image.

Usage: python scripts/shifted_errors.py MODEL [--sets canvas low-res ...] [--samples 100] [--figure PATH]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from idk.data import DataConfig, shifted
from idk.data.catalog import recorded_test_set
from idk.decision.predictive import predict
from idk.nn.numerics import set_flush_denormals
from idk.training import checkpoint


def main(argv: list[str] | None = None) -> dict[str, list[dict]]:
    set_flush_denormals(True)  # before torch starts its worker threads (idk.nn.numerics)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--sets", nargs="+", default=list(shifted.SHIFTS), choices=shifted.SHIFTS)
    parser.add_argument("--samples", type=int, default=100, help="posterior samples per image")
    parser.add_argument("--figure", help="draw each wrong answer's source beside its shifted image here")
    args = parser.parse_args(argv)
    model, ckpt = checkpoint.load(args.model)
    rule, spec = ckpt.decision_rule(), ckpt.input_spec
    test = recorded_test_set(ckpt.data, spec, DataConfig.from_env())
    sets = shifted.shifted_sets(test, spec, 1000, seed=0)  # as idk evaluate builds them
    out: dict[str, list[dict]] = {}
    pairs = []
    for name in args.sets:
        k = list(shifted.SHIFTS).index(name)  # shifted_sets' own draw of the source images
        index = torch.from_numpy(np.sort(np.random.default_rng([0, k]).choice(len(test), 1000, replace=False)))
        images, labels = sets[name].images, sets[name].labels
        assert torch.equal(labels, test.labels[index])
        made = rule.decide(predict(model, images, args.samples, rule.percentile, seed=0))
        source = rule.decide(predict(model, test.pixels(index), args.samples, rule.percentile, seed=0))
        wrong = torch.nonzero(~made.refused & (made.label != labels)).flatten().tolist()
        out[name] = [
            {
                "index": int(index[i]),
                "label": ckpt.classes[int(labels[i])],
                "answer": ckpt.classes[int(made.label[i])],
                "source": "R" if source.refused[i] else ckpt.classes[int(source.label[i])],
            }
            for i in wrong
        ]
        print(f"{name}: {len(wrong)} answered wrongly of {int((~made.refused).sum())} answered")
        for row in out[name]:
            print(
                f"  test #{row['index']:>5}  label {row['label']}  answered {row['answer']}  its source: {row['source']}"
            )
        pairs += [(f"{name} #{int(index[i])}", test.pixels(index[i]), images[i]) for i in wrong]
    if args.figure and pairs:
        from idk.evaluation import plots

        fig, axes = plots.plt.subplots(len(pairs), 2, figsize=(3, 1.5 * len(pairs)), squeeze=False)
        for (title, before, after), (left, right) in zip(pairs, axes, strict=True):
            for ax, img, what in ((left, before, "test digit"), (right, after, title)):
                ax.imshow(img.permute(1, 2, 0).squeeze(-1).numpy(), cmap="gray", vmin=0, vmax=1)
                ax.set_title(what, fontsize=7)
                ax.axis("off")
        fig.tight_layout()
        fig.savefig(args.figure, dpi=110)
        print(f"wrote {args.figure}")
    return out


if __name__ == "__main__":
    main()
