"""Figures. Each takes numbers (never a model) and ``ax=None``, and returns ``(fig, ax)``."""

from __future__ import annotations

import contextlib
import math
import re
import textwrap
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as ticker  # noqa: E402
import numpy as np  # noqa: E402

from idk.decision.rules import shown, shown_probability  # noqa: E402

ACCEPT, OTHER = "#d62728", "#1f77b4"
MAX_PANELS = 12  # class histograms drawn by `explanation` at most
PANELS_PER_ROW = 6  # `explanation`'s panels (the image, then the classes) per row
LOG_TICKS = [m * 10.0**e for e in range(-3, 6) for m in (1, 2, 5)]  # a log axis' labelled values
MISSING_GLYPH = re.compile(r"Glyph (\d+) .*missing from font\(s\) (.+?)\.?$")


@contextlib.contextmanager
def missing_glyphs(where: str | Path = "", warn: Callable[[str], None] | None = None) -> Iterator[set[str]]:
    """Within this block (figures drawn or saved), matplotlib's warnings of characters its font lacks
    (a class named in CJK script: drawn as boxes) are collected into the yielded set of those
    characters instead of printed one by one with their source line, then said once through
    ``warn``, naming ``where`` (the figure's file) and the font; other warnings pass on."""
    missing: set[str] = set()
    fonts: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield missing
    for w in caught:
        if found := MISSING_GLYPH.search(str(w.message)):
            missing.add(chr(int(found.group(1))))
            fonts += [found.group(2)] if found.group(2) not in fonts else []
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if missing and warn:
        font = f"font ({fonts[0]}) has" if len(fonts) == 1 else f"fonts ({', '.join(fonts)}) have"
        warn(f"{where}: the {font} no glyph for {''.join(sorted(missing))}: drawn as boxes")


def explanation(
    log_probs: np.ndarray,
    image: np.ndarray,
    accepted: np.ndarray,
    stat: np.ndarray,
    verdict: str,
    title: str = "",
    classes: tuple[str, ...] = (),
    stat_name: str = "mean probability",
) -> tuple[Any, Any]:
    """The tutorial's figure: the image (H, W, C), then one histogram per class of the S sampled
    log-probabilities (S, C); accepted classes in red, each title the class's ``stat`` (C,), which
    ``stat_name`` names in a note under the figure (the rule's own: its percentile, or the mean).
    Classes are named by ``classes`` (default: their indices)."""
    classes = classes or tuple(str(c) for c in range(log_probs.shape[1]))
    if len(classes) > MAX_PANELS:  # many classes: the accepted ones and the most probable, in class order
        keep = np.argsort(-(stat + 2.0 * accepted))[:MAX_PANELS]
        keep.sort()
        log_probs, accepted, stat = log_probs[:, keep], accepted[keep], stat[keep]
        classes = tuple(classes[i] for i in keep)
    panels = len(classes) + 1
    cols = min(panels, PANELS_PER_ROW)  # many classes: rows of panels, not one long strip
    rows = math.ceil(panels / cols)
    fig, grid = plt.subplots(rows, cols, figsize=(2.0 * cols, 2.4 * rows), squeeze=False)
    axes = grid.ravel()
    for spare in axes[panels:]:
        spare.axis("off")
    axes = axes[:panels]
    _show_image(axes[0], image, verdict)
    lo = float(np.clip(log_probs.min(), -60, -1))  # far-off values are piled at the left edge
    for c, ax in enumerate(axes[1:]):
        ax.hist(
            np.clip(log_probs[:, c], lo, 0),
            bins=np.linspace(lo, 0, 25),
            color=ACCEPT if accepted[c] else OTHER,
        )
        ax.set_title(
            f"{classes[c]}: {shown_probability(stat[c])}", fontsize=9, color=ACCEPT if accepted[c] else "black"
        )
        ax.set_xlim(lo, 0)
        ax.set_xlabel("log p", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.06 / rows, 1, 1))
    fig.text(
        0.01,
        0.01 / rows,
        f"per class: the sampled networks' log-probabilities; in its title, the {stat_name}",
        fontsize=7,
    )
    return fig, axes


def image_alone(image: np.ndarray, verdict: str, title: str = "", note: str = "") -> tuple[Any, Any]:
    """The image (H, W, C) with its verdict and no class panels: an image no network was asked about
    (a blank page). ``note`` goes under the figure."""
    fig, ax = plt.subplots(1, 1, figsize=(3.6, 3.4))
    _show_image(ax, image, verdict)
    if title:  # a long file name wrapped, not cut at the figure's edge
        fig.suptitle("\n".join(textwrap.wrap(title, 48, break_long_words=True)), fontsize=9)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    if note:
        fig.text(0.02, 0.02, note, fontsize=7)
    return fig, ax


def _show_image(ax: Any, image: np.ndarray, verdict: str) -> None:
    shown = image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image
    ax.imshow(shown.clip(0, 1), cmap="gray", vmin=0, vmax=1)
    ax.set_title(verdict, fontsize=10, fontweight="bold")
    ax.axis("off")


def risk_coverage(curves: dict[str, dict[str, list[float]]], ax: Any = None) -> tuple[Any, Any]:
    """Selective risk against coverage, one line per model."""
    fig, ax = _axes(ax)
    for name, curve in curves.items():
        ax.plot(curve["coverage"], np.asarray(curve["risk"]) * 100, label=name)
    ax.set_xlabel("coverage (share of images answered)")
    ax.set_ylabel("error among answered (%)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    return fig, ax


def reliability(bins: dict[str, list[float]], ax: Any = None, label: str = "") -> tuple[Any, Any]:
    """Reliability diagram: accuracy against confidence per bin (diagonal = calibrated)."""
    fig, ax = _axes(ax)
    conf, acc, count = (np.asarray(bins[k]) for k in ("confidence", "accuracy", "count"))
    used = count > 0
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    ax.plot(conf[used], acc[used], marker="o", label=label or None)
    ax.set_xlabel("confidence (max mean probability)")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    if label:
        ax.legend()
    return fig, ax


def score_histograms(
    histograms: dict[str, dict[str, list[float]]], score_name: str, ax: Any = None, threshold: float | None = None
) -> tuple[Any, Any]:
    """Histograms (edges, counts) of an uncertainty score per data set, in vs out of distribution:
    the first (the in-distribution set) in black, the legend beside the axes (not over the low
    scores, where the in-distribution images lie); ``threshold``: where the rule starts to refuse, a
    dashed line (left out when it lies outside the histograms' range), labelled as the rule's summary
    writes it (rounded down: :func:`idk.decision.rules.shown`)."""
    fig, ax = _axes(ax)
    for i, (name, h) in enumerate(histograms.items()):
        edges, counts = np.asarray(h["edges"]), np.asarray(h["counts"])
        density = counts / max(counts.sum(), 1) / np.diff(edges)
        style = {"color": "black", "linewidth": 2.0} if i == 0 else {"linewidth": 1.2}
        ax.stairs(density, edges, label=f"{name} ({int(counts.sum())})", **style)
    low = min((h["edges"][0] for h in histograms.values()), default=0.0)
    high = max((h["edges"][-1] for h in histograms.values()), default=1.0)
    if threshold is not None and low <= threshold <= high:  # an infeasible error target's lies below every score
        ax.axvline(threshold, color="grey", linestyle="--", linewidth=1, label=f"threshold {shown(threshold)}")
    ax.set_xlabel(f"uncertainty score: {score_name}")
    ax.set_ylabel("density")
    ax.set_yscale("log")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    return fig, ax


def training_curves(histories: dict[str, list[dict[str, float]]], key: str = "loss", ax: Any = None) -> tuple[Any, Any]:
    """One line per trained part (a mixture's members, the twin), ``key`` of each epoch's history
    against the epoch: ``"loss"`` (a log axis where it spans a factor of ten or more), or
    ``"held_out_accuracy"`` drawn as the held-out error 100 (1 − a) % on a log axis. Epochs
    without ``key`` (a checkpoint from before it was recorded) are left out."""
    fig, ax = _axes(ax)
    error = key == "held_out_accuracy"
    drawn: list[float] = []
    for name, history in histories.items():
        points = [(h.get("epoch", i), h[key]) for i, h in enumerate(history, 1) if h.get(key) is not None]
        if not points:
            continue
        epochs, values = zip(*points, strict=True)
        shown_values = [max(100 * (1 - v), 1e-2) for v in values] if error else list(values)
        drawn += shown_values
        ax.plot(epochs, shown_values, marker="o", markersize=3, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("held-out error (%), mean weights" if error else "training loss per example")
    if drawn and (error or (min(drawn) > 0 and max(drawn) >= 10 * min(drawn))):
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(ticker.FixedLocator(LOG_TICKS))  # 0.2, 1, 50: not 2×10⁻¹, within any span
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.grid(alpha=0.3, which="both")
    if drawn:
        ax.legend(fontsize=8)
    return fig, ax


def _axes(ax: Any) -> tuple[Any, Any]:
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 4))
        return fig, ax
    return ax.figure, ax
