"""Self-describing checkpoints: what the model is, what it was trained on, how it decides.

:class:`Checkpoint` is the typed object; on disk it is a plain dict of tensors, numbers, strings,
lists and dicts, so it loads with ``torch.load(weights_only=True)`` and never unpickles code. It
is validated on load (a clear :class:`~idk.errors.CheckpointError` naming the file); the file
itself (written atomically, its tensors' digest checked) is :mod:`idk.training.checkpoint_file`'s.
"""

from __future__ import annotations

import dataclasses
import os
import platform
from dataclasses import dataclass, field, replace
from typing import Any

import pyro
import torch
from torch import Tensor

import idk
from idk.data.catalog import DataRecord
from idk.data.images import InputSpec
from idk.data.preparation import PreparedImage
from idk.data.sources import DataConfig
from idk.data.synthetic import Scribbles
from idk.decision.config import RuleConfig
from idk.decision.rules import Rule, make_rule, summarize_rule
from idk.decision.scores import SCORES
from idk.devices import resolve_device
from idk.errors import CheckpointError, DataError
from idk.nn.bnn import BNN, BNNMixture, DeterministicNet, Model, ModelConfig, build_model
from idk.nn.guides import GUIDES
from idk.nn.networks import ARCHITECTURES, settings_read
from idk.nn.priors import PRIORS
from idk.training.checkpoint_checks import check_stored_parts
from idk.training.checkpoint_file import read_file, write_file
from idk.training.config import TrainConfig, model_config_from_dict, to_dict, train_config_from_dict

FORMAT = "idk-checkpoint"
# 5: grey files read exactly (InputSpec.luminance_grey: a model of format 4 or less read them through
# the colour-to-grey product, an ulp off in 31 levels, and its data is read so again; an idk that
# reads only 4 would not know the field);
# 4: the guide's name (ModelConfig.guide: an idk that reads only 3 would build the default guide
# for a model trained with another);
# 3: how the validation split was drawn (validation_by_class: an idk that reads only 2 would re-draw
# a user's over all images and calibrate on training images); 2: any input form and classes; 1: MNIST only
FORMAT_VERSION = 5
EXACT_GREY = 5  # the first format whose grey files were read exactly (InputSpec.luminance_grey)
OLDEST_READ = 2  # a version 2 file drew its validation split over all images
KINDS = {"BNN": BNN, "BNNMixture": BNNMixture, "DeterministicNet": DeterministicNet}


def _input_spec(d: dict[str, Any], version: int) -> InputSpec:
    """A checkpoint's input form; a greyscale model of a format before :data:`EXACT_GREY` reads grey
    files as it did, through the colour-to-grey product (:class:`InputSpec`'s ``luminance_grey``;
    a colour model never turns an image grey)."""
    legacy = version < EXACT_GREY and d.get("channels") == 1
    return InputSpec.from_dict({"luminance_grey": legacy, **d})


def member_key(k: int) -> str:
    """The ``training_state`` key of a mixture's member k ("model" for the first, as for a single BNN)."""
    return "model" if k == 0 else f"model.{k}"


def last_held_out(history: list[dict[str, Any]]) -> float | None:
    """The held-out accuracy after a part's last epoch (:mod:`idk.training.held_out`); None where it
    has none (no epoch yet, no validation images, or a checkpoint from before it was recorded)."""
    return history[-1].get("held_out_accuracy") if history else None  # a number: checked on load


def versions() -> dict[str, str]:
    """The versions a checkpoint was made with; matplotlib's fonts and pymupdf-fonts' Noto Sans, drawn
    by Pillow's FreeType, are the printed glyphs and class names training draws (:mod:`idk.data.glyphs`)."""
    from importlib.metadata import PackageNotFoundError, version

    import matplotlib
    import PIL

    try:
        noto = version("pymupdf-fonts")
    except PackageNotFoundError:
        noto = "not installed"

    return {
        "idk": idk.__version__,
        "torch": str(torch.__version__),
        "pyro": str(pyro.__version__),
        "python": platform.python_version(),
        "matplotlib": matplotlib.__version__,
        "pillow": PIL.__version__,
        "pymupdf-fonts": noto,
    }


@dataclass
class Checkpoint:
    """A trained (or training) model with everything needed to use, evaluate and resume it.

    ``rule`` and ``twin_rule`` are rules in their dict form (:func:`idk.decision.rules.make_rule`)
    with a ``calibration`` entry saying how their threshold was set. ``finished`` is False while
    training is under way (the rule is then a provisional, uncalibrated one)."""

    kind: str
    model_config: ModelConfig
    state_dict: dict[str, Tensor]
    classes: tuple[str, ...]
    input_spec: InputSpec
    rule: dict[str, Any]
    rule_config: RuleConfig
    train_config: TrainConfig
    data: DataRecord
    preset: str = ""
    dataset_size: int | None = None
    validation_size: int = 0
    # the validation images drawn class by class (idk.training.splits.split); False: over all images
    # (a named set's, and every set's before 2026-12-06)
    validation_by_class: bool = False
    finished: bool = False
    history: list[dict[str, float]] = field(default_factory=list)  # per epoch (a mixture's: its first member's)
    training_state: dict[str, dict[str, Any]] = field(default_factory=dict)
    twin_state_dict: dict[str, Tensor] | None = None
    twin_rule: dict[str, Any] | None = None
    twin_history: list[dict[str, float]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    temperature: dict[str, Any] | None = None
    twin_temperature: dict[str, Any] | None = None
    score_selection: dict[str, Any] | None = None
    validation_split: dict[str, Any] | None = None
    data_fingerprint: dict[str, Any] | None = None
    # each training image's 64-bit digest (N,) int64 (idk.data.fingerprints.image_digests), its
    # validation images among them: a test set sharing them is said; None: not recorded (older files)
    training_digests: Tensor | None = None
    # the synthetic outlier families trained on (idk.data.synthetic); None: not recorded (older files)
    outlier_families: tuple[str, ...] | None = None
    # how the ``strokes`` family drew its scribbles; None: no scribbles, or not recorded (older files)
    scribbles: Scribbles | None = None
    # fingerprints of the font-rendered training images (idk.data.glyphs.rendered_digest) by kind:
    # "glyphs" (the outlier glyphs), "printed" (the printed class names); None: not recorded (older files)
    rendered: dict[str, str] | None = None
    # the processes that trained it together (torchrun; 1: alone), the last session's; None: not recorded
    processes: int | None = None
    # its training images held nearly one-colour ones (idk.data.preparation.flat_images_seen): an
    # image of one flat colour is then answered, not called blank; False for older files
    flat_seen: bool = False
    versions: dict[str, str] = field(default_factory=versions)
    # the format of the file it was read from (idk info shows it); a checkpoint is written in this idk's
    format_version: int = FORMAT_VERSION

    @property
    def calibrated(self) -> bool:
        """Whether the rule's threshold was set on validation data to meet a target."""
        return (self.rule.get("calibration") or {}).get("method", "fixed") != "fixed"

    @property
    def has_twin(self) -> bool:
        return self.twin_state_dict is not None

    def _member_states(self) -> list[dict[str, Any]]:
        """Each member's stored training state (empty before it began), in member order."""
        return [self.training_state.get(member_key(i)) or {} for i in range(self.model_config.members)]

    def member_epochs(self) -> list[int]:
        """The epochs each member of the Bayesian model has trained (one number for a single BNN)."""
        if self.model_config.members == 1:
            return [len(self.history)]
        return [int(state.get("epoch", 0)) for state in self._member_states()]

    def answering_members(self) -> list[int] | None:
        """The members an unfinished mixture answers with: those that trained an epoch or more, where
        some have not begun (their weights are their random start, which would dilute every answer);
        None where every member answers (a finished model, a single BNN, no member begun)."""
        if self.finished or self.model_config.members == 1:
            return None
        trained = [k for k, epochs in enumerate(self.member_epochs()) if epochs > 0]
        return trained if 0 < len(trained) < self.model_config.members else None

    def member_losses(self) -> list[float | None]:
        """Each member's last epoch loss (None before its first epoch); one number for a single BNN."""
        return [h[-1]["loss"] if h else None for _, h in self.part_histories()[: self.model_config.members]]

    def part_histories(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """Each trained part's per-epoch history in the order training fits them, by its progress
        label: "bayes" (a mixture's "bayes 1/3", "bayes 2/3", ...), then "twin" where it has one."""
        members = self.model_config.members
        if members == 1:
            parts = [("bayes", self.history)]
        else:
            parts = [
                (f"bayes {k + 1}/{members}", st.get("history") or []) for k, st in enumerate(self._member_states())
            ]
        return parts + ([("twin", self.twin_history)] if self.twin_history else [])

    def training_progress(self) -> str:
        """How far the Bayesian model's training went: "5 of 12 epochs"; a mixture's members each,
        "12 and 3 of 12 epochs by its 2 members"; once they are done, the deterministic twin's,
        "all 12 epochs; its twin 3 of 12", and "all 12 epochs; its rule not yet fitted" when only
        the rule's calibration is left."""
        done, epochs = self.member_epochs(), self.train_config.epochs
        if not self.finished and all(d >= epochs for d in done):
            twin_epochs = self.train_config.twin_epochs or epochs
            twin_done = int((self.training_state.get("twin") or {}).get("epoch", 0))
            if self.train_config.twin and twin_done < twin_epochs:
                return f"all {epochs} epoch{'s' * (epochs != 1)}; its twin {twin_done} of {twin_epochs}"
            return f"all {epochs} epoch{'s' * (epochs != 1)}; its rule not yet fitted"
        if len(done) == 1:
            return f"{done[0]} of {epochs} epochs"
        counts = ", ".join(map(str, done[:-1])) + f" and {done[-1]}"
        return f"{counts} of {epochs} epochs by its {len(done)} members"

    def reading(self, data: DataConfig) -> DataConfig:
        """``data`` reading this model's data as it was read: its tables by the columns it recorded
        (unless ``data`` names others), its grey files as its format read them."""
        return replace(data, columns=data.columns or self.data.columns, luminance_grey=self.input_spec.luminance_grey)

    def is_blank(self, prepared: PreparedImage) -> bool:
        """Whether ``prepared`` holds nothing for this model to classify: no ink for a model of drawn
        symbols, one flat colour for others, unless its training images held nearly flat ones
        (:attr:`flat_seen`: a model of colour swatches answers a flat red)."""
        return prepared.blank and not self.flat_seen

    def blank_images(self) -> str:
        """What the model calls blank, in words (``idk info``)."""
        if self.input_spec.preparation == "mnist":
            return "no ink: nothing to classify, not asked"
        if self.flat_seen:
            return "none: one flat colour is answered (its training images held nearly one-colour ones)"
        return "one flat colour: nothing to classify, not asked"

    def decision_rule(self, twin: bool = False) -> Rule:
        return make_rule(self.twin_rule if twin and self.twin_rule else self.rule)

    def rule_summary(self) -> str:
        """The rule in a few words (``refuse entropy > 0.34``; ``refuse every image (...)`` where an
        error target was not met)."""
        return summarize_rule(self.rule)

    def noise_refused(self) -> float | None:
        """The smallest share of the noise sets (uniform, Gaussian; for a model of one's own, noise
        pictures three times its frame too) that its rule refused once its
        threshold was set (:func:`~idk.training.rule_fitting.noise_refusal`, at training or at
        ``idk calibrate``). A checkpoint from before that measurement: what its score refused when
        "auto" chose among the scores, at the threshold refusing its target share of the tuning
        images (rules set for a refusal target only); None where nothing was measured."""
        if measured := self.metrics.get("noise_refused"):
            return min(measured.values())
        if "target_refusal" not in (self.rule.get("calibration") or {}):  # compared at another threshold
            return None
        row = ((self.score_selection or {}).get("scores") or {}).get(self.rule.get("score"), {})
        shares = [v for k, v in row.items() if k.startswith("refused:") and k.endswith("noise")]
        return min(shares) if shares else None

    def build(self, twin: bool = False, path: str = "<checkpoint>", device: torch.device | str | None = None) -> Model:
        """The model (or its deterministic twin) with its weights loaded, in eval mode, on ``device``
        (a name such as ``"auto"`` or ``"cuda:1"``, or a :class:`torch.device`; None: the CPU)."""
        cfg = replace(self.model_config, bayesian=False) if twin else self.model_config
        answering = None if twin else self.answering_members()
        try:
            model = build_model(cfg, self.dataset_size)
        except (TypeError, KeyError, ValueError) as err:
            raise CheckpointError(f"{path}: model configuration not understood ({err})") from None
        expected = DeterministicNet if twin else KINDS[self.kind]
        if not isinstance(model, expected):
            raise CheckpointError(f"{path}: class {self.kind} does not match its configuration")
        state = self.twin_state_dict if twin else self.state_dict
        if state is None:
            raise CheckpointError(
                f"{path}: holds no deterministic twin (train without --no-twin)"
                if twin
                else f"{path}: holds no weights"
            )
        if answering is not None:  # an unfinished mixture: its members trained so far (resuming reads them all)
            model = build_model(replace(cfg, members=len(answering)), self.dataset_size)
            state = members_state(state, answering)
        try:
            model.load_state_dict(state)
        except RuntimeError as err:
            first = (str(err).splitlines() or [""])[0]
            raise CheckpointError(f"{path}: weights do not fit the described architecture ({first[:160]})") from None
        model.eval()
        return model.to(resolve_device(device)) if device is not None else model

    def to_dict(self) -> dict[str, Any]:
        """The plain dict written to disk."""
        out: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION}
        for f in dataclasses.fields(self):
            if f.name == "format_version":  # written as this idk writes it, whatever it was read as
                continue
            value = getattr(self, f.name)
            if isinstance(value, (ModelConfig, RuleConfig, TrainConfig)):
                value = to_dict(value)
            elif isinstance(value, (InputSpec, DataRecord, Scribbles)):
                value = value.as_dict()
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, d: Any, path: str = "<checkpoint>") -> Checkpoint:
        """Validate a loaded dict and build the checkpoint; :class:`CheckpointError` names what is wrong."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise CheckpointError(f"{path}: not an idk checkpoint (no '{FORMAT}' header)")
        version = d.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise CheckpointError(f"{path}: its format version {version!r} is malformed (a whole number is expected)")
        if version > FORMAT_VERSION:
            raise CheckpointError(
                f"{path}: checkpoint format {version} is newer than this idk reads ({FORMAT_VERSION}); upgrade idk"
            )
        if version < OLDEST_READ:
            raise CheckpointError(
                f"{path}: checkpoint format {version} was written by an older idk; train the model again"
            )
        required = [
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        missing = [k for k in required if k not in d]
        if missing:
            raise CheckpointError(f"{path}: checkpoint lacks {', '.join(missing)}")
        if d["kind"] not in KINDS:
            raise CheckpointError(f"{path}: unknown model class {d['kind']!r}; valid: {', '.join(KINDS)}")
        names = {f.name for f in dataclasses.fields(cls)}
        fields = {k: v for k, v in d.items() if k in names}
        try:
            fields.update(
                model_config=model_config_from_dict(d["model_config"]),
                classes=tuple(d["classes"]),
                input_spec=_input_spec(d["input_spec"], version),
                rule_config=RuleConfig.from_dict(d["rule_config"]),
                train_config=train_config_from_dict(d["train_config"]),
                data=DataRecord.from_dict(d["data"]),
            )
            if d.get("outlier_families") is not None:
                fields["outlier_families"] = tuple(str(name) for name in d["outlier_families"])
            if d.get("scribbles") is not None:
                fields["scribbles"] = Scribbles.from_dict(d["scribbles"])
            if d.get("rendered") is not None:
                fields["rendered"] = {str(k): str(v) for k, v in dict(d["rendered"]).items()}
            for key in ("rule", "twin_rule"):
                if isinstance(d.get(key), dict) and d[key].get("name") == "score":
                    _known_part(path, "score", d[key].get("score"), SCORES, "idk.decision.scores.SCORES")
            make_rule(d["rule"])
            if d.get("twin_rule") is not None:
                make_rule(d["twin_rule"])
            check_stored_parts(d)
        except (TypeError, KeyError, ValueError, AttributeError, DataError) as err:
            raise CheckpointError(f"{path}: checkpoint description not understood ({err})") from None
        ckpt = cls(**fields)
        cfg = ckpt.model_config
        if len(ckpt.classes) != cfg.num_classes or tuple(cfg.input_shape) != ckpt.input_spec.shape:
            raise CheckpointError(f"{path}: its classes or input form disagree with its model configuration")
        for part, name, known, home in (
            ("architecture", cfg.net.arch, ARCHITECTURES, "idk.nn.networks.ARCHITECTURES"),
            ("prior", cfg.prior, PRIORS, "idk.nn.priors.PRIORS"),
            ("guide", cfg.guide, GUIDES, "idk.nn.guides.GUIDES"),
        ):
            _known_part(path, part, name, known, home)
        return ckpt

    def describe(self) -> dict[str, Any]:
        """A human-readable summary (for ``idk info`` and the web service)."""
        n_params = sum(t.numel() for t in self.state_dict.values())
        net = settings_read(self.model_config.net)  # not the other architectures' settings
        return {
            "format": f"{FORMAT} v{self.format_version}",
            "class": self.kind,
            "preset": self.preset,
            "finished": self.finished,
            "calibrated": self.calibrated,
            "input": self.input_spec.as_dict(),
            "classes": list(self.classes),
            "architecture": net,
            "model_config": {k: v for k, v in to_dict(self.model_config).items() if k != "net"},
            "parameters": n_params,
            "rule": {k: v for k, v in self.rule.items() if k != "calibration"},
            "calibration": self.rule.get("calibration"),
            "temperature": self.temperature,
            "twin_temperature": self.twin_temperature,
            "epochs": len(self.history),  # a mixture's: its first member's, as final_loss
            "final_loss": self.history[-1]["loss"] if self.history else None,
            "members": [
                {"epochs": e, "final_loss": loss, "held_out_accuracy": last_held_out(h)}
                for e, loss, (_, h) in zip(
                    self.member_epochs(),
                    self.member_losses(),
                    self.part_histories()[: self.model_config.members],
                    strict=True,
                )
            ],
            "twin": self.has_twin,
            "twin_held_out_accuracy": last_held_out(self.twin_history),
            "blank_images": self.blank_images(),
            "processes": self.processes,
            "training_data": {
                **{
                    k: v
                    for k, v in self.data.as_dict().items()
                    if k not in ("test_indices", "fingerprint", "test_fingerprint")
                },
                "recorded_test_images": len(self.data.test_indices) if self.data.test_indices else None,
                # the training images' digests it records (idk evaluate says a test set sharing them)
                "image_digests": len(self.training_digests) if self.training_digests is not None else None,
                "fingerprint": self.data_fingerprint,
            },
            "train_config": to_dict(self.train_config),
            "train_config_not_applied": self.not_applied(),
            "validation_images": {
                "held_out": self.validation_size,
                "drawn": "class by class" if self.validation_by_class else "over all images",
                **(self.validation_split or {}),
            },
            "outlier_families": list(self.outlier_families) if self.outlier_families is not None else None,
            "scribbles": self.scribbles.as_dict() if self.scribbles is not None else None,
            "rendered": self.rendered,
            "metrics": self.metrics,
            "score_selection": self.score_selection,
            "versions": self.versions,
        }

    def not_applied(self) -> list[str]:
        """The stored training settings this model's data left unused: the shares for drawn symbols
        only (``DRAWN_ONLY``) on other images, the weights of outlier families it did not train on
        (as ``outlier_weights:NAME``); in ``idk info --json`` and ``/api/info`` beside the settings."""
        unused = [k for k in DRAWN_ONLY if not self.input_spec.drawn]
        if self.outlier_families is not None:
            unused += [
                f"outlier_weights:{n}" for n, _ in self.train_config.outlier_weights if n not in self.outlier_families
            ]
        return unused


DRAWN_ONLY = ("degrade", "printed", "variants")  # TrainConfig shares that apply to drawn symbols only


def members_state(state: dict[str, Tensor], members: list[int]) -> dict[str, Tensor]:
    """A mixture's weights ``state`` cut to ``members`` (their indices, in order): a mixture's of
    them, numbered from 0 (its temperature kept), or where one is left, that member's as a single
    BNN's."""
    if len(members) == 1:
        prefix = f"members.{members[0]}."
        return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    cut = {k: v for k, v in state.items() if not k.startswith("members.")}
    for new, old in enumerate(members):
        prefix = f"members.{old}."
        cut |= {f"members.{new}.{k[len(prefix) :]}": v for k, v in state.items() if k.startswith(prefix)}
    return cut


def _known_part(path: str, part: str, name: Any, known: dict[str, Any], home: str) -> None:
    """CheckpointError where a checkpoint's ``part`` (architecture, prior, guide, score) ``name`` is
    not among the ``known`` ones: one of the user's own, registered in ``home`` by a plugin not loaded."""
    if isinstance(name, str) and name and name not in known:
        raise CheckpointError(
            f"{path}: its {part} {name!r} is not one this idk knows ({', '.join(known)}); "
            f"{'an' if part[0] in 'aeiou' else 'a'} {part} of your own must be added to {home} before the "
            "model is loaded (IDK_PLUGINS, for the idk commands)"
        )


def save(ckpt: Checkpoint, path: str | os.PathLike) -> None:
    """Write ``ckpt`` device-free (every tensor on the CPU), whatever device it was trained on, with
    the digest of its tensors (:func:`~idk.training.checkpoint_file.write_file`). Nothing is written
    that could not be read back: the description is checked as :func:`read` checks it first (a
    :class:`CheckpointError` leaves the file at ``path`` as it was)."""
    d = ckpt.to_dict()
    Checkpoint.from_dict(d, f"{path} (not written)")
    write_file(d, path)
    ckpt.format_version = FORMAT_VERSION  # the file is in this idk's format now (idk info says so)


def read(path: str | os.PathLike) -> Checkpoint:
    """Load and validate a checkpoint (no model built). Raises :class:`CheckpointError`."""
    return Checkpoint.from_dict(read_file(path), str(path))


def load(path: str | os.PathLike, device: torch.device | str | None = None) -> tuple[Model, Checkpoint]:
    """Load a checkpoint: the model, ready for prediction on ``device`` (None: the CPU), and the checkpoint."""
    ckpt = read(path)
    return ckpt.build(path=str(path), device=device), ckpt
