"""Written variants made from training images: a flag added to a 1, against the geometry it is drawn by."""

from __future__ import annotations

import math

import pytest
import torch

from idk.data import variants
from idk.data.variants import FLAG_ANGLE, FLAG_LENGTH, add_flag, variant_labels, written_variants

TOP, BOTTOM, WIDTH = 4, 23, 3  # a 1 of 20 rows, 3 pixels wide


def stem(lean: int = 0) -> torch.Tensor:
    """An upright 1 (1, 1, 28, 28): columns 13–15 of rows 4–23; ``lean`` shifts each row's stroke by
    ``lean × (row − TOP) / 19`` (rounded): > 0 runs down to the right."""
    image = torch.zeros(1, 1, 28, 28)
    for row in range(TOP, BOTTOM + 1):
        left = 13 + round(lean * (row - TOP) / (BOTTOM - TOP))
        image[0, 0, row, left : left + WIDTH] = 1.0
    return image


def added_ink(before: torch.Tensor, after: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rows, columns and amounts of the ink the flag added."""
    added = (after - before)[0, 0]
    rows, cols = torch.nonzero(added > 0, as_tuple=True)
    return rows.float(), cols.float(), added[rows, cols]


def test_a_flag_runs_down_and_left_from_the_top_of_an_upright_1_at_its_angle_and_length():
    torch.manual_seed(0)
    one = stem()
    for _ in range(50):
        flagged = add_flag(one)
        assert torch.all(flagged >= one) and flagged.max() <= 1.0  # ink is only added, never above the peak
        rows, cols, amount = added_ink(one, flagged)
        x0, y0, pen = 14.0, TOP + 60 / 19 / 2, 60 / 19  # the top's centre; 60 pixels of ink over a 19-pixel stem
        assert rows.min() >= TOP  # never above the 1
        right = cols > 15  # right of the stem: only the round pen's cap at the joint
        assert torch.all(cols[right] <= x0 + pen / 2 + 0.5) and torch.all(rows[right] <= y0 + pen / 2 + 0.5)
        # the added ink's far end: within the flag's length of the top plus the pen
        reach = torch.hypot(cols - x0, rows - y0).max()
        assert reach <= FLAG_LENGTH[1] * 19 + pen / 2 + 0.75
        # its direction: from the top to the ink's far half, within the angles drawn ± 8°
        far = torch.hypot(cols - x0, rows - y0) > reach / 2
        angle = math.degrees(math.atan2(float((rows[far] - y0) @ amount[far]), float((x0 - cols[far]) @ amount[far])))
        assert FLAG_ANGLE[0] - 8 <= angle <= FLAG_ANGLE[1] + 8


def test_a_flag_turns_with_a_stem_that_leans_left_and_never_opens_into_a_lambda():
    torch.manual_seed(1)
    one = stem(lean=8)  # top at column 14, bottom at 22: leans left by atan(8/19) ≈ 23°
    lean = math.degrees(math.atan2(8, 19))
    for _ in range(50):
        rows, cols, amount = added_ink(one, add_flag(one))
        x0, y0 = 14.0, float(TOP)
        angle = math.degrees(math.atan2(float((rows - y0) @ amount), float((x0 - cols) @ amount)))
        assert angle >= FLAG_ANGLE[0] + lean - 10  # steeper than on an upright stem


def test_on_a_stem_leaning_right_the_flag_keeps_its_angle_and_starts_at_the_top():
    torch.manual_seed(3)
    one = stem(lean=-8)  # top at column 14, bottom at 6: leans right, "/"
    for _ in range(50):
        rows, cols, amount = added_ink(one, add_flag(one))
        # at most the round pen's edge a row above the 1's top, where the flag joins a slanted stem
        assert rows.min() >= TOP - 1 and cols.min() >= 14 - FLAG_LENGTH[1] * math.hypot(8, 19) - 3
        x0, y0 = 14.0, float(TOP)
        angle = math.degrees(math.atan2(float((rows - y0) @ amount), float((x0 - cols) @ amount)))
        assert FLAG_ANGLE[0] - 10 <= angle <= FLAG_ANGLE[1] + 10  # not turned with the stem


def test_the_flag_is_drawn_with_the_ones_own_pen():
    """A thick 1 gets a thick flag: the flag's ink per unit of its length is the stem's pen width plus
    the one pixel its anti-aliased edges add (half a pixel each side)."""
    torch.manual_seed(2)
    for width in (2, 5):
        one = torch.zeros(1, 1, 28, 28)
        one[0, 0, 4:24, 13 : 13 + width] = 1.0
        inks = []
        for _ in range(20):
            flagged = add_flag(one)
            inks.append(float((flagged - one).sum()))
        # mean flag length 0.3 × 19 px; the part inside the stem adds nothing, the round caps a little
        per_length = sum(inks) / len(inks) / (sum(FLAG_LENGTH) / 2 * 19)
        pen = 20 * width / 19
        assert 0.7 * (pen + 1) <= per_length <= 1.3 * (pen + 1), width


def test_images_without_ink_and_empty_batches_are_returned_unchanged():
    blank = torch.zeros(2, 1, 28, 28)
    assert torch.equal(add_flag(blank), blank)
    mixed = torch.cat([blank[:1], stem()])  # a blank image beside an inked one: each its own
    flagged = add_flag(mixed)
    assert torch.equal(flagged[0], blank[0]) and flagged[1].sum() > stem().sum()
    assert add_flag(torch.zeros(0, 1, 28, 28)).shape == (0, 1, 28, 28)
    colour = stem().expand(1, 3, 28, 28).clone()  # every channel gets the flag
    flagged = add_flag(colour)
    assert torch.equal(flagged[0, 0], flagged[0, 2]) and flagged.sum() > colour.sum()


def test_only_classes_with_a_variant_are_changed_in_that_share_and_labels_are_kept():
    assert variant_labels(tuple("0123456789")) == {1: "1"}
    assert variant_labels(("cat", "dog")) == {} and variant_labels(()) == {}
    torch.manual_seed(0)
    x = stem().repeat(4000, 1, 1, 1)
    y = torch.arange(4000) % 4  # labels 0–3; 1 is the digit 1
    labels = variant_labels(("0", "1", "2", "3"))
    assert written_variants(x, y, labels, 0.0) is x and written_variants(x, y, {}, 1.0) is x
    all_ones = written_variants(x, y, labels, 1.0)
    changed = (all_ones != x).flatten(1).any(dim=1)
    assert torch.equal(changed, y == 1) and torch.equal(x, stem().repeat(4000, 1, 1, 1))  # the batch itself untouched
    some = (written_variants(x, y, labels, 0.25) != x).flatten(1).any(dim=1)
    assert not some[y != 1].any()
    # 1000 ones, each flagged with probability 1/4: sd of the share ≈ 1.4%, five of them allowed
    assert some[y == 1].float().mean().item() == pytest.approx(0.25, abs=0.07)


def test_variants_are_reproducible_from_torchs_generator():
    x, y = stem().repeat(64, 1, 1, 1), torch.ones(64, dtype=torch.long)
    torch.manual_seed(5)
    a = written_variants(x, y, {1: "1"}, 0.5)
    torch.manual_seed(5)
    assert torch.equal(a, written_variants(x, y, {1: "1"}, 0.5))
    assert set(variants.VARIANTS) == {"1"}


def test_the_default_flags_a_quarter_of_its_training_ones():
    from idk.training.config import PRESETS

    assert PRESETS["cnn"].train.variants == 0.25 and PRESETS["tutorial"].train.variants == 0.0
