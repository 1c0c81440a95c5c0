"""IDK_PLUGINS: a score of one's own, added by a plugin file, is offered, trained with, shown,
recalibrated to and evaluated by the commands; a plugin that fails is one line."""

from __future__ import annotations

import sys

import pytest

from helpers import ENERGY_SCORE
from idk.apps.cli import main
from idk.decision.scores import SCORES
from idk.training import checkpoint

PLUGIN = ENERGY_SCORE + '\n\nSCORES["energy"] = Energy\n'


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    path = tmp_path / "my_parts.py"
    path.write_text(PLUGIN)
    monkeypatch.setenv("IDK_PLUGINS", str(path))
    yield path
    SCORES.pop("energy", None)  # the plugin's entry, gone with the test
    for name in [m for m in sys.modules if m.startswith("idk_plugin_my_parts")]:
        del sys.modules[name]


def test_a_plugins_score_is_trained_with_described_and_recalibrated(plugin, tmp_path, data_dir, capsys):
    out = tmp_path / "e.pt"
    tiny = ["--train-subset", "400", "--epochs", "1", "--members", "1", "--no-twin", "--samples", "4", "-q"]
    assert main(["train", "--out", str(out), "--score", "energy", "--data-dir", str(data_dir), *tiny]) == 0
    said = capsys.readouterr()
    assert "rule: refuse when u = −log Σ_c exp(z̄_c)" in said.out
    assert f"{out}: names score 'energy' of a plugin's: every command that loads it needs IDK_PLUGINS" in said.err
    assert main(["info", str(out)]) == 0
    assert "rule: refuse when u = −log Σ_c exp(z̄_c)" in capsys.readouterr().out
    assert main(["calibrate", "--model", str(out), "--target-refusal", "0.1", "--score", "energy", "-q"]) == 0
    report = tmp_path / "r.json"
    args = ["evaluate", "--model", str(out), "--noise", "50", "--json", str(report), "--data-dir", str(data_dir)]
    assert main([*args, "-q"]) == 0
    import json

    histogram = next(iter(json.loads(report.read_text())["datasets"].values()))["score_histogram"]
    assert histogram["edges"][0] == -60.0  # the plugin's own range
    SCORES.pop("energy")
    capsys.readouterr()
    # without the plugin, the model that names it is refused by name
    with pytest.MonkeyPatch.context() as env:
        env.delenv("IDK_PLUGINS")
        assert main(["info", str(out)]) == 2
    said = capsys.readouterr().err
    assert "its score 'energy' is not one this idk knows" in said and "IDK_PLUGINS" in said


def test_plugins_of_one_file_name_are_each_imported_and_may_not_replace_a_built_in(tmp_path, monkeypatch, capsys):
    """Two files named parts.py in two folders are two plugins; a plugin's helper beside it is found;
    a plugin that replaces a built-in score is refused (every model naming it would change), one
    that replaces a part of one's own registered before is not."""
    for folder, score in (("a", "score-a"), ("b", "score-b")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"helper_{folder}.py").write_text("from idk.decision.scores import MaxProbability\n")
        (tmp_path / folder / "parts.py").write_text(
            f"from helper_{folder} import MaxProbability\nfrom idk.decision.scores import SCORES\n"
            f"SCORES[{score!r}] = type('S', (MaxProbability,), {{'name': {score!r}}})\n"
        )
    monkeypatch.setenv("IDK_PLUGINS", f"{tmp_path / 'a' / 'parts.py'}, {tmp_path / 'b' / 'parts.py'}")
    saved = SCORES["entropy"]
    try:
        assert main(["info", str(tmp_path / "none.pt")]) == 2  # the plugins load, then no such model
        assert "score-a" in SCORES and "score-b" in SCORES
        capsys.readouterr()
        rogue = tmp_path / "rogue.py"
        rogue.write_text("from idk.decision.scores import SCORES\nSCORES['entropy'] = SCORES['max-prob']\n")
        monkeypatch.setenv("IDK_PLUGINS", str(rogue))
        assert main(["info", str(tmp_path / "none.pt")]) == 2
        assert "IDK_PLUGINS: a plugin replaced the built-in score 'entropy'" in capsys.readouterr().err
        again = tmp_path / "again.py"  # a part of one's own registered before (the file imported from Python too)
        again.write_text("from idk.decision.scores import SCORES, MaxProbability\nSCORES['score-a'] = MaxProbability\n")
        monkeypatch.setenv("IDK_PLUGINS", str(again))
        assert main(["info", str(tmp_path / "none.pt")]) == 2
        assert "replaced" not in capsys.readouterr().err  # it is one's own to replace: only idk's are kept
        from idk.training.config import PRESETS

        PRESETS["mine"] = PRESETS["tutorial"]  # a preset of one's own (an instance of idk's class) is one's too
        mine = tmp_path / "mine.py"
        mine.write_text("from idk.training.config import PRESETS\nPRESETS['mine'] = PRESETS['cnn']\n")
        monkeypatch.setenv("IDK_PLUGINS", str(mine))
        assert main(["info", str(tmp_path / "none.pt")]) == 2
        assert "replaced" not in capsys.readouterr().err
        cnn = tmp_path / "cnn.py"
        cnn.write_text("from idk.training.config import PRESETS\nPRESETS['cnn'] = PRESETS['tutorial']\n")
        monkeypatch.setenv("IDK_PLUGINS", str(cnn))
        saved_cnn = PRESETS["cnn"]
        assert main(["info", str(tmp_path / "none.pt")]) == 2
        PRESETS["cnn"] = saved_cnn
        assert "a plugin replaced the built-in preset 'cnn'" in capsys.readouterr().err
    finally:
        SCORES["entropy"] = saved
        for name in ("score-a", "score-b"):
            SCORES.pop(name, None)
        from idk.training.config import PRESETS

        PRESETS.pop("mine", None)


def test_a_plugin_that_cannot_be_imported_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IDK_PLUGINS", "no_such_module_of_mine")
    assert main(["info", str(tmp_path / "m.pt")]) == 2
    assert capsys.readouterr().err.strip() == (
        "idk: error: IDK_PLUGINS: cannot import 'no_such_module_of_mine' "
        "(ModuleNotFoundError: No module named 'no_such_module_of_mine')"
    )
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('my bug')\n")
    monkeypatch.setenv("IDK_PLUGINS", str(broken))
    assert main(["info", str(tmp_path / "m.pt")]) == 2
    assert f"IDK_PLUGINS: cannot import '{broken}' (RuntimeError: my bug)" in capsys.readouterr().err


NETWORK_PLUGIN = """
from dataclasses import replace

from torch import nn

from idk.nn.networks import ARCHITECTURES, NetConfig
from idk.training.config import PRESETS


def two_hidden(layers, input_shape, num_classes):
    c, h, w = input_shape
    k = layers.cfg.hidden
    return [nn.Flatten(), layers.linear(c * h * w, k), nn.ReLU(), layers.linear(k, k), nn.ReLU(), layers.linear(k, num_classes)]


ARCHITECTURES["mlp2"] = (two_hidden, ("hidden",))
tutorial = PRESETS["tutorial"]
PRESETS["my-net"] = replace(tutorial, model=replace(tutorial.model, net=NetConfig(arch="mlp2", hidden=16)))
"""


def test_a_plugins_network_is_trained_by_its_preset_and_refused_by_name_without_it(
    tmp_path, monkeypatch, data_dir, capsys
):
    """An architecture of one's own, chosen by the preset a plugin adds (`--preset my-net`) or by
    `--arch` with another preset: trained, recorded under the preset's own name (made from the
    tutorial's), and a model naming it is refused by name where the plugin is not given."""
    from idk.nn.networks import ARCHITECTURES
    from idk.training.config import PRESETS

    path = tmp_path / "my_net.py"
    path.write_text(NETWORK_PLUGIN)
    monkeypatch.setenv("IDK_PLUGINS", str(path))
    out = tmp_path / "n.pt"
    tiny = ["--train-subset", "300", "--epochs", "1", "--members", "1", "--no-twin", "--samples", "4", "-q"]
    try:
        assert main(["train", "--out", str(out), "--preset", "my-net", "--data-dir", str(data_dir), *tiny]) == 0
        capsys.readouterr()
        assert main(["info", str(out), "--json"]) == 0
        import json

        info = json.loads(capsys.readouterr().out)
        assert info["architecture"] == {"arch": "mlp2", "hidden": 16} and info["preset"] == "my-net"
        assert main(["train", "--out", str(tmp_path / "x.pt"), "--preset", "my-nett", *tiny]) == 2
        assert "unknown preset 'my-nett'; valid: tutorial, cnn" in capsys.readouterr().err
        # --arch names it with another preset's settings (the tutorial's hidden units), no preset of its own
        arch = tmp_path / "a.pt"
        assert main(["train", "--out", str(arch), "--preset", "tutorial", "--arch", "mlp2", *tiny]) == 0
        assert checkpoint.read(arch).model_config.net.arch == "mlp2"
        assert "not a setting" not in capsys.readouterr().err  # --arch is no setting of a network
        assert main(["train", "--out", str(arch), "--arch", "mlp3", "--overwrite", *tiny]) == 2
        assert "--arch 'mlp3': give one of mlp, cnn, mlp2" in capsys.readouterr().err
    finally:
        ARCHITECTURES.pop("mlp2", None)
        PRESETS.pop("my-net", None)
        for name in [m for m in sys.modules if m.startswith("idk_plugin_my_net")]:
            del sys.modules[name]
    monkeypatch.delenv("IDK_PLUGINS")
    assert main(["info", str(out)]) == 2
    assert "its architecture 'mlp2' is not one this idk knows (mlp, cnn)" in capsys.readouterr().err
