"""``idk info``'s text: indented ``key: value`` lines, never Python's reprs."""

from idk.apps.info import format_info


def test_info_text_indents_mappings_and_spells_out_values():
    info = {
        "finished": True,
        "classes": ["cat", "dog"],
        "architecture": {"arch": "cnn", "channels": (32, 64)},
        "members": [{"epochs": 12, "final_loss": 1.72821234}, {"epochs": 3, "final_loss": None}],
        "train_config": {"outlier_weights": [("glyphs", 3.0)], "drop_outliers": [], "rendered": {}},
        "warnings": ["the threshold is set on only 45 validation images"],
    }
    assert format_info(info).splitlines() == [
        "finished: yes",
        "classes: cat, dog",
        "architecture:",
        "  arch: cnn",
        "  channels: 32, 64",
        "members:",
        "  1: epochs 12, final_loss 1.72821",
        "  2: epochs 3, final_loss none",
        "train_config:",
        "  outlier_weights: glyphs=3",
        "  drop_outliers: none",
        "  rendered: none",
        "warnings:",
        "  - the threshold is set on only 45 validation images",
    ]
