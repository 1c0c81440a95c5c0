"""Presets: which model and training each data set gets."""

from __future__ import annotations

from dataclasses import replace


def test_each_data_set_gets_its_chosen_preset_unless_one_is_named():
    from idk.training.config import DATA_PRESETS, DEFAULT_PRESET, PRESETS, preset_for

    assert preset_for(None) == preset_for("mnist") == preset_for("my/folder") == DEFAULT_PRESET
    for data, name in DATA_PRESETS.items():
        assert preset_for(data) == name and name in PRESETS
    assert preset_for("fashion-mnist", "tutorial") == "tutorial"
    fonts, cnn = PRESETS[preset_for("notmnist-10k")], PRESETS[DEFAULT_PRESET]  # letters: no printed class names
    assert fonts.train.printed == 0.0 and fonts.train.outlier_weights == () and fonts.rule == cnn.rule
    assert fonts.model.members == 2 and replace(fonts.model, members=cnn.model.members) == cnn.model  # as chosen


def test_no_augment_turns_off_degradation_too_unless_it_is_given():
    from dataclasses import replace

    from idk.training.config import PRESETS
    from idk.training.train import TrainOptions, configure

    preset = replace(PRESETS["cnn"], train=replace(PRESETS["cnn"].train, degrade=0.5))
    assert configure(preset, TrainOptions()).train.degrade == 0.5
    off = configure(preset, TrainOptions(augment=False)).train
    assert off.augment is False and off.degrade == 0.0
    assert configure(preset, TrainOptions(augment=False, degrade=0.3)).train.degrade == 0.3
    assert PRESETS["cnn"].train.printed == 0.05 and off.printed == 0.0  # printed class names are augmentation
    assert configure(preset, TrainOptions(augment=False, printed=0.1)).train.printed == 0.1
    assert off.variants == 0.0  # and so are written variants
    assert configure(preset, TrainOptions(augment=False, variants=0.2)).train.variants == 0.2
