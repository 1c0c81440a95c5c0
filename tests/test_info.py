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


def test_info_says_how_the_temperature_was_fitted_and_how_well_it_is_pinned():
    """Today's record (the posterior mean and its spread), an older one (the NLL's minimum, no
    spread recorded), and none (a preset that fits none, or no tuning images)."""
    from idk.apps.info import temperature_in_words

    fit = {"value": 0.4213, "log_sd": 0.329, "nll_at_1": 0.2, "nll": 0.1, "n": 40}
    assert temperature_in_words(fit) == (
        "0.421 (the posterior mean, sd of log T 0.33; on 40 tuning images, their NLL 0.1000 at it and 0.2000 at T = 1)"
    )
    older = {k: v for k, v in fit.items() if k != "log_sd"}
    assert temperature_in_words(older).startswith("0.421 (the NLL's minimum, as idk fitted it before 2026-12-07; on 40")
    assert temperature_in_words({"value": 0.5}) == "0.500 (the NLL's minimum, as idk fitted it before 2026-12-07)"
    assert temperature_in_words(None) == "none (T = 1: not fitted)"
