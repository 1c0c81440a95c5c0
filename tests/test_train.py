"""What ``train`` says of itself while it runs."""

from __future__ import annotations

from idk.training.train import PACE_NOTE_AFTER, pace_note


def test_a_long_run_is_foretold_at_the_first_epochs_pace_and_a_short_one_is_not():
    """A small set of large photos trained for half an hour without a word of how long: after the
    first epoch, the Bayesian epochs left at its pace, and what shortens them."""
    assert pace_note(6.6, 67, 200) == (
        "at 6.6 s an epoch, the 200 Bayesian epochs left take about 22 min 00 s, then the deterministic "
        "twin's 67 (a smaller --image-size, fewer --epochs or --members shorten it)"
    )
    assert pace_note(30.0, 0, 11).startswith("at 30.0 s an epoch, the 11 Bayesian epochs left take about 5 min 30 s (")
    assert pace_note(1.0, 12, 35) is None and 35 * 1.0 < PACE_NOTE_AFTER  # under two minutes: nothing said
