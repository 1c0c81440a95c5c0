"""IDK_PLUGINS: a score of one's own, added by a plugin file, is offered, trained with, shown,
recalibrated to and evaluated by the commands; a plugin that fails is one line."""

from __future__ import annotations

import sys

import pytest

from helpers import ENERGY_SCORE
from idk.apps.cli import main
from idk.decision.scores import SCORES

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
    assert "rule: refuse when u = −log Σ_c exp(z̄_c)" in capsys.readouterr().out
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
    assert "unknown score 'energy'" in capsys.readouterr().err


def test_plugins_of_one_file_name_are_each_imported_and_may_not_replace_a_built_in(tmp_path, monkeypatch, capsys):
    """Two files named parts.py in two folders are two plugins; a plugin's helper beside it is found;
    a plugin that replaces a built-in score is refused (every model naming it would change)."""
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
    finally:
        SCORES["entropy"] = saved
        for name in ("score-a", "score-b"):
            SCORES.pop(name, None)


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
