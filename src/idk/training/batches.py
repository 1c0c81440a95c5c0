"""What a training batch holds besides the training images: synthetic outliers, a share of each
family in every step (:func:`training_outliers`), and for drawn symbols the images the class names
make (written variants, printed names: :func:`class_images`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import Tensor

from idk.data.glyphs import printed_classes
from idk.data.images import InputSpec
from idk.data.synthetic import Family, families_for
from idk.data.variants import variant_labels, written_variants
from idk.training.config import TrainConfig

# Every family of synthetic outliers that training may use, whatever the data: those of drawn
# symbols with mirror classes and turns (prepared as MNIST), then those that only images fitted to
# the frame get (shrunk noise), in families_for's order. The names TrainConfig.drop_outliers may
# give (idk.choices keeps a copy).
OUTLIER_FAMILIES = tuple(
    dict.fromkeys(
        [
            *families_for(InputSpec(1, 1, 1, "mnist", drawn=True, mirror_classes=(0,), turns=((0, 2),)))[0],
            *families_for(InputSpec(3, 32, 32, "fit"))[0],
        ]
    )
)


def family_counts(n: int, weights: list[float]) -> list[tuple[int, int]]:
    """How ``n`` outliers split among families of relative ``weights``: for each, (kept, drawn).
    Each keeps ⌊n wᵢ / Σw⌋, and the families with the largest remainders (the first among equals)
    one more, so that the counts sum to ``n``; each draws ⌈n wᵢ / Σw⌉ and keeps the first part. In
    equal weights, the first n mod F of the F families keep one more than n // F."""
    total = sum(weights)
    exact = [n * w / total for w in weights]
    kept = [math.floor(e + 1e-9) for e in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - kept[i]), i))
    for i in by_remainder[: n - sum(kept)]:
        kept[i] += 1
    return [(k, max(k, math.ceil(e - 1e-9))) for k, e in zip(kept, exact, strict=True)]


def outlier_counts(
    batch: int, share: float, names: Iterable[str], weights: dict[str, float] | None = None
) -> dict[str, tuple[int, int]]:
    """Each family's (kept, drawn) of the n = max(F, round(``share`` × ``batch``)) outliers of a
    batch (at least one per family of the F ``names``), in parts of relative ``weights`` (1 for a
    family not named), split by :func:`family_counts`."""
    names = list(names)
    n = max(len(names), round(share * batch))
    counts = family_counts(n, [float((weights or {}).get(name, 1.0)) for name in names])
    return dict(zip(names, counts, strict=True))


def training_outliers(
    images: Tensor, labels: Tensor, share: float, families: dict[str, Family], weights: dict[str, float] | None = None
) -> Tensor:
    """A fresh batch of synthetic outliers, :func:`outlier_counts` of each family, drawn from the
    global generator (resumable)."""
    counts = outlier_counts(len(images), share, families, weights)
    return torch.cat(
        [family(images, labels, counts[name][1], None)[: counts[name][0]] for name, family in families.items()]
    )


def printed_share(x: Tensor, y: Tensor, images: Tensor, labels: Tensor, share: float) -> tuple[Tensor, Tensor]:
    """The batch x (B, C, H, W), y (B,) with its first round(``share`` × B) images replaced by
    printed class names drawn from ``images`` (M, 1, H, W) with ``labels`` (M,) (the global
    generator: resumable). The batch is in random order, so its first images are any. Under torchrun
    each process replaces its share of its own slice of the batch (rounded there)."""
    k = round(share * len(x))
    if k == 0:
        return x, y
    pick = torch.randint(0, len(images), (k,), device=images.device)
    x, y = x.clone(), y.clone()
    x[:k], y[:k] = images[pick].expand(-1, x.shape[1], -1, -1), labels[pick]
    return x, y


# The shares of TrainConfig that need the class names (class_images), and what each does.
NAMED_SHARES = {
    "printed": "replaces a share of each batch by the class names in print",
    "variants": "draws a share of some classes' images as their written variants",
}


def trained_printed(cfg: TrainConfig, spec: InputSpec, classes: tuple[str, ...]) -> tuple[Tensor, Tensor] | None:
    """The printed class names a run trains on (:func:`idk.data.glyphs.printed_classes`: images
    (M, 1, H, W), labels (M,)), when a ``cfg.printed`` share of drawn symbols is printed; else None."""
    return printed_classes(classes, spec.height, spec.width) if cfg.printed > 0 and spec.drawn else None


def class_images(
    cfg: TrainConfig, spec: InputSpec, classes: tuple[str, ...], device: torch.device
) -> Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]:
    """What each batch x (B, C, H, W), y (B,) of drawn symbols goes through before augmentation, from
    the class names: a ``cfg.variants`` share of the images of classes with a written variant drawn
    as it (:func:`idk.data.variants.written_variants`: a 1 given a flag), then a ``cfg.printed``
    share of the batch replaced by printed class names (:func:`printed_share`). Neither for other
    images, nor for names without a variant or a print."""
    printed = trained_printed(cfg, spec, classes)
    if printed is not None:
        printed = tuple(t.to(device) for t in printed)
    variants = variant_labels(classes) if cfg.variants > 0 and spec.drawn else {}

    def named(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:  # what the class names make of a batch
        x = written_variants(x, y, variants, cfg.variants)
        if printed is not None:
            x, y = printed_share(x, y, *printed, cfg.printed)
        return x, y

    return named


def outlier_families(spec: InputSpec, cfg: TrainConfig) -> dict[str, Family]:
    """The synthetic outlier families to train on for images of ``spec``: those that apply to them
    (:func:`idk.data.synthetic.families_for`) but ``cfg.drop_outliers``. ValueError for a name
    that is no family (listing the valid ones), and for dropping every family that applies while
    ``cfg.outlier_weight`` asks for outliers. A valid name that does not apply (``zoomed`` for
    photos) drops nothing."""
    weighed = dict(cfg.outlier_weights)
    for verb, names in (("drop", cfg.drop_outliers), ("weigh", weighed)):
        unknown = [name for name in names if name not in OUTLIER_FAMILIES]
        if unknown:
            raise ValueError(
                f"unknown synthetic outlier famil{'y' if len(unknown) == 1 else 'ies'} to {verb}: "
                f"{', '.join(unknown)}; valid: {', '.join(OUTLIER_FAMILIES)}"
            )
    if any(not w > 0 for w in weighed.values()):
        raise ValueError(f"outlier family weights must be > 0 (to leave one out, drop it): {weighed}")
    families = {name: f for name, f in families_for(spec)[0].items() if name not in cfg.drop_outliers}
    if not families and cfg.outlier_weight > 0:
        raise ValueError(
            f"dropping {', '.join(cfg.drop_outliers)} leaves no synthetic outlier family for these images "
            "(outlier exposure needs one): keep one"
        )
    return families
