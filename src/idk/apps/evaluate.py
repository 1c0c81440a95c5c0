"""``idk evaluate``: a checkpoint's report on its own test set, the usual outliers and the user's sets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from idk.data.catalog import load, recorded_test_set, without_labels
from idk.data.class_names import in_model_classes
from idk.data.fingerprints import shared_images
from idk.data.folders import Warn
from idk.data.images import ImageSet, InputSpec
from idk.data.listing import some_of
from idk.data.manifests import is_manifest, names_columns
from idk.data.named import NAMED, noise_sets
from idk.data.sources import DATA_CONFIG_HINT, DataConfig
from idk.decision.memory import check_samples
from idk.errors import DataError, IdkError, expect
from idk.evaluation.evaluate import EvalSettings, evaluate, score_comparison
from idk.evaluation.report import write_json
from idk.progress import Progress
from idk.training import checkpoint as ckpt_io
from idk.training.checkpoint import Checkpoint
from idk.training.notices import warnings
from idk.training.options import whole_number
from idk.training.resumption import moved


def parse_ood(specs: list[str], option: str = "--ood") -> list[tuple[str, str]]:
    """``NAME=PATH`` pairs, or a bare known name / path (named after itself), given to ``option``."""
    out = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            name, path = Path(spec).stem if Path(spec).exists() else spec, spec
        if not name or not path:
            raise IdkError(f"{option} {spec!r}: expected NAME=PATH")
        out.append((name, path))
    return out


def as_pairs(sets: Mapping[str, str] | Iterable[tuple[str, str] | str] | None, option: str) -> list[tuple[str, str]]:
    """A library caller's sets for ``option`` as (NAME, PATH) pairs: a mapping of names to paths,
    (name, path) pairs (tuples or lists), or ``NAME=PATH`` / bare strings as the command line takes
    them (:func:`parse_ood`). A tuple of two bare strings could be either: refused."""
    if sets is None:
        return []
    if isinstance(sets, (str, Path)):
        sets = [str(sets)]
    if isinstance(sets, tuple) and len(sets) == 2 and isinstance(sets[0], str) and isinstance(sets[1], (str, Path)):
        if isinstance(sets[1], Path):  # a name and a path: one set
            sets = [sets]
        elif not all("=" in x for x in sets):  # two NAME=PATH strings are two sets; two bare strings, either
            raise IdkError(f"{option} {sets!r}: one (NAME, PATH) or two sets? give [(NAME, PATH)] or [NAME, NAME]")
    items = list(sets.items()) if isinstance(sets, Mapping) else list(sets)
    pairs = []
    for item in items:
        if isinstance(item, (str, Path)):
            pairs += parse_ood([str(item)], option)
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            pairs.append((str(item[0]), str(item[1])))
        else:
            raise IdkError(
                f"{option}: {item!r} is no set; give {{NAME: PATH}}, (NAME, PATH) pairs or 'NAME=PATH' strings"
            )
    return pairs


def default_ood(ckpt: Checkpoint) -> tuple[str, ...]:
    """The report's out-of-distribution sets for a model: its data set's usual ones, else noise
    (:func:`~idk.data.named.noise_sets`)."""
    known = NAMED.get(ckpt.data.data)
    return known.ood if known else noise_sets(ckpt.input_spec)


def load_sets(
    ckpt: Checkpoint,
    data: DataConfig,
    ood: list[tuple[str, str]],
    noise: int = 100,
    gaussian: int = 0,
    seed: int = 0,
    test_data: str | None = None,
    prepare: bool = False,
    warn: Warn | None = None,
    note: Warn | None = None,
) -> dict[str, ImageSet]:
    """The model's own test set (first), its usual out-of-distribution sets and the user's, by report
    name. ``prepare``: the user's folders' frame-sized images are prepared as user images too.
    ``warn``: told what reading the files met; ``note`` (default ``warn``): told where a set given
    holds the model's training images, which its figures flatter (the report's warnings)."""
    note = note or warn
    spec: InputSpec = ckpt.input_spec
    if test_data is not None and (split := _training_folder_split(ckpt, test_data, data)) is not None:
        test = split  # the model's own data (moved, or given by hand): its training images are no test set
        if warn:
            hint = (
                f" (`idk train --resume --out MODEL --data {test_data}` records the new place)"
                if moved(ckpt.data.data)
                else ""
            )
            read = ", read as training read them (--prepare is for other images)" if prepare else ""
            warn(
                f"{test_data}: holds the images the model was trained on (their SHA-256): its recorded test split "
                f"of {len(test)} images is evaluated{read}{hint}"
            )
    elif test_data is not None:
        trained = ": its figures do not tell how it does on new images"
        test = given_labelled(ckpt, test_data, test_data, data, trained, _UNLABELLED_TEST, prepare, warn, note)
    else:
        test = recorded_test_set(ckpt.data, spec, data, ckpt.classes, warn)
    sets = {test.name: test}
    names = [n for n in default_ood(ckpt) if n != ckpt.data.data]
    if gaussian and "gaussian-noise" not in names:
        names.insert(1, "gaussian-noise")
    usual: dict[str, str] = {}  # a usual set's name → its report name
    for name in names:  # each set comes back under its report name (MNIST's test set: "mnist-test")
        loaded = load(name, data, spec, n_noise=(gaussian or noise) if name == "gaussian-noise" else noise, seed=seed)
        usual[name] = loaded.name
        if len(loaded):  # --noise 0: no noise set
            sets[loaded.name] = loaded
    for name, path in ood:
        if name == path and usual.get(name) in sets:  # a usual set asked for by its name: it is there
            continue
        if name in sets:
            raise IdkError(f"--ood {name}={path}: the report already has a set named {name!r}; choose another NAME")
        if note and trained_on(ckpt, path):
            note(f"--ood {name}={path}: is the data the model was trained on, scored here as images unlike it")
        sets[name] = load(path, data, spec, n_noise=noise, seed=seed, prepare=prepare, warn=warn, labelled=False)
        if not len(sets[name]):
            raise IdkError(f"--ood {name}={path}: holds no image (--noise 0 leaves the noise sets empty)")
    return sets


SHIFTED_IMAGES = 1000  # images per built-in shifted set (idk.data.shifted)


_UNLABELLED_TEST = (
    "a test set needs labels (one sub-folder per class, 'labels' in an .npz, or a class column in a .csv: "
    "--columns FILE,CLASS names one of another name)"
)
_UNLABELLED = (
    "a shifted set needs labels (one sub-folder per class, an .npz with 'labels', or a .csv with a class column: "
    "--columns FILE,CLASS names one of another name)"
)


def shifted_sets(
    ckpt: Checkpoint,
    test: ImageSet,
    data: DataConfig,
    shift: list[tuple[str, str]],
    n: int = SHIFTED_IMAGES,
    seed: int = 0,
    prepare: bool = False,
    warn: Warn | None = None,
    note: Warn | None = None,
) -> tuple[dict[str, ImageSet], dict[str, ImageSet]]:
    """The labelled shifted sets (built from ``test`` for models of drawn symbols, then the user's
    ``shift`` sets) and the built-in non-symbol counterpart, by report name; ``warn`` and ``note``
    as :func:`load_sets` tells them."""
    note = note or warn
    from idk.data import shifted

    spec = ckpt.input_spec
    labelled: dict[str, ImageSet] = {}
    unfamiliar: dict[str, ImageSet] = {}
    if n and shifted.applies(spec):
        labelled.update(shifted.shifted_sets(test, spec, n, seed))
        unfamiliar.update(shifted.unfamiliar_sets(ckpt.classes, spec, n, seed))
    for name, path in shift:
        if name in labelled:
            raise IdkError(f"--shift {name}={path}: the report already has a set named {name!r}; choose another NAME")
        trained = ", not images from another source"
        labelled[name] = given_labelled(
            ckpt, path, f"--shift {name}={path}", data, trained, _UNLABELLED, prepare, warn, note
        )
    return labelled, unfamiliar


def given_labelled(
    ckpt: Checkpoint,
    path: str,
    source: str,
    data: DataConfig,
    trained: str,
    unlabelled: str,
    prepare: bool,
    warn: Warn | None,
    note: Warn | None,
) -> ImageSet:
    """A labelled set the user gave to evaluate (``--test-data``, ``--shift``; said as ``source``),
    its labels numbered as the model's (some of its classes will do): ``note`` told where it is the
    data the model was trained on (``trained``: the words after that), where it lacks some of the classes,
    and how many training images it holds; IdkError (``source``: ``unlabelled``) without labels."""
    whole = trained_on(ckpt, path)
    if note and whole:
        note(f"{source}: is the data the model was trained on{trained}")
    found = load(path, data, ckpt.input_spec, prepare=prepare, warn=warn)
    if found.labels is None:
        raise IdkError(f"{source}: {unlabelled}{recorded_columns(ckpt, data, path)}")
    found = in_model_classes(found, ckpt.classes, source)
    say_lacking(found, source, note)
    if not whole:
        say_shared(ckpt, found, source, note)
    return found


def recorded_layout(
    ckpt: Checkpoint, data: DataConfig, labelled: list[str], unlabelled: list[str], warn: Warn | None
) -> DataConfig:
    """``data`` reading the tables given by the columns the model's own tables were read by
    (``--columns`` at training), where none is given now and every table given names them (each of
    the ``labelled`` ones both, each of the ``unlabelled`` ones its file column): a test table of
    the model's own layout needs no option (``warn`` says so). Else ``data`` as it is."""
    recorded = ckpt.data.columns
    if data.columns is not None or recorded is None or not (labelled or unlabelled):
        return data
    if not all(names_columns(Path(p), recorded) for p in labelled):
        return data
    if not all(names_columns(Path(p), (recorded[0], None)) for p in unlabelled):
        return data
    if warn:
        warn(
            f"{some_of([*labelled, *unlabelled])}: read by the model's own columns (--columns {','.join(c for c in recorded if c)})"
        )
    return replace(data, columns=recorded)


def recorded_columns(ckpt: Checkpoint, data: DataConfig, path: str) -> str:
    """For a table given without ``--columns`` that reads without classes: the columns the model's
    own tables were read by, in words (it may be of their layout); else ""."""
    recorded = ckpt.data.columns if data.columns is None and is_manifest(Path(path)) else None
    return f" (the model's own tables were read by --columns {','.join(c for c in recorded if c)})" if recorded else ""


def say_lacking(found: ImageSet, source: str, warn: Warn | None) -> None:
    """Warn where a labelled set given to evaluate (its labels the model's) has no image of some of
    the model's classes: its figures are of the others (as training says of its test set)."""
    held = set(found.labels.tolist())
    if warn and (lacking := [c for i, c in enumerate(found.classes) if i not in held]):
        warn(f"{source}: no image of {some_of(lacking)}: its figures are of the other classes")


def say_shared(ckpt: Checkpoint, found: ImageSet, source: str, warn: Warn | None) -> None:
    """Warn where images of a labelled set given to evaluate have the very pixels of images the
    model trained on (or was calibrated on), as read in its form: their figures flatter it. Known by
    the digests its checkpoint records (:attr:`~idk.training.checkpoint.Checkpoint.training_digests`;
    a model trained before 2026-12-07 records none, and is not checked)."""
    if warn and ckpt.training_digests is not None and (n := shared_images(ckpt.training_digests, found)):
        warn(
            f"{source}: {n} of its {len(found)} images {'are' if n > 1 else 'is'} among the model's training images "
            "(the same pixels): its figures flatter the model on them"
        )


def trained_on(ckpt: Checkpoint, path: str) -> bool:
    """Whether ``path`` is the folder or file ``ckpt`` was trained on (where it records it): of a
    folder holding ``train/`` and ``test/``, its ``train/`` half (the folder itself is read as its
    ``test/`` half, the model's own test set)."""
    if ckpt.data.data in NAMED:
        return False
    given, stored = Path(path).resolve(), Path(ckpt.data.data)
    halves = (stored / "train").is_dir() and (stored / "test").is_dir()
    return given == (stored / "train" if halves else stored)


def _training_folder_split(ckpt: Checkpoint, path: str, data: DataConfig) -> ImageSet | None:
    """The recorded test split of ``path`` when it holds the very images ``ckpt`` split and trained
    on (a moved folder or array: the recorded SHA-256 of the whole set says so); else None. A model
    trained beside a test set of its own has no split to take: its training data given as a test
    set is evaluated as given."""
    record = ckpt.data
    if record.test_indices is None or not record.fingerprint.get("sha256") or not Path(path).exists():
        return None
    if (Path(path) / "train").is_dir() and (Path(path) / "test").is_dir():  # halves: never a recorded split
        return None
    try:
        here = replace(record, data=str(Path(path).resolve()))
        return recorded_test_set(here, ckpt.input_spec, data, ckpt.classes)
    except DataError:  # another set (or one changed since): the given test set as it is
        return None


def evaluate_checkpoint(
    model_path: str | Path,
    data: DataConfig | None = None,
    ood: Mapping[str, str] | Iterable[tuple[str, str] | str] | None = None,
    noise: int = 100,
    gaussian: int = 0,
    samples: int | None = None,
    json_path: str | Path | None = None,
    progress: Progress | None = None,
    test_data: str | None = None,
    shift: Mapping[str, str] | Iterable[tuple[str, str] | str] | None = None,
    shifted_images: int = SHIFTED_IMAGES,
    device: torch.device | str | None = None,
    prepare: bool = False,
) -> dict[str, Any]:
    """Evaluate a checkpoint (and its deterministic twin, when it holds one) on ``device`` (None:
    the CPU); return the report.

    Besides the test set and the out-of-distribution sets, the report has *shifted* sets: for
    models of drawn symbols ``shifted_images`` images of each built-in family
    (:mod:`idk.data.shifted`, from the test set) and their non-symbol counterpart, and the user's
    labelled ``shift`` sets. ``ood`` and ``shift``: {NAME: PATH}, (NAME, PATH) pairs or ``NAME=PATH``
    strings (:func:`as_pairs`). ``prepare``: the images of the user's folders
    (``test_data``, ``ood``, ``shift``) that already have the model's frame size are prepared as
    ``idk predict`` prepares a photo, not taken pixel for pixel as a data set in the model's form."""
    expect(data, DataConfig, "evaluate_checkpoint(data=...)", DATA_CONFIG_HINT + "; a test set is test_data=PATH")
    ood, shift = as_pairs(ood, "--ood"), as_pairs(shift, "--shift")
    for option, count in (("--noise", noise), ("--gaussian", gaussian), ("--shifted", shifted_images)):
        if not (whole_number(count) and count >= 0):
            raise IdkError(f"{option} {count!r}: give a whole number of images, 0 or more")
    model, ckpt = ckpt_io.load(model_path, device=device)
    samples = check_samples(model, samples)  # before any data set is read
    rule = ckpt.decision_rule()
    settings = EvalSettings(
        samples=ckpt.rule_config.samples if samples is None else samples,
        forced_samples=ckpt.rule_config.forced_samples,
        forced_average=ckpt.rule_config.forced_average,
        ood_score=rule.score,
    )
    warn = progress.warn if progress else None  # a folder's skipped files are said
    notes: list[str] = []  # sets that hold its training images: among the report's warnings, which say them
    try:
        tables = [p for p in (test_data, *(p for _, p in shift)) if p and is_manifest(Path(p))]
        ood_tables = [p for _, p in ood if is_manifest(Path(p))]
        data = recorded_layout(ckpt, data or DataConfig.from_env(), tables, ood_tables, warn)
        sets, labelled = _report_sets(
            ckpt,
            data,
            test_data,
            ood,
            shift,
            (noise, gaussian, shifted_images),
            prepare,
            warn,
            notes.append,
        )
    except IdkError:  # no report to hold them: said before the error
        for note in notes if warn else ():
            warn(note)
        raise
    in_name = next(iter(sets))
    given = {name for name, _ in shift}  # the user's --shift sets, beside any built for drawn symbols
    datasets, preds = evaluate(model, rule, sets, settings, progress, shifted=labelled)
    _mark_given(datasets, given)
    report: dict[str, Any] = {
        "model": _model_summary(ckpt),
        "samples": settings.samples,
        "prepared": prepare,  # the user's folders' frame-sized images prepared as user images (--prepare)
        "rule": ckpt.rule,
        "in_distribution": in_name,
        "shifted": list(labelled),
        "datasets": datasets,
        "scores": score_comparison(preds, sets[in_name].labels, in_name, rule.score),
        "training": {
            "history": ckpt.history,
            "histories": dict(ckpt.part_histories()),  # every trained part's: a mixture's members, the twin
            "train_config": ckpt.describe()["train_config"],
            "train_config_not_applied": ckpt.not_applied(),  # the preset's settings this data left unused
        },
        "score_selection": ckpt.score_selection,
        "temperature": ckpt.temperature,
        "warnings": [*warnings(ckpt, samples), *notes],
    }
    if ckpt.has_twin:
        twin = ckpt.build(twin=True, path=str(model_path), device=device)
        twin_rule = ckpt.decision_rule(twin=True)
        twin_settings = EvalSettings(samples=1, forced_samples=1, forced_average="probs", ood_score=twin_rule.score)
        twin_sets, _ = evaluate(twin, twin_rule, sets, twin_settings, progress, shifted=labelled)
        _mark_given(twin_sets, given)
        report["twin"] = {"rule": ckpt.twin_rule or ckpt.rule, "datasets": twin_sets}
    if json_path:
        write_json(report, json_path)
    return report


def _report_sets(
    ckpt: Checkpoint,
    data: DataConfig,
    test_data: str | None,
    ood: list[tuple[str, str]],
    shift: list[tuple[str, str]],
    counts: tuple[int, int, int],
    prepare: bool,
    warn: Warn | None,
    note: Warn | None = None,
) -> tuple[dict[str, ImageSet], dict[str, ImageSet]]:
    """The report's sets in its order (the test set, the labelled shifted sets, the other sets, the
    unfamiliar counterparts of the shifted ones) and the labelled shifted sets; ``counts``: the
    uniform-noise (and noise-3x), Gaussian-noise and built-in shifted images of each set. IdkError for two sets
    of one name."""
    noise, gaussian, shifted_images = counts
    for name, path in shift:  # before anything is read: a large unlabelled folder fails at once
        if without_labels(path, data.columns):
            raise IdkError(f"--shift {name}={path}: {_UNLABELLED}{recorded_columns(ckpt, data, path)}")
    paths = [p for p in (test_data, *(p for _, p in ood), *(p for _, p in shift)) if p]
    if prepare and warn:
        for path in [p for p in paths if not Path(p).is_dir()]:
            warn(f"--prepare prepares folders of images: {path} is not one, its images are taken as they are")
    if data.columns and warn and not any(is_manifest(Path(p)) for p in paths):
        warn("--columns names a .csv table's columns: no table is given here (--test-data, --shift, --ood)")
    sets = load_sets(ckpt, data, ood, noise, gaussian, test_data=test_data, prepare=prepare, warn=warn, note=note)
    test, *rest = sets.items()
    labelled, unfamiliar = shifted_sets(
        ckpt, test[1], data, shift, shifted_images, prepare=prepare, warn=warn, note=note
    )
    for name in [*labelled, *unfamiliar]:  # one name, one row: --shift and --ood names against every other set
        if name in sets:
            raise IdkError(
                f"the report would have two sets named {name!r}; give your --ood or --shift set another NAME"
            )
    return dict([test, *labelled.items(), *rest, *unfamiliar.items()]), labelled


def _model_summary(ckpt: Checkpoint) -> dict[str, Any]:
    """The report's ``model``: what was trained, on what, and how."""
    return {
        "preset": ckpt.preset,
        "kind": ckpt.kind,
        "members": ckpt.model_config.members,
        "data": ckpt.data.data,  # a named set's name, or the path it was trained on (as idk info gives it)
        "classes": list(ckpt.classes),
        "input": ckpt.input_spec.describe(),
        "finished": ckpt.finished,
        "calibrated": ckpt.calibrated,
        "net": ckpt.describe()["architecture"],
    }


def _mark_given(datasets: dict[str, dict[str, Any]], given: set[str]) -> None:
    """Mark the user's shifted sets (``"given": true``): the report's heading for a group of them
    alone does not speak of drawing or printing (:func:`idk.evaluation.report.group_starts`)."""
    for name in given & datasets.keys():
        datasets[name]["given"] = True
