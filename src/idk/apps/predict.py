"""``idk predict``: the model's answer on a user's own images (``idk explain``'s figure: :mod:`idk.apps.explain`).

Each image is prepared the way the model's training images were made (the checkpoint's
:class:`~idk.data.images.InputSpec`, :mod:`idk.data.preparation`), and answered with the
model's class names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from idk.data import catalog
from idk.data.arrays import as_images, channels_last_image, flat_side
from idk.data.folders import Warn, fit_images
from idk.data.images import ImageSet, InputSpec, unit
from idk.data.imaging import Source
from idk.data.listing import list_images
from idk.data.manifests import NO_FILE, is_manifest, listed_files, names_columns
from idk.data.places import MISSING
from idk.data.preparation import PreparedImage, fitted_scale, prepared_or_error
from idk.data.reading import in_threads
from idk.data.sources import DataConfig
from idk.decision.memory import check_sample_count, check_samples
from idk.decision.predictive import Predictions, batch_size_for
from idk.decision.rules import PercentileRule, Rule, shown_apart, shown_probability
from idk.errors import DataError, IdkError, ImageError, expect
from idk.nn.bnn import DeterministicNet, Model
from idk.progress import Progress
from idk.training.checkpoint import Checkpoint


@dataclass
class FileResult:
    """One file's answer (``error`` set, everything else empty, when the file could not be read)."""

    file: str
    verdict: str | None
    label: int | None
    accepted: list[int]
    probabilities: dict[str, list[float]] | None
    error: str | None = None
    blank: bool = False  # nothing to classify was found (no ink, one flat colour)
    label_name: str | None = None
    samples: list[list[float]] | None = None  # (C, S) sampled probabilities, when asked for
    score: float | None = None  # what the rule compares with its threshold (the rule's ``compared``)
    score_name: str | None = None  # that score's name ("percentile" for the percentile rule's max_c Q_q)
    threshold: float | None = None  # the rule's threshold, beside the score it is compared with
    # the class of highest mean probability over the S networks (argmax_c p̄_c): given when refused too
    most_probable: int | None = None
    most_probable_name: str | None = None
    note: str | None = None  # what the answer rests on that its reader should know (a tiny image enlarged)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


ENLARGED = 4.0  # an image scaled up this many times or more to the model's frame is said to have been


def enlargement_note(prepared: PreparedImage, spec: InputSpec) -> str | None:
    """A note for an image whose content (all of it, or its ink for MNIST's way) was enlarged
    :data:`ENLARGED` times or more for the frame: its answer rests on interpolated pixels (a 3×3
    image answered with full confidence); None otherwise."""
    if prepared.enlarged < ENLARGED or prepared.source_size is None:
        return None
    h, w = prepared.source_size
    return (
        f"its content, {h}×{w} pixels, enlarged {prepared.enlarged:.0f}× for the model's {spec.describe()} frame "
        "(height × width): little detail to answer by"
    )


def verdict_text(accepted: list[int], classes: tuple[str, ...]) -> str:
    """ "7", "I don't know", "either 4 or 9", "one of 1, 4 or 7"."""
    names = [classes[i] for i in accepted]
    if not names:
        return "I don't know"
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"either {names[0]} or {names[1]}"
    return f"one of {', '.join(names[:-1])} or {names[-1]}"


def sample_images(
    model: Model,
    images: torch.Tensor,
    samples: int,
    percentile: float,
    seed: int = 0,
    draws: dict[str, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, Predictions]:
    """Sampled log-probabilities (S, N, C) and their summaries for a few images, computed on the
    model's device and returned on the CPU (the same networks on every device, from a CPU generator).
    ``draws``: the S networks :func:`draw_networks` drew for ``seed``, reused instead of drawn again."""
    generator = torch.Generator().manual_seed(seed)
    logits = model.sample_logits(images, samples, generator=generator, draws=draws).cpu()
    return torch.log_softmax(logits, -1), Predictions.from_logits(logits, percentile)


def significant(values: torch.Tensor, digits: int) -> np.ndarray:
    """``values`` (any shape) as float64 to ``digits`` significant digits: short in JSON, and a
    probability of 3e-9 stays 3e-9 (not 0, whose logarithm a user's NLL could not take). Exact
    to the last bit while 10^(digits − 1 − exponent) is (values above ~1e-16); below, within 1e-15."""
    x = values.double().numpy()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scale = 10.0 ** (digits - 1 - np.floor(np.log10(np.abs(x))))
        rounded = np.round(x * scale) / scale
    return np.where(np.isfinite(rounded) & (x != 0), rounded, x)


def draw_networks(model: Model, samples: int, seed: int = 0) -> dict[str, torch.Tensor] | None:
    """The S networks :func:`sample_images` draws for ``seed``, drawn once for a long-lived caller
    (the service) to reuse; None for a deterministic net."""
    if isinstance(model, DeterministicNet):
        return None
    return model.draw(samples, generator=torch.Generator().manual_seed(seed))


def predict_files(
    model: Model,
    ckpt: Checkpoint,
    paths: str | Path | Iterable[str | Path],
    samples: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    columns: tuple[str, str | None] | None = None,
) -> list[FileResult]:
    """Answer every image among ``paths`` (files, folders, globs; one path alone will do); each
    image of an ``.npy``/``.npz`` array file is answered as ``FILE[i]`` (:func:`array_sources`);
    each file a ``.csv`` table lists, row by row, by its cell (:func:`table_sources`; its file
    column named by ``columns``' first name, else found by its usual names). Unreadable files get
    an error. ``progress``: a bar over the files (shown for more than one batch of them), and
    warnings of what was converted."""
    sources: list[tuple[str, Path | PreparedImage | ImageError]] = []
    warn = progress.warn if progress else None
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if columns and warn and not any(is_manifest(Path(raw)) for raw in paths):
        warn("--columns names a .csv table's file column: no table is given here")
    for raw in paths:
        raw = str(raw)
        if Path(raw).suffix.lower() in ARRAY_SUFFIXES and Path(raw).is_file():
            sources += array_sources(raw, ckpt, warn)
            continue
        if is_manifest(Path(raw)) and Path(raw).is_file():
            recorded = ckpt.data.columns  # a table of the model's own layout: read by its file column
            own = columns is None and recorded is not None and names_columns(Path(raw), (recorded[0], None))
            sources += table_sources(raw, (recorded[0], None) if own else columns, warn)
            continue
        try:
            sources += [(str(f), f) for f in list_images([raw], warn)]
        except ImageError as err:
            sources.append((raw, err))
    return predict_images(model, ckpt, sources, samples, seed, progress=progress)


ARRAY_SUFFIXES = (".npy", ".npz")


def table_sources(
    path: str, columns: tuple[str, str | None] | None = None, warn: Warn | None = None
) -> list[tuple[str, Path | ImageError]]:
    """Each file a ``.csv`` table lists as ``(its cell, its place)``, in the rows' order, found as
    training finds them (:func:`~idk.data.manifests.listed_files`); one that cannot be read there
    (not there, a name of two files, a row without a file) answered with its error; the table's
    error alone where the table cannot be read. ``warn`` is told where none of its files is there."""
    try:
        listed = listed_files(Path(path), columns, warn)
    except DataError as err:
        return [(path, ImageError(path, str(err).removeprefix(f"{Path(path)}: ")))]
    if warn and (rows := [why for *_, why in listed if why != NO_FILE]) and all(why == MISSING for why in rows):
        warn(
            f"{path}: none of the files it lists is there (looked for relative to its folder, a name alone in that "
            "folder's sub-folders too): is its file column the one read? (--columns FILE names it)"
        )
    return [(cell, place if why is None else ImageError(cell, why)) for cell, place, why in listed]


def array_sources(
    path: str, ckpt: Checkpoint, warn: Warn | None = None
) -> list[tuple[str, PreparedImage | ImageError]]:
    """Each image of an ``.npy``/``.npz`` file as ``("FILE[i]", image)``, in the model's form as
    ``idk evaluate`` reads the file (:func:`~idk.data.catalog.load`: a data set's images, fitted
    into the frame, not prepared as photos); the file's error alone where it cannot be read."""
    try:
        if (one := _one_image(path)) is not None:  # an .npy of one image: answered as one, not as rows
            found = ImageSet(path, as_images(one[None], path, warn), None, (), ckpt.input_spec)
            pixels = fit_images(found, ckpt.input_spec, warn).pixels(0).numpy()
            size = one.shape[:2]
            return [(path, PreparedImage.scaled(pixels, False, False, fitted_scale(size, ckpt.input_spec), size))]
        images = catalog.load(path, DataConfig(), ckpt.input_spec, warn=warn).images
    except DataError as err:
        return [(path, ImageError(path, str(err).removeprefix(f"{path}: ")))]
    return [
        (f"{path}[{i}]", PreparedImage(unit(image).numpy(), inverted=False, blank=False))
        for i, image in enumerate(images)
    ]


def _one_image(path: str) -> np.ndarray | None:
    """The pixels of an ``.npy`` that holds one image, (H, W) or (H, W, C); None for a set of them
    (N, H, W[, C]) or (N, H·W). A square (H, W), or one whose rows are no square number of pixels,
    is an image; (N, D) with D a square number is N flat images (MNIST's CSV form)."""
    if not path.lower().endswith(".npy"):
        return None
    try:
        shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
    except (ValueError, OSError, EOFError):
        return None  # the set reader says what is wrong with it
    flat_rows = len(shape) == 2 and shape[0] != shape[1] and flat_side(shape[1]) is not None
    one = (len(shape) == 2 and not flat_rows) or channels_last_image(shape)
    return np.load(path, allow_pickle=False) if one else None


def _a_pair(item: object) -> bool:
    return isinstance(item, (tuple, list)) and len(item) == 2


def named_sources(sources: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """``predict_images``' (name, source) pairs as a list; anything else is an :class:`IdkError`
    saying what is expected (a bare path or array is no pair: its name would be lost)."""
    if isinstance(sources, (str, Path, bytes, np.ndarray, torch.Tensor)):
        raise IdkError("give (name, source) pairs, e.g. [(path, path)], not one source alone")
    if isinstance(sources, tuple) and len(sources) == 2 and isinstance(sources[0], str) and not _a_pair(sources[1]):
        raise IdkError("give (name, source) pairs in a list: one pair as [(name, source)]")
    if isinstance(sources, Mapping):
        raise IdkError("give (name, source) pairs: for a dict of them, its .items()")
    pairs = []
    for item in sources:
        if not _a_pair(item):
            raise IdkError(
                f"give (name, source) pairs, e.g. [(path, path)]; got {type(item).__name__} {str(item)[:60]!r}"
            )
        pairs.append((str(item[0]), item[1]))
    return pairs


def predict_images(
    model: Model,
    ckpt: Checkpoint,
    sources: Iterable[tuple[str, Source | PreparedImage | ImageError]],
    samples: int | None = None,
    seed: int = 0,
    with_samples: bool = False,
    draws: dict[str, torch.Tensor] | None = None,
    progress: Progress | None = None,
    decode_threads: int | None = None,
) -> list[FileResult]:
    """Answer named images, each a path, the file's bytes, an image PIL opened or decoded pixels
    (H, W[, C], a numpy array or a torch tensor: :func:`~idk.data.imaging.image_source`) (an
    :class:`ImageError` in place of one is reported as that image's error; a :class:`PreparedImage`
    is taken as it is). The images are read and answered a batch at a time
    (:func:`~idk.decision.predictive.batch_size_for`: thousands of files take one batch's memory),
    every batch by the same S networks, so an image's answer does not depend on the others' (up to
    the float rounding of another batch size: a score within ~1e-7 of the threshold may fall either side).
    ``with_samples`` adds each class's S sampled probabilities; ``draws`` (:func:`draw_networks`
    for ``seed``) spares drawing the networks again (and the memory check of
    :func:`~idk.decision.memory.check_samples`, made when they were drawn); ``progress``: a bar over the images when they
    take more than one batch; ``decode_threads``: a batch's files are decoded in so many threads
    (default: as many as torch computes with, at most four: :func:`~idk.data.reading.in_threads`)."""
    expect(
        ckpt,
        Checkpoint,
        "predict_images(model, ckpt, ...)",
        "model, ckpt = idk.training.checkpoint.load(path) gives both",
        optional=False,
    )
    if samples is None:
        samples = ckpt.rule_config.samples
    elif draws is None:
        samples = check_samples(model, samples)
    else:  # the memory check draws a network: made when the networks were drawn, not for every batch
        samples = check_sample_count(samples)
    sources = named_sources(sources)
    rule = ckpt.decision_rule()  # built once, for every batch
    if draws is None:
        draws = draw_networks(model, samples, seed)
    size = batch_size_for(model, samples)
    bar = progress.bar(total=len(sources), desc="predict", unit="img") if progress and len(sources) > size else None
    results: list[FileResult] = []
    try:
        for start in range(0, len(sources), size):
            batch = sources[start : start + size]
            results += _answer_batch(model, ckpt, rule, batch, samples, with_samples, draws, decode_threads)
            if bar:
                bar.update(min(size, len(sources) - start))
    finally:
        if bar:
            bar.close()
    return results


def _answer_batch(
    model: Model,
    ckpt: Checkpoint,
    rule: Rule,
    sources: list[tuple[str, Source | PreparedImage | ImageError]],
    samples: int,
    with_samples: bool,
    draws: dict[str, torch.Tensor] | None,
    decode_threads: int | None,
) -> list[FileResult]:
    """:func:`predict_images` for one batch of named images, all readable ones in one pass."""
    classes = ckpt.classes
    results: list[FileResult] = []
    ready: list[tuple[int, np.ndarray]] = []

    def read(item: tuple[str, Source | PreparedImage | ImageError]) -> PreparedImage | ImageError:
        name, source = item
        done = isinstance(source, (PreparedImage, ImageError))
        return source if done else prepared_or_error(source, ckpt.input_spec, name)

    # an image PIL opened is read in this thread: one object given twice must not be read at once
    threads = 1 if any(isinstance(source, Image.Image) for _, source in sources) else decode_threads
    for (name, _), prepared in zip(sources, in_threads(read, sources, threads), strict=True):
        if isinstance(prepared, ImageError):
            results.append(FileResult(name, None, None, [], None, str(prepared)))
            continue
        if ckpt.is_blank(prepared):
            results.append(FileResult(name, "I don't know", None, [], None, None, blank=True, threshold=rule.threshold))
            continue
        results.append(FileResult(name, None, None, [], None, note=enlargement_note(prepared, ckpt.input_spec)))
        ready.append((len(results) - 1, prepared.pixels))
    if ready:
        images = torch.from_numpy(np.stack([p for _, p in ready]))
        log_probs, pred = sample_images(model, images, samples, rule.percentile, draws=draws)
        decision = rule.decide(pred)
        scores = rule.compared(pred)
        # (S, N, C) for histograms, to 3 decimals: the service's answers stay small (most draws are ~0)
        sampled = np.round(log_probs.exp().double().numpy(), 3) if with_samples else None
        means = significant(pred.mean_probs, 6).tolist()  # (N, C): one conversion, not N × C
        own_name = rule.statistic[0]  # a rule reading other than the mean probabilities adds its own column
        own = significant(rule.class_statistic(pred), 6).tolist() if own_name != "mean" else None
        score_name = rule.score.name
        accepted_rows, labels, score_list = decision.accepted.tolist(), decision.label.tolist(), scores.tolist()
        best = pred.mean_probs.argmax(-1).tolist()
        for row, (i, _) in enumerate(ready):
            results[i].score = float(score_list[row])  # unrounded: it compares with the threshold as the rule did
            results[i].score_name, results[i].threshold = score_name, rule.threshold
            accepted = [c for c, yes in enumerate(accepted_rows[row]) if yes]
            results[i].accepted = accepted
            results[i].verdict = verdict_text(accepted, classes)
            results[i].label = labels[row] if accepted else None
            results[i].label_name = classes[results[i].label] if accepted else None
            results[i].most_probable, results[i].most_probable_name = best[row], classes[best[row]]
            if with_samples:
                results[i].samples = sampled[:, row].T.tolist()
            results[i].probabilities = {"mean": means[row]}
            if own is not None:  # the percentile rule's: each class's Q_q, which it compares with t
                results[i].probabilities[own_name] = own[row]
    return results


def format_results(
    results: list[FileResult], rule: Rule, classes: tuple[str, ...], refuses_all: str | None = None
) -> str:
    """One line per file: the verdict, the three most probable classes by what the rule reads (each
    class's percentile probability for the percentile rule, the mean probability for a score rule)
    and the rule's own test, e.g. ``entropy uncertainty 0.0123 ≤ 0.4386``; ``refuses_all``: said instead of the
    test where the rule refuses every image (its threshold would say nothing: :func:`summarize_rule`)."""
    percentile = isinstance(rule, PercentileRule)  # accepts above its threshold (a score rule refuses above)
    key = rule.statistic[0]
    lines = []
    for r in results:
        if r.error:
            lines.append(f"{r.file}: error: {r.error.removeprefix(f'{r.file}: ')}")  # the name once
            continue
        line = f"{r.file}: {r.verdict}"
        if r.probabilities is None:
            lines.append(line + "  (blank image: nothing to classify found)")
            continue
        probs = r.probabilities[key]
        top = sorted(range(len(probs)), key=lambda c: -probs[c])[:3]
        line += "  [" + ", ".join(f"{classes[c]}: {shown_probability(probs[c])}" for c in top) + "]"
        score, threshold = shown_apart(r.score, rule.threshold)
        if refuses_all:
            test = refuses_all
        elif percentile and not r.accepted and r.score > rule.threshold:  # every class above t: refused
            test = f"every class's {key} > {threshold}: an answer naming them all says nothing"
        elif percentile:  # accepted classes lie above t
            test = f"best {key} {score} {'>' if r.accepted else '≤'} {threshold}"
        else:  # refused above τ
            # "uncertainty": max-prob's u is 1 − max p̄, not the probability its name suggests
            test = f"{rule.score.name} uncertainty {score} {'≤' if r.accepted else '>'} {threshold}"
        lines.append(f"{line}  ({key} probability; {test})" + (f"; {r.note}" if r.note else ""))
    return "\n".join(lines)
