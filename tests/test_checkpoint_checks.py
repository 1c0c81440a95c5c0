"""What a stored checkpoint's parts must be: each check on its own (the files themselves: test_checkpoint)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from idk.training.checkpoint_checks import check_histories, check_history, check_stored_parts, is_weights

EPOCH = {"epoch": 1, "loss": 2.5, "seconds": 1.0, "images_per_s": 10.0, "processes": 1}


@pytest.mark.parametrize(
    "history",
    [
        [],
        [EPOCH],
        [EPOCH | {"held_out_accuracy": 0.9, "held_out_nll": math.inf}],  # a diverged NLL is a number
        [EPOCH | {"loss": math.nan}],  # a diverged epoch's loss: still a number, said as such
        [EPOCH | {"held_out_accuracy": None}],
        [EPOCH | {"loss": np.float64(1.0), "epoch": np.int64(2)}],
        [EPOCH | {"note": "a figure a later idk records"}],  # unknown keys are left alone
    ],
)
def test_histories_of_numbers_are_taken(history):
    check_history(history, "history")


@pytest.mark.parametrize(
    "history",
    [
        None,
        {"epoch": 1, "loss": 1.0},
        [{"epoch": 1}],
        [EPOCH | {"loss": "2.5"}],
        [EPOCH | {"loss": True}],
        [EPOCH | {"seconds": "1 s"}],
        [EPOCH | {"held_out_nll": [0.1]}],
        ["loss 2.5"],
    ],
)
def test_a_history_that_is_not_numbers_is_named(history):
    with pytest.raises(TypeError, match="twin_history is not a list of epochs with their loss and figures"):
        check_history(history, "twin_history")


def test_each_members_training_state_is_checked():
    good = {"history": [EPOCH], "twin_history": [EPOCH], "training_state": {"model": {"epoch": 1, "history": [EPOCH]}}}
    check_histories(good)
    check_histories({"training_state": {"model.1": {}, "twin": {}}})  # a part not yet begun
    with pytest.raises(TypeError, match=r"training_state\['model.1'\]'s history"):
        check_histories(good | {"training_state": {"model.1": {"epoch": 1, "history": [{"loss": None}]}}})
    with pytest.raises(TypeError, match=r"training_state\['twin'\]'s epoch"):
        check_histories(good | {"training_state": {"twin": {"epoch": -1}}})
    for states in ({"model": [1, 2]}, {"twin": None}):  # a resumed run makes its FitState of each
        with pytest.raises(TypeError, match="training_state is not a mapping"):
            check_histories(good | {"training_state": states})
    with pytest.raises(TypeError, match=r"training_state\['model'\] holds what no training state does: momentum"):
        check_histories(good | {"training_state": {"model": {"epoch": 1, "momentum": 0.9}}})


def test_the_training_state_keys_are_fit_states_fields():
    import dataclasses

    from idk.training.checkpoint_checks import FIT_STATE
    from idk.training.fitting import FitState

    assert FIT_STATE == tuple(f.name for f in dataclasses.fields(FitState)) == tuple(FitState().as_dict())


def test_weights_flags_and_the_score_choice():
    weights = {"w": torch.zeros(2)}
    assert is_weights(weights) and not is_weights({"w": [0.0]}) and not is_weights({1: torch.zeros(1)})
    stored = {"state_dict": weights, "twin_state_dict": None, "processes": 2, "flat_seen": False}
    check_stored_parts(stored | {"training_digests": torch.zeros(3, dtype=torch.int64)})
    check_stored_parts(stored)
    for change, message in (
        ({"twin_state_dict": {"w": "x"}}, "twin_state_dict is not a mapping"),
        ({"processes": 0}, "processes is not a whole number"),
        ({"validation_by_class": "yes"}, "validation_by_class is not true or false"),
        ({"score_selection": {"chosen": "entropy", "criterion": 3}}, "score_selection does not name"),
        ({"training_digests": torch.zeros(3)}, "training_digests is not a list of 64-bit image digests"),
        ({"training_digests": [1, 2]}, "training_digests is not"),
    ):
        with pytest.raises(TypeError, match=message):
            check_stored_parts(stored | change)
