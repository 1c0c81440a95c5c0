import pickle

import pytest
import torch

from idk.errors import CheckpointError
from idk.nn.bnn import BNN, ModelConfig
from idk.nn.networks import NetConfig
from idk.training import checkpoint as ckpt_io

CFG = ModelConfig(net=NetConfig(arch="mlp", hidden=16))


@pytest.fixture
def saved(tmp_path):
    model = BNN(CFG, 100)
    path = tmp_path / "m.pt"
    ckpt = ckpt_io.make_checkpoint(
        model,
        rule={"name": "percentile", "percentile": 50.0, "threshold": 0.2},
        classes=list("0123456789"),
        preset="test",
    )
    ckpt_io.atomic_save(ckpt, path)
    return model, path


def test_roundtrip_describes_itself(saved):
    model, path = saved
    loaded, ckpt = ckpt_io.load(path)
    assert ckpt["kind"] == "BNN" and ckpt["model_config"]["net"]["hidden"] == 16
    for k, v in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[k], v)
    info = ckpt_io.describe(ckpt)
    assert info["class"] == "BNN" and info["versions"]["torch"] == str(torch.__version__)
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]  # no temporary files left


def test_corrupted_file(saved):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupted or not a checkpoint"):
        ckpt_io.load(path)
    path.write_text("hello")
    with pytest.raises(CheckpointError, match=str(path)):
        ckpt_io.load(path)


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
    ckpt["model_config"]["net"]["hidden"] = 32
    torch.save(ckpt, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="do not fit the described architecture"):
        ckpt_io.load(tmp_path / "other.pt")
    ckpt["model_config"]["net"]["arch"] = "transformer"
    torch.save(ckpt, tmp_path / "arch.pt")
    with pytest.raises(CheckpointError, match="not understood"):
        ckpt_io.load(tmp_path / "arch.pt")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        ckpt_io.load(tmp_path / "missing.pt")
