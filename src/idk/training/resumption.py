"""What ``idk train --resume`` may change: the run's length, and where its data now lies.

A resumed run keeps its checkpoint's preset, model, training and rule settings and its data. The
options given again must agree with them; the ones that differ are refused together in one line.
Only ``epochs`` (and what never reaches the checkpoint: quiet, device, threads) may change, and
the place of a data folder that is gone: the same images elsewhere (their SHA-256) are taken
(:func:`data_changes`), by a finished run too (:func:`new_place`), and a changed set is refused
with what changed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from idk.choices import column_key
from idk.data.fingerprints import same_images
from idk.data.named import NAMED
from idk.data.synthetic import DRAWN_SCRIBBLES
from idk.errors import CheckpointError, IdkError
from idk.training import checkpoint as ckpt_io
from idk.training.config import AUGMENTATION_SHARES, Preset
from idk.training.options import TrainOptions, flag

if TYPE_CHECKING:
    from collections.abc import Callable

    from idk.data.catalog import DataRecord
    from idk.data.folders import Warn
    from idk.data.images import InputSpec
    from idk.data.sources import DataConfig
    from idk.data.synthetic import Scribbles
    from idk.nn.bnn import DeterministicNet, Model, ModelConfig
    from idk.progress import Progress
    from idk.training.checkpoint import Checkpoint
    from idk.training.fitting import FitState

MAY_CHANGE = ("epochs",)  # TrainOptions fields a resumed run applies
# synthetic outlier families added to idk after checkpoints began to record theirs: never trained by
# a checkpoint that records none
NEWER = ("glyphs", "shrunk-noise")


def stored_preset(ckpt: Checkpoint) -> Preset:
    """The preset a checkpoint was trained with, as it stored it."""
    return Preset(ckpt.preset, ckpt.model_config, ckpt.train_config, ckpt.rule_config)


def _same_data(given: str | None, stored: str | None) -> bool:
    """Whether a data option names what the checkpoint recorded (a name, or a path stored absolute);
    a new place for a stored path that is gone is taken here (a moved folder: the images' SHA-256,
    compared by :func:`data_changes`, says whether they are the same)."""
    if given is None:
        return True
    return given == stored or (
        stored is not None and (Path(given).expanduser().resolve() == Path(stored) or moved(stored))
    )


def moved(stored: str | None) -> bool:
    """Whether ``stored`` is a recorded path (not a named set's name) that no longer exists."""
    return stored is not None and Path(stored).is_absolute() and not Path(stored).exists()


def data_changes(ckpt: Checkpoint, record: DataRecord, fingerprint: dict[str, Any]) -> str | None:
    """Why the data found now (``record``, and the training images' ``fingerprint``) is not the data
    ``ckpt`` trained on, in words; None when it is. The same images in a new place (a moved folder,
    another machine's mount) are the same data, known by their SHA-256; a checkpoint that recorded
    none of a moved set's cannot tell, and says so."""
    was, now, stored = ckpt.data_fingerprint or {}, fingerprint, ckpt.data
    relocated = record.data != stored.data
    if relocated and not was.get("sha256"):
        return f"it recorded no SHA-256 of its images (an older checkpoint) to know them in {record.data}: put them back in {stored.data}"
    if was.get("n") not in (None, now["n"]):
        return (
            f"it trained on {was['n']} images (its test images aside); {record.data} now gives {now['n']}"
            f"{_other_columns(stored, record)}"
        )
    if was.get("sha256") not in (None, now["sha256"]):
        return (
            f"the {now['n']} images of {record.data} (or their labels) are not those it trained on (their SHA-256 "
            f"differs: an image edited, replaced or moved to another class){_other_columns(stored, record)}"
        )
    if tuple(stored.image_size or ()) != tuple(record.image_size or ()):
        return f"its images were brought to {stored.image_size}, these to {record.image_size}"
    if stored.test_indices != record.test_indices:
        return "its recorded test split is not this data's"
    if (stored.test_data is None) != (record.test_data is None):
        return (
            f"it was tested on {stored.test_data or 'a split of its data'}, this run on "
            f"{record.test_data or 'a split of its data'}"
        )
    if same_images(stored.fingerprint) != same_images(record.fingerprint):  # its training images alike: the split's
        held = f"{len(record.test_indices)} " if record.test_indices is not None else ""
        return (
            f"the {held}images of {record.data} it held out to test on are not those it held out (their SHA-256 "
            "differs: an image edited, replaced or moved to another class)"
        )
    own_test = stored.test_data is not None or (stored.test_indices is None and stored.data not in NAMED)
    moved_test = record.test_data != stored.test_data or (stored.test_data is None and relocated)
    if own_test and moved_test:  # a test set of its own (--test-data, or a test/ half) in a new place
        where = stored.test_data or f"{stored.data}/test"
        if not stored.test_fingerprint:
            return (
                f"it recorded no SHA-256 of its test set (an older checkpoint) to know it again: put it back in {where}"
            )
        if same_images(stored.test_fingerprint) != same_images(record.test_fingerprint):
            return f"the test set now given is not the one it was trained beside ({where}: their SHA-256 differs)"
    return None


def _other_columns(stored: DataRecord, record: DataRecord) -> str:
    """Where a table's columns are named otherwise now (letter case, spaces and hyphens aside), the
    two namings in words, to end a message of changed images (the same images and labels read by
    other names are the same data); else ""."""

    def words(columns: tuple[str, str | None] | None) -> str:
        return "--columns " + ",".join(c for c in columns if c) if columns else "their usual column names"

    def key(columns: tuple[str, str | None] | None) -> tuple[str, ...] | None:
        return tuple(column_key(c) for c in columns if c) if columns else None

    if key(stored.columns) == key(record.columns):
        return ""
    return f"; its tables were read by {words(stored.columns)}, these by {words(record.columns)}"


def new_place(ckpt: Checkpoint, opts: TrainOptions, data: DataConfig, out: str | Path, warn: Warn) -> Checkpoint | None:
    """A finished run given its moved data anew (``--data``, ``--test-data``: a new place for a stored
    folder that is gone): ``ckpt`` recording the new place, its weights and rule as they are, once
    :func:`data_changes` finds the same images there; None when no moved folder is given.

    Raises:
        IdkError: when a moved folder is given but another one that moved is not.
    """
    stored = ckpt.data
    names = [name for name in ("data", "test_data") if moved(getattr(stored, name))]
    if not any(getattr(opts, name) is not None for name in names):
        return None
    gone_too(ckpt, opts, out)
    record, images = _found(ckpt, opts, data, warn)
    if why := data_changes(ckpt, record, images):
        raise CheckpointError(f"{out}: cannot record the new place of its data: {why}")
    return replace(ckpt, data=record, data_fingerprint=images)


def finished_run(
    ckpt: Checkpoint, opts: TrainOptions, data: DataConfig, out: str | Path, progress: Progress, write: bool
) -> Checkpoint:
    """A finished run resumed with nothing left to train, as :func:`idk.training.train.train`
    returns it: recording its data's new place (:func:`new_place`; written to ``out`` when
    ``write``), else as it is, said with a warning when its data changed (:func:`changed_since`)."""
    if (relocated := new_place(ckpt, opts, data, out, progress.warn)) is not None:
        if write:
            ckpt_io.save(relocated, out)
        where = ", ".join(
            f"its {what} in {getattr(relocated.data, name)}"
            for name, what in (("data", "data"), ("test_data", "test set"))
            if getattr(relocated.data, name) != getattr(ckpt.data, name)
        )
        progress.log(f"{out}: already finished; it now records {where} (weights as they were)")
        return relocated
    progress.log(
        f"{out}: already finished ({ckpt.training_progress()}); nothing to resume, the file is left as it "
        "is (a larger --epochs trains it longer; `idk calibrate` refits its rule)"
    )
    if why := changed_since(ckpt, data):
        progress.warn(
            f"{out}: its data changed since it was trained ({why}): the model is as it was; --overwrite "
            "trains it anew on the data there now"
        )
    return ckpt


def changed_since(ckpt: Checkpoint, data: DataConfig) -> str | None:
    """Why the user's data in the place ``ckpt`` records is no longer what it trained on (as
    :func:`data_changes` says it, or why it can no longer be read as a training set), for a
    finished run resumed with nothing left to train; None when it is the same, or is a named set
    (its files are verified by checksum) or gone (:func:`new_place`). Read quietly: what reading
    it warns of was said when it was trained."""
    stored = ckpt.data
    if stored.data in NAMED or any(moved(getattr(stored, name)) for name in ("data", "test_data")):
        return None
    try:
        return data_changes(ckpt, *_found(ckpt, TrainOptions(), data, lambda _: None))
    except IdkError as err:
        return f"it can no longer be read as a training set: {err}"


def _found(ckpt: Checkpoint, opts: TrainOptions, data: DataConfig, warn: Warn) -> tuple[DataRecord, dict[str, Any]]:
    """The record and training images' fingerprint of ``ckpt``'s data as found now: at the places
    ``opts`` gives, else at those it recorded."""
    from idk.data.catalog import training_data
    from idk.data.fingerprints import fingerprint
    from idk.training.splits import used_images

    stored = ckpt.data
    size = None if stored.data in NAMED else stored.image_size
    source = training_data(opts.data or stored.data, ckpt.reading(data), opts.test_data or stored.test_data, size, warn)
    return source.record, fingerprint(used_images(source.train, ckpt.train_config))


def gone_too(ckpt: Checkpoint, opts: TrainOptions, out: str | Path) -> None:
    """Refuse a resume that leaves a stored folder that is gone without its new place.

    Raises:
        IdkError: naming the folder and the option that gives its place.
    """
    for name in ("data", "test_data"):
        was = getattr(ckpt.data, name)
        if getattr(opts, name) is None and moved(was):
            raise IdkError(
                f"{out}: its {'test' if name == 'test_data' else 'training'} data {was} is gone (moved or "
                f"deleted); give its new place with {flag(name)} PATH (the images' SHA-256 is checked)"
            )


def differences(ckpt: Checkpoint, preset_name: str | None, opts: TrainOptions) -> list[str]:
    """The options of ``opts`` (None: not given) and ``preset_name`` that disagree with ``ckpt``'s
    run, as ``--flag given (stored: value)``."""
    from idk.training.options import configure

    out = []
    if preset_name is not None and preset_name != ckpt.preset:
        out.append(f"--preset {preset_name} (stored: {ckpt.preset})")
    record = ckpt.data
    for name, stored in (("data", record.data), ("test_data", record.test_data)):
        if not _same_data(getattr(opts, name), stored):
            out.append(f"{flag(name)} {getattr(opts, name)} (stored: {stored})")
    if opts.image_size is not None and tuple(opts.image_size) != tuple(record.image_size or ()):
        out.append(f"--image-size {opts.image_size[0]}x{opts.image_size[1]} (stored: {record.image_size})")
    stored = stored_preset(ckpt)
    for field in dataclasses.fields(opts):
        value = getattr(opts, field.name)
        if value is None or field.name in MAY_CHANGE or field.name in ("data", "test_data", "image_size"):
            continue
        if configure(stored, _alone(opts, field.name, value, stored)) != stored:
            was = _stored_value(stored, field.name)
            if isinstance(
                value, bool
            ):  # --name / --no-name (--no-twin, --no-augment, --flip); None stored: neither given
                stored_as = "neither given: the data set's own" if was is None else f"{field.name}={_shown(was)}"
                out.append(f"--{'' if value else 'no-'}{field.name.replace('_', '-')} (stored: {stored_as})")
            else:
                out.append(f"{flag(field.name)} {_shown(value)} (stored: {_shown(was)})")
    return out


def _alone(opts: TrainOptions, name: str, value: Any, stored: Preset) -> TrainOptions:
    """Only option ``name`` given, as :func:`~idk.training.train.configure` reads it: ``--no-augment``
    keeps the degradation, printed and variant shares given with it, else the stored ones (alone it would turn
    them off)."""
    given = {name: value}
    if name == "augment" and value is False:
        for share in AUGMENTATION_SHARES:
            mine = getattr(opts, share)
            given[share] = mine if mine is not None else getattr(stored.train, share)
    return type(opts)(**given)


def _shown(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return " ".join(f"{v[0]}={v[1]:g}" if isinstance(v, (tuple, list)) else str(v) for v in value) or "(none)"
    return str(value)


def _stored_value(preset: Preset, name: str) -> Any:
    for config in (preset.train, preset.rule, preset.model, preset.model.net):
        if name in {f.name for f in dataclasses.fields(config)}:
            return getattr(config, name)
    return None


def resumed_preset(ckpt: Checkpoint, preset_name: str | None, opts: TrainOptions, path: str | Path) -> Preset:
    """The preset to continue ``ckpt`` with (its own, ``opts.epochs`` applied); :class:`CheckpointError`
    listing every other option that differs from the stored run."""
    diff = differences(ckpt, preset_name, opts)
    if diff:
        raise CheckpointError(
            f"{path}: cannot resume with options that differ from the stored run: {'; '.join(diff)}; "
            "resume without them, or train afresh with a new --out"
        )
    preset = stored_preset(ckpt)
    done = max(ckpt.member_epochs())
    if opts.epochs is not None and opts.epochs < done:
        who = "it has" if ckpt.model_config.members == 1 else "a member has"
        raise CheckpointError(f"{path}: cannot resume with --epochs {opts.epochs}: {who} already trained {done}")
    if opts.epochs is None:
        return preset
    return replace(preset, train=replace(preset.train, epochs=opts.epochs))


def check_same_data(
    previous: Checkpoint,
    model_cfg: ModelConfig,
    record: DataRecord,
    images: dict[str, Any],
    given: str | None,
    classes: int,
    spec: InputSpec,
    out: str | Path,
) -> None:
    """Refuse to resume ``previous`` on data of other classes or another image form (the model
    ``model_cfg`` it gives; ``given`` names the data, of ``classes`` classes of ``spec``'s form), or
    other images (:func:`data_changes`; ``images``: their fingerprint).

    Raises:
        CheckpointError: saying what differs.
    """
    if previous.model_config != model_cfg:  # the data's classes or image form are not the stored ones
        raise CheckpointError(
            f"{out}: cannot resume: it trained on {len(previous.classes)} classes of "
            f"{previous.input_spec.describe()} images, {given} now gives {classes} of "
            f"{spec.describe()}; use a new --out"
        )
    if why := data_changes(previous, record, images):
        raise CheckpointError(f"{out}: cannot resume: {why}; use a new --out")


def resumed_outliers(
    previous: Checkpoint, families: tuple[str, ...], scribbles: Scribbles, spec: InputSpec, out: str | Path
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The synthetic outlier families a resumed run goes on with (of ``families``, those this idk
    trains), and those it leaves out: added to idk since the run began (none is dropped on resuming).

    Raises:
        CheckpointError: when it trained on families this idk no longer draws, or drew its pen
            scribbles otherwise than ``scribbles``.
    """
    trained_on = previous.outlier_families
    if trained_on is None:  # written before the families were recorded: those idk drew then
        trained_on = tuple(n for n in families if n not in NEWER and (spec.drawn or n != "strokes"))
    added = tuple(n for n in families if n not in trained_on)
    families = tuple(n for n in families if n not in added)
    if trained_on != families:
        raise CheckpointError(
            f"{out}: cannot resume: it was trained on the synthetic outliers {', '.join(trained_on) or '(none)'}, "
            f"this version of idk trains on {', '.join(families) or '(none)'}; train afresh with a new --out"
        )
    # scribbles unrecorded: drawn symbols' never changed; other images' were drawn otherwise then
    drew = previous.scribbles or (DRAWN_SCRIBBLES if spec.drawn else None)
    if "strokes" in families and drew != scribbles:
        then = "in a way not recorded" if drew is None else f"with {drew.describe()}"
        raise CheckpointError(
            f"{out}: cannot resume: its pen scribbles (synthetic outliers) were drawn {then}, this version of "
            f"idk draws them with {scribbles.describe()}; train afresh with a new --out"
        )
    return families, added


def check_same_rendering(previous: Checkpoint, rendered: dict[str, str], out: str | Path) -> None:
    """Refuse to resume a run whose font-rendered training images this machine draws otherwise
    (``rendered``: their fingerprints here; a checkpoint that recorded none is not checked).

    Raises:
        CheckpointError: naming the images that differ.
    """
    if previous.rendered is None or previous.rendered == rendered:
        return
    differ = ", ".join(
        k for k in sorted({*previous.rendered, *rendered}) if previous.rendered.get(k) != rendered.get(k)
    )
    raise CheckpointError(
        f"{out}: cannot resume: its font-rendered training images ({differ}) were drawn otherwise than this "
        "machine draws them (other fonts, Pillow or FreeType: compare the versions `idk info` lists); train "
        "afresh with a new --out"
    )


def restore(
    previous: Checkpoint,
    model: Model,
    twin: DeterministicNet | None,
    states: dict[str, FitState],
    epochs: int,
    world: int,
    out: str | Path,
    log: Callable[[str], None],
) -> None:
    """Load a resumed run's weights and training states (by key, into ``states``) and say where it
    goes on from: ``epochs`` applied, and a number of processes (``world``) other than its last session's."""
    from idk.training.fitting import FitState  # here: `idk evaluate` imports this module, not the training code

    model.load_state_dict(previous.state_dict)
    if twin is not None and previous.twin_state_dict is not None:
        twin.load_state_dict(previous.twin_state_dict)
    for key, st in previous.training_state.items():
        states[key] = FitState(**st)
    was = previous.train_config.epochs
    longer = f"; --epochs {epochs} applied (stored: {was})" if epochs != was else ""
    log(f"resuming {out} after {previous.training_progress()}{longer}")
    if previous.processes not in (None, world):
        log(
            f"{out}'s last session ran on {previous.processes} process{'es' * (previous.processes != 1)}, this one "
            f"on {world}: each batch is split otherwise, so its losses differ from an uninterrupted run's "
            "in their last digits"
        )
