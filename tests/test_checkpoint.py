import os
import pickle
import re
from dataclasses import replace

import numpy as np
import pytest
import torch

from helpers import MNIST_SPEC, for_mnist
from idk.apps.info import described_in_words
from idk.data.catalog import DataRecord
from idk.decision.config import RuleConfig
from idk.errors import CheckpointError
from idk.nn.bnn import BNN, ModelConfig
from idk.nn.networks import NetConfig
from idk.training import checkpoint as ckpt_io
from idk.training.checkpoint import Checkpoint
from idk.training.config import TrainConfig, train_config_from_dict

CFG = for_mnist(ModelConfig(net=NetConfig(arch="mlp", hidden=16)))


def make(model: BNN, **fields) -> Checkpoint:
    return Checkpoint(
        kind="BNN",
        model_config=model.cfg,
        state_dict=model.state_dict(),
        classes=tuple("0123456789"),
        input_spec=MNIST_SPEC,
        rule={"name": "percentile", "percentile": 50.0, "threshold": 0.2},
        rule_config=RuleConfig(),
        train_config=TrainConfig(),
        data=DataRecord("mnist"),
        preset="test",
        **fields,
    )


@pytest.fixture
def saved(tmp_path):
    model = BNN(CFG, 100)
    path = tmp_path / "m.pt"
    ckpt_io.save(make(model), path)
    return model, path


def test_roundtrip_describes_itself(saved):
    model, path = saved
    loaded, ckpt = ckpt_io.load(path)
    assert ckpt.kind == "BNN" and ckpt.model_config.net.hidden == 16 and ckpt.model_config == CFG
    assert ckpt.classes == tuple("0123456789") and ckpt.input_spec == MNIST_SPEC
    for k, v in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[k], v)
    info = ckpt.describe()
    assert info["class"] == "BNN" and info["versions"]["torch"] == str(torch.__version__)
    assert {"matplotlib", "pillow", "pymupdf-fonts"} <= set(info["versions"])  # the fonts training draws in
    assert info["finished"] is False and info["calibrated"] is False  # never trained, never calibrated
    assert info["input"]["height"] == 28 and info["classes"][3] == "3"
    assert info["architecture"] == {"arch": "mlp", "hidden": 16}  # none of the CNN's settings
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]  # no temporary files left


def test_a_checkpoint_that_could_not_be_read_back_is_not_written(saved):
    """save checks the description as load does, before it writes: the file there stays as it was."""
    model, path = saved
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match=r"m\.pt \(not written\): checkpoint description not understood"):
        ckpt_io.save(replace(make(model), rule={"name": "score", "score": "", "threshold": 0.3}), path)
    assert path.read_bytes() == before


def test_numpy_numbers_are_written_as_pythons_and_other_objects_are_not_written(saved):
    """A fitted score of one's own whose constants are NumPy numbers (np.quantile's) is saved with
    Python's (a np.float64 would make a file weights_only refuses: the model lost); an array or an
    object is refused by its place, the file left as it was."""
    model, path = saved
    rule = {"name": "percentile", "percentile": np.float64(50.0), "threshold": np.float32(0.25)}
    ckpt_io.save(replace(make(model), rule=rule), path)
    ckpt = ckpt_io.read(path)
    assert ckpt.rule["threshold"] == 0.25 and type(ckpt.rule["percentile"]) is float
    before = path.read_bytes()
    for bad, kind in (
        (np.zeros(2), "numpy.ndarray"),
        (object(), "builtins.object"),
        (np.datetime64(1, "D"), "numpy.datetime64"),
    ):
        with pytest.raises(CheckpointError, match=rf"m\.pt \(not written\): rule\.extra\[1\] is a {kind}; "):
            ckpt_io.save(replace(make(model), rule={**rule, "extra": [1, bad]}), path)
    with pytest.raises(CheckpointError, match=r"rule\.extra\.<object object at .*> \(a key\) is a builtins\.object"):
        ckpt_io.save(replace(make(model), rule={**rule, "extra": {object(): 1}}), path)
    assert path.read_bytes() == before
    from collections import Counter, defaultdict

    mappings = {np.int64(3): np.float64(0.25), "n": Counter(a=2), "d": defaultdict(int, b=np.bool_(True))}
    ckpt_io.save(replace(make(model), rule={**rule, "extra": mappings}), path)  # keys, Counter, defaultdict
    assert ckpt_io.read(path).rule["extra"] == {3: 0.25, "n": {"a": 2}, "d": {"b": True}}


def test_a_checkpoint_gets_the_mode_a_file_created_there_would(tmp_path):
    """Not mkstemp's 0600: 0666 less the umask, as `torch.save` to the path would give it."""
    old = os.umask(0o002)
    try:
        ckpt_io.save(make(BNN(CFG, 100)), tmp_path / "m.pt")
    finally:
        os.umask(old)
    assert (tmp_path / "m.pt").stat().st_mode & 0o777 == 0o664


def test_empty_file_and_directory_are_clear_errors(tmp_path):
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty file"):
        ckpt_io.load(tmp_path / "empty.pt")
    with pytest.raises(CheckpointError, match="is a directory"):
        ckpt_io.load(tmp_path)


def test_classes_that_disagree_with_the_network_are_refused(saved, tmp_path):
    _, path = saved
    d = torch.load(path, weights_only=True)
    d["classes"] = ["a", "b", "c"]
    torch.save(d, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="disagree"):
        ckpt_io.load(tmp_path / "bad.pt")


def test_corrupted_file(saved, tmp_path):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"m.pt: truncated \(its end is missing: a copy or a save cut short\)"):
        ckpt_io.load(path)
    path.write_bytes(b"PK\x03\x04" + data[4 : len(data) // 2] + data[-2000:])  # a zip's end on a broken body
    with pytest.raises(CheckpointError, match="corrupted or not a checkpoint|truncated") as err:
        ckpt_io.load(path)
    assert str(err.value).endswith(")") or "truncated" in str(err.value)
    np.savez(tmp_path / "images.npz", images=np.zeros((2, 4, 4)))  # a zip, but numpy's: torch's words were internal
    with pytest.raises(CheckpointError, match=r"images.npz: not an idk checkpoint: a NumPy .npz \(images are data"):
        ckpt_io.load(tmp_path / "images.npz")
    path.write_text("hello")  # a text file, an image...: said so, not "refused to unpickle it: KeyError"
    with pytest.raises(CheckpointError, match=r"not an idk checkpoint \(not a file torch.save writes: b'hell'…\)"):
        ckpt_io.load(path)


def test_weights_damaged_on_disk_are_refused_by_name(saved, tmp_path):
    """Bytes of a weight overwritten in place (the zip still reads): the stored SHA-256 of the tensors
    refuses the file, where it loaded and answered "I don't know" to everything with NaN weights; a
    file written before the digest is refused for its NaN weights."""
    from idk.training.checkpoint_file import DIGEST_KEY

    _, path = saved
    data = bytearray(path.read_bytes())
    d = torch.load(path, weights_only=True)
    name, weight = max(d["state_dict"].items(), key=lambda kv: kv[1].numel())
    raw = weight.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    start = bytes(data).index(raw[:4096])  # the tensor's bytes as stored (uncompressed) in the zip
    data[start + 64 : start + 64 + 400] = b"\xff" * 400
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"damaged.pt: damaged: its weights are not those it was saved with"):
        ckpt_io.load(damaged)
    older = torch.load(damaged, weights_only=True)  # as a file written before the digest
    del older[DIGEST_KEY]
    torch.save(older, tmp_path / "older.pt")
    with pytest.raises(
        CheckpointError,
        match=rf"older.pt: state_dict.{re.escape(name)} holds NaN or infinite values \(damaged, or its training diverged\)",
    ):
        ckpt_io.load(tmp_path / "older.pt")
    del d[DIGEST_KEY]
    torch.save(d, tmp_path / "intact-older.pt")  # an older file, intact: read as before
    ckpt_io.load(tmp_path / "intact-older.pt")


def test_a_long_load_error_is_cut_at_a_word(saved, monkeypatch):
    _, path = saved
    words = "the archive's central directory could not be read, " * 5  # a first line of 260 characters

    def fail(*args, **kwargs):
        raise RuntimeError(words + "\nsecond line")

    monkeypatch.setattr(torch, "load", fail)
    with pytest.raises(CheckpointError) as err:
        ckpt_io.load(path)
    reason = str(err.value).split("corrupted or not a checkpoint (", 1)[1]
    assert reason.endswith(" …)") and len(reason) <= 124 and words.startswith(reason[:-3])  # whole words
    assert "second line" not in reason


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_foreign_pickle_is_refused_without_running_it(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"x": Evil()}, path)
    with pytest.raises(CheckpointError, match="not an idk checkpoint"):
        ckpt_io.load(path)
    assert "pwned" not in capsys.readouterr().out
    path.write_bytes(pickle.dumps({"format": "idk-checkpoint"}))
    with pytest.raises(CheckpointError):
        ckpt_io.load(path)
    torch.save({"some": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="no 'idk-checkpoint' header"):
        ckpt_io.load(path)


def test_newer_format_and_mismatched_architecture(saved, tmp_path):
    _, path = saved
    ckpt = torch.load(path, weights_only=True)
    ckpt["format_version"] = 99
    torch.save(ckpt, tmp_path / "new.pt")
    with pytest.raises(CheckpointError, match="newer than this idk reads"):
        ckpt_io.load(tmp_path / "new.pt")
    ckpt["format_version"] = 1
    torch.save(ckpt, tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match="older idk"):
        ckpt_io.load(tmp_path / "old.pt")
    ckpt["format_version"] = 2  # before validation_by_class: read, its split drawn over all images
    del ckpt["validation_by_class"]
    torch.save(ckpt, tmp_path / "v2.pt")
    v2 = ckpt_io.read(tmp_path / "v2.pt")
    assert not v2.validation_by_class and v2.describe()["format"] == "idk-checkpoint v2"  # as read, not this idk's
    ckpt_io.save(v2, tmp_path / "again.pt")  # written again: in this idk's format
    assert torch.load(tmp_path / "again.pt", weights_only=True)["format_version"] == ckpt_io.FORMAT_VERSION
    assert v2.describe()["format"] == f"idk-checkpoint v{ckpt_io.FORMAT_VERSION}"  # and says so
    ckpt["format_version"] = 3  # before the guide's name: read, the guide the one there was
    del ckpt["model_config"]["guide"]
    torch.save(ckpt, tmp_path / "v3.pt")
    assert ckpt_io.read(tmp_path / "v3.pt").model_config.guide == "mean-field-normal"
    assert not ckpt_io.read(path).input_spec.luminance_grey  # this idk's: grey files read exactly
    ckpt["format_version"] = 4  # before exact grey: its grey files read through the colour-to-grey product
    del ckpt["input_spec"]["luminance_grey"]
    torch.save(ckpt, tmp_path / "v4.pt")
    assert ckpt_io.read(tmp_path / "v4.pt").input_spec.luminance_grey
    for part in ("guide", "prior"):  # a part of the user's own not added here: refused by name, not replaced
        saved = ckpt["model_config"][part] if part in ckpt["model_config"] else None
        ckpt["model_config"][part] = "mine"
        torch.save(ckpt, tmp_path / "mine.pt")
        with pytest.raises(CheckpointError, match=rf"its {part} 'mine' is not one this idk knows .*idk\.nn\.{part}s"):
            ckpt_io.load(tmp_path / "mine.pt")
        if saved is None:
            del ckpt["model_config"][part]
        else:
            ckpt["model_config"][part] = saved
    rule = ckpt["rule"]
    ckpt["rule"] = {"name": "score", "score": "mine", "threshold": 0.1}  # a score of one's own, its plugin not loaded
    torch.save(ckpt, tmp_path / "mine.pt")
    with pytest.raises(
        CheckpointError,
        match=r"its score 'mine' is not one this idk knows .*idk\.decision\.scores\.SCORES.*IDK_PLUGINS",
    ):
        ckpt_io.read(tmp_path / "mine.pt")
    ckpt["rule"] = rule
    ckpt["model_config"]["net"]["hidden"] = 32
    torch.save(ckpt, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="do not fit the described architecture"):
        ckpt_io.load(tmp_path / "other.pt")
    ckpt["model_config"]["net"]["arch"] = "transformer"
    torch.save(ckpt, tmp_path / "arch.pt")
    known = r"its architecture 'transformer' is not one this idk knows \(mlp, cnn\); an architecture of your own"
    with pytest.raises(CheckpointError, match=known + r" must be added to idk\.nn\.networks\.ARCHITECTURES"):
        ckpt_io.load(tmp_path / "arch.pt")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        ckpt_io.load(tmp_path / "missing.pt")


def test_degradation_and_dropped_outliers_round_trip_and_are_kept_on_resume(tmp_path):
    from idk.training.resumption import differences
    from idk.training.train import TrainOptions

    model = BNN(CFG, 100)
    tcfg = TrainConfig(
        degrade=0.25,
        drop_outliers=("zoomed", "blobs"),
        printed=0.05,
        outlier_weights=(("glyphs", 3.0),),
        variants=0.3,
    )
    ckpt_io.save(replace(make(model), train_config=tcfg), tmp_path / "m.pt")
    stored = torch.load(tmp_path / "m.pt", weights_only=True)["train_config"]
    assert stored["degrade"] == 0.25 and stored["drop_outliers"] == ["zoomed", "blobs"]  # plain lists on disk
    back = ckpt_io.read(tmp_path / "m.pt")
    assert back.train_config == tcfg and isinstance(back.train_config.drop_outliers, tuple)
    assert stored["printed"] == 0.05 and stored["outlier_weights"] == [["glyphs", 3.0]]
    assert back.train_config.outlier_weights == (("glyphs", 3.0),)
    assert stored["variants"] == 0.3 and back.train_config.variants == 0.3
    del stored["degrade"], stored["drop_outliers"], stored["printed"], stored["outlier_weights"]  # from before these
    del stored["variants"]
    assert train_config_from_dict(stored) == TrainConfig()

    same = TrainOptions(degrade=0.25, drop_outliers=("zoomed", "blobs"))
    assert differences(back, None, same) == []
    other = TrainOptions(degrade=0.5, drop_outliers=(), outlier_weights=())
    assert differences(back, None, other) == [
        "--degrade 0.5 (stored: 0.25)",
        "--drop-outliers (none) (stored: zoomed blobs)",
        "--outlier-weights (none) (stored: glyphs=3)",
    ]
    assert differences(back, None, TrainOptions(outlier_weights=(("glyphs", 3.0),))) == []
    # a run trained with --no-augment --degrade P resumes with the same flags
    assert back.train_config.augment is False
    assert differences(back, None, TrainOptions(augment=False, degrade=0.25)) == []
    assert differences(back, None, TrainOptions(augment=False, degrade=0.25, printed=0.05)) == []
    assert differences(back, None, TrainOptions(augment=False, variants=0.3)) == []
    assert differences(back, None, TrainOptions(variants=0.1)) == ["--variants 0.1 (stored: 0.3)"]
    assert differences(back, None, TrainOptions(augment=False)) == []
    augmented = replace(back, train_config=replace(tcfg, augment=True))
    assert differences(augmented, None, TrainOptions(augment=False)) == ["--no-augment (stored: augment=True)"]
    # --flip / --no-flip: None (the data's own) is stored, and kept unless the other is given
    assert back.train_config.flip is None and "flip" in stored and stored["flip"] is None
    assert differences(back, None, TrainOptions(flip=True)) == ["--flip (stored: neither given: the data set's own)"]
    ckpt_io.save(replace(back, train_config=replace(tcfg, flip=True)), tmp_path / "f.pt")
    assert torch.load(tmp_path / "f.pt", weights_only=True)["train_config"]["flip"] is True
    flipped = ckpt_io.read(tmp_path / "f.pt")
    assert flipped.train_config.flip is True
    assert differences(flipped, None, TrainOptions(flip=True)) == []
    assert differences(flipped, None, TrainOptions(flip=False)) == ["--no-flip (stored: flip=True)"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format_version="2"), "format version '2' is malformed"),
        (lambda d: d.pop("format_version"), "format version None is malformed"),
        (lambda d: d.update(rule=[1, 2]), "not understood"),
        (
            lambda d: d.update(twin_rule={"name": "score", "score": "no-such-score", "threshold": 1.0}),
            "score .no-such-score. is not one this idk knows",
        ),
        (lambda d: d.update(twin_state_dict=[1, 2]), "twin_state_dict is not a mapping"),
        (lambda d: d.update(state_dict={"w": "not a tensor"}), "state_dict is not a mapping"),
        (lambda d: d.update(state_dict=None), "state_dict is not a mapping"),
        (lambda d: d.update(history=[{"epoch": 1}]), "history is not a list of epochs"),
        (lambda d: d.update(twin_history=[{"loss": 1.0, "held_out_accuracy": "99%"}]), "twin_history is not a list"),
        (lambda d: d.update(training_state={"model.1": {"history": [{"loss": True}]}}), r"\['model.1'\]'s history"),
        (lambda d: d.update(training_state={"twin": {"epoch": "3"}}), r"\['twin'\]'s epoch is not a whole number"),
        (lambda d: d.update(training_state=[1]), "training_state is not a mapping"),
        (lambda d: d.update(score_selection={"chosen": "entropy"}), "score_selection does not name"),
        (lambda d: d.update(score_selection="entropy"), "score_selection does not name"),
    ],
    ids=[
        "version-text",
        "version-missing",
        "rule-list",
        "twin-rule",
        "twin-weights-list",
        "weights-text",
        "no-weights",
        "history",
        "twin-history-figure",
        "member-history-loss",
        "twin-epoch-text",
        "training-state-list",
        "selection-without-why",
        "selection-text",
    ],
)
def test_malformed_checkpoints_are_refused_on_load_with_a_reason(saved, tmp_path, change, message):
    _, path = saved
    from idk.training.checkpoint_file import DIGEST_KEY

    stored = torch.load(path, weights_only=True)
    stored.pop(DIGEST_KEY)  # written without it (by hand, or by an idk before it): its own checks judge
    change(stored)
    torch.save(stored, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=message):
        ckpt_io.read(tmp_path / "bad.pt")


def test_a_calibration_without_its_confidence_is_still_described(saved, tmp_path):
    _, path = saved
    stored = torch.load(path, weights_only=True)
    stored["rule"]["calibration"] = {"method": "guaranteed risk", "target_error": 0.01, "n": 100, "bound": 0.009}
    torch.save(stored, tmp_path / "old-calibration.pt")
    assert "error ≤ 0.01 at 95% confidence" in described_in_words(ckpt_io.read(tmp_path / "old-calibration.pt"))["rule"]


def test_info_says_a_validation_cap_the_data_did_not_reach():
    """A 360-image folder's settings showed val_size 10000 as if 10,000 images were held out."""
    capped = replace(make(BNN(CFG, 100)), train_config=replace(TrainConfig(), val_size=10000))
    shown = described_in_words(replace(capped, validation_size=57))["train_config"]["val_size"]
    assert shown == "10000 at most (a fifth of the images: 57 held out)"
    assert described_in_words(replace(capped, validation_size=10000))["train_config"]["val_size"] == 10000


def test_info_says_the_processes_of_each_session_that_trained_it():
    """A torchrun run of 2 processes resumed by one process said `processes: 1`."""
    model = BNN(CFG, 100)

    def epochs(*counts: int | None) -> list[dict]:
        return [{"epoch": e, "loss": 1.0, **({"processes": k} if k else {})} for e, k in enumerate(counts, 1)]

    def run(*counts: int | None, last: int | None) -> Checkpoint:
        return replace(make(model), history=epochs(*counts), processes=last)

    assert described_in_words(run(2, 2, 1, 1, 1, last=1))["processes"] == "2 (epochs 1–2), 1 (epochs 3–5)"
    assert described_in_words(run(1, 4, 1, last=1))["processes"] == "1 (epoch 1), 4 (epoch 2), 1 (epoch 3)"
    assert described_in_words(run(2, 2, last=1))["processes"] == 2  # a last session that trained no epoch
    assert described_in_words(run(None, None, last=3))["processes"] == 3  # epochs from before the record
    assert described_in_words(run(None, 2, last=2))["processes"] == "not recorded (epoch 1), 2 (epoch 2)"
    assert described_in_words(run(2, "two", last=2))["processes"] == "2 (epoch 1), not recorded (epoch 2)"
    assert described_in_words(run(last=None))["processes"] == "not recorded (older checkpoint)"
    # a mixture of two and its twin: stopped in the second member's epoch 2, resumed by one process
    mixture = replace(
        make(model),
        model_config=replace(CFG, members=2),
        history=epochs(2, 2, 2),
        training_state={"model": {"history": epochs(2, 2, 2)}, "model.1": {"history": epochs(2, 1, 1)}},
        twin_history=epochs(1, 1, 1),
        processes=1,
    )
    assert described_in_words(mixture)["processes"] == (
        "2 (bayes 1/2: epochs 1–3; bayes 2/2: epoch 1), 1 (bayes 2/2: epochs 2–3; twin: epochs 1–3)"
    )
    assert mixture.member_losses() == [1.0, 1.0]


def test_progress_names_the_twin_once_the_bayesian_epochs_are_done():
    """Stopped during the twin's epochs, a run said "all 12 epochs; its rule not yet fitted"."""
    history = [{"epoch": e, "loss": 1.0} for e in (1, 2)]
    run = replace(make(BNN(CFG, 100)), train_config=replace(TrainConfig(), epochs=2, twin=True), history=history)
    assert replace(run, training_state={"twin": {"epoch": 1}}).training_progress() == "all 2 epochs; its twin 1 of 2"
    assert (
        replace(run, training_state={"twin": {"epoch": 2}}).training_progress()
        == "all 2 epochs; its rule not yet fitted"
    )
    assert replace(run, history=history[:1]).training_progress() == "1 of 2 epochs"


def test_an_interruption_while_a_checkpoint_is_written_is_raised_as_itself(tmp_path, monkeypatch):
    """Ctrl-C inside torch.save made its zip writer raise "unexpected pos ..." on the way out, which
    idk said as an internal error; now the interruption itself is raised, the file there kept as it
    was and no temporary file left."""
    from idk.training.checkpoint_file import atomic_save

    path = tmp_path / "m.pt"
    atomic_save({"a": torch.zeros(2)}, path)
    before = path.read_bytes()

    def cut_short(obj, f):
        try:
            raise KeyboardInterrupt
        finally:
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 24554240 vs 24554144")

    monkeypatch.setattr(torch, "save", cut_short)
    with pytest.raises(KeyboardInterrupt):
        atomic_save({"a": torch.ones(2)}, path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.pt"]
    monkeypatch.setattr(torch, "save", lambda obj, f: (_ for _ in ()).throw(RuntimeError("disk full")))
    with pytest.raises(RuntimeError, match="disk full"):  # an error of its own stays itself
        atomic_save({"a": torch.ones(2)}, path)
