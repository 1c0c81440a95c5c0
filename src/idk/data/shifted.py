"""Symbols from other hands, pens and scanners: labelled *shifted* sets that a model of drawn symbols
should still answer, and their non-symbol counterparts that it should refuse.

Every set is built from first principles from images of the model's own classes (its test set for
the report, its validation split for choices) or from fonts, never from a real out-of-distribution
set. Each image takes the path a user's image takes: drawn or printed large, degraded the way a
pen, a scanner or a screen degrades it, then brought to the model's frame by the model's own
preparation (:func:`idk.data.preparation.to_mnist`: crop to the ink, fit 20/28 of the frame,
centre by mass). The sets, each named by how its images were made:

* ``low-res``, ``thick-pen``, ``thin-pen``, ``blurred``, ``scanned``, ``canvas``: the model's own
  images degraded as :mod:`idk.data.degradations` describes;
* ``printed``: the class names rendered in printed fonts (when every class name is one character);
* ``drawn``: the class names drawn as a few pen strokes by hands of their own, no font and no
  source image (:mod:`idk.data.handwriting`; when every class name has strokes there);
* ``hershey``: the same hands drawing another designer's strokes, A. V. Hershey's stroke fonts
  (:mod:`idk.data.hershey`; when a Hershey face draws every class name).

:func:`symbol_set` renders characters that are no class (Greek and Cyrillic letters, Latin letters
unlike digits, signs) and passes each through one of the same degradations; :func:`drawn_symbol_set`
and :func:`hershey_symbol_set` draw such characters as pen strokes, the counterparts of ``drawn``
and ``hershey``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from idk.data.degradations import SHIFTS, UPSCALE, Rng, degrade, gaussian_blur, hires, prepared
from idk.data.glyphs import FONT_FILES, LOOKALIKE, REFERENCE_FONT, SYMBOLS, frames, has_glyph, looks_alike
from idk.data.handwriting import ALPHABET, draw, draw_strokes
from idk.data.hershey import designs, has_strokes
from idk.data.images import ImageSet, InputSpec


def applies(spec: InputSpec) -> bool:
    """Whether the shifted sets are meaningful for a model: drawn symbols prepared MNIST's way."""
    return spec.drawn and spec.preparation == "mnist"


def _sample(source: ImageSet, n: int, rng: Rng) -> ImageSet:
    index = torch.from_numpy(np.sort(rng.choice(len(source), size=min(n, len(source)), replace=False)))
    return source.subset(index)


def shifted_sets(source: ImageSet, spec: InputSpec, n: int = 1000, seed: int = 0) -> dict[str, ImageSet]:
    """Labelled shifted sets of ``n`` images each, built from ``source`` (frame-sized images of the
    model's classes, labels required) and, for one-character class names, printed fonts
    (``printed``) and pen strokes (``drawn``, where :mod:`idk.data.handwriting` has every class;
    ``hershey``, where a Hershey face draws every class)."""
    out: dict[str, ImageSet] = {}
    for k, shift in enumerate(SHIFTS):
        rng = np.random.default_rng([seed, k])
        base = _sample(source, n, rng)
        chunks = [degrade(hires(base.images[s : s + 250]), shift, spec, rng) for s in range(0, len(base), 250)]
        images = torch.cat(chunks) if chunks else prepared(base.pixels(slice(0, 0)), spec)
        out[shift] = ImageSet(shift, images, base.labels, source.classes, spec)
    for name, make in (("printed", printed_set), ("drawn", drawn_set), ("hershey", hershey_set)):
        if (extra := make(source.classes, spec, n, seed)) is not None:
            out[name] = extra
    return out


def drawn_images(chars: list[str], spec: InputSpec, rng: Rng, style: int | None = None) -> Tensor:
    """Each of ``chars`` drawn as pen strokes (:func:`idk.data.handwriting.draw`; any of its styles,
    or the ``style``-th) at UPSCALE × the frame, anti-aliased as :func:`~idk.data.degradations.canvas` is, and prepared for
    ``spec``: (N, C, H, W); (0, C, H, W) for no characters."""
    side = UPSCALE * spec.height
    return _pen_drawn([draw(c, rng, side, style) for c in chars], spec)


def hershey_images(
    chars: list[str], spec: InputSpec, rng: Rng, design: int | None = None, held_out: bool = False
) -> Tensor:
    """Each of ``chars`` drawn from one of its Hershey designs (:func:`idk.data.hershey.designs`, the
    held-out ones with ``held_out``; uniformly, or the ``design``-th) by a hand of its own
    (:func:`idk.data.handwriting.draw_strokes`), anti-aliased and prepared as :func:`drawn_images`:
    (N, C, H, W)."""
    side = UPSCALE * spec.height
    drawings = []
    for c in chars:
        ways = designs(c, held_out)
        pick = int(rng.integers(len(ways))) if design is None else design
        drawings.append(draw_strokes(ways[pick], rng, side))
    return _pen_drawn(drawings, spec)


def _pen_drawn(drawings: list[np.ndarray], spec: InputSpec) -> Tensor:
    """Pen drawings (side, side) at UPSCALE × the frame, anti-aliased as :func:`~idk.data.degradations.canvas` is and
    prepared for ``spec``: (N, C, H, W); (0, C, H, W) for none."""
    if not drawings:
        return prepared(torch.empty(0, 1, 1, 1), spec)
    x = torch.from_numpy(np.stack(drawings)).unsqueeze(1)
    return prepared(gaussian_blur(x, 0.7).clamp(0, 1), spec)


def drawn_set(classes: tuple[str, ...], spec: InputSpec, n: int = 1000, seed: int = 0) -> ImageSet | None:
    """The class names drawn as pen strokes, ``n`` in all, classes uniformly; None unless every class
    name has strokes in :data:`idk.data.handwriting.ALPHABET`."""
    return _pen_classes("drawn", 303, ALPHABET.__contains__, drawn_images, classes, spec, n, seed)


def hershey_set(classes: tuple[str, ...], spec: InputSpec, n: int = 1000, seed: int = 0) -> ImageSet | None:
    """The class names drawn by hand from Hershey's strokes (:func:`hershey_images`), ``n`` in all,
    classes uniformly; None unless a Hershey face draws every class name."""
    return _pen_classes("hershey", 505, has_strokes, hershey_images, classes, spec, n, seed)


def _pen_classes(
    name: str,
    key: int,
    has: Callable[[str], bool],
    images: Callable[[list[str], InputSpec, Rng], Tensor],
    classes: tuple[str, ...],
    spec: InputSpec,
    n: int,
    seed: int,
) -> ImageSet | None:
    """The labelled set ``name``: ``n`` class names, uniformly, drawn by ``images`` (chars, spec,
    rng) with the generator of (``seed``, ``key``); None unless ``has`` every one-character name."""
    if not all(len(c) == 1 and has(c) for c in classes):
        return None
    rng = np.random.default_rng([seed, key])
    labels = rng.integers(0, len(classes), n)
    drawn = images([classes[i] for i in labels], spec, rng)
    return ImageSet(name, drawn, torch.from_numpy(labels).long(), classes, spec)


def printed_set(classes: tuple[str, ...], spec: InputSpec, n: int = 1000, seed: int = 0) -> ImageSet | None:
    """``n`` class names, each printed in one font drawn from those that draw every class name (±8°
    rotation, sizes 48–72 pt); None unless every class name is one character that a font draws."""
    if not all(len(c) == 1 for c in classes):
        return None
    rng = np.random.default_rng([seed, 101])
    labels = rng.integers(0, len(classes), n)
    fonts = [f for f in FONT_FILES if all(has_glyph(c, f) for c in classes)]
    if not fonts:
        return None
    chosen = [fonts[i] for i in rng.integers(0, len(fonts), n)]
    images = printed_images([classes[i] for i in labels], chosen, spec, rng)
    return ImageSet("printed", images, torch.from_numpy(labels).long(), classes, spec)


def printed_images(chars: list[str], fonts: list[str], spec: InputSpec, rng: Rng) -> Tensor:
    """Each ``chars[i]`` printed in ``fonts[i]`` (a name of :data:`~idk.data.glyphs.FONT_FILES` or a
    font file's path), rotated ±8° at 48–72 pt (drawn from ``rng``: every angle, then every size) at
    UPSCALE × the frame, and prepared for ``spec`` as a user's image is: (N, C, H, W)."""
    n, side = len(chars), UPSCALE * spec.height
    return prepared(frames(chars, fonts, rng.uniform(-8, 8, n), rng.integers(48, 73, n), side, side), spec)


def symbol_chars(classes: tuple[str, ...]) -> list[str]:
    """:data:`SYMBOLS` without the class names and without the characters that look like one
    (either case; :func:`~idk.data.glyphs.looks_alike` at :data:`~idk.data.glyphs.LOOKALIKE` or
    above, as the trained glyphs are kept apart: for the letters A–J this leaves out !, Λ, Γ, r and
    σ; for the digits nothing)."""
    return list(_symbol_pool(tuple(classes)))


def _either_case(classes: tuple[str, ...]) -> set[str]:
    """The class names in lower and in upper case."""
    return {c.lower() for c in classes} | {c.upper() for c in classes}


@lru_cache(maxsize=8)
def _symbol_pool(classes: tuple[str, ...]) -> tuple[str, ...]:
    names = sorted(_either_case(classes))
    pool = [c for c in SYMBOLS if c not in names]
    drawn = [c for c in names if len(c) == 1 and has_glyph(c, REFERENCE_FONT)]  # a word is no glyph to compare
    if not drawn:
        return tuple(pool)
    return tuple(c for c, similarity in zip(pool, looks_alike(pool, drawn), strict=True) if similarity < LOOKALIKE)


def symbol_set(
    classes: tuple[str, ...],
    spec: InputSpec,
    n: int = 1000,
    seed: int = 0,
    chars: str | None = None,
    name: str = "symbols",
) -> ImageSet:
    """``n`` characters that are no class (``chars``, else :func:`symbol_chars`), printed in the
    fonts and each degraded one of the ways of :data:`~idk.data.degradations.SHIFTS` (or not at all): the non-symbol
    counterpart of :func:`shifted_sets`, or, with the ten figures as ``chars``, printed figures for a model
    of other things (clothes). Unlabelled. ValueError for no characters, a character that is a
    class name in either case (as :func:`symbol_chars` leaves them out), or one that no font draws."""
    rng = np.random.default_rng([seed, 202])
    pool = symbol_chars(classes) if chars is None else list(chars)
    if not pool:
        raise ValueError("no characters to render")
    if clash := sorted(set(pool) & _either_case(classes)):
        raise ValueError(
            f"{', '.join(clash)}: class names of the model (in either case), not characters unlike its classes"
        )
    if missing := [c for c in pool if not any(has_glyph(c, str(f)) for f in FONT_FILES)]:
        raise ValueError(f"{', '.join(missing)}: no font here draws {'it' if len(missing) == 1 else 'them'}")
    picks = [pool[i] for i in rng.integers(0, len(pool), n)]
    fonts = [next(str(f) for f in rng.permutation(FONT_FILES) if has_glyph(c, str(f))) for c in picks]
    side = UPSCALE * spec.height
    x = frames(picks, fonts, rng.uniform(-8, 8, n), rng.integers(48, 73, n), side, side)
    ways = ["plain", *SHIFTS]
    how = rng.integers(0, len(ways), n)
    images = torch.empty(n, spec.channels, spec.height, spec.width)
    for k, way in enumerate(ways):
        idx = np.flatnonzero(how == k)
        if len(idx):
            images[torch.from_numpy(idx)] = degrade(x[torch.from_numpy(idx)], way, spec, rng)
    return ImageSet(name, images, None, (), spec)


def drawn_symbol_chars(classes: tuple[str, ...]) -> list[str]:
    """:func:`symbol_chars` that :data:`idk.data.handwriting.ALPHABET` draws as pen strokes."""
    return [c for c in symbol_chars(classes) if c in ALPHABET]


def hershey_symbol_chars(classes: tuple[str, ...]) -> list[str]:
    """:func:`symbol_chars` that a Hershey face draws (:func:`idk.data.hershey.has_strokes`)."""
    return [c for c in symbol_chars(classes) if has_strokes(c)]


def unfamiliar_sets(classes: tuple[str, ...], spec: InputSpec, n: int = 1000, seed: int = 0) -> dict[str, ImageSet]:
    """The non-class symbol sets by report name: ``symbols`` (:func:`symbol_set`, printed and
    degraded) and, where any character is left to draw, ``drawn-symbols`` (:func:`drawn_symbol_set`)
    and ``hershey-symbols`` (:func:`hershey_symbol_set`)."""
    out = {"symbols": symbol_set(classes, spec, n, seed)}
    for name, make in (("drawn-symbols", drawn_symbol_set), ("hershey-symbols", hershey_symbol_set)):
        if (drawn := make(classes, spec, n, seed)) is not None:
            out[name] = drawn
    return out


def drawn_symbol_set(classes: tuple[str, ...], spec: InputSpec, n: int = 1000, seed: int = 0) -> ImageSet | None:
    """``n`` characters that are no class (:func:`symbol_chars` that have strokes in
    :data:`idk.data.handwriting.ALPHABET`: Latin, Greek and Cyrillic letters, signs), drawn as pen
    strokes: the counterpart of the ``drawn`` set. Unlabelled; None if no such character is left
    (:func:`drawn_symbol_chars`)."""
    return _pen_symbols("drawn-symbols", 404, drawn_symbol_chars(classes), drawn_images, spec, n, seed)


def hershey_symbol_set(classes: tuple[str, ...], spec: InputSpec, n: int = 1000, seed: int = 0) -> ImageSet | None:
    """``n`` characters that are no class (:func:`symbol_chars` that a Hershey face draws: Latin,
    Greek and Cyrillic letters, signs) drawn by hand from Hershey's strokes: the counterpart of the
    ``hershey`` set. Unlabelled; None if no such character is left (:func:`hershey_symbol_chars`)."""
    return _pen_symbols("hershey-symbols", 606, hershey_symbol_chars(classes), hershey_images, spec, n, seed)


def _pen_symbols(
    name: str,
    key: int,
    pool: list[str],
    images: Callable[[list[str], InputSpec, Rng], Tensor],
    spec: InputSpec,
    n: int,
    seed: int,
) -> ImageSet | None:
    """The unlabelled set ``name``: ``n`` characters of ``pool``, uniformly, drawn by ``images``
    (chars, spec, rng) with the generator of (``seed``, ``key``); None for an empty pool."""
    if not pool:
        return None
    rng = np.random.default_rng([seed, key])
    picks = [pool[i] for i in rng.integers(0, len(pool), n)]
    return ImageSet(name, images(picks, spec, rng), None, (), spec)
