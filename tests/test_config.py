"""Presets: which model and training each data set gets."""

from __future__ import annotations


def test_each_data_set_gets_its_chosen_preset_unless_one_is_named():
    from idk.training.config import DATA_PRESETS, DEFAULT_PRESET, PRESETS, preset_for

    assert preset_for(None) == preset_for("mnist") == preset_for("my/folder") == DEFAULT_PRESET
    for data, name in DATA_PRESETS.items():
        assert preset_for(data) == name and name in PRESETS
    assert preset_for("fashion-mnist", "tutorial") == "tutorial"
