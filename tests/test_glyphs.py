"""The printed-character pools: what the ``glyphs`` outlier family trains on stays apart from what
the symbol sets measure, and from every digit and Latin letter."""

import string
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from helpers import MNIST_SPEC
from idk.data.augment import random_degradation
from idk.data.fonts import packaged_fonts
from idk.data.glyphs import (
    BANK_SIZE,
    FONT_FILES,
    LOOKALIKE,
    PRINTED_PER_FONT,
    SYMBOLS,
    TRAINED_RELATIVES,
    TRAINING_CUTS,
    TRAINING_FONTS,
    glyph_bank,
    looks_alike,
    outlier_chars,
    printed_classes,
    training_fonts,
)
from idk.data.images import InputSpec
from idk.data.synthetic import glyphs
from idk.errors import IdkError
from idk.training.batches import printed_share
from idk.training.config import TrainConfig
from idk.training.preflight import check_training


@pytest.fixture(scope="module")
def pool() -> set[str]:
    return {c for chars in outlier_chars().values() for c in chars}


def test_the_trained_pool_is_apart_from_the_measured_symbols_and_from_ascii(pool):
    assert len(pool) == 1051 and all(outlier_chars().values())  # docs/experiments.md; every block keeps some
    assert not pool & set(SYMBOLS)
    assert not pool & set(string.printable)
    similarity = looks_alike(sorted(pool), [c for c in string.printable if not c.isspace()] + list(SYMBOLS))
    assert similarity.max() < LOOKALIKE


def test_look_alikes_and_numbers_are_left_out(pool):
    # Armenian O and u, Hebrew final nun (an l), Canadian syllabic "U", Georgian "3"-like vin
    for twin in "Օսոןᑌ":
        assert twin not in pool, twin
    for number in "¹²³¼½¾":  # superscripts and fractions: numbers, whatever they look like
        assert number not in pool, number


def test_a_glyph_looks_exactly_like_itself_and_a_blank_like_everything():
    same = looks_alike(["∂", "☂"], ["∂"])
    assert same[0] == pytest.approx(1.0, abs=1e-6)  # cosine of a vector with itself
    assert same[1] < LOOKALIKE
    assert looks_alike([" "], ["A"])[0] == 1.0  # a blank glyph is never kept


def test_the_bank_is_the_same_on_every_call_and_fills_any_frame():
    bank = glyph_bank(28, 28)
    assert bank.shape == (BANK_SIZE, 1, 28, 28)
    assert 0 <= bank.min() and bank.max() <= 1
    assert bank.flatten(1).amax(1).min() > 0.5  # every frame has ink
    glyph_bank.cache_clear()
    torch.testing.assert_close(glyph_bank(28, 28), bank)
    wide = glyph_bank(20, 36)
    assert wide.shape == (BANK_SIZE, 1, 20, 36) and wide.flatten(1).amax(1).min() > 0.2  # a thin mark, 14 px high


def test_the_family_is_reproducible_and_inks_every_channel():
    images, labels = torch.rand(8, 3, 28, 28), torch.zeros(8, dtype=torch.long)
    a = glyphs(images, labels, 40, torch.Generator().manual_seed(3))
    b = glyphs(images, labels, 40, torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b)
    assert a.shape == (40, 3, 28, 28)
    torch.testing.assert_close(a[:, 0], a[:, 2])


def test_degradation_from_a_generator_leaves_the_global_one_alone():
    images = glyph_bank(28, 28)[:64]
    state = torch.get_rng_state()
    a = random_degradation(images, 0.5, torch.Generator().manual_seed(5))
    b = random_degradation(images, 0.5, torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b)
    assert torch.equal(torch.get_rng_state(), state)
    assert not torch.equal(a, images)


def test_classes_that_the_glyphs_draw_must_drop_the_family(pool):
    spec = InputSpec(1, 28, 28, "mnist", drawn=True)
    classes = ("A", "B", sorted(pool)[0])
    exposed = TrainConfig(outlier_weight=0.5)
    with pytest.raises(IdkError, match=rf"classes {sorted(pool)[0]} .*--drop-outliers glyphs"):
        check_training(exposed, spec, "hebrew", classes)
    assert "ա" not in pool  # but it looks like one that is
    with pytest.raises(IdkError, match="classes ա are \\(or look like\\)"):
        check_training(exposed, spec, "armenian", ("ա", "A", "中", "cat"))  # 中: no reference glyph, not judged
    kept = check_training(replace(exposed, drop_outliers=("glyphs",)), spec, "hebrew", classes)
    assert "glyphs" not in kept and "blobs" in kept
    assert check_training(TrainConfig(), spec, "hebrew", classes) == ()  # no outlier exposure: no clash
    assert "glyphs" in check_training(exposed, MNIST_SPEC, "mnist", tuple("0123456789"))


def test_printed_class_names_are_trained_in_fonts_the_printed_set_is_not_measured_in(tmp_path, monkeypatch):
    monkeypatch.setenv("IDK_CACHE_DIR", str(tmp_path))
    packaged_fonts.cache_clear()
    printed_classes.cache_clear()
    fonts = training_fonts()  # Computer Modern's five cuts, then Noto Sans' four, written into the cache
    assert fonts[: len(TRAINING_FONTS)] == TRAINING_FONTS and len(fonts) == len(TRAINING_FONTS) + len(TRAINING_CUTS)
    assert [Path(f).name for f in fonts[len(TRAINING_FONTS) :]] == [
        "NotoSans-Regular.ttf",
        "NotoSans-Bold.ttf",
        "NotoSans-Italic.ttf",
        "NotoSans-BoldItalic.ttf",
    ]
    assert not {Path(f).name for f in fonts} & set(FONT_FILES)
    images, labels = printed_classes(tuple("0123456789"), 28, 28)
    assert images.shape == (10 * len(fonts) * PRINTED_PER_FONT, 1, 28, 28)
    assert torch.equal(labels.bincount(), torch.full((10,), len(fonts) * PRINTED_PER_FONT))
    assert images.flatten(1).amax(1).min() > 0.5
    assert printed_classes(("cat", "dog"), 28, 28) is None  # class names that are no one character
    assert printed_classes(("0", "<"), 28, 28) is None  # Computer Modern draws "<" as "¡"
    assert printed_classes((), 28, 28) is None
    packaged_fonts.cache_clear()  # its paths lie in this test's folder


def test_a_printed_share_replaces_that_share_of_the_batch_with_labelled_printed_names():
    images, labels = printed_classes(tuple("0123456789"), 28, 28)
    x, y = torch.zeros(64, 3, 28, 28), torch.full((64,), -1)
    px, py = printed_share(x, y, images, labels, 0.05)
    replaced = px.flatten(1).amax(1) > 0
    assert replaced.sum() == 3 and replaced[:3].all()  # round(0.05 × 64), the first of a shuffled batch
    assert (py[3:] == -1).all()
    for image, label in zip(px[:3, :1], py[:3], strict=True):  # each one of the printed images of its label
        assert (images[labels == label] - image).flatten(1).abs().amax(1).min() == 0
    torch.testing.assert_close(px[:3, 0], px[:3, 2])  # every channel
    assert x.abs().sum() == 0 and (y == -1).all()  # the batch given is left as it was
    same = printed_share(x[:8], y[:8], images, labels, 0.05)
    assert torch.equal(same[0], x[:8])  # a share under half an image replaces none


def test_trained_relatives_name_measured_symbols_and_trained_glyphs():
    """Each measured symbol the review found a relative of among the trained glyphs is measured, and
    each relative is in the trained pool (else the README's figure without them means nothing)."""
    trained = {c for chars in outlier_chars().values() for c in chars}
    assert set(TRAINED_RELATIVES) <= set(SYMBOLS)
    for symbol, relatives in TRAINED_RELATIVES.items():
        assert set(relatives) <= trained, (symbol, set(relatives) - trained)
